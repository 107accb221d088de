#!/bin/bash
# tests/bench.sh: `make bench`.  Not a test: numbers, side by side.
#
# One sshd (PermitTunnel yes, the sshtun Subsystem) in the server namespace
# of tests/e2e/lib.sh, the client namespace across the veth.  Over the same
# link, one after the other:
#
#   raw       iperf3 etc. straight over the veth (198.51.100.1), no tunnel
#   sshtun    `sshtun -N root@198.51.100.1` (helper mode, --compress auto),
#             against the server's inner address 198.18.0.0
#   sshtun_openssh
#             `sshtun -N --openssh -a 198.18.3.1`: stock sshd's
#             tun@openssh.com channel, no helper; the server end 198.18.3.0
#   sshw      `ssh -w 5:5` with -c aes256-ctr -m hmac-sha2-256 (what sshtun
#             negotiates: libssh2 1.10 has no GCM or chacha20), addresses
#             198.18.1.1 <-> 198.18.1.0/31 set here, same MTU as sshtun's
#   sshw_default_cipher
#             `ssh -w 6:6` with ssh's own default cipher, 198.18.2.x
#
# For each (one function per measurement, measure_all):
#   bulk      iperf3 TCP both ways, 1 stream and 4 streams (-P 4), BENCH_TIME s
#             each; during the 1-stream runs the CPU seconds (utime + stime)
#             of the tunnel's processes on each side per GB moved: the client
#             side is every sshtun/ssh process in the client namespace, the
#             server side every sshd/sshd-session/sshtun process in the server
#             namespace (iperf3 itself is not counted; n/a for the raw link)
#   ping      idle ping RTT (20 pings, 0.2 s apart)
#   rr        request/response: RR_COUNT times a fresh TCP connection and a
#             small HTTP/1.0 GET (a 100-byte answer, then close): median, p99
#   rss       the client's peak RSS (VmHWM of the sshtun client, or of ssh)
#   syscalls  system calls per MB moved: strace -c -f attached to the same
#             processes as the CPU figures, during a fixed SYSCALL_MB MB
#             iperf3 -n transfer each way (strace slows it: counts only)
#
# Then (tests/bench-lib.sh):
#   compression (issue 4)  veth-s shaped to 20 Mbit/s with tbf (server ->
#             client); a 50 MB syslog-like file (gzip ratio about 5) fetched
#             over plain TCP through sshtun --compress auto, off and 6, and
#             ssh -w (aes256-ctr, tun7, 198.18.4.x) with Compression=no and
#             yes; sshtun's IP vs wire bytes from `ctl stats --json`.  Then,
#             unshaped, iperf3 (random payload) through --compress auto and
#             off.
#   latency (issue 15)     ping (40, 0.2 s apart) during one bulk TCP stream
#             server -> client (iperf3 -R, 12 s), on the fast veth and with
#             veth-s shaped to 20 Mbit/s (tbf as above): median and p99 ping,
#             and the stream's goodput in the same run; raw link, sshtun
#             (helper mode, --compress off) and ssh -w (aes256-ctr, tun5).
#   longpath (issue 14)    a 100 ms path: tests/e2e/delay_relay.py holds the
#             SSH connection's bytes LONG_DELAY_MS (50) each way (no netem on
#             this kernel; the relay buffers without bound, so the SSH
#             channel's window is the only flow control across it); iperf3
#             10 s each way through sshtun (helper mode, --compress off; its
#             rx_window after the download) and ssh -w (aes256-ctr, tun5).
#             A 2 MiB window caps 100 ms at 168 Mbit/s.
#   userspace (issue 16)   the helper's user-space network stack
#             (`--remote-command "sshtun serve --userspace"`, libslirp): iperf3
#             bulk 1 and 4 streams both ways with CPU s/GB, to an address on
#             the server's lo (203.0.113.77/32, routed with -r) through the
#             stack's sockets, at the default MTU and with the client's
#             --mtu 65000; next to helper mode (target: >= 0.5 Gbit/s).
#   reconnect (issue 5)    a helper-mode client with default ServerAlive*:
#             the server helper killed, then veth-c blackholed with nft for
#             20 s; state changes from `ctl status --json` every 0.1 s, traffic
#             from `ping -D -i 0.1` through the tunnel.
#   offload (issue 14, tests/bench-offload.sh)  OFFLOAD_MB of random bytes
#             each way, sha256 checked, through sshtun with TUN offloads and
#             through a client without them at --mtu 1280.
#   uplinks (issue 17, tests/bench-uplinks.sh)  two uplinks (veth-c, and
#             ulb-c 203.0.113.2 <-> ulb-s 203.0.113.1), each shaped to 20
#             Mbit/s (tbf, both ways): iperf3 -P 4 each way through sshtun
#             --connections 2 -b veth-c -b ulb-c, sshtun with one connection,
#             and ssh -w (aes256-ctr) on one uplink; target >= 34 Mbit/s.
#
# Results: tables on stdout and in build/bench/results.txt, CSV (metric x
# variant; empty where a variant does not apply) in build/bench/results.csv,
# bar charts in build/bench/bench.png (gnuplot).
# A step that fails shows "n/a"; the script goes on and exits 1 at the end.
#
#   SSHTUN=/path/to/sshtun   the binary (default ./sshtun)
#   BENCH_TIME=10            seconds per iperf3 run
#   RR_COUNT=1000            request/response connections
#   SYSCALL_MB=64            MB moved each way under strace
#   BENCH_PARTS="main compress latency longpath userspace reconnect offload uplinks"   which parts to run
#   OFFLOAD_MB=1024          MB each way in the offload part (bench-offload.sh)
#   FETCH_CC=cubic           the shaped fetch's TCP congestion control
#                            (empty: the namespace default)
#   KEEP=1                   keep the temp dir (logs, iperf3 JSON)

# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
# shellcheck source=bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
# shellcheck source=bench-offload.sh
. "$(dirname "$0")/bench-offload.sh"
# shellcheck source=bench-uplinks.sh
. "$(dirname "$0")/bench-uplinks.sh"

T_START=$(now_ms)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
OUT=$REPO/build/bench
BENCH_TIME=${BENCH_TIME:-10}
RR_COUNT=${RR_COUNT:-1000}
SYSCALL_MB=${SYSCALL_MB:-64}
CLK_TCK=$(getconf CLK_TCK)
BENCH_PARTS=${BENCH_PARTS:-main compress latency longpath userspace reconnect offload uplinks}
LONG_DELAY_MS=${LONG_DELAY_MS:-50}
LONG_PORT=2222
US_PORT=2224			# user-space part: an sshd without the Subsystem line
IPERF_PORT=5201
RR_PORT=5202
OPENSSH_ADDR=198.18.3.1		# --openssh -a: the client's end; the server's is .0
SSHW_C=198.18.1.1 SSHW_S=198.18.1.0	# ssh -w, aes256-ctr, tun5
SSHW2_C=198.18.2.1 SSHW2_S=198.18.2.0	# ssh -w, default cipher, tun6
MTU=1400			# replaced by what sshtun's interface has

# Variants (CSV columns) and metrics (CSV rows); applies() says which meet.
MAIN_COLS=(sshtun sshtun_openssh sshw sshw_default_cipher raw)
COMP_COLS=(sshtun_compress_auto sshtun_compress_off sshtun_compress_6
	sshw_compression_no sshw_compression_yes)
COLS=("${MAIN_COLS[@]}" "${COMP_COLS[@]}" sshtun_userspace sshtun_userspace_mtu64k)
US_TARGET=203.0.113.77		# on the server's lo; reached through the user-space stack
METRICS=(bulk_c2s_gbps bulk_s2c_gbps bulk4_c2s_gbps bulk4_s2c_gbps ping_avg_ms rr_median_ms rr_p99_ms
	cpu_c2s_client_s_per_gb cpu_c2s_server_s_per_gb cpu_s2c_client_s_per_gb cpu_s2c_server_s_per_gb
	client_rss_mb sys_c2s_client_per_mb sys_c2s_server_per_mb sys_s2c_client_per_mb
	sys_s2c_server_per_mb bulk_c2s_retransmits bulk_s2c_retransmits)
WIRE_METRICS=(rx_ip_bytes rx_wire_bytes rx_ip_per_wire tx_ip_bytes tx_wire_bytes
	tx_ip_per_wire tx_frames tx_frames_compressed)
FETCH_METRICS=(shaped_log_gzip_ratio shaped_fetch_s shaped_fetch_mbps shaped_fetch_link_x)
RC_METRICS=(rc_kill_left_up_ms rc_kill_up_ms rc_kill_traffic_ms rc_bh_left_up_ms
	rc_lift_up_ms rc_lift_traffic_ms rc_reconnects)
LOAD_METRICS=(load_fast_ping_median_ms load_fast_ping_p99_ms load_fast_goodput_mbps
	load_shaped_ping_median_ms load_shaped_ping_p99_ms load_shaped_goodput_mbps)
LONG_METRICS=(long_s2c_mbps long_c2s_mbps long_rx_window_kib)
ALL_METRICS=("${METRICS[@]}" "${LOAD_METRICS[@]}" "${LONG_METRICS[@]}" "${FETCH_METRICS[@]}" "${WIRE_METRICS[@]/#/fetch_}"
	"${WIRE_METRICS[@]/#/bulk_}" "${RC_METRICS[@]}")
declare -A R		# R[metric,col] = value; missing means n/a
FAILS=0
SSHW_CIPHER=n/a
SSHW2_CIPHER=n/a
COMP_SECS=n/a
INNER_CC=

part() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }

# applies METRIC COL: whether the benchmark measures METRIC for COL at all.
applies() {
	case $1,$2 in
	bulk_c2s_*,sshtun_compress_auto | bulk_c2s_*,sshtun_compress_off | \
		bulk_s2c_*,sshtun_compress_auto | bulk_s2c_*,sshtun_compress_off) return 0 ;;
	bulk_?x_*,sshtun_compress_auto | bulk_?x_*,sshtun_compress_off) return 0 ;;
	fetch_*,sshtun_compress_*) return 0 ;;
	shaped_*,sshtun_compress_* | shaped_*,sshw_compression_*) return 0 ;;
	rc_*,sshtun) return 0 ;;
	load_*,sshtun | load_*,sshw | load_*,raw) return 0 ;;
	long_rx_window_kib,sshtun | long_*_mbps,sshtun | long_*_mbps,sshw) return 0 ;;
	bulk*_gbps,sshtun_userspace* | bulk_*_retransmits,sshtun_userspace* | cpu_*,sshtun_userspace*) return 0 ;;
	*,sshtun_userspace*) return 1 ;;
	esac
	case " ${METRICS[*]} " in *" $1 "*) [[ " ${MAIN_COLS[*]} " == *" $2 "* ]] ;; *) return 1 ;; esac
}

say()  { echo "# $*"; }
# fail WHAT [LOGFILE]: one failed step; its log's tail for the reader.
fail() {
	FAILS=$((FAILS + 1))
	echo "# FAILED: $1" >&2
	[ -n "$2" ] && [ -s "$2" ] && tail -n 8 "$2" | sed 's/^/#   /' >&2
	return 1
}
val() { echo "${R[$1,$2]:-n/a}"; }

# ---- the three measurements -----------------------------------------------

# iperf_run COL ADDR c2s|s2c [SECONDS [TAG]]: one iperf3 TCP run with a
# one-off server, BENCH_TIME seconds unless given; IPERF_STREAMS parallel
# streams (default 1; its figures are bulkN_ then), or IPERF_BYTES bytes
# instead of a time.  Leaves the bytes received in IPERF_GOT.
iperf_run() {
	local col=$1 addr=$2 dir=$3 secs=${4:-$BENCH_TIME} flag='' name=iperf3-s.$1.$3$5 pid json out rc bps rtx
	local streams=${IPERF_STREAMS:-1} key=bulk amount
	[ "$streams" -gt 1 ] && key=bulk$streams
	json=$TMP/iperf.$col.$dir.$streams$5.json
	amount=(-t "$secs")
	[ -n "$IPERF_BYTES" ] && amount=(-n "$IPERF_BYTES")
	IPERF_GOT=
	[ "$dir" = s2c ] && flag=-R
	bg_run "$name" ip netns exec "$NS_S" iperf3 -s -1 -p "$IPERF_PORT"
	pid=$(cat "$TMP/$name.pid")
	if ! wait_for 5 sshd_listening "$IPERF_PORT"; then
		kill_all "$pid"
		fail "$col: iperf3 server did not listen" "$TMP/$name.log"
		return 1
	fi
	timeout -k 3 $((secs + 60)) ip netns exec "$NS_C" \
		iperf3 -c "$addr" -p "$IPERF_PORT" "${amount[@]}" -P "$streams" --connect-timeout 3000 \
		$flag -J >"$json" 2>"$TMP/iperf.$col.$dir$5.err"
	kill_all "$pid"
	out=$("$PYTHON" -c '
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("no JSON: %s" % e)
if j.get("error"):
    sys.exit(j["error"])
e = j["end"]
print("%.3f %s %d" % (e["sum_received"]["bits_per_second"] / 1e9,
                      e["sum_sent"].get("retransmits", "n/a"), e["sum_received"]["bytes"]))
' "$json" 2>&1)
	rc=$?
	read -r bps rtx IPERF_GOT <<<"$out"
	if [ $rc -ne 0 ] || [ -z "$bps" ]; then
		echo "$out" >>"$TMP/iperf.$col.$dir$5.err"
		fail "$col: iperf3 $dir to $addr" "$TMP/iperf.$col.$dir$5.err"
		return 1
	fi
	[ -n "$IPERF_BYTES" ] && return 0
	R[${key}_${dir}_gbps,$col]=$bps
	R[${key}_${dir}_retransmits,$col]=${rtx:-n/a}
	say "$col: bulk $dir, $streams stream(s): $bps Gbit/s, ${rtx:-n/a} retransmits${4:+ ($secs s)}"
}

# tunnel_pids c|s: the tunnel's own processes on one side (the sshtun client
# and its root side, ssh; sshd, its session processes, the helper), found
# by namespace, so ssh -w and both sshtun modes count the same way.
tunnel_pids() {
	local ns=$NS_C p comm
	[ "$1" = s ] && ns=$NS_S
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		case $comm in sshtun | ssh | sshd | sshd-session | sshd-auth) echo "$p" ;; esac
	done
}

# bulk_cpu COL ADDR DIR: the 1-stream run, with the CPU seconds per GB each
# side's tunnel processes spent on it.
bulk_cpu() {
	local col=$1 dir=$3 cp sp c0 s0 c1 s1
	cp=$(tunnel_pids c) sp=$(tunnel_pids s)
	# shellcheck disable=SC2086 # pid lists
	c0=$(cpu_ticks $cp) s0=$(cpu_ticks $sp)
	IPERF_STREAMS=1 iperf_run "$col" "$2" "$dir" || return 1
	# shellcheck disable=SC2086
	c1=$(cpu_ticks $cp) s1=$(cpu_ticks $sp)
	[ "$col" = raw ] && return 0
	R[cpu_${dir}_client_s_per_gb,$col]=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v b="$IPERF_GOT" \
		'BEGIN { if (b > 0) printf "%.2f", t / hz / (b / 1e9); else print "n/a" }')
	R[cpu_${dir}_server_s_per_gb,$col]=$(awk -v t=$((s1 - s0)) -v hz="$CLK_TCK" -v b="$IPERF_GOT" \
		'BEGIN { if (b > 0) printf "%.2f", t / hz / (b / 1e9); else print "n/a" }')
	say "$col: $dir CPU s/GB: client $(val "cpu_${dir}_client_s_per_gb" "$col"), server $(val "cpu_${dir}_server_s_per_gb" "$col")"
}

bulk_section() {
	bulk_cpu "$1" "$2" c2s
	bulk_cpu "$1" "$2" s2c
	IPERF_STREAMS=4 iperf_run "$1" "$2" c2s
	IPERF_STREAMS=4 iperf_run "$1" "$2" s2c
}

# ping_run COL ADDR: average idle RTT.
ping_run() {
	local col=$1 addr=$2 log=$TMP/ping.$1.log avg loss
	timeout -k 2 20 ip netns exec "$NS_C" ping -n -q -c 20 -i 0.2 -W 2 "$addr" >"$log" 2>&1
	avg=$(awk -F/ '/^(rtt|round-trip)/ { print $5 }' "$log")
	loss=$(grep -o '[0-9.]*% packet loss' "$log")
	if [ -z "$avg" ]; then
		fail "$col: ping $addr" "$log"
		return 1
	fi
	R[ping_avg_ms,$col]=$avg
	say "$col: ping avg $avg ms ($loss)"
}

# rr_run COL ADDR: RR_COUNT times a fresh TCP connection and a small HTTP GET
# (connect, request, the whole 100-byte answer, close), median and p99.
rr_run() {
	local col=$1 addr=$2 name=rr-s.$1 pid log=$TMP/rr.$1.log out med p99
	bg_run "$name" timeout -k 2 120 ip netns exec "$NS_S" "$PYTHON" -c '
import socket, sys
body = b"x" * 100
answer = b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n" + body
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
s.settimeout(30)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            break
        req += d
    if req:
        c.sendall(answer)
    c.close()
' "$addr" "$RR_PORT"
	pid=$(cat "$TMP/$name.pid")
	timeout -k 2 120 ip netns exec "$NS_C" "$PYTHON" -c '
import math, socket, sys, time
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
req = ("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % addr).encode()
def rt():
    t = time.perf_counter()
    c = socket.create_connection((addr, port), timeout=5)
    c.sendall(req)
    got = b""
    while True:
        d = c.recv(4096)
        if not d:
            break
        got += d
    c.close()
    if not got.startswith(b"HTTP/1.0 200") or len(got) < 100:
        sys.exit("bad answer: %r" % got[:60])
    return time.perf_counter() - t
deadline = time.monotonic() + 10
while True:
    try:
        rt()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
for _ in range(20):	# warm-up, not counted
    rt()
ts = sorted(rt() for _ in range(n))
med = (ts[(n - 1) // 2] + ts[n // 2]) / 2
p99 = ts[max(0, math.ceil(0.99 * n) - 1)]
print("%.3f %.3f" % (med * 1e3, p99 * 1e3))
' "$addr" "$RR_PORT" "$RR_COUNT" >"$log" 2>&1
	local rc=$?
	kill_all "$pid"
	out=$(tail -n 1 "$log")
	if [ $rc -ne 0 ] || ! [[ $out =~ ^[0-9.]+\ [0-9.]+$ ]]; then
		fail "$col: request/response to $addr" "$log"
		return 1
	fi
	read -r med p99 <<<"$out"
	R[rr_median_ms,$col]=$med
	R[rr_p99_ms,$col]=$p99
	say "$col: connect + HTTP GET median $med ms, p99 $p99 ms"
}

# rss_run COL: the client's peak resident set (the largest VmHWM among the
# client side's tunnel processes: the sshtun client's network side, or ssh).
rss_run() {
	local col=$1 p kb max=0
	[ "$col" = raw ] && return 0
	for p in $(tunnel_pids c); do
		kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$kb" ] && [ "$kb" -gt "$max" ] && max=$kb
	done
	if [ "$max" -eq 0 ]; then
		fail "$col: no client process to read VmHWM from"
		return 1
	fi
	R[client_rss_mb,$col]=$(awk -v k="$max" 'BEGIN { printf "%.1f", k / 1024 }')
	say "$col: client peak RSS $(val client_rss_mb "$col") MB"
}

# strace_total FILE: the total calls in strace -c's summary.
strace_total() { awk '$NF == "total" { print $4; exit }' "$1"; }

# syscall_run COL ADDR DIR: system calls per MB on each side during a fixed
# SYSCALL_MB MB transfer, strace -c -f attached to the tunnel's processes.
syscall_run() {
	local col=$1 addr=$2 dir=$3 side pids p tot args
	local -A sp
	[ "$col" = raw ] && return 0
	for side in c s; do
		pids=$(tunnel_pids "$side")
		[ -n "$pids" ] || { fail "$col: no $side-side processes to trace"; return 1; }
		args=()
		for p in $pids; do args+=(-p "$p"); done
		strace -c -f -o "$TMP/strace.$col.$dir.$side" "${args[@]}" 2>"$TMP/strace.$col.$dir.$side.err" &
		sp[$side]=$!
		PIDS+=("${sp[$side]}")
	done
	# strace says "Process N attached" on stderr once it is in place.
	wait_for 5 grep -q attached "$TMP/strace.$col.$dir.c.err"
	wait_for 5 grep -q attached "$TMP/strace.$col.$dir.s.err"
	IPERF_STREAMS=1 IPERF_BYTES=${SYSCALL_MB}M iperf_run "$col" "$addr" "$dir" 60 .strace
	local rc=$?
	for side in c s; do
		kill -INT "${sp[$side]}" 2>/dev/null
		wait_exit "${sp[$side]}" 10 || kill_all "${sp[$side]}"
		wait "${sp[$side]}" 2>/dev/null
	done
	[ $rc -eq 0 ] || return 1
	for side in c s; do
		tot=$(strace_total "$TMP/strace.$col.$dir.$side")
		if ! [[ $tot =~ ^[0-9]+$ ]]; then
			fail "$col: no strace summary ($dir, $side side)" "$TMP/strace.$col.$dir.$side.err"
			continue
		fi
		local key=client
		[ "$side" = s ] && key=server
		R[sys_${dir}_${key}_per_mb,$col]=$(awk -v t="$tot" -v b="$IPERF_GOT" \
			'BEGIN { if (b > 0) printf "%.0f", t / (b / 1048576); else print "n/a" }')
	done
	say "$col: $dir syscalls/MB: client $(val "sys_${dir}_client_per_mb" "$col"), server $(val "sys_${dir}_server_per_mb" "$col")"
}

measure_all() {
	bulk_section "$1" "$2"
	ping_run "$1" "$2"
	rr_run "$1" "$2"
	rss_run "$1"
	syscall_run "$1" "$2" c2s
	syscall_run "$1" "$2" s2c
}

# ---- sshtun ---------------------------------------------------------------

# bench_status NAME: `ctl status --json` of client NAME into $TMP/NAME.status.
bench_status() {
	timeout -k 1 3 ip netns exec "$NS_C" "$SSHTUN" ctl -S "$TMP/$1.sock" status --json \
		>"$TMP/$1.status" 2>/dev/null
}
bench_up_or_gone() { ! alive "$2" || { bench_status "$1" && grep -q '"state":"up"' "$TMP/$1.status"; }; }
tun_gone() { ! ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

# sshtun_start NAME [sshtun args...]: a client up and its peer answering a
# ping; sets ST_PID, ST_IF, ST_PEER, ST_MTU.
sshtun_start() {
	local name=$1
	ST_PID='' ST_IF='' ST_PEER='' ST_MTU=''
	if ! [ -x "$SSHTUN" ]; then
		fail "$name: no binary at $SSHTUN (build it, or set SSHTUN=)"
		return 1
	fi
	shift
	say "$name: sshtun -N${*:+ $*} root@$S_ADDR"
	client_run "$name" "$@"
	ST_PID=$(client_pid "$name")
	wait_for 20 bench_up_or_gone "$name" "$ST_PID"
	if ! alive "$ST_PID" || ! grep -q '"state":"up"' "$TMP/$name.status" 2>/dev/null; then
		fail "$name: tunnel not up within 20 s" "$TMP/$name.log"
		kill_all "$ST_PID"
		return 1
	fi
	ST_IF=$(json_get "$TMP/$name.status" ifname 2>/dev/null)
	ST_PEER=$(json_get "$TMP/$name.status" peer_addr 2>/dev/null)
	ST_MTU=$(json_get "$TMP/$name.status" mtu 2>/dev/null)
	if [ -z "$ST_PEER" ] || ! wait_for 10 in_c ping -n -c 1 -W 1 "$ST_PEER"; then
		fail "$name: up, but no answer from its peer '$ST_PEER' within 10 s" "$TMP/$name.log"
		kill_all "$ST_PID"
		return 1
	fi
	say "$name: up, interface $ST_IF, MTU $ST_MTU, peer $ST_PEER"
}

# sshtun_stop NAME: TERM, 10 s, then KILL; then its interface should go.
sshtun_stop() {
	local pid ifname
	pid=$(client_pid "$1")
	ifname=$(json_get "$TMP/$1.status" ifname 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	if ! wait_exit "$pid" 10; then
		fail "$1: client still running 10 s after SIGTERM; killed"
		kill -KILL "$pid" 2>/dev/null
		wait_exit "$pid" 5
	fi
	[ -n "$ifname" ] && ! wait_for 5 tun_gone "$NS_C" "$ifname" &&
		fail "$1: interface $ifname still there after exit"
	return 0
}

# run_sshtun COL NAME [sshtun args...]: the four measurements through a client.
run_sshtun() {
	local col=$1 name=$2
	shift 2
	sshtun_start "$name" "$@" || return 1
	if [ "$col" = sshtun ] && [[ $ST_MTU =~ ^[0-9]+$ ]]; then
		MTU=$ST_MTU	# ssh -w gets the same
	fi
	measure_all "$col" "$ST_PEER"
	sshtun_stop "$name"
}

# ---- user-space mode (issue 16) ----------------------------------------------

# The helper as `serve --userspace' (root here, but the same code path as a
# plain login's): iperf3 through libslirp's sockets to an address on the
# server's lo, since the stack's own end answers nothing but ping.  Once at
# the default MTU, once with the client's --mtu 65000 (the helper takes it
# in this mode).
userspace_run() {
	local col=$1 stack
	shift
	if sshtun_start "bench-$col" -p "$US_PORT" -r "$US_TARGET/32" "$@" \
		--remote-command "$SSHTUN serve --userspace --pool $POOL4 --pool6 $POOL6"; then
		stack=$(json_get "$TMP/bench-$col.status" server_stack 2>/dev/null)
		if [ "$stack" = userspace ]; then
			bulk_section "$col" "$US_TARGET"
		else
			fail "$col: the server's stack is '$stack', not userspace" "$TMP/bench-$col.log"
		fi
		sshtun_stop "bench-$col"
	fi
}

userspace_section() {
	if ! ip -n "$NS_S" addr add "$US_TARGET/32" dev lo; then
		fail "userspace: cannot add $US_TARGET to the server's lo"
		return 1
	fi
	# An sshd without the Subsystem line, so that --remote-command runs.
	if SSHD_PORT=$US_PORT SSHD_SUBSYSTEM='' sshd_start; then
		userspace_run sshtun_userspace
		userspace_run sshtun_userspace_mtu64k --mtu 65000
	else
		fail "userspace: no second sshd on port $US_PORT"
	fi
	ip -n "$NS_S" addr del "$US_TARGET/32" dev lo
}

report_userspace() {
	local m
	echo "User-space mode (issue 16): serve --userspace (libslirp), iperf3 -t $BENCH_TIME to $US_TARGET on"
	echo "the server's lo through the stack's own sockets; helper mode for comparison. Target: bulk >= 0.5 Gbit/s."
	echo
	printf '%-34s | %11s | %13s | %11s\n' metric userspace "us, MTU 65000" "helper mode"
	printf '%s\n' "-----------------------------------+-------------+---------------+------------"
	for m in bulk_c2s_gbps bulk_s2c_gbps bulk4_c2s_gbps bulk4_s2c_gbps cpu_c2s_client_s_per_gb \
		cpu_c2s_server_s_per_gb cpu_s2c_client_s_per_gb cpu_s2c_server_s_per_gb bulk_c2s_retransmits \
		bulk_s2c_retransmits; do
		printf '%-34s | %11s | %13s | %11s\n' "$(label "$m")" "$(val "$m" sshtun_userspace)" \
			"$(val "$m" sshtun_userspace_mtu64k)" "$(val "$m" sshtun)"
	done
}

# ---- ssh -w ---------------------------------------------------------------

tuns_up_or_gone() {
	! alive "$1" && return 0
	ip -n "$NS_C" link show dev "$2" >/dev/null 2>&1 &&
		ip -n "$NS_S" link show dev "$2" >/dev/null 2>&1
}

# sshw_start COL UNIT CLIENT_ADDR SERVER_ADDR [ssh options...]: ssh -w up,
# both ends configured, a ping through; sets SW_PID, SW_CIPHER.
sshw_start() {
	local col=$1 unit=$2 caddr=$3 saddr=$4 name=ssh-w.$1 tun=tun$2
	shift 4
	SW_PID='' SW_CIPHER=unknown
	say "$col: ssh -w $unit:$unit $* root@$S_ADDR (MTU $MTU)"
	bg_run "$name" timeout -k 5 600 ip netns exec "$NS_C" env -u SSH_AUTH_SOCK HOME="$TMP/home" \
		ssh -v -F /dev/null -N -w "$unit:$unit" -o Tunnel=point-to-point \
		-i "$TMP/client_key" -o UserKnownHostsFile="$TMP/known_hosts" \
		-o StrictHostKeyChecking=yes -o ExitOnForwardFailure=yes \
		-o BatchMode=yes -o ConnectTimeout=5 "$@" "root@$S_ADDR"
	SW_PID=$(cat "$TMP/$name.pid")
	wait_for 15 tuns_up_or_gone "$SW_PID" "$tun"
	if ! alive "$SW_PID" || ! tuns_up_or_gone "$SW_PID" "$tun"; then
		fail "$col: $tun did not appear on both sides within 15 s" "$TMP/$name.log"
		kill_all "$SW_PID"
		return 1
	fi
	SW_CIPHER=$(sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 \2/p' \
		"$TMP/$name.log" | head -n 1)
	[ -n "$SW_CIPHER" ] || SW_CIPHER=unknown
	say "$col: negotiated $SW_CIPHER"
	if ! { ip -n "$NS_C" addr add "$caddr/31" dev "$tun" &&
		ip -n "$NS_C" link set dev "$tun" mtu "$MTU" up &&
		ip -n "$NS_S" addr add "$saddr/31" dev "$tun" &&
		ip -n "$NS_S" link set dev "$tun" mtu "$MTU" up; } 2>"$TMP/$name.ip.err"; then
		fail "$col: cannot configure $tun" "$TMP/$name.ip.err"
		kill_all "$SW_PID"
		return 1
	fi
	if ! wait_for 10 in_c ping -n -c 1 -W 1 "$saddr"; then
		fail "$col: no ping through $tun to $saddr" "$TMP/$name.log"
		kill_all "$SW_PID"
		return 1
	fi
}

# sshw_stop COL UNIT
sshw_stop() {
	kill_all "$SW_PID"
	wait_for 5 eval "tun_gone $NS_C tun$2 && tun_gone $NS_S tun$2" ||
		fail "$1: tun$2 still there after ssh exited"
	return 0
}

# run_sshw COL UNIT CLIENT_ADDR SERVER_ADDR [ssh options...]
run_sshw() {
	sshw_start "$@" || return 1
	case $1 in
	sshw) SSHW_CIPHER=$SW_CIPHER ;;
	*) SSHW2_CIPHER=$SW_CIPHER ;;
	esac
	measure_all "$1" "$4"
	sshw_stop "$1" "$2"
}

# ---- latency under load ---------------------------------------------------

iperf_running() { in_c ss -Htn state established "( dport = :$IPERF_PORT )" | grep -q .; }

# load_run COL ADDR fast|shaped: ping during one bulk stream server -> client.
load_run() {
	local col=$1 addr=$2 tag=$3 name=iperf3-s.load.$1.$3 pid ipid out
	local json=$TMP/load.$1.$3.json log=$TMP/load.$1.$3.ping
	bg_run "$name" ip netns exec "$NS_S" iperf3 -s -1 -p "$IPERF_PORT"
	pid=$(cat "$TMP/$name.pid")
	if ! wait_for 5 sshd_listening "$IPERF_PORT"; then
		kill_all "$pid"
		fail "$col: iperf3 server did not listen" "$TMP/$name.log"
		return 1
	fi
	timeout -k 3 30 ip netns exec "$NS_C" iperf3 -c "$addr" -p "$IPERF_PORT" -t 12 -R \
		--connect-timeout 3000 -J >"$json" 2>"$TMP/load.$1.$3.err" &
	ipid=$!
	wait_for 5 iperf_running
	timeout -k 2 30 ip netns exec "$NS_C" ping -n -c 40 -i 0.2 -W 2 "$addr" >"$log" 2>&1
	wait "$ipid"
	kill_all "$pid"
	out=$("$PYTHON" -c '
import json, math, re, sys
ts = sorted(float(m) for m in re.findall(r"time=([0-9.]+)", open(sys.argv[1]).read()))
if len(ts) < 30:
    sys.exit("%d of 40 pings answered" % len(ts))
n = len(ts)
med = (ts[(n - 1) // 2] + ts[n // 2]) / 2
p99 = ts[max(0, math.ceil(0.99 * n) - 1)]
bps = json.load(open(sys.argv[2]))["end"]["sum_received"]["bits_per_second"]
print("%.2f %.2f %.1f" % (med, p99, bps / 1e6))
' "$log" "$json" 2>&1)
	if ! [[ $out =~ ^[0-9.]+\ [0-9.]+\ [0-9.]+$ ]]; then
		echo "$out" >>"$log"
		fail "$col: ping under load ($tag) to $addr" "$log"
		return 1
	fi
	read -r R[load_${tag}_ping_median_ms,$col] R[load_${tag}_ping_p99_ms,$col] \
		R[load_${tag}_goodput_mbps,$col] <<<"$out"
	say "$col: under load ($tag): ping median $(val "load_${tag}_ping_median_ms" "$col") ms," \
		"p99 $(val "load_${tag}_ping_p99_ms" "$col") ms; goodput $(val "load_${tag}_goodput_mbps" "$col") Mbit/s"
}

load_section() {
	local tag
	for tag in fast shaped; do
		if [ "$tag" = shaped ]; then shape_on || return 1; fi
		load_run raw "$S_ADDR" "$tag"
		if sshtun_start bench-load --compress off; then
			load_run sshtun "$ST_PEER" "$tag"
			sshtun_stop bench-load
		fi
		if sshw_start sshw 5 "$SSHW_C" "$SSHW_S" -c aes256-ctr -m hmac-sha2-256; then
			load_run sshw "$SSHW_S" "$tag"
			sshw_stop sshw 5
		fi
		if [ "$tag" = shaped ]; then shape_off; fi
	done
}

# ---- a long path (issue 14) -----------------------------------------------

# long_run COL ADDR: iperf3 both ways over the relayed connection.
long_run() {
	local col=$1 addr=$2 dir
	for dir in s2c c2s; do
		iperf_run "long_$col" "$addr" "$dir" "$BENCH_TIME" || continue
		R[long_${dir}_mbps,$col]=$(awk -v g="${R[bulk_${dir}_gbps,long_$col]}" 'BEGIN { printf "%.1f", g * 1000 }')
		say "$col: over the ${LONG_DELAY_MS}+${LONG_DELAY_MS} ms path, $dir: $(val "long_${dir}_mbps" "$col") Mbit/s"
		# The window right after the download (an upload's ACKs let it
		# fall back to the floor).
		if [ "$col,$dir" = sshtun,s2c ] && ctl bench-long stats --json >"$TMP/bench-long.stats" 2>/dev/null; then
			R[long_rx_window_kib,sshtun]=$(($(json_get "$TMP/bench-long.stats" rx_window) / 1024))
		fi
	done
}

long_section() {
	local ready=$TMP/relay.$LONG_PORT.ready
	bg_run relay ip netns exec "$NS_S" "$PYTHON" "$REPO/tests/e2e/delay_relay.py" \
		"$S_ADDR" "$LONG_PORT" "$S_ADDR" 22 "$LONG_DELAY_MS" "$ready"
	if ! wait_for 10 test -e "$ready"; then
		fail "longpath: the delay relay did not listen" "$TMP/relay.log"
		return 1
	fi
	known_hosts_lines "$TMP/host_key.pub" "$LONG_PORT" >>"$TMP/known_hosts"
	if sshtun_start bench-long --compress off -p "$LONG_PORT"; then
		long_run sshtun "$ST_PEER"
		sshtun_stop bench-long
	fi
	if sshw_start sshw 5 "$SSHW_C" "$SSHW_S" -c aes256-ctr -m hmac-sha2-256 -p "$LONG_PORT"; then
		long_run sshw "$SSHW_S"
		sshw_stop sshw 5
	fi
	kill_all "$(cat "$TMP/relay.pid")"
}

# ---- the report -----------------------------------------------------------

# ratio METRIC: sshtun/ssh -w for throughput, ssh -w/sshtun for latency, so
# above 1 is sshtun being better.
ratio() {
	local a b
	a=$(val "$1" sshtun)
	b=$(val "$1" sshw)
	case $1 in
	*retransmits) echo -; return ;;
	*_gbps) ;;
	*) local t=$a; a=$b; b=$t ;;
	esac
	div "$a" "$b" '%.2fx'
}

# div A B [FORMAT]: A/B, or n/a.
div() {
	awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "n/a"
		else printf f "\n", a / b }'
}

label() {
	case $1 in
	bulk_c2s_gbps) echo "bulk client->server (Gbit/s)" ;;
	bulk_s2c_gbps) echo "bulk server->client (Gbit/s)" ;;
	bulk4_c2s_gbps) echo "4 streams client->server (Gbit/s)" ;;
	bulk4_s2c_gbps) echo "4 streams server->client (Gbit/s)" ;;
	ping_avg_ms) echo "idle ping RTT avg (ms)" ;;
	rr_median_ms) echo "connect+HTTP GET median (ms)" ;;
	rr_p99_ms) echo "connect+HTTP GET p99 (ms)" ;;
	cpu_c2s_client_s_per_gb) echo "CPU s/GB c->s, client side" ;;
	cpu_c2s_server_s_per_gb) echo "CPU s/GB c->s, server side" ;;
	cpu_s2c_client_s_per_gb) echo "CPU s/GB s->c, client side" ;;
	cpu_s2c_server_s_per_gb) echo "CPU s/GB s->c, server side" ;;
	client_rss_mb) echo "client peak RSS (MB)" ;;
	sys_c2s_client_per_mb) echo "syscalls/MB c->s, client" ;;
	sys_c2s_server_per_mb) echo "syscalls/MB c->s, server" ;;
	sys_s2c_client_per_mb) echo "syscalls/MB s->c, client" ;;
	sys_s2c_server_per_mb) echo "syscalls/MB s->c, server" ;;
	bulk_c2s_retransmits) echo "retransmits client->server" ;;
	bulk_s2c_retransmits) echo "retransmits server->client" ;;
	rc_kill_left_up_ms) echo "helper killed -> state leaves up" ;;
	rc_kill_up_ms) echo "helper killed -> state up again" ;;
	rc_kill_traffic_ms) echo "helper killed -> traffic flowing" ;;
	rc_bh_left_up_ms) echo "blackhole -> state leaves up" ;;
	rc_lift_up_ms) echo "blackhole lifted -> state up" ;;
	rc_lift_traffic_ms) echo "blackhole lifted -> traffic flowing" ;;
	rc_reconnects) echo "reconnects counted at the end" ;;
	*) echo "$1" ;;
	esac
}

comp_label() {
	case $1 in
	sshtun_compress_auto) echo "sshtun --compress auto" ;;
	sshtun_compress_off) echo "sshtun --compress off" ;;
	sshtun_compress_6) echo "sshtun --compress 6" ;;
	sshw_compression_no) echo "ssh -w Compression=no" ;;
	sshw_compression_yes) echo "ssh -w Compression=yes" ;;
	esac
}

report_main() {
	local m
	echo "sshtun binary: $SSHTUN (aes256-ctr hmac-sha2-256 via libssh2)"
	echo "ssh -w: $SSHW_CIPHER; ssh -w default: $SSHW2_CIPHER"
	echo "tunnel MTU $MTU, veth MTU 1500; iperf3 -t $BENCH_TIME (-P 1 and -P 4); ping -c 20 -i 0.2;"
	echo "$RR_COUNT fresh connections with a small HTTP GET; strace -c over ${SYSCALL_MB} MB each way"
	echo "ratio: sshtun/ssh -w for throughput, ssh -w/sshtun for latency (>1: sshtun better)"
	echo
	printf '%-34s | %9s | %9s | %9s | %7s | %11s | %9s\n' metric sshtun "--openssh" "ssh -w" ratio \
		"ssh -w dflt" "raw link"
	printf '%s\n' "-----------------------------------+-----------+-----------+-----------+---------+-------------+----------"
	for m in "${METRICS[@]}"; do
		printf '%-34s | %9s | %9s | %9s | %7s | %11s | %9s\n' "$(label "$m")" \
			"$(val "$m" sshtun)" "$(val "$m" sshtun_openssh)" "$(val "$m" sshw)" \
			"$(ratio "$m")" "$(val "$m" sshw_default_cipher)" "$(val "$m" raw)"
	done
	echo
	echo "sshtun = helper mode (--compress auto); --openssh = sshtun over stock sshd's tun@openssh.com"
	echo "(-a $OPENSSH_ADDR; sshtun configures the server's tun over the same connection), no helper"
	echo "ssh -w = ssh -c aes256-ctr -m hmac-sha2-256 (sshtun's cipher); ssh -w dflt = $SSHW2_CIPHER"
	echo
	report_readme
}

# readme_unit METRIC: the unit the README's table gives in the sshtun column.
readme_unit() {
	case $1 in
	*_gbps) echo " Gbit/s" ;;
	*_ms) echo " ms" ;;
	*_s_per_gb) echo " s/GB" ;;
	*_per_mb) echo "/MB" ;;
	*_mb) echo " MB" ;;
	esac
}

# The main table as README.md's Benchmark section has it (markdown rows).
report_readme() {
	local m v r
	echo "README rows (| metric | sshtun | sshtun --openssh | ssh -w | sshtun vs ssh -w |):"
	echo "| metric | sshtun | sshtun --openssh | ssh -w | sshtun vs ssh -w |"
	echo "|---|---|---|---|---|"
	for m in "${METRICS[@]}"; do
		case $m in *retransmits) continue ;; esac
		v=$(val "$m" sshtun)
		[ "$v" = n/a ] || v="$v$(readme_unit "$m")"
		r=$(ratio "$m")
		case $r in
		n/a) ;;
		*) awk -v x="${r%x}" 'BEGIN { exit !(x < 1) }' && r="$r (worse)" ;;
		esac
		printf '| %s | %s | %s | %s | %s |\n' "$(label "$m" | sed 's/ ([^)]*)$//')" "$v" \
			"$(val "$m" sshtun_openssh)" "$(val "$m" sshw)" "$r"
	done
}

# comp_limit: the zlib limit (goodput with off x the gzip -6 ratio) and how
# close auto, level 6 and ssh -w Compression=yes come, against 95%.
comp_limit() {
	local off c v
	off=$(val shaped_fetch_mbps sshtun_compress_off)
	if ! [[ $off =~ ^[0-9.]+$ && $LOG_GZIP_RATIO =~ ^[0-9.]+$ ]]; then
		echo "zlib limit: n/a (no goodput with off, or no gzip ratio)"
		return
	fi
	echo
	awk -v o="$off" -v r="$LOG_GZIP_RATIO" 'BEGIN { printf "zlib limit: %.1f Mbit/s with off x %.2f = %.1f Mbit/s\n", o, r, o * r }'
	for c in sshtun_compress_auto sshtun_compress_6 sshw_compression_yes; do
		v=$(val shaped_fetch_mbps "$c")
		[[ $v =~ ^[0-9.]+$ ]] || { printf '  %-24s n/a\n' "$(comp_label "$c")"; continue; }
		awk -v v="$v" -v o="$off" -v r="$LOG_GZIP_RATIO" -v l="$(comp_label "$c")" -v t="$c" 'BEGIN {
			p = 100 * v / (o * r)
			printf "  %-24s %6.1f Mbit/s = %5.1f%% of the limit%s\n", l, v, p,
				t ~ /^sshtun/ ? (p >= 95 ? " (target 95%: met)" : " (target 95%: NOT met)") : ""
		}'
	done
}

report_comp() {
	local c a o
	echo "Compression (issue 4): a $((LOG_BYTES / 1000000)) MB ($LOG_BYTES bytes) syslog-like file, gzip -6 ratio $LOG_GZIP_RATIO,"
	echo "fetched over plain TCP server -> client; veth-s shaped: tbf rate ${SHAPE_MBIT}mbit burst 32kbit latency 50ms."
	echo "The fetch's TCP: ${FETCH_CC:-default} (namespace default: ${INNER_CC:-unknown}); ssh -w: aes256-ctr hmac-sha2-256."
	echo "Targets (issue 15): auto and level 6 at least 95% of the zlib limit = goodput with off x the"
	echo "file's gzip -6 ratio, in the same run; ssh -w with zlib for comparison."
	echo
	printf '%-24s | %8s | %10s | %7s | %11s | %11s\n' variant seconds "eff Mbit/s" "x link" \
		"rx IP/wire" "tx IP/wire"
	printf '%s\n' "-------------------------+----------+------------+---------+-------------+------------"
	for c in "${COMP_COLS[@]}"; do
		a=$(val fetch_rx_ip_per_wire "$c") o=$(val fetch_tx_ip_per_wire "$c")
		applies fetch_rx_ip_per_wire "$c" || a=- o=-
		printf '%-24s | %8s | %10s | %7s | %11s | %11s\n' "$(comp_label "$c")" \
			"$(val shaped_fetch_s "$c")" "$(val shaped_fetch_mbps "$c")" \
			"$(val shaped_fetch_link_x "$c")" "$a" "$o"
	done
	comp_limit
	echo
	echo "sshtun's counters over the fetch (ctl stats --json deltas on the client; rx = server -> client):"
	for c in sshtun_compress_auto sshtun_compress_off sshtun_compress_6; do
		printf '  %-24s rx %s IP / %s wire bytes; tx %s IP / %s wire bytes, %s of %s packets compressed\n' \
			"$(comp_label "$c")" "$(val fetch_rx_ip_bytes "$c")" "$(val fetch_rx_wire_bytes "$c")" \
			"$(val fetch_tx_ip_bytes "$c")" "$(val fetch_tx_wire_bytes "$c")" \
			"$(val fetch_tx_frames_compressed "$c")" "$(val fetch_tx_frames "$c")"
	done
	echo
	echo "Unshaped link, iperf3 (random payload), --compress auto vs off (target: auto within 10% of off);"
	echo "Gbit/s: the mean of two ${UNSHAPED_TIME} s runs each, in the order auto off off auto (s2c: off auto auto off):"
	printf '%-30s | %9s | %9s | %8s\n' metric auto off auto/off
	printf '%s\n' "-------------------------------+-----------+-----------+---------"
	for c in bulk_c2s_gbps bulk_s2c_gbps; do
		printf '%-30s | %9s | %9s | %8s\n' "$(label "$c")" "$(val "$c" sshtun_compress_auto)" \
			"$(val "$c" sshtun_compress_off)" \
			"$(div "$(val "$c" sshtun_compress_auto)" "$(val "$c" sshtun_compress_off)")"
	done
	for c in rx tx; do
		printf '%-30s | %9s | %9s |\n' "IP/wire bytes $c, c2s+s2c" \
			"$(val "bulk_${c}_ip_per_wire" sshtun_compress_auto)" \
			"$(val "bulk_${c}_ip_per_wire" sshtun_compress_off)"
	done
	printf '%-30s | %9s | %9s |\n' "client tx frames compressed" \
		"$(val bulk_tx_frames_compressed sshtun_compress_auto)" \
		"$(val bulk_tx_frames_compressed sshtun_compress_off)"
	printf '%-30s | %9s | %9s |\n' "client tx frames" \
		"$(val bulk_tx_frames sshtun_compress_auto)" "$(val bulk_tx_frames sshtun_compress_off)"
	echo
	echo "compression section took $COMP_SECS s (log made and checked in $LOG_GEN_S s)"
}

report_load() {
	local m
	echo "Latency under load (issue 15): ping -c 40 -i 0.2 during one iperf3 TCP stream server -> client"
	echo "(12 s); fast = the veth, shaped = veth-s at ${SHAPE_MBIT} Mbit/s (tbf). sshtun --compress off."
	echo "Targets: median at most 2 ms (fast), 10 ms (shaped); goodput at least 90% of the stream alone."
	echo
	printf '%-32s | %9s | %9s | %9s\n' metric sshtun "ssh -w" "raw link"
	printf '%s\n' "---------------------------------+-----------+-----------+----------"
	for m in "${LOAD_METRICS[@]}"; do
		printf '%-32s | %9s | %9s | %9s\n' "$m" "$(val "$m" sshtun)" "$(val "$m" sshw)" "$(val "$m" raw)"
	done
}

report_long() {
	local m
	echo "A long path (issue 14): the SSH connection through a relay holding each byte ${LONG_DELAY_MS} ms"
	echo "each way (tests/e2e/delay_relay.py); iperf3 ${BENCH_TIME} s each way. sshtun --compress off; its"
	echo "rx window is what the client granted after the download (at most 16 MiB). A 2 MiB window"
	echo "caps this path at 168 Mbit/s; upload is capped by sshd's own session window (2 MiB)."
	echo
	printf '%-32s | %9s | %9s\n' metric sshtun "ssh -w"
	printf '%s\n' "---------------------------------+-----------+----------"
	for m in "${LONG_METRICS[@]}"; do
		printf '%-32s | %9s | %9s\n' "$m" "$(val "$m" sshtun)" "$(val "$m" sshw)"
	done
}

report_rc() {
	local m
	echo "Reconnect (issue 5): helper mode, default ServerAliveInterval/CountMax; ping -D -i 0.1"
	echo "through the tunnel, ctl status --json every 0.1 s; veth-c blackholed both ways for ${BLACKHOLE_S} s."
	echo "Targets: back to traffic <= 2000 ms; a dead peer noticed within 15 s (issue 5)."
	echo
	for m in "${RC_METRICS[@]}"; do
		case $m in
		rc_reconnects) printf '%-40s %8s\n' "$(label "$m")" "$(val "$m" sshtun)" ;;
		*) printf '%-40s %8s ms\n' "$(label "$m")" "$(val "$m" sshtun)" ;;
		esac
	done
}

report() {
	local m c elapsed
	elapsed=$((($(now_ms) - T_START) / 1000))
	{
		echo "sshtun benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(uname -r), $(nproc) CPUs"
		echo "load average at start: $LOAD_START (other work on the machine skews the numbers)"
		echo "parts: $BENCH_PARTS"
		if part main; then echo; report_main; fi
		if part compress; then echo; report_comp; fi
		if part latency; then echo; report_load; fi
		if part longpath; then echo; report_long; fi
		if part userspace; then echo; report_userspace; fi
		if part reconnect; then echo; report_rc; fi
		if part offload; then echo; report_offload; fi
		if part uplinks; then echo; report_uplinks; fi
		echo
		echo "failed steps: $FAILS; run took ${elapsed} s"
	} | tee "$OUT/results.txt"

	{
		printf 'metric'
		printf ',%s' "${COLS[@]}"
		echo
		for m in "${ALL_METRICS[@]}"; do
			printf '%s' "$m"
			for c in "${COLS[@]}"; do
				if applies "$m" "$c"; then printf ',%s' "$(val "$m" "$c")"; else printf ','; fi
			done
			echo
		done
	} >"$OUT/results.csv"
	echo "wrote $OUT/results.txt and $OUT/results.csv"
	chart
}

chart() {
	local term=png dflt=${SSHW2_CIPHER%% *} c bulk_ok comp_ok
	dflt=${dflt%%@*}
	if ! command -v gnuplot >/dev/null 2>&1; then
		echo "gnuplot not installed (apt-get install -y gnuplot-nox): no chart"
		return 0
	fi
	echo 'set terminal pngcairo' | timeout 10 gnuplot >/dev/null 2>&1 && term=pngcairo
	{
		echo '"raw link"' "$(val bulk_c2s_gbps raw)" "$(val bulk_s2c_gbps raw)"
		echo '"sshtun\naes256-ctr"' "$(val bulk_c2s_gbps sshtun)" "$(val bulk_s2c_gbps sshtun)"
		echo '"sshtun --openssh\naes256-ctr"' "$(val bulk_c2s_gbps sshtun_openssh)" \
			"$(val bulk_s2c_gbps sshtun_openssh)"
		echo '"ssh -w\naes256-ctr"' "$(val bulk_c2s_gbps sshw)" "$(val bulk_s2c_gbps sshw)"
		echo "\"ssh -w (default)\\n$dflt\"" "$(val bulk_c2s_gbps sshw_default_cipher)" \
			"$(val bulk_s2c_gbps sshw_default_cipher)"
	} >"$OUT/bench.dat"
	for c in "${COMP_COLS[@]}"; do
		# "sshtun --compress auto" -> "sshtun\n--compress auto", "ssh -w\nCompression=no"
		printf '"%s" %s %s\n' "$(comp_label "$c" | sed 's/ \([^ ]*[-=][^ ]*\)/\\n\1/')" \
			"$(val shaped_fetch_s "$c")" "$(val shaped_fetch_link_x "$c")"
	done >"$OUT/bench-comp.dat"
	rm -f "$OUT/bench.png"
	# A panel without a single number is left out (gnuplot refuses it).
	bulk_ok=0 comp_ok=0
	awk '$(NF-1) ~ /^[0-9.]+$/ || $NF ~ /^[0-9.]+$/ { f = 1 } END { exit !f }' "$OUT/bench.dat" && bulk_ok=1
	awk '$(NF-1) ~ /^[0-9.]+$/ { f = 1 } END { exit !f }' "$OUT/bench-comp.dat" && comp_ok=1
	if [ $((bulk_ok + comp_ok)) -eq 0 ]; then
		echo "no figures to chart"
		return 0
	fi
	if timeout 30 gnuplot >"$TMP/gnuplot.log" 2>&1 <<EOF
set terminal $term size 1000,$((bulk_ok * 500 + comp_ok * 500))
set output '$OUT/bench.png'
set datafile missing 'n/a'
set multiplot layout $((bulk_ok + comp_ok)),1
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set xrange [-0.6:4.6]
set bmargin 4
set offsets 0, 0, graph 0.08, 0
if ($bulk_ok) {
set title 'TCP bulk throughput (iperf3, ${BENCH_TIME} s, tunnel MTU $MTU)'
set ylabel 'Gbit/s'
set boxwidth 0.9
set key top right
plot '$OUT/bench.dat' using 2:xtic(1) title 'client -> server', \
     '' using 3 title 'server -> client', \
     '' using (\$0 - 1.0/6):2:(sprintf('%.2f', \$2)) with labels offset 0,0.8 notitle, \
     '' using (\$0 + 1.0/6):3:(sprintf('%.2f', \$3)) with labels offset 0,0.8 notitle
}
if ($comp_ok) {
set title 'Fetch of a $((LOG_BYTES / 1000000)) MB log (gzip ratio $LOG_GZIP_RATIO), server -> client shaped to $SHAPE_MBIT Mbit/s (tbf)'
set ylabel 'seconds (lower is better)'
set boxwidth 0.6
set key off
plot '$OUT/bench-comp.dat' using 2:xtic(1) lc rgb '#4a7ebb' notitle, \
     '' using 0:2:(sprintf('%.1f s = %.1fx link', \$2, \$3)) with labels offset 0,0.8 notitle
}
unset multiplot
EOF
	then
		echo "wrote $OUT/bench.png ($term)"
	else
		fail "gnuplot chart" "$TMP/gnuplot.log"
	fi
}

# ---- main -----------------------------------------------------------------

mkdir -p "$OUT" || exit 1
for tool in iperf3 ssh ping tc nft gzip; do
	command -v "$tool" >/dev/null 2>&1 || { echo "Bail out! $tool is not installed (make deps)"; exit 1; }
done
netns_setup || { echo "Bail out! cannot set up network namespaces"; exit 1; }
sshd_start "PermitTunnel yes" || { echo "Bail out! sshd did not start"; exit 1; }

if part main; then
	say "raw link: $C_ADDR -> $S_ADDR over the veth"
	measure_all raw "$S_ADDR"
	run_sshtun sshtun bench
	run_sshtun sshtun_openssh bench-openssh --openssh -a "$OPENSSH_ADDR"
	run_sshw sshw 5 "$SSHW_C" "$SSHW_S" -c aes256-ctr -m hmac-sha2-256
	run_sshw sshw_default_cipher 6 "$SSHW2_C" "$SSHW2_S"
fi
part compress && comp_section
part latency && load_section
part longpath && long_section
part userspace && userspace_section
part reconnect && reconnect_section
part offload && offload_section
part uplinks && uplinks_section

echo
report
[ "$FAILS" -eq 0 ] || exit 1
exit 0
