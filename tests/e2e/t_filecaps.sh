#!/bin/bash
# t_filecaps.sh: a binary with file capabilities or setuid root, run by an
# ordinary user, refuses to start (issue 12, finding 6): otherwise every
# local user could route, assign addresses and run `cleanup` as root does.
# No network is needed: the refusal comes before anything else.
. "$(dirname "$0")/lib.sh"

AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
BIN=$TMP/bin

# nobody_runs BINARY ARGS...: sets RC and MSG.
nobody_runs() {
	MSG=$(timeout 10 $AS_NOBODY "$@" 2>&1 </dev/null)
	RC=$?
}

# refused WHAT BINARY ARGS...: exit 7, one line naming the reason.
refused() {
	local what=$1
	shift
	nobody_runs "$@"
	is "$RC" 7 "$what: refused with exit 7"
	check "$what: one line that says why" eval '[ "$(printf "%s\n" "$MSG" | wc -l)" = 1 ] &&
		printf "%s" "$MSG" | grep -q "refusing to run .*sudo"'
}

check "$SSHTUN is built" test -x "$SSHTUN"
check "setcap and setpriv are installed" eval 'command -v setcap && command -v setpriv'
fail_fast "cannot run this test here"
# nobody must reach the copies: the temp dir is 0700.
chmod 711 "$TMP"
mkdir -m 755 "$BIN"
cp "$SSHTUN" "$BIN/sshtun-caps"
cp "$SSHTUN" "$BIN/sshtun-suid"
cp "$SSHTUN" "$BIN/sshtun-plain"
check "setcap cap_net_admin+ep on a copy" setcap cap_net_admin+ep "$BIN/sshtun-caps"
check "setuid root on another copy" chmod 4755 "$BIN/sshtun-suid"
chmod 755 "$BIN/sshtun-caps" "$BIN/sshtun-plain"

nobody_runs "$BIN/sshtun-plain" --version
is "$RC" 0 "the plain copy runs as nobody (--version)"

refused "file capabilities, client" "$BIN/sshtun-caps" -N "root@$S_ADDR"
check "file capabilities: the message names them" eval 'printf "%s" "$MSG" | grep -q "file capabilities as uid 65534"'
refused "file capabilities, serve" "$BIN/sshtun-caps" serve
refused "file capabilities, ctl" "$BIN/sshtun-caps" ctl -n x status
refused "file capabilities, cleanup" "$BIN/sshtun-caps" cleanup
refused "setuid root, client" "$BIN/sshtun-suid" -N "root@$S_ADDR"
check "setuid: the message says so" eval 'printf "%s" "$MSG" | grep -q "refusing to run setuid"'
refused "setuid root, cleanup" "$BIN/sshtun-suid" cleanup

# Root (and so a user through sudo) is the way in, capabilities or not.
check "root runs the copy with file capabilities" "$BIN/sshtun-caps" --version
# Capabilities a parent raised on purpose in the ambient set are the
# admin's choice (systemd's AmbientCapabilities=), not the file's.
MSG=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_admin \
	--ambient-caps=+net_admin "$BIN/sshtun-plain" --version 2>&1)
is "$?" 0 "nobody with CAP_NET_ADMIN in its ambient set runs the plain copy ($MSG)"

done_testing
