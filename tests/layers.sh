#!/bin/bash
# tests/layers.sh [OBJDIR]: no module includes or calls back into one above
# it.  A module is a .c under src/ or shell/ with the header of its name;
# the interpreter's three files (they share shell/internal.h) are one.
# Edges come from the #include lines and, when OBJDIR (default build/obj)
# holds the objects, from the symbols each object uses that another
# defines.  Any cycle fails and is printed.
#
# KNOWN lists the back edges still to be removed; each one must still
# exist, so the list can only shrink.
cd "$(dirname "$0")/.." || exit 1
OBJDIR=${1:-build/obj}
KNOWN=(
)

# module FILE: the module a source or header file belongs to.
module() {
	local b=${1##*/}
	b=${b%.*}
	case $b in
	commands | handlers | waiting | internal) echo interp ;;
	shell) case $1 in *.h) echo interp ;; *) echo prompt ;; esac ;;
	routes) echo engine ;;
	state_parse) echo state ;;
	netlink) echo netlink-linux ;;
	tun) echo tun-linux ;;
	*) echo "$b" ;;
	esac
}

edges() {
	local f m inc src
	for f in src/*.[ch] shell/*.[ch]; do
		m=$(module "$f")
		while read -r inc; do
			echo "$m $(module "$inc")"
		done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
	done
	[ -d "$OBJDIR" ] || return 0
	for f in "$OBJDIR"/src/*.o "$OBJDIR"/shell/*.o; do
		[ -f "$f" ] || continue
		src=${f#"$OBJDIR"/}
		[ -f "${src%.o}.c" ] || continue	# left from a file since removed
		m=$(module "$f")
		nm "$f" | awk -v m="$m" '$2 ~ /^[TDBRC]$/ { print "def", m, $3 } $1 == "U" { print "use", m, $2 }'
	done | awk '$1 == "def" { def[$3] = $2; next }
		    { use[NR] = $2 " " $3 }
		    END { for (k in use) { split(use[k], a, " ")
				if (a[2] in def) print a[1], def[a[2]] } }'
}

all=$(edges | awk '$1 != $2' | sort -u)
fail=0
graph=$all
for e in "${KNOWN[@]}"; do
	if ! grep -qx "$e" <<<"$all"; then
		echo "layers: the known back edge '$e' is gone: take it off KNOWN in $0"
		fail=1
	fi
	graph=$(grep -vx "$e" <<<"$graph")
done
loops=$(tsort <<<"$graph" 2>&1 >/dev/null)
if [ -n "$loops" ]; then
	echo "layers: modules that include or call each other in a cycle:"
	sed 's/^/  /' <<<"$loops"
	fail=1
fi
[ "$fail" = 0 ] && echo "layers: $(wc -l <<<"$graph") edges between $(tr ' ' '\n' <<<"$graph" | sort -u | wc -l) modules, no cycles (${#KNOWN[@]} known back edges)"
exit $fail
