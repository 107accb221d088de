#!/bin/bash
# t_valgrind.sh: a smoke run with both ends under valgrind (./sshtun as
# built, nothing rebuilt): the client, and the server helper that sshd
# starts.  The tunnel comes up with compression on, carries pings and a
# small TCP transfer each way, answers `ctl status' and `ctl quit'; then the client
# exits 0 (valgrind's --error-exitcode would make it 99) and every helper
# log says "ERROR SUMMARY: 0 errors".  Definite leaks count as errors.
# Valgrind is slow (libssh2's key exchange most of all): the waits are long
# but bounded.
. "$(dirname "$0")/lib.sh"

VALGRIND=$(command -v valgrind)
VG_OPTS="--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"

# tcp_sink ADDR PORT FILE / tcp_push ADDR PORT FILE: the other way round.
tcp_sink() {
	in_s "$PYTHON" -c 'import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_server((a, p))
s.settimeout(120)
c, _ = s.accept()
with open(path, "wb") as f:
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        f.write(d)' "$1" "$2" "$3"
}
tcp_push() {
	in_c timeout 120 "$PYTHON" -c 'import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.create_connection((a, p), timeout=60)
with open(path, "rb") as f:
    c.sendfile(f)
c.close()' "$1" "$2" "$3"
}

# The helpers' logs are complete once valgrind has written its summary.
# A log of nothing but valgrind's banner is a monitor's child that went on
# to exec nft (the table inet sshtun_rpf): valgrind does not follow the
# exec, so no summary comes; it ran none of our code after the fork.  (A
# helper still running has only the banner too: its pid is still there.)
exec_child() {
	! alive "${1##*.}" &&
		! grep -qvE '^==[0-9]+== ?(Memcheck, |Copyright |Using Valgrind|Command: |Parent PID: |$)' "$1"
}
serve_logs() {
	local f
	for f in "$TMP"/vg-serve.*; do
		[ -e "$f" ] && ! exec_child "$f" && echo "$f"
	done
}
serve_logs_done() {
	local f n=0
	for f in $(serve_logs); do
		grep -q 'ERROR SUMMARY' "$f" || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

if [ -z "$VALGRIND" ]; then
	echo "ok 1 # SKIP valgrind is not installed"
	echo "1..1"
	exit 0
fi

check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
SSHD_SUBSYSTEM="$VALGRIND $VG_OPTS --log-file=$TMP/vg-serve.%p $SSHTUN serve --sandbox-optional --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases" \
	check "sshd whose helper runs under valgrind" sshd_start
fail_fast "no sshtun binary, namespaces or sshd"

CLIENT_PREFIX="$VALGRIND $VG_OPTS --track-fds=no --log-file=$TMP/vg-client.log" \
	CONNECT_TIMEOUT=60 client_run c1 --compress 6
check "c1: the tunnel comes up under valgrind (90 s)" \
	eval 'wait_for 90 client_up_or_gone c1 && client_is_up c1'
fail_fast "the tunnel did not come up"
PEER=$(json_get "$TMP/c1.status" peer_addr)
PEER6=$(json_get "$TMP/c1.status" peer_addr6)

check "c1: ping $PEER through the tunnel" \
	eval 'wait_for 30 in_c ping -c 1 -W 3 "$PEER" && in_c ping -c 3 -i 0.3 -W 5 -s 1200 "$PEER"'
check "c1: ping $PEER6 through the tunnel" in_c ping -c 2 -i 0.3 -W 5 "$PEER6"

# Compressible and random halves: both ends deflate and inflate.
{ yes 'sshtun under valgrind' | head -c 1M; head -c 1M /dev/urandom; } >"$TMP/small.sent"
bg_run tcp-send tcp_send "$PEER" 5001 "$TMP/small.sent"
wait_for 10 tcp_listening 5001
check "c1: 2 MB over TCP from server to client" tcp_recv "$PEER" 5001 "$TMP/small.recv"
is "$(sha256sum <"$TMP/small.recv" 2>/dev/null)" "$(sha256sum <"$TMP/small.sent")" \
	"c1: what arrived matches what was sent"
bg_run tcp-sink tcp_sink "$PEER" 5002 "$TMP/small.up"
wait_for 10 tcp_listening 5002
check "c1: 2 MB over TCP from client to server" tcp_push "$PEER" 5002 "$TMP/small.sent"
wait_exit "$(cat "$TMP/tcp-sink.pid")" 30
is "$(sha256sum <"$TMP/small.up" 2>/dev/null)" "$(sha256sum <"$TMP/small.sent")" \
	"c1: what the server got matches what was sent"

check "c1: ctl status --json says up" eval 'client_status c1 && [ "$(json_get "$TMP/c1.status" state)" = up ]'
check "c1: ctl status answers" ctl c1 status
check "c1: ctl quit answers" ctl c1 quit
wait_exit "$(client_pid c1)" 90
is "$EXIT_RC" 0 "c1: exits 0 after quit (99: valgrind found errors)"
check "c1: valgrind's summary says 0 errors" grep -q 'ERROR SUMMARY: 0 errors' "$TMP/vg-client.log"
if [ "$EXIT_RC" != 0 ]; then
	diag "valgrind on the client:"
	grep -E '^==[0-9]+== ' "$TMP/vg-client.log" | tail -n 40 | sed 's/^/#   /'
fi

check "server: the helper's valgrind logs are complete (60 s)" wait_for 60 serve_logs_done
for f in $(serve_logs); do
	if grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
		ok "server: $(basename "$f") says ERROR SUMMARY: 0 errors"
	else
		not_ok "server: $(basename "$f") reports errors"
		grep -E '^==[0-9]+== ' "$f" | tail -n 40 | sed 's/^/#   /'
	fi
done

done_testing
