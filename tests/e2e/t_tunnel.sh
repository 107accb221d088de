#!/bin/bash
# t_tunnel.sh: the tunnel end to end through a real sshd: addresses from the
# pool, ping both ways over IPv4 and IPv6, UDP, a 100 MB TCP transfer, two
# clients at once, and quit / SIGTERM leaving no interface on either side.
. "$(dirname "$0")/lib.sh"

# in_net ADDR CIDR: ADDR is an address inside CIDR.
in_net() {
	"$PYTHON" -c 'import ipaddress, sys
sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' "$1" "$2"
}

# has_addr NS IFNAME ADDR: the kernel shows ADDR on IFNAME in namespace NS.
has_addr() { ip -n "$1" -o addr show dev "$2" | grep -qw -- "$3"; }
has_fields() {
	local f=$1 k
	shift
	for k in "$@"; do json_get "$f" "$k" || return 1; done
}
link_gone() { ! ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

# Links in the server namespace other than lo and the veth: the helpers' TUNs.
server_tuns() { ip -n "$NS_S" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
	grep -vx -e lo -e veth-s; }
no_server_tuns() { [ -z "$(server_tuns)" ]; }

# pings FROM_NS ADDR: the first packet may race the routes, so wait for one
# answer, then ask for three in a row.
pings() {
	wait_for 10 ip netns exec "$1" ping -c 1 -W 1 "$2"
	ip netns exec "$1" ping -c 3 -i 0.2 -W 2 "$2"
}

# client_up NAME: start a client and check what its status reports.
# Sets IF_NAME, LOCAL, PEER, LOCAL6, PEER6 for the tests that follow.
client_up() {
	local name=$1 st
	client_run "$name"
	check "$name: tunnel comes up (status says up)" client_wait_up "$name" || return 1
	st=$TMP/$name.status
	IF_NAME=$(json_get "$st" ifname)
	LOCAL=$(json_get "$st" local_addr)
	PEER=$(json_get "$st" peer_addr)
	LOCAL6=$(json_get "$st" local_addr6)
	PEER6=$(json_get "$st" peer_addr6)
	diag "$name: $(cat "$st")"
	is "$(json_get "$st" mode)" sshtun "$name: mode is sshtun"
	is "$(json_get "$st" server)" "$S_ADDR:22" "$name: server is $S_ADDR:22"
	check "$name: interface '$IF_NAME' exists in the client namespace" \
		ip -n "$NS_C" link show dev "$IF_NAME"
	check "$name: local_addr $LOCAL is in $POOL4" in_net "$LOCAL" "$POOL4"
	check "$name: peer_addr $PEER is in $POOL4" in_net "$PEER" "$POOL4"
	check "$name: local_addr6 $LOCAL6 is in $POOL6" in_net "$LOCAL6" "$POOL6"
	check "$name: peer_addr6 $PEER6 is in $POOL6" in_net "$PEER6" "$POOL6"
	check "$name: the kernel has $LOCAL and $LOCAL6 on $IF_NAME" \
		eval 'has_addr "$NS_C" "$IF_NAME" "$LOCAL" && has_addr "$NS_C" "$IF_NAME" "$LOCAL6"'
	check "$name: json fields uptime_s, reconnects, routes, compression present" \
		has_fields "$st" uptime_s reconnects routes compression
}

# both_ways NAME: ping over IPv4 and IPv6, client to server and back.
both_ways() {
	check "$1: client pings server $PEER" pings "$NS_C" "$PEER"
	check "$1: client pings server $PEER6" pings "$NS_C" "$PEER6"
	check "$1: server pings client $LOCAL" pings "$NS_S" "$LOCAL"
	check "$1: server pings client $LOCAL6" pings "$NS_S" "$LOCAL6"
}

# UDP: the server echoes one datagram with a prefix; the client checks it.
udp_server() {
	in_s "$PYTHON" -c 'import socket, sys
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((a, p)); s.settimeout(30)
d, peer = s.recvfrom(65535)
s.sendto(b"echo:" + d, peer)' "$1" "$2"
}
udp_ask() {
	in_c "$PYTHON" -c 'import os, socket, sys
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
msg = os.urandom(1200)
for _ in range(3):
    s.sendto(msg, (a, p))
    try:
        d = s.recv(65535)
    except socket.timeout:
        continue
    sys.exit(0 if d == b"echo:" + msg else "reply differs from what was sent")
sys.exit("no reply")' "$1" "$2"
}
udp_listening() { in_s ss -Hlun "( sport = :$1 )" | grep -q .; }
udp_exchange() {
	local addr=$1 port=$2
	bg_run "udp-$port" udp_server "$addr" "$port"
	wait_for 10 udp_listening "$port" || return 1
	udp_ask "$addr" "$port"
}

# helper_pipe_size: the size of the pipe the helper's worker writes to sshd
# (F_GETPIPE_SZ on its stdout, opened again through /proc).
helper_pipe_size() {
	in_s "$PYTHON" -c '
import fcntl, os, sys
for pid in sys.argv[1:]:
    try:
        if b"serve" not in open("/proc/%s/cmdline" % pid, "rb").read():
            continue
        if not os.readlink("/proc/%s/fd/1" % pid).startswith("pipe:"):
            continue
        fd = os.open("/proc/%s/fd/1" % pid, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        continue
    print(fcntl.fcntl(fd, 1032))	# F_GETPIPE_SZ
    os.close(fd)
    break
' $(ip netns pids "$NS_S")
}

# TCP: the server sends a file to the first client that connects.

# ---------------------------------------------------------------------------
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
check "sshd" sshd_start
fail_fast "no sshtun binary, namespaces or sshd"

client_up c1
fail_fast "the first tunnel did not come up"
IF1=$IF_NAME LOCAL1=$LOCAL PEER1=$PEER LOCAL61=$LOCAL6 PEER61=$PEER6
check "c1: server has its end $PEER1 on an interface" eval 'ip -n "$NS_S" -o addr | grep -qw "$PEER1"'
both_ways c1

check "c1: UDP datagram echoed over IPv4, payload intact" udp_exchange "$PEER" 5353
check "c1: UDP datagram echoed over IPv6, payload intact" udp_exchange "$PEER6" 5354

# The helper's pipe to sshd holds about 2 ms at the link's rate: one
# 8 KiB pipe while idle (it was 32 KiB: 13 ms at 20 Mbit/s), more while a
# download shows a higher rate.
is "$(helper_pipe_size)" 8192 "c1: the helper's pipe to sshd is 8 KiB while idle"
head -c 100M /dev/urandom >"$TMP/big.sent"
bg_run tcp-send tcp_send "$PEER" 5001 "$TMP/big.sent"
wait_for 10 tcp_listening 5001
# Its size while the download runs, five times a second.
(while :; do helper_pipe_size >>"$TMP/pipe.sizes"; sleep 0.2; done) &
PIPE_WATCH=$!
PIDS+=("$PIPE_WATCH")
t0=$(now_ms)
check "c1: 100 MB over TCP from server to client" tcp_recv "$PEER" 5001 "$TMP/big.recv"
ms=$(($(now_ms) - t0))
kill_all "$PIPE_WATCH"
diag "100 MB in $ms ms ($((100 * 8 * 1000 / (ms > 0 ? ms : 1))) Mbit/s)"
is "$(sha256sum <"$TMP/big.recv" 2>/dev/null)" "$(sha256sum <"$TMP/big.sent")" \
	"c1: sha256 of what arrived matches what was sent"
rm -f "$TMP/big.sent" "$TMP/big.recv"
PIPE_MAX=$(sort -n "$TMP/pipe.sizes" 2>/dev/null | tail -n 1)
check "c1: the helper's pipe grew with the rate (to ${PIPE_MAX:-?} bytes during the download)" \
	test "${PIPE_MAX:-0}" -gt 8192

# A second client at the same time gets its own addresses.
client_up c2
IF2=$IF_NAME
check "c2: its IPv4 pair differs from c1's ($LOCAL/$PEER vs $LOCAL1/$PEER1)" \
	eval '[ "$LOCAL" != "$LOCAL1" ] && [ "$LOCAL" != "$PEER1" ] && [ "$PEER" != "$LOCAL1" ]'
check "c2: its IPv6 pair differs from c1's ($LOCAL6 vs $LOCAL61)" \
	eval '[ "$LOCAL6" != "$LOCAL61" ] && [ "$LOCAL6" != "$PEER61" ] && [ "$PEER6" != "$LOCAL61" ]'
both_ways c2
LOCAL=$LOCAL1 PEER=$PEER1 LOCAL6=$LOCAL61 PEER6=$PEER61
both_ways "c1 (with c2 up)"

# quit through the control socket: exit 0, the interface goes away.
check "c1: 'sshtun ctl quit' answers" ctl c1 quit
wait_exit "$(client_pid c1)" 10
is "$EXIT_RC" 0 "c1: exits with status 0 after quit"
check "c1: interface $IF1 is gone from the client namespace" wait_for 5 link_gone "$NS_C" "$IF1"

# SIGTERM: the client exits and takes its interface with it.
kill -TERM "$(client_pid c2)"
check "c2: exits after SIGTERM" wait_exit "$(client_pid c2)" 10
is "$EXIT_RC" 0 "c2: exits with status 0 after SIGTERM (handled, not killed by it)"
check "c2: interface $IF2 is gone from the client namespace" wait_for 5 link_gone "$NS_C" "$IF2"

check "server: no sshtun interfaces remain once the clients left" wait_for 10 no_server_tuns
left=$(server_tuns)
[ -n "$left" ] && diag "left on the server: $left"

done_testing
