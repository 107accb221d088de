#!/bin/bash
# t_docs.sh: the man pages, the bash completion, --help/--version, the
# helper's magic line, `make install`/`make uninstall` and `make dist` (into a
# temp dir only).  Needs no namespaces and no sshd, so it does not source
# lib.sh.  Run from anywhere;
# it works in the repository root.  TAP, exit status 1 on any failure.
# Lists of words are expanded unquoted on purpose:
# shellcheck disable=SC2086,SC2046
cd "$(dirname "$0")/../.." || exit 1
export LC_ALL=C
REPO=$PWD
SSHTUN=${SSHTUN:-$REPO/sshtun}
case $SSHTUN in /*) ;; *) SSHTUN=$REPO/$SSHTUN ;; esac

T_COUNT=0
T_FAILED=0
ok()     { T_COUNT=$((T_COUNT + 1)); echo "ok $T_COUNT - $*"; }
not_ok() { T_COUNT=$((T_COUNT + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_COUNT - $*"; }
diag()   { printf '%s\n' "$@" | sed 's/^/# /'; }
done_testing() {
	echo "1..$T_COUNT"
	[ "$T_FAILED" -eq 0 ]
	exit
}

TMP=$(mktemp -d /tmp/sshtun-docs.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT

MAN1=man/sshtun.1
MAN7=man/sshtun-protocol.7
COMPLETION=completions/sshtun.bash

if [ ! -x "$SSHTUN" ]; then
	not_ok "$SSHTUN is built"
	done_testing
fi

# ---- the man pages ---------------------------------------------------------

for page in $MAN1 $MAN7; do
	if out=$(mandoc -Tlint -W warning "$page" 2>&1) && [ -z "$out" ]; then
		ok "mandoc -Tlint -W warning $page: clean"
	else
		not_ok "mandoc -Tlint -W warning $page: clean"
		diag "$out"
	fi
done

# The COMMANDS section, from its .Sh to the line before the next .Sh.
sed -n '/^\.Sh COMMANDS$/,/^\.Sh /p' $MAN1 | sed '$d' >"$TMP/commands.man"
"$SSHTUN" --commands-mdoc >"$TMP/commands.bin"
if [ -s "$TMP/commands.bin" ] && cmp -s "$TMP/commands.man" "$TMP/commands.bin"; then
	ok "COMMANDS in $MAN1 is what sshtun --commands-mdoc prints"
else
	not_ok "COMMANDS in $MAN1 is what sshtun --commands-mdoc prints"
	diag "paste the output of ./sshtun --commands-mdoc in; diff page binary:"
	diff "$TMP/commands.man" "$TMP/commands.bin" | head -40 | sed 's/^/#   /'
fi

# section NAME: the text of that .Sh section of sshtun.1.
section() {
	awk -v s=".Sh $1" '$0 == s { on = 1; next } /^\.Sh / { on = 0 } on' $MAN1
}

# options_of: the option names in usage text on stdin, one a line (-x,
# --long); a cluster like [-46fNqv] gives each letter.
options_of() {
	grep -aoE -- '(^|[[ |])--?[0-9A-Za-z][-0-9A-Za-z]*' | sed 's/^[[ |]*//' |
		while read -r o; do
			case $o in
			--*) printf '%s\n' "$o" ;;
			*) o=${o#-}; for ((i = 0; i < ${#o}; i++)); do printf -- '-%s\n' "${o:i:1}"; done ;;
			esac
		done | sort -u
}

# documented SECTION OPTION...: each option is in that section as Fl.
documented() {
	local sect=$1 text o missing=()
	shift
	text=$(section "$sect")
	for o; do
		grep -qE "(^|[ .])Fl ${o#-}( |$)" <<<"$text" || missing+=("$o")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ok "$sect documents $*"
	else
		not_ok "$sect documents every option"
		diag "missing: ${missing[*]}"
	fi
}

# The client: its usage, and what options.c's getopt really takes (an
# option missing from the usage text must still be in the page).
"$SSHTUN" --help >"$TMP/help" 2>&1
client_help=$(grep -vE 'sshtun (serve|ctl|cleanup)' "$TMP/help" | options_of)
shorts=$(grep -oE 'getopt_long\(argc, argv, "[^"]*"' src/options.c | sed 's/.*"\(.*\)"/\1/; s/[+:]//g' |
	grep -o . | sed 's/^/-/')
longs=$(sed -n '/longopts\[\] = {/,/};/p' src/options.c | grep -oE '\{ "[-a-z0-9]+"' | sed 's/{ "/--/; s/"//')
client_opts=$(printf '%s\n' $client_help $shorts $longs | sort -u)
if [ -n "$client_help" ] && [ -n "$shorts" ] && [ -n "$longs" ]; then
	ok "client options found in --help and src/options.c ($(echo $client_opts | wc -w))"
else
	not_ok "client options found in --help and src/options.c"
fi
documented OPTIONS $client_opts
missing=()
for o in $shorts $longs; do
	case $o in -h | -V) continue ;; esac	# --help and --version stand for them
	grep -qxF -- "$o" <<<"$client_help" || missing+=("$o")
done
if [ ${#missing[@]} -eq 0 ]; then
	ok "sshtun --help lists every option src/options.c accepts"
else
	not_ok "sshtun --help lists every option src/options.c accepts"
	diag "missing: ${missing[*]}"
fi

serve_opts=$("$SSHTUN" serve --help 2>&1 | options_of)
if [ -n "$serve_opts" ]; then
	documented "SERVE OPTIONS" $serve_opts
else
	not_ok "sshtun serve --help prints its options"
fi
documented CTL $("$SSHTUN" ctl -h 2>&1 | options_of)
documented CLEANUP $("$SSHTUN" cleanup -h 2>&1 | options_of)

# The -o keywords of options.c's table, each described in the page.
keywords=$(sed -n '/^} keywords\[\] = {/,/^};/p' src/options.c | grep -oE '\{ "[A-Za-z]+"' | sed 's/{ "//; s/"//')
missing=()
for k in $keywords; do
	section OPTIONS | grep -qxF ".It Cm $k" || missing+=("$k")
done
if [ -n "$keywords" ] && [ ${#missing[@]} -eq 0 ]; then
	ok "OPTIONS describes every -o keyword ($(echo $keywords | wc -w))"
else
	not_ok "OPTIONS describes every -o keyword"
	diag "missing: ${missing[*]:-(no keywords found in src/options.c)}"
fi

for s in "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO" "SECURITY CONSIDERATIONS"; do
	[ -n "$(section "$s")" ] || not_ok "$MAN1 has a $s section"
done
missing=()
for v in HOME SSH_AUTH_SOCK XDG_RUNTIME_DIR XDG_STATE_HOME TERM; do
	section ENVIRONMENT | grep -qxF ".It Ev $v" || missing+=("$v")
done
for c in 0 1 2 3 4 5 6 7; do
	section "EXIT STATUS" | grep -qx ".It $c" || missing+=("exit $c")
done
if [ ${#missing[@]} -eq 0 ]; then
	ok "ENVIRONMENT and EXIT STATUS are complete"
else
	not_ok "ENVIRONMENT and EXIT STATUS are complete"
	diag "missing: ${missing[*]}"
fi

# ---- make install / uninstall, into temp dirs only -------------------------

# mode FILE: its permission bits, or "missing".
mode() { stat -c %a "$1" 2>/dev/null || echo missing; }

# installs DESTDIR BIN MAN COMP -- make args...: install, check, uninstall.
installs() {
	local dest=$1 bin=$2 man=$3 comp=$4 got want f
	shift 5
	case $dest in "$TMP"/?*) ;; *) not_ok "DESTDIR $dest is a temp dir"; return ;; esac
	if ! make -s install DESTDIR="$dest" "$@" >"$TMP/make.out" 2>&1; then
		not_ok "make install DESTDIR=$dest $*"
		tail -n 15 "$TMP/make.out" | sed 's/^/#   /'
		return
	fi
	got="$(mode "$dest$bin/sshtun") $(mode "$dest$man/man1/sshtun.1") $(mode "$dest$man/man7/sshtun-protocol.7") $(mode "$dest$comp/sshtun")"
	want="755 644 644 644"
	if [ "$got" = "$want" ] && cmp -s "$dest$man/man1/sshtun.1" $MAN1 &&
		cmp -s "$dest$comp/sshtun" $COMPLETION; then
		ok "make install $*: bin, man1, man7, completion with modes $want"
	else
		not_ok "make install $*: bin, man1, man7, completion with modes $want"
		diag "modes: $got"
		(cd "$dest" && find . | sed 's/^/#   /')
	fi
	make -s uninstall DESTDIR="$dest" "$@" >"$TMP/make.out" 2>&1
	f=$(find "$dest" -type f)
	if [ -z "$f" ]; then
		ok "make uninstall $*: nothing left"
	else
		not_ok "make uninstall $*: nothing left"
		diag "$f"
	fi
}

mkdir -p "$TMP/d1" "$TMP/d2"
installs "$TMP/d1" /usr/bin /usr/share/man /usr/share/bash-completion/completions -- PREFIX=/usr
installs "$TMP/d2" /opt/t/sbin /opt/t/man /opt/t/comp -- BINDIR=/opt/t/sbin MANDIR=/opt/t/man \
	BASHCOMPDIR=/opt/t/comp

# The systemd unit template names the installed binary.
mkdir -p "$TMP/d3"
if make -s install DESTDIR="$TMP/d3" PREFIX=/usr >"$TMP/make.out" 2>&1 &&
	[ "$(mode "$TMP/d3/usr/lib/systemd/system/sshtun@.service")" = 644 ] &&
	grep -qx 'ExecStart=/usr/bin/sshtun @%i -N' "$TMP/d3/usr/lib/systemd/system/sshtun@.service" &&
	grep -qx 'Type=notify' "$TMP/d3/usr/lib/systemd/system/sshtun@.service"; then
	ok "make install PREFIX=/usr: sshtun@.service (0644, Type=notify) runs /usr/bin/sshtun @%i -N"
else
	not_ok "make install PREFIX=/usr: sshtun@.service (0644, Type=notify) runs /usr/bin/sshtun @%i -N"
	(cd "$TMP/d3" && find . | sed 's/^/#   /')
fi
make -s uninstall DESTDIR="$TMP/d3" PREFIX=/usr >/dev/null 2>&1

# ---- --version (after make install, which rebuilt ./sshtun if it was stale) ---

version=$("$SSHTUN" --version 2>&1)
release=$(sed -n 's/^VERSION := //p' Makefile)
want="sshtun $release"
if [ -e .git ] && commit=$(git describe --always --dirty --exclude='*' 2>/dev/null); then
	want="$want ($commit)"
fi
# -dirty is as of the build; the tree may have changed since.
if [ -n "$release" ] && [ "${version%-dirty)})" = "${want%-dirty)})" ]; then
	ok "sshtun --version prints the release and the commit ($version)"
else
	not_ok "sshtun --version prints the release and the commit"
	diag "got '$version', want '$want' (rebuild?)"
fi

# The helper's first line names the same version (it sends it before
# anything that could fail, so no sshd is needed to see it).
magic=$(timeout 10 "$SSHTUN" serve </dev/null 2>/dev/null | head -n 1)
if [ "$magic" = "SSHTUN/1 sshtun-${version#sshtun }" ]; then
	ok "the helper's magic line names the version ($magic)"
else
	not_ok "the helper's magic line names the version"
	diag "got '$magic', want 'SSHTUN/1 sshtun-${version#sshtun }'"
fi

for page in $MAN1 $MAN7; do
	is_os=$(sed -n 's/^\.Os //p' "$page")
	if [ "$is_os" = "sshtun $release" ]; then
		ok "$page: .Os sshtun $release"
	else
		not_ok "$page: .Os sshtun $release"
		diag "got .Os '$is_os'"
	fi
done

# ---- make dist: a tarball that builds outside git ----------------------------

if [ -e .git ]; then
	if make -s dist DIST_OUT="$TMP/dist.tar.gz" >"$TMP/make.out" 2>&1 &&
		tar -C "$TMP" -xzf "$TMP/dist.tar.gz" &&
		make -s -C "$TMP/sshtun-$release" -j2 sshtun >>"$TMP/make.out" 2>&1 &&
		[ "$("$TMP/sshtun-$release/sshtun" --version)" = "sshtun $release" ]; then
		ok "make dist: sshtun-$release/ builds with make outside git and says sshtun $release"
	else
		not_ok "make dist: sshtun-$release/ builds with make outside git and says sshtun $release"
		tail -n 15 "$TMP/make.out" | sed 's/^/#   /'
	fi
	rm -rf "$TMP/sshtun-$release" "$TMP/dist.tar.gz"
else
	ok "# SKIP make dist: not a git checkout"
fi

# ---- the bash completion -----------------------------------------------------

# A fake HOME with an ssh config and known hosts; fake instances; a fake
# sshtun earlier in PATH that answers `route list --json' and logs its calls.
H=$TMP/home
mkdir -p "$H/.ssh" "$TMP/run" "$TMP/bin" "$TMP/xdg/sshtun"
cat >"$H/.ssh/config" <<'EOF'
Host alpha beta
	HostName 192.0.2.1
Host *.wild
	User nobody
Include extra.conf
EOF
printf 'Host=epsilon\n' >"$H/.ssh/extra.conf"
cat >"$H/.ssh/known_hosts" <<'EOF'
[gamma]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFtbWE=
delta,192.0.2.4 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRlbHRh
|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhhc2g=
EOF
printf 'Host zeta\n' >"$TMP/other.conf"
touch "$H/.ssh/id_test" "$TMP/run/box.sock" "$TMP/run/lab.sock" "$TMP/run/old.state" \
	"$TMP/xdg/sshtun/web.sock"
cat >"$TMP/bin/sshtun" <<EOF
#!/bin/bash
printf "%s\\n" "\$*" >>"$TMP/fake.log"
case "\$*" in
--commands-mdoc) exec "$SSHTUN" --commands-mdoc ;;
*"route list --json") echo '{"routes":["10.20.0.0/16","fd00:1::/64"]}' ;;
*) exit 2 ;;
esac
EOF
chmod +x "$TMP/bin/sshtun"
cp $COMPLETION "$TMP/sshtun.bash"

# What bash does before calling the function: split the line at blanks and
# at runs of =, : and @ (COMP_WORDBREAKS), the cursor at the end.
cat >"$TMP/comp.sh" <<'EOF'
source "$1"
line=$2
COMP_WORDBREAKS=$' \t\n"\'@><=;|&(:'
COMP_LINE=$line
COMP_POINT=${#line}
COMP_WORDS=()
read -ra blank <<<"$line"
for w in "${blank[@]}"; do
	while [[ -n $w ]]; do
		[[ $w =~ ^([=:@]+)(.*)$ || $w =~ ^([^=:@]+)(.*)$ ]]
		COMP_WORDS+=("${BASH_REMATCH[1]}")
		w=${BASH_REMATCH[2]}
	done
done
[[ -z $line || $line == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
_sshtun
printf '%s\n' "${COMPREPLY[@]}"
EOF

# comp LINE: the completions bash would offer at the end of LINE, sorted, on
# one line.
comp() {
	env -i HOME="$H" PATH="$TMP/bin:/usr/bin:/bin" SSHTUN_RUNDIR="$TMP/run" \
		bash --norc --noprofile "$TMP/comp.sh" "$TMP/sshtun.bash" "$1" 2>"$TMP/comp.err" |
		sort | tr '\n' ' ' | sed 's/ $//'
}

# completes LINE WANT: exactly these words (sorted), and nothing on stderr.
completes() {
	local got
	got=$(comp "$1")
	if [ "$got" = "$2" ] && [ ! -s "$TMP/comp.err" ]; then
		ok "completion of '$1': $2"
	else
		not_ok "completion of '$1'"
		diag "got:  '$got'" "want: '$2'"
		[ -s "$TMP/comp.err" ] && diag "stderr:" "$(cat "$TMP/comp.err")"
	fi
}

# offers LINE WORD...: at least these words; refuses LINE WORD...: none.
offers() {
	local line=$1 got w missing=()
	shift
	got=" $(comp "$line") "
	for w; do [[ $got == *" $w "* ]] || missing+=("$w"); done
	if [ ${#missing[@]} -eq 0 ] && [ ! -s "$TMP/comp.err" ]; then
		ok "completion of '$line' offers $*"
	else
		not_ok "completion of '$line' offers $*"
		diag "missing: ${missing[*]}" "got: $got"
		[ -s "$TMP/comp.err" ] && diag "stderr:" "$(cat "$TMP/comp.err")"
	fi
}
refuses() {
	local line=$1 got w bad=()
	shift
	got=" $(comp "$line") "
	for w; do [[ $got == *" $w "* ]] && bad+=("$w"); done
	if [ ${#bad[@]} -eq 0 ]; then
		ok "completion of '$line' leaves out $*"
	else
		not_ok "completion of '$line' leaves out $*"
		diag "offered: ${bad[*]}"
	fi
}

# Hosts (the system's ssh_config and ssh_known_hosts may add more) and
# subcommands.
offers "sshtun " alpha beta gamma delta epsilon serve ctl cleanup
refuses "sshtun " "*.wild" "[gamma]:2222" "[gamma]" "192.0.2.1"
got=$(comp "sshtun ")
if [[ $got == *"|"* || $got == *"*"* || $got == *"["* ]]; then
	not_ok "no hashed, bracketed or pattern host"
	diag "got: $got"
else
	ok "no hashed, bracketed or pattern host"
fi
completes "sshtun al" "alpha"
completes "sshtun root@ga" "@gamma"
completes "sshtun -4 -p 22 de" "delta"
offers "sshtun -F $TMP/other.conf " zeta delta gamma
refuses "sshtun -F $TMP/other.conf " alpha beta serve
completes "sshtun c" "cleanup ctl"

# Options and their values.
completes "sshtun --compress " "1 2 3 4 5 6 7 8 9 auto off"
completes "sshtun --compress=o" "off"
completes "sshtun -o Strict" "StrictHostKeyChecking="
completes "sshtun -o StrictHostKeyChecking=" "accept-new ask no yes"
completes "sshtun -o StrictHostKeyChecking=a" "accept-new ask"
completes "sshtun -o AddressFamily=inet" "inet inet6"
completes "sshtun -o ProxyJump=del" "delta"
completes "sshtun -i $H/.ssh/id_" "$H/.ssh/id_test"
completes "sshtun -r d" "default"
want=$(for k in $keywords; do printf '%s=\n' "$k"; done | sort | tr '\n' ' ' | sed 's/ $//')
completes "sshtun -o " "$want"
want=$(for o in $client_opts; do
	case $o in -h) o=--help ;; -V) o=--version ;; esac
	printf '%s\n' "$o"
done | sort -u | tr '\n' ' ' | sed 's/ $//')
completes "sshtun -" "$want"
completes "sshtun serve --pool" "$(grep -- '^--pool' <<<"$serve_opts" | tr '\n' ' ' | sed 's/ $//')"
offers "sshtun serve -" $serve_opts
completes "sshtun serve --pool6 " "none"

# Instances (the fake run directory) and the shell's commands (the binary).
firsts=$("$SSHTUN" --commands-mdoc | sed -n 's/^\.It Ic \([a-z]*\).*/\1/p' | sort -u | tr '\n' ' ' | sed 's/ $//')
routes=$("$SSHTUN" --commands-mdoc | sed -n 's/^\.It Ic route \([a-z]*\).*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
completes "sshtun ctl -n " "box lab"
completes "sshtun cleanup -n " "box lab old"
completes "sshtun ctl " "$(printf '%s\n' box lab $firsts | sort | tr '\n' ' ' | sed 's/ $//')"
completes "sshtun ctl box " "$firsts"
completes "sshtun ctl -n box ro" "route"
completes "sshtun ctl box route " "$routes"
completes "sshtun ctl -n box compress " "1 2 3 4 5 6 7 8 9 auto off"
completes "sshtun ctl -n box status -" "--json"
completes "sshtun ctl -n box log debug" "debug debug2"
completes "sshtun ctl -n box help " "$firsts"

# Live routes, asked of the (fake) binary.
rm -f "$TMP/fake.log"
completes "sshtun ctl -n box route del " "10.20.0.0/16 fd00:1::/64"
if grep -qxF -- "ctl -n box route list --json" "$TMP/fake.log" 2>/dev/null; then
	ok "the routes came from sshtun ctl -n box route list --json"
else
	not_ok "the routes came from sshtun ctl -n box route list --json"
	diag "calls: $(cat "$TMP/fake.log" 2>/dev/null)"
fi
completes "sshtun ctl box route del fd00:" "1::/64"
rm -f "$TMP/fake.log"
completes "sshtun ctl -S $TMP/run/lab.sock route del 1" "10.20.0.0/16"
grep -qxF -- "ctl -S $TMP/run/lab.sock route list --json" "$TMP/fake.log" 2>/dev/null ||
	not_ok "ctl -S PATH is passed on for the routes: $(cat "$TMP/fake.log" 2>/dev/null)"

# Without SSHTUN_RUNDIR, as a user other than root: $XDG_RUNTIME_DIR/sshtun,
# as src/control.c has it.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod -R a+rX "$TMP"
	chmod 755 "$TMP"
	got=$(env -i HOME="$H" PATH="$TMP/bin:/usr/bin:/bin" XDG_RUNTIME_DIR="$TMP/xdg" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		bash --norc --noprofile "$TMP/comp.sh" "$TMP/sshtun.bash" "sshtun ctl -n " 2>&1 | tr '\n' ' ')
	if [[ " $got" == *" web "* ]]; then
		ok "as a user: instances from \$XDG_RUNTIME_DIR/sshtun"
	else
		not_ok "as a user: instances from \$XDG_RUNTIME_DIR/sshtun"
		diag "got: '$got'"
	fi
else
	ok "# SKIP not root, or no setpriv"
fi

done_testing
