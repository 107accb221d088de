#!/bin/bash
# t_static.sh: the self-contained build (`make static', issue 16) that
# --push sends to servers without our libraries: only glibc is dynamic, it
# runs, and where libslirp is missing its user-space mode says which
# package to install (libslirp hidden in a private mount namespace: the
# real file is never touched).  Skipped when sshtun-static is not built.
# No namespaces, no sshd; t_userspace.sh pushes and runs it end to end.
cd "$(dirname "$0")/../.." || exit 1
STATIC=${SSHTUN_STATIC:-$PWD/sshtun-static}
T_COUNT=0
T_FAILED=0
ok()     { T_COUNT=$((T_COUNT + 1)); echo "ok $T_COUNT - $*"; }
not_ok() { T_COUNT=$((T_COUNT + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_COUNT - $*"; }
check()  { if "${@:2}"; then ok "$1"; else not_ok "$1"; fi; }

if [ ! -x "$STATIC" ]; then
	ok "# SKIP $STATIC not built (make static)"
	echo "1..$T_COUNT"
	exit 0
fi

# Every shared object it needs is glibc's (libc, the loader, the vDSO).
others=$(ldd "$STATIC" | awk '{ print $1 }' | grep -v -e '^linux-vdso' -e '^libc\.so' -e 'ld-linux')
check "only glibc is dynamic (others: ${others:-none})" test -z "$others"
check "it runs: --version" eval '"$STATIC" --version | grep -q "^sshtun "'
check "libslirp is not linked in" eval '! ldd "$STATIC" | grep -q slirp'

LIB=$(ldconfig -p | awk '/libslirp\.so\.0 / { print $NF; exit }')
if [ -n "$LIB" ] && [ "$(id -u)" = 0 ]; then
	REAL=$(readlink -f "$LIB")
	MSG=$(unshare -m --propagation private sh -c \
		'mount --bind /dev/null "$1" && exec "$2" serve --userspace </dev/null 2>&1 >/dev/null' \
		sh "$REAL" "$STATIC")
	check "without libslirp: serve --userspace names the package" \
		eval 'grep -q "needs libslirp.*libslirp0" <<<"$MSG"'
	check "without libslirp: the real library is untouched" test -s "$REAL"
	MSG=$(unshare -m --propagation private sh -c \
		'mount --bind /dev/null "$1" && exec "$2" --version 2>&1' sh "$REAL" "$STATIC")
	check "without libslirp: everything else still runs (--version)" eval 'grep -q "^sshtun " <<<"$MSG"'
else
	ok "# SKIP no libslirp.so.0 here, or not root"
fi
echo "1..$T_COUNT"
[ "$T_FAILED" -eq 0 ]
