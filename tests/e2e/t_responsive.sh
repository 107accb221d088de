#!/bin/bash
# t_responsive.sh: the loop never freezes (issue 13).  While a slow step of
# the session runs, `ctl status` answers within 100 ms and says what is in
# progress:
#   1. a connect to a server that accepts TCP but never speaks SSH
#   2. the fallback to stock sshd's tun@openssh.com when the server has no
#      sshtun helper, held on the server at its first command; released, the
#      tunnel comes up in openssh mode
# Each client is asked three times; the fastest answer must be within 100 ms
# (starting ctl costs a few ms), every answer within 1 s, and each while the
# slow step is still held.
. "$(dirname "$0")/lib.sh"

MUTE_PORT=2299	# accepts, never speaks
HOLD=$TMP/hold	# the fallback waits while this file exists

# ctl_timed NAME: `status --json` into $TMP/NAME.status; sets MS.
ctl_timed() {
	local t0 rc
	t0=$(now_ms)
	timeout 5 ip netns exec "$NS_C" "$SSHTUN" ctl -S "$TMP/$1.sock" status --json \
		>"$TMP/$1.status" 2>/dev/null
	rc=$?
	MS=$(($(now_ms) - t0))
	return $rc
}

# answers_fast NAME STATE...: three status answers while the step is held,
# each naming one of STATE, the fastest within 100 ms, all within 1 s.
answers_fast() {
	local name=$1 best=99999 worst=0 i st all=""
	shift
	for i in 1 2 3; do
		ctl_timed "$name"
		st=$(json_get "$TMP/$name.status" state 2>/dev/null)
		all="$all $st/${MS}ms"
		[ "$MS" -lt "$best" ] && best=$MS
		[ "$MS" -gt "$worst" ] && worst=$MS
		case " $* " in *" $st "*) ;; *) best=99999 ;; esac
	done
	diag "$name: status answers:$all"
	check "$name: ctl status answered within 100 ms (best $best ms, worst $worst ms) while $*" \
		test "$best" -le 100 -a "$worst" -le 1000
}

mute_server() {
	in_s timeout 60 "$PYTHON" -c 'import socket, sys, time
s = socket.create_server(("0.0.0.0", int(sys.argv[1])))
c, _ = s.accept()
time.sleep(50)' "$MUTE_PORT"
}
mute_listening() { in_s ss -Hltn "( sport = :$MUTE_PORT )" | grep -q .; }

# The server's commands run through this: the fallback's first one (which
# tun devices exist) waits while $HOLD exists, at most 20 s.
cat >"$TMP/force.sh" <<EOF
#!/bin/sh
case "\$SSH_ORIGINAL_COMMAND" in
"ls /sys/class/net")
	i=0
	while [ -e "$HOLD" ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done ;;
esac
exec /bin/sh -c "\$SSH_ORIGINAL_COMMAND"
EOF
chmod 755 "$TMP/force.sh"

export SSHD_SUBSYSTEM=	# no helper on the server: the client falls back
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
check "sshd (PermitTunnel yes, no sshtun Subsystem, commands held by a script)" \
	sshd_start "PermitTunnel yes" "ForceCommand $TMP/force.sh"
bg_run mute mute_server
check "a TCP server that never speaks SSH on port $MUTE_PORT" wait_for 10 mute_listening
fail_fast "no sshtun binary, namespaces, sshd or mute server"

# 1. connecting ------------------------------------------------------------------
CONNECT_TIMEOUT=15 client_run c1 -p "$MUTE_PORT"
check "c1: its control socket answers" wait_for 10 ctl_timed c1
answers_fast c1 connecting authenticating
check "c1: 'ctl quit' answers while it connects" ctl c1 quit
wait_exit "$(client_pid c1)" 10
is "$EXIT_RC" 0 "c1: exits with status 0 after quit"

# 2. falling back to stock sshd's tunnel -------------------------------------
: >"$HOLD"
client_run c2 --remote-command /nonexistent/sshtun -a 198.18.9.3 -a 2001:db8:9::3
check "c2: the fallback to tun@openssh.com begins" \
	wait_for 10 grep -q "trying its own tunnel channel" "$TMP/c2.log"
answers_fast c2 negotiating
check "c2: the server's command is still held" test -e "$HOLD"
rm -f "$HOLD"
check "c2: comes up once the server answers" client_wait_up c2
is "$(json_get "$TMP/c2.status" mode)" openssh "c2: status mode is openssh"
is "$(json_get "$TMP/c2.status" local_addr)" 198.18.9.3 "c2: the address given with -a"
check "c2: 'ctl quit' answers" ctl c2 quit
wait_exit "$(client_pid c2)" 10
is "$EXIT_RC" 0 "c2: exits with status 0 after quit"

done_testing
