#!/bin/bash
# Compression end to end: compressible data shrinks on the wire both ways,
# arrives intact, survives mode changes in the middle of a transfer, and a
# hostile helper's over-inflating frame ends the session with a clear line.
# The header layout (zlib-hdr): on a shaped link it takes fewer wire bytes
# than the old layout in the same run; either end without it (an older
# sshtun, SSHTUN_ZLIB_HDR=0) still works; a table that does not add up ends
# the session.
. "$(dirname "$0")/lib.sh"
# The ratios here are those of MTU-sized packets: with TUN offloads the
# kernels hand over 64 KiB super-packets, whose few headers leave the header
# layout nothing to win (t_offload.sh compresses those).  The clients offer
# no gso=, so neither end offloads.
export SSHTUN_NO_OFFLOAD=1

netns_setup || { echo "Bail out! cannot build namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

# A log-like file: repetitive lines with varying numbers (gzip ratio ~5).
"$PYTHON" - "$TMP/log" <<'EOF'
import random, sys
random.seed(7)
hosts = ["web1", "web2", "db1", "cache3"]
words = ["GET", "POST", "accepted", "closed", "timeout", "retry"]
with open(sys.argv[1], "w") as f:
    for i in range(160000):
        f.write("2026-11-25T18:%02d:%02d %s sshd[%d]: %s request %d from 198.51.100.%d took %d ms\n" % (
            i // 3600 % 60, i % 60, random.choice(hosts), 1000 + i % 977, random.choice(words),
            random.randint(0, 99999), random.randint(1, 254), random.randint(1, 500)))
EOF
SIZE=$(stat -c %s "$TMP/log")
SUM=$(sha256sum <"$TMP/log" | cut -d' ' -f1)
diag "log file: $SIZE bytes"

# serve_once NS ADDR PORT FILE [PACE]: a one-shot TCP sender (bounded).
serve_once() {
	ip netns exec "$1" timeout 60 "$PYTHON" - "$2" "$3" "$4" "${5:-0}" <<'EOF' &
import socket, sys, time
addr, port, path, pace = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(30)
c, _ = s.accept()
with open(path, "rb") as f:
    while True:
        b = f.read(65536)
        if not b:
            break
        c.sendall(b)
        if pace:
            time.sleep(pace)
c.close()
EOF
	PIDS+=($!)
}

# fetch NS ADDR PORT OUT: connect and save what arrives (bounded).
fetch() {
	ip netns exec "$1" timeout 60 "$PYTHON" - "$2" "$3" "$4" <<'EOF'
import socket, sys, time
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(50):
    try:
        c = socket.create_connection((addr, port), timeout=30)
        break
    except OSError:
        time.sleep(0.1)
with open(out, "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
EOF
}

stat_field() { ctl "$1" stats --json >"$TMP/$1.stats" 2>/dev/null && json_get "$TMP/$1.stats" "$2"; }

# -- level 6: both directions shrink, data intact --------------------------
client_run z6 --compress 6
check "z6: tunnel comes up with --compress 6" client_wait_up z6 || fail_fast
is "$(json_get "$TMP/z6.status" compression)" 6 "z6: status says compression 6"

serve_once "$NS_S" 198.18.0.0 7001 "$TMP/log"
fetch "$NS_C" 198.18.0.0 7001 "$TMP/down"
is "$(sha256sum <"$TMP/down" | cut -d' ' -f1)" "$SUM" "z6: server to client: sha256 matches"
rx=$(stat_field z6 rx_bytes) rxw=$(stat_field z6 rx_wire_bytes)
diag "z6 rx: $rx IP bytes, $rxw on the wire"
check "z6: server to client: wire bytes at most a third of IP bytes" [ "$((rxw * 3))" -lt "$rx" ]

serve_once "$NS_C" 198.18.0.1 7002 "$TMP/log"
fetch "$NS_S" 198.18.0.1 7002 "$TMP/up"
is "$(sha256sum <"$TMP/up" | cut -d' ' -f1)" "$SUM" "z6: client to server: sha256 matches"
tx=$(stat_field z6 tx_bytes) txw=$(stat_field z6 tx_wire_bytes) txc=$(stat_field z6 tx_compressed)
diag "z6 tx: $tx IP bytes, $txw on the wire, $txc packets compressed"
check "z6: client to server: wire bytes at most a third of IP bytes" [ "$((txw * 3))" -lt "$tx" ]
check "z6: stats count compressed packets" [ "$txc" -gt 0 ]

# -- mode changes in the middle of a transfer, both directions --------------
serve_once "$NS_S" 198.18.0.0 7003 "$TMP/log" 0.01
fetch "$NS_C" 198.18.0.0 7003 "$TMP/mid" &
fpid=$!
for m in off 1 9 auto 6; do
	sleep 0.3
	check "z6: 'compress $m' mid-transfer answers" ctl z6 compress "$m"
done
wait "$fpid"
is "$(sha256sum <"$TMP/mid" | cut -d' ' -f1)" "$SUM" "z6: transfer across five mode changes: sha256 matches"
check "z6: still up after the mode changes" client_is_up z6
ctl z6 compress 10 2>"$TMP/bad"
is "$?" 2 "z6: a bad mode is refused with exit 2"
check "z6: the message names the bad mode: $(cat "$TMP/bad")" grep -q "bad compression \`10'" "$TMP/bad"
client_status z6
is "$(json_get "$TMP/z6.status" compression)" 6 "z6: the mode is still 6 after the refusal"

# -- off: nothing compressed, counters still add up ------------------------
client_run zoff --compress off
check "zoff: tunnel comes up with --compress off" client_wait_up zoff
serve_once "$NS_S" 198.18.0.2 7004 "$TMP/log"
fetch "$NS_C" 198.18.0.2 7004 "$TMP/off"
is "$(sha256sum <"$TMP/off" | cut -d' ' -f1)" "$SUM" "zoff: sha256 matches"
is "$(stat_field zoff tx_compressed)" 0 "zoff: no packet sent compressed"
rx=$(stat_field zoff rx_bytes) rxw=$(stat_field zoff rx_wire_bytes)
check "zoff: wire bytes exceed IP bytes (framing, nothing saved)" [ "$rxw" -gt "$rx" ]

# -- the header layout vs the old one, on a shaped link ---------------------
# veth-s (server -> client) at 20 Mbit/s: the channel is the bottleneck, so
# frames carry full batches either way, and the wire bytes per IP byte are
# the layout's doing.  zold: a helper that does not list zlib-hdr (an older
# sshtun), so neither end uses it.
SSHD_PORT=2302 SSHD_SUBSYSTEM="/usr/bin/env SSHTUN_ZLIB_HDR=0 $SSHTUN serve" sshd_start
client_run zold -p 2302 --compress 6
check "zold: a client comes up against a helper without zlib-hdr" client_wait_up zold
zold_peer=$(json_get "$TMP/zold.status" peer_addr)
check "shaped: tbf on veth-s (server -> client)" \
	timeout 5 ip netns exec "$NS_S" tc qdisc add dev veth-s root tbf rate 20mbit burst 32kbit latency 50ms
# shaped_ratio NAME ADDR PORT: fetch the log through client NAME; prints its
# rx IP bytes per wire byte x 1000 for the fetch.
shaped_ratio() {
	local rx0 rxw0 rx1 rxw1
	rx0=$(stat_field "$1" rx_bytes) rxw0=$(stat_field "$1" rx_wire_bytes)
	serve_once "$NS_S" "$2" "$3" "$TMP/log"
	fetch "$NS_C" "$2" "$3" "$TMP/$1.shaped"
	rx1=$(stat_field "$1" rx_bytes) rxw1=$(stat_field "$1" rx_wire_bytes)
	echo $(((rx1 - rx0) * 1000 / (rxw1 - rxw0 > 0 ? rxw1 - rxw0 : 1)))
}
new=$(shaped_ratio z6 198.18.0.0 7005)
is "$(sha256sum <"$TMP/z6.shaped" | cut -d' ' -f1)" "$SUM" "z6: shaped fetch: sha256 matches"
old=$(shaped_ratio zold "$zold_peer" 7006)
is "$(sha256sum <"$TMP/zold.shaped" | cut -d' ' -f1)" "$SUM" "zold: shaped fetch (old layout): sha256 matches"
timeout 5 ip netns exec "$NS_S" tc qdisc del dev veth-s root
diag "shaped fetch, IP bytes per wire byte: header layout $((new / 1000)).$(printf %03d $((new % 1000))), old layout $((old / 1000)).$(printf %03d $((old % 1000)))"
check "shaped: the header layout takes at least 3% fewer wire bytes than the old one" \
	[ "$((new * 100))" -ge "$((old * 103))" ]

# An older client (no zlib-hdr in its hello) with today's helper, both ways.
SSHTUN_ZLIB_HDR=0 client_run zoldc --compress 6
check "zoldc: a client without zlib-hdr comes up" client_wait_up zoldc
p=$(json_get "$TMP/zoldc.status" peer_addr) a=$(json_get "$TMP/zoldc.status" local_addr)
serve_once "$NS_S" "$p" 7007 "$TMP/log"
fetch "$NS_C" "$p" 7007 "$TMP/oldc.down"
is "$(sha256sum <"$TMP/oldc.down" | cut -d' ' -f1)" "$SUM" "zoldc: server to client: sha256 matches"
serve_once "$NS_C" "$a" 7008 "$TMP/log"
fetch "$NS_S" "$a" 7008 "$TMP/oldc.up"
is "$(sha256sum <"$TMP/oldc.up" | cut -d' ' -f1)" "$SUM" "zoldc: client to server: sha256 matches"
check "zoldc: client to server compressed" [ "$(stat_field zoldc tx_compressed)" -gt 0 ]

# -- a hostile helper: a frame that inflates past the cap --------------------
# Magic line and a hello offering zlib, then one compressed DATA frame of
# 1 MB of zeros (raw deflate, sync flush): far past the 65535-byte cap.
"$PYTHON" - "$TMP/bomb" <<'EOF'
import struct, sys, zlib
hello = b"proto=1\nmtu=1400\ncompress=zlib\nclient4=198.18.0.101/31\nserver4=198.18.0.100/31\n"
c = zlib.compressobj(6, zlib.DEFLATED, -15)
z = c.compress(b"\0" * 1000000) + c.flush(zlib.Z_SYNC_FLUSH)
with open(sys.argv[1], "wb") as f:
    f.write(b"SSHTUN/1 sshtun-fake\n")
    f.write(struct.pack(">BBI", 1, 0, len(hello)) + hello)
    f.write(struct.pack(">BBI", 2, 1, len(z)) + z)
EOF
printf 'cat %s; exec sleep 30\n' "$TMP/bomb" >"$TMP/bomb.sh"
SSHD_PORT=2301 SSHD_SUBSYSTEM="/bin/sh $TMP/bomb.sh" sshd_start
client_run bomb -p 2301
check "bomb: the client says the frame inflates past the cap" \
	wait_for 15 grep -q "inflates past" "$TMP/bomb.log"
check "bomb: the client is still running (it reconnects)" alive "$(client_pid bomb)"
diag "$(grep -m1 "inflates past" "$TMP/bomb.log")"

# -- a hostile helper in the header layout: a table that does not add up -----
"$PYTHON" - "$TMP/badtable" <<'EOF'
import struct, sys, zlib
hello = b"proto=1\nmtu=1400\ncompress=zlib,zlib-hdr\nclient4=198.18.0.103/31\nserver4=198.18.0.102/31\n"
c = zlib.compressobj(6, zlib.DEFLATED, -15)
# one packet of 100 bytes, 20 of them head, but only 60 bytes follow
z = c.compress(bytes([1, 20, 0, 0, 0, 100]) + b"E" * 60) + c.flush(zlib.Z_SYNC_FLUSH)
with open(sys.argv[1], "wb") as f:
    f.write(b"SSHTUN/1 sshtun-fake\n")
    f.write(struct.pack(">BBI", 1, 0, len(hello)) + hello)
    f.write(struct.pack(">BBI", 2, 1, len(z)) + z)
EOF
printf 'cat %s; exec sleep 30\n' "$TMP/badtable" >"$TMP/badtable.sh"
SSHD_PORT=2303 SSHD_SUBSYSTEM="/bin/sh $TMP/badtable.sh" sshd_start
client_run badtable -p 2303
check "badtable: the client says the frame's table does not add up" \
	wait_for 15 grep -q "corrupt compressed frame: its table does not add up" "$TMP/badtable.log"
check "badtable: the client is still running (it reconnects)" alive "$(client_pid badtable)"

for c in z6 zoff zold zoldc bomb badtable; do ctl "$c" quit >/dev/null 2>&1; done
done_testing
