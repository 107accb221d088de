#!/bin/bash
# t_offload.sh: TUN offloads end to end (issue 14).  Both ends open their
# TUN with a virtio-net header and offload what the other takes (the hello's
# gso=): TCP each way over IPv4 and IPv6 arrives intact and went as GSO
# super-packets (stats --json: gso_tx_frames, gso_rx_frames); a UDP
# super-packet (UDP_SEGMENT) arrives as its datagrams; ping still answers.
# A helper without the capability (SSHTUN_NO_OFFLOAD=1, the old protocol)
# and a client without it, with an MTU of 1280, still carry everything, as
# do offloads at an MTU of 1280.  A
# hostile helper's bad headers are dropped and counted, one line each, and
# the session goes on.  Compressed, super-packets still shrink.
. "$(dirname "$0")/lib.sh"

netns_setup || { echo "Bail out! cannot build namespaces"; exit 1; }
HELPER="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases"
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }
# The old protocol: a helper that offers no gso= and offloads nothing.
SSHD_PORT=2222 SSHD_SUBSYSTEM="/usr/bin/env SSHTUN_NO_OFFLOAD=1 $HELPER" sshd_start ||
	{ echo "Bail out! sshd 2222 did not start"; exit 1; }
MODE=$TMP/mode
printf 'vnet_bad\n' >"$MODE"
SSHD_PORT=2223 SSHD_SUBSYSTEM="$PYTHON $TESTS_DIR/e2e/fake_helper.py $MODE" sshd_start ||
	{ echo "Bail out! sshd 2223 did not start"; exit 1; }

head -c $((6 << 20)) /dev/urandom >"$TMP/data"
SUM=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

# send_file NS ADDR PORT: one connection gets $TMP/data.  recv_file NS ADDR
# PORT OUT: connects (up to 30 s until the listener is there), writes OUT.
send_file() {
	ip netns exec "$1" timeout 120 "$PYTHON" -c 'import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_server((a, p), family=socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(60)
c, _ = s.accept()
with open(path, "rb") as f:
    c.sendfile(f)
c.close()' "$2" "$3" "$TMP/data" &
	PIDS+=($!)
}
recv_file() {
	ip netns exec "$1" timeout 120 "$PYTHON" -c 'import socket, sys, time
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
end = time.time() + 30
while True:
    try:
        c = socket.create_connection((a, p), timeout=60)
        break
    except ConnectionRefusedError:
        if time.time() > end:
            raise
        time.sleep(0.05)
with open(path, "wb") as f:
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        f.write(d)' "$2" "$3" "$4"
}
same_sum() { [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$SUM" ]; }

# transfer NAME DIR 4|6 PORT: $TMP/data from the server to the client
# (down) or back (up), checked by sha256.
transfer() {
	local name=$1 dir=$2 port=$4 out=$TMP/$1.$2.$4 addr
	rm -f "$out"
	if [ "$dir" = down ]; then
		if [ "$3" = 4 ]; then addr=$PEER; else addr=$PEER6; fi
		send_file "$NS_S" "$addr" "$port"
		check "$name: $(($(stat -c %s "$TMP/data") >> 10)) KiB server to client over IPv$3 arrive intact" \
			eval 'recv_file "$NS_C" "$addr" "$port" "$out" && same_sum "$out"'
	else
		if [ "$3" = 4 ]; then addr=$LOCAL; else addr=$LOCAL6; fi
		send_file "$NS_C" "$addr" "$port"
		check "$name: $(($(stat -c %s "$TMP/data") >> 10)) KiB client to server over IPv$3 arrive intact" \
			eval 'recv_file "$NS_S" "$addr" "$port" "$out" && same_sum "$out"'
	fi
}

stats() { ctl "$1" stats --json >"$TMP/$1.stats" 2>&1; }
stat_of() { json_get "$TMP/$1.stats" "$2"; }

# udp_gso NAME ADDR PORT: the client sends one 3000-byte UDP_SEGMENT write
# (three 1000-byte datagrams cut by GSO); the server must get all three.
udp_gso() {
	in_s timeout 20 "$PYTHON" -c 'import socket, sys
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((a, p)); s.settimeout(15)
got = sorted(s.recvfrom(4096)[0][:1] for _ in range(3))
sys.exit(got != [b"a", b"b", b"c"])' "$2" "$3" &
	local rx=$!
	PIDS+=($rx)
	wait_for 5 eval "in_s ss -Hlun '( sport = :$3 )' | grep -q ."
	in_c "$PYTHON" -c 'import socket, sys
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1000)    # UDP_SEGMENT
s.sendto(b"a" * 1000 + b"b" * 1000 + b"c" * 1000, (a, p))' "$2" "$3"
	wait "$rx"
}

# up NAME [client args...]: a client comes up; PEER/PEER6 its server's end,
# LOCAL/LOCAL6 its own.
up() {
	local name=$1
	shift
	client_run "$name" -v "$@"
	check "$name: up" client_wait_up "$name" || return 1
	PEER=$(json_get "$TMP/$name.status" peer_addr)
	PEER6=$(json_get "$TMP/$name.status" peer_addr6)
	LOCAL=$(json_get "$TMP/$name.status" local_addr)
	LOCAL6=$(json_get "$TMP/$name.status" local_addr6)
}

# -- both ends offload ---------------------------------------------------------
up o || fail_fast "no tunnel"
stats o
is "$(stat_of o offload)" "csum,tcp4,tcp6,udp" "o: the client's TUN offloads csum, TSO4/6 and USO"
check "o: the client says what its TUN and the server's hello gave" \
	grep -q "offloads: the TUN hands us csum,tcp4,tcp6,udp; the server takes csum,tcp4,tcp6,udp" "$TMP/o.log"
transfer o down 4 5101
transfer o up 4 5102
transfer o down 6 5103
transfer o up 6 5104
stats o
diag "o: $(cat "$TMP/o.stats")"
check "o: the server's TUN gave super-packets (gso_rx_frames > 0)" test "$(stat_of o gso_rx_frames)" -gt 0
check "o: the client's TUN gave super-packets (gso_tx_frames > 0)" test "$(stat_of o gso_tx_frames)" -gt 0
is "$(stat_of o gso_split)" 0 "o: nothing had to be cut in user space"
check "o: UDP_SEGMENT over IPv4: three datagrams arrive" udp_gso o "$PEER" 5105
check "o: UDP_SEGMENT over IPv6: three datagrams arrive" udp_gso o "$PEER6" 5106
check "o: ping over IPv4" in_c ping -c 2 -i 0.2 -W 2 "$PEER"
check "o: ping over IPv6" in_c ping -c 2 -i 0.2 -W 2 "$PEER6"
ctl o quit >/dev/null 2>&1

# -- offloads at an MTU of 1280 -----------------------------------------------------
# Both TUNs keep 1280: the super-packets are made of segments that fit it.
up m --mtu 1280 || fail_fast "no tunnel at MTU 1280 with offloads"
transfer m down 6 5501
transfer m up 6 5502
stats m
check "m: super-packets both ways at MTU 1280" \
	eval '[ "$(stat_of m gso_tx_frames)" -gt 0 ] && [ "$(stat_of m gso_rx_frames)" -gt 0 ]'
is "$(stat_of m gso_bad)" 0 "m: no header refused (every segment fits 1280)"
ctl m quit >/dev/null 2>&1

# -- compression of super-packets ------------------------------------------------
# Text that deflates well, each way through --compress 6: it arrives intact,
# went as super-packets, and took well under half its size on the wire.
"$PYTHON" -c 'import random, sys
random.seed(3)
w = ["GET", "POST", "accepted", "closed", "timeout", "from", "198.51.100.7", "took"]
with open(sys.argv[1], "w") as f:
    for i in range(90000):
        f.write("%06d %s %s %d ms\n" % (i, random.choice(w), random.choice(w), random.randint(1, 999)))
' "$TMP/text"
cp "$TMP/data" "$TMP/random"
cp "$TMP/text" "$TMP/data"
SUM=$(sha256sum <"$TMP/data" | cut -d' ' -f1)
up z --compress 6 || fail_fast "no tunnel with compression"
stats z
rx0=$(stat_of z rx_bytes) rxw0=$(stat_of z rx_wire_bytes) tx0=$(stat_of z tx_bytes) txw0=$(stat_of z tx_wire_bytes)
transfer z down 4 5401
transfer z up 4 5402
stats z
diag "z: $(cat "$TMP/z.stats")"
check "z: super-packets both ways (gso_tx_frames, gso_rx_frames > 0)" \
	eval '[ "$(stat_of z gso_tx_frames)" -gt 0 ] && [ "$(stat_of z gso_rx_frames)" -gt 0 ]'
check "z: server to client took under half its IP bytes on the wire" \
	eval '[ $(( ($(stat_of z rx_wire_bytes) - rxw0) * 2 )) -lt $(( $(stat_of z rx_bytes) - rx0 )) ]'
check "z: client to server took under half its IP bytes on the wire" \
	eval '[ $(( ($(stat_of z tx_wire_bytes) - txw0) * 2 )) -lt $(( $(stat_of z tx_bytes) - tx0 )) ]'
ctl z quit >/dev/null 2>&1
cp "$TMP/random" "$TMP/data"
SUM=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

# -- a helper without the capability (the old protocol) -------------------------
up old -p 2222 || fail_fast "no tunnel to the old helper"
stats old
is "$(stat_of old offload)" off "old: the client's TUN offloads nothing"
transfer old down 4 5201
transfer old up 4 5202
check "old: UDP_SEGMENT: three datagrams arrive" udp_gso old "$PEER" 5203
stats old
is "$(stat_of old gso_tx_frames)/$(stat_of old gso_rx_frames)" 0/0 "old: no super-packet on the wire"
ctl old quit >/dev/null 2>&1

# -- a client without it, at MTU 1280 ---------------------------------------------
CLIENT_PREFIX="env SSHTUN_NO_OFFLOAD=1" up small --mtu 1280 || fail_fast "no tunnel at MTU 1280"
stats small
is "$(stat_of small offload)" off "small: the client offloads nothing"
transfer small down 6 5301
transfer small up 6 5302
stats small
is "$(stat_of small gso_rx_frames)" 0 "small: the helper sent no super-packet to a client without gso="
ctl small quit >/dev/null 2>&1

# -- a hostile helper's headers ----------------------------------------------------
bg_run rx in_c "$PYTHON" -c '
import socket, sys
out = open(sys.argv[1], "a")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
while True:
    data, peer = s.recvfrom(2048)
    out.write("%s\n" % data.decode(errors="replace").strip())
    out.flush()
' "$TMP/rx"
check "a UDP listener on port 9999 in the client namespace" \
	wait_for 10 eval 'in_c ss -Hlun "( sport = :9999 )" | grep -q .'
client_run bad -p 2223
check "bad: a hello offering gso: up" client_wait_up bad
rx_legit() { grep -q "csum-legit" "$TMP/rx" && [ "$(grep -c "gso-legit 1\." "$TMP/rx")" = 3 ]; }
check "bad: a checksum left to the kernel, and a UDP super-packet's three segments, arrive" \
	wait_for 10 rx_legit
check "bad: no packet behind a bad header reached the socket" eval '! grep -q "^bad" "$TMP/rx"'
stats bad
check "bad: refused headers counted (gso_bad >= 11)" test "$(stat_of bad gso_bad)" -ge 11
check "bad: the client still runs" client_is_up bad
MSG=$(cat "$TMP/bad.log")
for why in "flags 0x04" "gso_type 0x03" "gso_type tcpv4 on an IPv4 packet of protocol 17" \
	"csum_start 60000" "csum_offset 200" "gso_size 1 " "over the MTU 1400" \
	"gso_size 100 with gso_type none" "the ECN bit on udp_l4" "shorter than its header"; do
	check "bad: the log names it: $why" eval 'grep -F "bad virtio-net header: " "$TMP/bad.log" | grep -qF -- "$why"'
done
ctl bad quit >/dev/null 2>&1

done_testing
