#!/bin/bash
# tests/bench.sh: `make bench`.  Not a test: numbers, side by side.
#
# One sshd (PermitTunnel yes, the sshtun Subsystem) in the server namespace
# of tests/e2e/lib.sh, the client namespace across the veth.  Over the same
# link, one after the other:
#
#   raw       iperf3 etc. straight over the veth (198.51.100.1), no tunnel
#   sshtun    `sshtun -N root@198.51.100.1`, against the server's inner
#             address 198.18.0.0
#   sshw      `ssh -w 5:5` with -c aes256-ctr -m hmac-sha2-256 (what sshtun
#             negotiates: libssh2 1.10 has no GCM or chacha20), addresses
#             198.18.1.1 <-> 198.18.1.0/31 set here, same MTU as sshtun's
#   sshw_default_cipher
#             `ssh -w 6:6` with ssh's own default cipher, 198.18.2.x
#
# For each: iperf3 TCP bulk both ways (10 s each), idle ping RTT (20 pings,
# 0.2 s apart), and request/response: 2000 sequential 64-byte round trips on
# one TCP_NODELAY connection (median and p99).
#
# Results: a table on stdout and in build/bench/results.txt, CSV in
# build/bench/results.csv, a bar chart in build/bench/bench.png (gnuplot).
# A step that fails shows "n/a"; the script goes on and exits 1 at the end.
#
#   SSHTUN=/path/to/sshtun   the binary (default ./sshtun)
#   BENCH_TIME=10            seconds per iperf3 run
#   RR_COUNT=2000            request/response round trips
#   KEEP=1                   keep the temp dir (logs, iperf3 JSON)

# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"

T_START=$(now_ms)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
OUT=$REPO/build/bench
BENCH_TIME=${BENCH_TIME:-10}
RR_COUNT=${RR_COUNT:-2000}
IPERF_PORT=5201
RR_PORT=5202
SSHTUN_PEER=198.18.0.0		# the server's inner address (pool 198.18.0.0/24)
SSHW_C=198.18.1.1 SSHW_S=198.18.1.0	# ssh -w, aes256-ctr, tun5
SSHW2_C=198.18.2.1 SSHW2_S=198.18.2.0	# ssh -w, default cipher, tun6
MTU=1400			# replaced by what sshtun's interface has

COLS=(sshtun sshw sshw_default_cipher raw)
METRICS=(bulk_c2s_gbps bulk_s2c_gbps ping_avg_ms rr_median_ms rr_p99_ms
	bulk_c2s_retransmits bulk_s2c_retransmits)
declare -A R		# R[metric,col] = value; missing means n/a
FAILS=0
SSHW_CIPHER=n/a
SSHW2_CIPHER=n/a

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

# iperf_run COL ADDR c2s|s2c: one iperf3 TCP run with a one-off server.
iperf_run() {
	local col=$1 addr=$2 dir=$3 flag='' name=iperf3-s.$1.$3 pid json out rc bps rtx
	json=$TMP/iperf.$col.$dir.json
	[ "$dir" = s2c ] && flag=-R
	bg_run "$name" ip netns exec "$NS_S" iperf3 -s -1 -p "$IPERF_PORT"
	pid=$(cat "$TMP/$name.pid")
	if ! wait_for 5 sshd_listening "$IPERF_PORT"; then
		kill_all "$pid"
		fail "$col: iperf3 server did not listen" "$TMP/$name.log"
		return 1
	fi
	timeout -k 3 $((BENCH_TIME + 15)) ip netns exec "$NS_C" \
		iperf3 -c "$addr" -p "$IPERF_PORT" -t "$BENCH_TIME" --connect-timeout 3000 \
		$flag -J >"$json" 2>"$TMP/iperf.$col.$dir.err"
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
print("%.3f %s" % (e["sum_received"]["bits_per_second"] / 1e9,
                   e["sum_sent"].get("retransmits", "n/a")))
' "$json" 2>&1)
	rc=$?
	read -r bps rtx <<<"$out"
	if [ $rc -ne 0 ] || [ -z "$bps" ]; then
		echo "$out" >>"$TMP/iperf.$col.$dir.err"
		fail "$col: iperf3 $dir to $addr" "$TMP/iperf.$col.$dir.err"
		return 1
	fi
	R[bulk_${dir}_gbps,$col]=$bps
	R[bulk_${dir}_retransmits,$col]=${rtx:-n/a}
	say "$col: bulk $dir $bps Gbit/s, ${rtx:-n/a} retransmits"
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

# rr_run COL ADDR: RR_COUNT sequential 64-byte round trips, median and p99.
rr_run() {
	local col=$1 addr=$2 name=rr-s.$1 pid log=$TMP/rr.$1.log out med p99
	bg_run "$name" timeout -k 2 60 ip netns exec "$NS_S" "$PYTHON" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(30)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    d = c.recv(4096)
    if not d:
        break
    c.sendall(d)
' "$addr" "$RR_PORT"
	pid=$(cat "$TMP/$name.pid")
	timeout -k 2 60 ip netns exec "$NS_C" "$PYTHON" -c '
import math, socket, sys, time
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + 10
while True:
    try:
        c = socket.create_connection((addr, port), timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
c.settimeout(5)
msg = b"x" * 64
def rt():
    t = time.perf_counter()
    c.sendall(msg)
    got = 0
    while got < 64:
        d = c.recv(64 - got)
        if not d:
            sys.exit("connection closed")
        got += len(d)
    return time.perf_counter() - t
for _ in range(50):	# warm-up, not counted
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
	say "$col: request/response median $med ms, p99 $p99 ms"
}

measure_all() {
	iperf_run "$1" "$2" c2s
	iperf_run "$1" "$2" s2c
	ping_run "$1" "$2"
	rr_run "$1" "$2"
}

# ---- sshtun -----------------------------------------------------------------

sshtun_up_or_gone() { ! alive "$1" || in_c ping -n -c 1 -W 1 "$SSHTUN_PEER"; }
tun_gone() { ! ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

run_sshtun() {
	local pid ifname mtu
	if ! [ -x "$SSHTUN" ]; then
		fail "sshtun: no binary at $SSHTUN (build it, or set SSHTUN=)"
		return 1
	fi
	say "sshtun: $SSHTUN -N root@$S_ADDR"
	client_run bench
	pid=$(client_pid bench)
	wait_for 20 sshtun_up_or_gone "$pid"
	if ! alive "$pid" || ! in_c ping -n -c 1 -W 1 "$SSHTUN_PEER" >/dev/null 2>&1; then
		fail "sshtun: tunnel not up within 20 s (no answer from $SSHTUN_PEER)" "$TMP/bench.log"
		kill_all "$pid"
		return 1
	fi
	ifname=$(ip -n "$NS_C" -o -4 addr show to 198.18.0.0/24 | awk '{ print $2; exit }')
	mtu=$(ip -n "$NS_C" -o link show dev "$ifname" 2>/dev/null |
		sed -n 's/.* mtu \([0-9]*\).*/\1/p')
	if [ -n "$mtu" ]; then
		MTU=$mtu
		say "sshtun: interface $ifname, MTU $MTU"
	else
		say "sshtun: could not read its interface's MTU; ssh -w gets $MTU"
	fi
	measure_all sshtun "$SSHTUN_PEER"
	# Stop it: TERM, 10 s, then KILL; then its interface should go.
	kill -TERM "$pid" 2>/dev/null
	if ! wait_exit "$pid" 10; then
		fail "sshtun: client still running 10 s after SIGTERM; killed"
		kill -KILL "$pid" 2>/dev/null
		wait_exit "$pid" 5
	fi
	[ -n "$ifname" ] && ! wait_for 5 tun_gone "$NS_C" "$ifname" &&
		fail "sshtun: interface $ifname still there after exit"
	return 0
}

# ---- ssh -w ---------------------------------------------------------------

tuns_up_or_gone() {
	! alive "$1" && return 0
	ip -n "$NS_C" link show dev "$2" >/dev/null 2>&1 &&
		ip -n "$NS_S" link show dev "$2" >/dev/null 2>&1
}

# run_sshw COL UNIT CLIENT_ADDR SERVER_ADDR [ssh options...]
run_sshw() {
	local col=$1 unit=$2 caddr=$3 saddr=$4 name=ssh-w.$1 pid tun cipher
	shift 4
	tun=tun$unit
	say "$col: ssh -w $unit:$unit $* root@$S_ADDR (MTU $MTU)"
	bg_run "$name" ip netns exec "$NS_C" env -u SSH_AUTH_SOCK HOME="$TMP/home" \
		ssh -v -F /dev/null -N -w "$unit:$unit" -o Tunnel=point-to-point \
		-i "$TMP/client_key" -o UserKnownHostsFile="$TMP/known_hosts" \
		-o StrictHostKeyChecking=yes -o ExitOnForwardFailure=yes \
		-o BatchMode=yes -o ConnectTimeout=5 "$@" "root@$S_ADDR"
	pid=$(cat "$TMP/$name.pid")
	wait_for 15 tuns_up_or_gone "$pid" "$tun"
	if ! alive "$pid" || ! tuns_up_or_gone "$pid" "$tun"; then
		fail "$col: $tun did not appear on both sides within 15 s" "$TMP/$name.log"
		kill_all "$pid"
		return 1
	fi
	cipher=$(sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 \2/p' \
		"$TMP/$name.log" | head -n 1)
	[ -n "$cipher" ] || cipher=unknown
	case $col in
	sshw) SSHW_CIPHER=$cipher ;;
	*) SSHW2_CIPHER=$cipher ;;
	esac
	say "$col: negotiated $cipher"
	if ! { ip -n "$NS_C" addr add "$caddr/31" dev "$tun" &&
		ip -n "$NS_C" link set dev "$tun" mtu "$MTU" up &&
		ip -n "$NS_S" addr add "$saddr/31" dev "$tun" &&
		ip -n "$NS_S" link set dev "$tun" mtu "$MTU" up; } 2>"$TMP/$name.ip.err"; then
		fail "$col: cannot configure $tun" "$TMP/$name.ip.err"
		kill_all "$pid"
		return 1
	fi
	if ! wait_for 10 in_c ping -n -c 1 -W 1 "$saddr"; then
		fail "$col: no ping through $tun to $saddr" "$TMP/$name.log"
		kill_all "$pid"
		return 1
	fi
	measure_all "$col" "$saddr"
	kill_all "$pid"
	wait_for 5 eval "tun_gone $NS_C $tun && tun_gone $NS_S $tun" ||
		fail "$col: $tun still there after ssh exited"
	return 0
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
	awk -v a="$a" -v b="$b" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "n/a"
		else printf "%.2fx\n", a / b }'
}

label() {
	case $1 in
	bulk_c2s_gbps) echo "bulk client->server (Gbit/s)" ;;
	bulk_s2c_gbps) echo "bulk server->client (Gbit/s)" ;;
	ping_avg_ms) echo "idle ping RTT avg (ms)" ;;
	rr_median_ms) echo "64 B req/resp median (ms)" ;;
	rr_p99_ms) echo "64 B req/resp p99 (ms)" ;;
	bulk_c2s_retransmits) echo "retransmits client->server" ;;
	bulk_s2c_retransmits) echo "retransmits server->client" ;;
	esac
}

report() {
	local m c elapsed
	elapsed=$((($(now_ms) - T_START) / 1000))
	{
		echo "sshtun benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(uname -r), $(nproc) CPUs"
		echo "load average at start: $LOAD_START (other work on the machine skews the numbers)"
		echo "sshtun binary: $SSHTUN (aes256-ctr hmac-sha2-256 via libssh2)"
		echo "ssh -w: $SSHW_CIPHER; ssh -w default: $SSHW2_CIPHER"
		echo "tunnel MTU $MTU, veth MTU 1500; iperf3 -t $BENCH_TIME; ping -c 20 -i 0.2; $RR_COUNT round trips"
		echo "ratio: sshtun/ssh -w for throughput, ssh -w/sshtun for latency (>1: sshtun better)"
		echo
		printf '%-30s | %9s | %9s | %7s | %11s | %9s\n' metric sshtun "ssh -w" ratio \
			"ssh -w dflt" "raw link"
		printf '%s\n' "-------------------------------+-----------+-----------+---------+-------------+----------"
		for m in "${METRICS[@]}"; do
			printf '%-30s | %9s | %9s | %7s | %11s | %9s\n' "$(label "$m")" \
				"$(val "$m" sshtun)" "$(val "$m" sshw)" "$(ratio "$m")" \
				"$(val "$m" sshw_default_cipher)" "$(val "$m" raw)"
		done
		echo
		echo "ssh -w = ssh -c aes256-ctr -m hmac-sha2-256 (sshtun's cipher); ssh -w dflt = $SSHW2_CIPHER"
		echo "failed steps: $FAILS; run took ${elapsed} s"
	} | tee "$OUT/results.txt"

	{
		echo "metric,sshtun,sshw,sshw_default_cipher,raw"
		for m in "${METRICS[@]}"; do
			printf '%s' "$m"
			for c in "${COLS[@]}"; do printf ',%s' "$(val "$m" "$c")"; done
			echo
		done
	} >"$OUT/results.csv"
	echo "wrote $OUT/results.txt and $OUT/results.csv"
	chart
}

chart() {
	local term=png dflt=${SSHW2_CIPHER%% *}
	dflt=${dflt%%@*}
	if ! command -v gnuplot >/dev/null 2>&1; then
		echo "gnuplot not installed (apt-get install -y gnuplot-nox): no chart"
		return 0
	fi
	echo 'set terminal pngcairo' | timeout 10 gnuplot >/dev/null 2>&1 && term=pngcairo
	{
		echo '"raw link"' "$(val bulk_c2s_gbps raw)" "$(val bulk_s2c_gbps raw)"
		echo '"sshtun\naes256-ctr"' "$(val bulk_c2s_gbps sshtun)" "$(val bulk_s2c_gbps sshtun)"
		echo '"ssh -w\naes256-ctr"' "$(val bulk_c2s_gbps sshw)" "$(val bulk_s2c_gbps sshw)"
		echo "\"ssh -w (default)\\n$dflt\"" "$(val bulk_c2s_gbps sshw_default_cipher)" \
			"$(val bulk_s2c_gbps sshw_default_cipher)"
	} >"$OUT/bench.dat"
	rm -f "$OUT/bench.png"
	if timeout 30 gnuplot >"$TMP/gnuplot.log" 2>&1 <<EOF
set terminal $term size 900,520
set output '$OUT/bench.png'
set title 'TCP bulk throughput (iperf3, ${BENCH_TIME} s, tunnel MTU $MTU)'
set ylabel 'Gbit/s'
set datafile missing 'n/a'
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set key top right
set xrange [-0.6:3.6]
set bmargin 4
set offsets 0, 0, graph 0.08, 0
plot '$OUT/bench.dat' using 2:xtic(1) title 'client -> server', \
     '' using 3 title 'server -> client', \
     '' using (\$0 - 1.0/6):2:(sprintf('%.2f', \$2)) with labels offset 0,0.8 notitle, \
     '' using (\$0 + 1.0/6):3:(sprintf('%.2f', \$3)) with labels offset 0,0.8 notitle
EOF
	then
		echo "wrote $OUT/bench.png ($term)"
	else
		fail "gnuplot chart" "$TMP/gnuplot.log"
	fi
}

# ---- main -----------------------------------------------------------------

mkdir -p "$OUT" || exit 1
for tool in iperf3 ssh ping; do
	command -v "$tool" >/dev/null 2>&1 || { echo "Bail out! $tool is not installed (make deps)"; exit 1; }
done
netns_setup || { echo "Bail out! cannot set up network namespaces"; exit 1; }
sshd_start "PermitTunnel yes" || { echo "Bail out! sshd did not start"; exit 1; }

say "raw link: $C_ADDR -> $S_ADDR over the veth"
measure_all raw "$S_ADDR"
run_sshtun
run_sshw sshw 5 "$SSHW_C" "$SSHW_S" -c aes256-ctr -m hmac-sha2-256
run_sshw sshw_default_cipher 6 "$SSHW2_C" "$SSHW2_S"

echo
report
[ "$FAILS" -eq 0 ] || exit 1
exit 0
