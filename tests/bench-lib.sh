# tests/bench-lib.sh: the two longer parts of `make bench`, sourced by
# tests/bench.sh (which provides say, fail, R[], iperf_run, sshtun_start,
# sshw_start and the rest).
#
#   comp_section       issue 4: compression.  The server->client direction of
#                      the veth shaped to 20 Mbit/s with tbf; a 50 MB log
#                      (gzip ratio about 5) fetched over plain TCP through
#                      sshtun --compress auto/off/6 and ssh -w with
#                      Compression=no/yes.  Then, unshaped, iperf3 (random
#                      payload) through --compress auto and off.
#   reconnect_section  issue 5: a helper-mode client (default ServerAlive*):
#                      the server helper killed, then the client's veth
#                      blackholed for 20 s; how long until traffic flows.
# shellcheck shell=bash

declare -A R	# bench.sh's results: R[metric,col]

SHAPE_MBIT=20			# tbf rate on veth-s (server -> client)
LOG_BYTES=50000000		# the log fetched on the shaped link (50 MB)
FETCH_PORT=5203
FETCH_TIMEOUT=90		# per fetch; uncompressed it takes about 21 s
# The fetch's sender uses cubic, Linux's default, whatever this host's
# default is (bbr keeps queues short; cubic fills them as most senders do).
FETCH_CC=${FETCH_CC-cubic}
SSHWZ_C=198.18.4.1 SSHWZ_S=198.18.4.0	# ssh -w Compression=no|yes, tun7
BLACKHOLE_S=20			# how long the client's veth is blackholed
UNSHAPED_TIME=$(( ${BENCH_TIME:-10} / 2 > 1 ? ${BENCH_TIME:-10} / 2 : 1 ))	# s per unshaped iperf3 run
LOG_GZIP_RATIO=n/a
LOG_GEN_S=n/a

# ---- the log ----------------------------------------------------------------

# make_log FILE: LOG_BYTES of syslog-like lines (timestamps, a few hosts and
# programs, user names, numbers); deterministic.  Sets LOG_GZIP_RATIO.
make_log() {
	local f=$1 t0 gz
	t0=$(now_ms)
	if ! timeout -k 2 30 "$PYTHON" -c '
import random, sys, time
out, size = sys.argv[1], int(sys.argv[2])
r = random.Random(20261125)
ri = r.randrange
hosts = ["web01", "web02", "web03", "db01", "cache01", "lb01", "mail01", "build07"]
users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
         "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter"]
msgs = [
    ("sshd", lambda u: "Accepted publickey for %s from 198.51.100.%d port %d ssh2" % (u, ri(256), ri(65536))),
    ("sshd", lambda u: "Disconnected from user %s 203.0.113.%d port %d" % (u, ri(256), ri(65536))),
    ("nginx", lambda u: "GET /api/v1/items/%s?page=%d HTTP/1.1 200 %d" % (u, ri(256), ri(65536))),
    ("nginx", lambda u: "POST /login/%s HTTP/1.1 302 %d bytes in %d ms" % (u, ri(256), ri(65536))),
    ("kernel", lambda u: "eth0: %s link up, %d Mbps, rx errors %d" % (u, ri(256), ri(65536))),
    ("cron", lambda u: "(%s) CMD (run-parts /etc/cron.hourly) pid %d exit %d" % (u, ri(256), ri(65536))),
    ("postfix/smtpd", lambda u: "connect from unknown[192.0.2.%d] user=%s id %d" % (ri(256), u, ri(65536))),
    ("systemd", lambda u: "Started session %d of user %s (%d)." % (ri(100000), u, ri(65536))),
]
t = 1764000000
parts, n = [], 0
while n < size:
    t += ri(3)
    prog, msg = msgs[ri(len(msgs))]
    line = "%s %s %s[%d]: %s\n" % (time.strftime("%b %d %H:%M:%S", time.gmtime(t)),
                                   hosts[ri(len(hosts))], prog, 1000 + ri(30000),
                                   msg(users[ri(len(users))]))
    parts.append(line)
    n += len(line)
with open(out, "wb") as f:
    f.write("".join(parts).encode()[:size])
' "$f" "$LOG_BYTES" 2>"$TMP/makelog.err"; then
		fail "compression: cannot generate the log" "$TMP/makelog.err"
		return 1
	fi
	gz=$(timeout -k 2 30 gzip -6 -c "$f" | wc -c)
	LOG_GEN_S=$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')
	LOG_GZIP_RATIO=$(awk -v a="$LOG_BYTES" -v b="$gz" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
	say "compression: $(basename "$f"): $LOG_BYTES bytes, gzip -6 ratio $LOG_GZIP_RATIO ($gz bytes), made and checked in $LOG_GEN_S s"
	if ! awk -v r="$LOG_GZIP_RATIO" 'BEGIN { exit !(r >= 4.5 && r <= 6) }'; then
		fail "compression: the log's gzip ratio $LOG_GZIP_RATIO is outside 4.5-6"
	fi
	return 0
}

# ---- shaping ----------------------------------------------------------------

shape_on() {
	if ! timeout 5 ip netns exec "$NS_S" tc qdisc add dev veth-s root tbf \
		rate "${SHAPE_MBIT}mbit" burst 32kbit latency 50ms 2>"$TMP/tc.err" ||
		! in_s tc qdisc show dev veth-s | grep -q tbf; then
		fail "compression: tc tbf on veth-s" "$TMP/tc.err"
		return 1
	fi
	say "compression: veth-s (server -> client) shaped: $(in_s tc qdisc show dev veth-s | head -n 1)"
}
shape_off() {
	timeout 5 ip netns exec "$NS_S" tc qdisc del dev veth-s root 2>"$TMP/tc.err" ||
		{ fail "compression: removing the tbf from veth-s" "$TMP/tc.err"; return 1; }
	! in_s tc qdisc show dev veth-s | grep -q tbf
}

# ---- the fetch ----------------------------------------------------------------

# fetch COL ADDR: the log from a plain TCP sender bound to ADDR in the server
# namespace, timed by the receiver in the client namespace (connect to EOF);
# length and sha256 checked.
fetch() {
	local col=$1 addr=$2 name=fetch-s.$1 pid log=$TMP/fetch.$1.log out rc bytes secs sha
	bg_run "$name" timeout -k 2 $((FETCH_TIMEOUT + 30)) ip netns exec "$NS_S" "$PYTHON" -c '
import socket, sys
addr, port, path, cc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_server((addr, port))
s.settimeout(30)
c, _ = s.accept()
c.settimeout(None)
if cc:
    try:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    except OSError as e:
        print("TCP_CONGESTION %s: %s" % (cc, e), flush=True)
with open(path, "rb") as f:
    c.sendfile(f)
c.shutdown(socket.SHUT_WR)
c.settimeout(60)
c.recv(1)	# until the receiver has it all and closes
' "$addr" "$FETCH_PORT" "$LOG_FILE" "$FETCH_CC"
	pid=$(cat "$TMP/$name.pid")
	if ! wait_for 5 sshd_listening "$FETCH_PORT"; then
		kill_all "$pid"
		fail "$col: the fetch sender did not listen on $addr" "$TMP/$name.log"
		return 1
	fi
	timeout -k 2 "$FETCH_TIMEOUT" ip netns exec "$NS_C" "$PYTHON" -c '
import hashlib, socket, sys, time
addr, port = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 10
while True:
    t0 = time.perf_counter()
    try:
        c = socket.create_connection((addr, port), timeout=3)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
c.settimeout(30)
h, n, buf = hashlib.sha256(), 0, bytearray(1 << 20)
while True:
    k = c.recv_into(buf)
    if not k:
        break
    h.update(memoryview(buf)[:k])
    n += k
secs = time.perf_counter() - t0
c.close()
print("%d %.3f %s" % (n, secs, h.hexdigest()))
' "$addr" "$FETCH_PORT" >"$log" 2>&1
	rc=$?
	kill_all "$pid"
	grep -q TCP_CONGESTION "$TMP/$name.log" &&
		fail "$col: the sender could not use $FETCH_CC (the namespace default instead)" "$TMP/$name.log"
	read -r bytes secs sha <<<"$(tail -n 1 "$log")"
	if [ $rc -ne 0 ] || ! [[ $bytes =~ ^[0-9]+$ ]]; then
		[ $rc -eq 124 ] && echo "timed out after $FETCH_TIMEOUT s" >>"$log"
		fail "$col: fetch of the log from $addr" "$log"
		return 1
	fi
	if [ "$bytes" != "$LOG_BYTES" ] || [ "$sha" != "$LOG_SHA" ]; then
		fail "$col: fetched $bytes bytes, sha256 ${sha:0:16}..., want $LOG_BYTES, ${LOG_SHA:0:16}..."
		return 1
	fi
	R[shaped_fetch_s,$col]=$secs
	R[shaped_fetch_mbps,$col]=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b * 8 / s / 1e6 }')
	R[shaped_fetch_link_x,$col]=$(awk -v b="$bytes" -v s="$secs" -v l="$SHAPE_MBIT" \
		'BEGIN { printf "%.2f", b * 8 / s / 1e6 / l }')
	say "$col: fetched $bytes bytes in $secs s: ${R[shaped_fetch_mbps,$col]} Mbit/s, ${R[shaped_fetch_link_x,$col]}x the ${SHAPE_MBIT} Mbit/s link"
}

# ---- sshtun's own counters ------------------------------------------------------

# stats_json NAME FILE: `ctl stats --json` of client NAME into FILE.
stats_json() {
	timeout -k 1 3 ip netns exec "$NS_C" "$SSHTUN" ctl -S "$TMP/$1.sock" stats --json >"$2" 2>&1
}

# stats_delta BEFORE AFTER: "rx_ip rx_wire tx_ip tx_wire tx_compressed tx_frames"
# between two `stats --json`.
stats_delta() {
	"$PYTHON" -c '
import json, sys
try:
    a, b = (json.load(open(p)) for p in sys.argv[1:3])
    d = lambda k: b[k] - a[k]
    print(d("rx_bytes"), d("rx_wire_bytes"), d("tx_bytes"), d("tx_wire_bytes"),
          d("tx_compressed"), d("tx_compressed") + d("tx_uncompressed"))
except Exception as e:
    sys.exit("stats --json: %r" % e)
' "$1" "$2"
}

# record_wire COL PREFIX BEFORE AFTER: R[PREFIX_{rx,tx}_{ip,wire}_bytes,COL],
# the IP/wire ratios, and the frames compressed out of those sent.
record_wire() {
	local col=$1 p=$2 out rxi rxw txi txw txc txf
	if ! out=$(stats_delta "$3" "$4" 2>&1); then
		echo "$out" >>"$4"
		fail "$col: sshtun ctl stats --json before/after" "$4"
		return 1
	fi
	read -r rxi rxw txi txw txc txf <<<"$out"
	R[${p}_rx_ip_bytes,$col]=$rxi
	R[${p}_rx_wire_bytes,$col]=$rxw
	R[${p}_tx_ip_bytes,$col]=$txi
	R[${p}_tx_wire_bytes,$col]=$txw
	R[${p}_rx_ip_per_wire,$col]=$(awk -v a="$rxi" -v b="$rxw" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
	R[${p}_tx_ip_per_wire,$col]=$(awk -v a="$txi" -v b="$txw" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
	R[${p}_tx_frames_compressed,$col]=$txc
	R[${p}_tx_frames,$col]=$txf
	say "$col: IP/wire bytes rx $rxi/$rxw = ${R[${p}_rx_ip_per_wire,$col]}, tx $txi/$txw = ${R[${p}_tx_ip_per_wire,$col]}; tx frames compressed $txc of $txf"
}

# ---- compression: the runs -------------------------------------------------------

# fetch_sshtun COL MODE: a client with --compress MODE, one fetch.
fetch_sshtun() {
	local col=$1 mode=$2 name=cz-$2
	say "$col: sshtun --compress $mode, fetch on the shaped link"
	sshtun_start "$name" --compress "$mode" || return 1
	stats_json "$name" "$TMP/$name.stats0"
	fetch "$col" "$ST_PEER" &&
		stats_json "$name" "$TMP/$name.stats1" &&
		record_wire "$col" fetch "$TMP/$name.stats0" "$TMP/$name.stats1"
	sshtun_stop "$name"
	return 0
}

# fetch_sshw COL yes|no: ssh -w (aes256-ctr, as in the main table) with
# Compression=yes|no, one fetch.
fetch_sshw() {
	local col=$1 z=$2
	say "$col: ssh -w -o Compression=$z, fetch on the shaped link"
	sshw_start "$col" 7 "$SSHWZ_C" "$SSHWZ_S" -c aes256-ctr -m hmac-sha2-256 \
		-o Compression="$z" || return 1
	if [ "$z" = yes ] && ! grep -q 'compression: zlib' "$TMP/ssh-w.$col.log"; then
		fail "$col: ssh -v does not show zlib compression negotiated" "$TMP/ssh-w.$col.log"
	fi
	fetch "$col" "$SSHWZ_S"
	sshw_stop "$col"
	return 0
}

# unshaped_bulk: iperf3 both ways through two clients, --compress auto and
# off, up side by side and measured in turns, auto off off auto (the other way
# round for s2c), so that drifting load on the machine hits both alike; each
# figure is the mean of its two runs.  The wire counters cover it all.
unshaped_bulk() {
	local c m dir i peer v rtx
	local -A peer_of=() runs=() rtxs=()
	say "compression: --compress auto and off, iperf3 (random payload) on the unshaped link"
	for m in auto off; do
		sshtun_start "cz-$m-bulk" --compress "$m" || continue
		peer_of[$m]=$ST_PEER
		stats_json "cz-$m-bulk" "$TMP/cz-$m-bulk.stats0"
	done
	for dir in c2s s2c; do
		i=0
		for m in $([ "$dir" = c2s ] && echo auto off off auto || echo off auto auto off); do
			i=$((i + 1))
			c=sshtun_compress_$m peer=${peer_of[$m]}
			[ -n "$peer" ] || continue
			unset "R[bulk_${dir}_gbps,$c]"
			iperf_run "$c" "$peer" "$dir" "$UNSHAPED_TIME" ".$i" || continue
			runs[$c,$dir]+=" ${R[bulk_${dir}_gbps,$c]}"
			rtx=${R[bulk_${dir}_retransmits,$c]}
			[[ $rtx =~ ^[0-9]+$ ]] && rtxs[$c,$dir]=$((${rtxs[$c,$dir]:-0} + rtx))
		done
		for m in auto off; do
			c=sshtun_compress_$m
			unset "R[bulk_${dir}_gbps,$c]" "R[bulk_${dir}_retransmits,$c]"
			[ -n "${runs[$c,$dir]}" ] || continue
			v=$(echo "${runs[$c,$dir]}" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.3f", s / NF }')
			R[bulk_${dir}_gbps,$c]=$v
			R[bulk_${dir}_retransmits,$c]=${rtxs[$c,$dir]:-n/a}
			say "$c: bulk $dir mean $v Gbit/s (runs:${runs[$c,$dir]})"
		done
	done
	for m in "${!peer_of[@]}"; do
		c=sshtun_compress_$m
		stats_json "cz-$m-bulk" "$TMP/cz-$m-bulk.stats1" &&
			record_wire "$c" bulk "$TMP/cz-$m-bulk.stats0" "$TMP/cz-$m-bulk.stats1"
		sshtun_stop "cz-$m-bulk"
	done
	return 0
}

comp_section() {
	local t0 c
	t0=$(now_ms)
	INNER_CC=$(in_s sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null)
	say "---- compression (issue 4): ${LOG_BYTES} byte log, server -> client at ${SHAPE_MBIT} Mbit/s"
	say "compression: the fetch's TCP uses ${FETCH_CC:-the default}; the namespaces' default is ${INNER_CC:-unknown}"
	LOG_FILE=$TMP/bench.log.txt
	if make_log "$LOG_FILE"; then
		LOG_SHA=$(sha256sum <"$LOG_FILE" | cut -d' ' -f1)
		if shape_on; then
			fetch_sshtun sshtun_compress_auto auto
			fetch_sshtun sshtun_compress_off off
			fetch_sshtun sshtun_compress_6 6
			fetch_sshw sshw_compression_no no
			fetch_sshw sshw_compression_yes yes
			shape_off || { say "compression: the link is still shaped: no unshaped runs"; return 1; }
		fi
		rm -f "$LOG_FILE"
	fi
	for c in "${COMP_COLS[@]}"; do
		R[shaped_log_gzip_ratio,$c]=$LOG_GZIP_RATIO
	done
	unshaped_bulk
	COMP_SECS=$((($(now_ms) - t0) / 1000))
	say "compression: section took $COMP_SECS s"
}

# ---- reconnect -----------------------------------------------------------------

cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"; }

# server_helpers: pids of `sshtun serve` in the server namespace.
server_helpers() {
	local p
	for p in $(ip netns pids "$NS_S" 2>/dev/null); do
		case $(cmdline "$p") in
		"$SSHTUN serve "*) echo "$p" ;;
		esac
	done
}

# mon_start NAME: "ms state reconnects" every 0.1 s into $TMP/NAME.mon; a
# status that does not come within 1 s is "noanswer".
mon_start() {
	: >"$TMP/$1.mon"
	bg_run "$1-mon" timeout -k 2 180 ip netns exec "$NS_C" "$PYTHON" -c '
import json, subprocess, sys, time
sshtun, sock, out = sys.argv[1:4]
f = open(out, "a", buffering=1)
while True:
    t = int(time.time() * 1000)
    try:
        r = subprocess.run([sshtun, "ctl", "-S", sock, "status", "--json"],
                           capture_output=True, timeout=1)
        j = json.loads(r.stdout)
        v = "%s %s" % (j["state"], j["reconnects"])
    except subprocess.TimeoutExpired:
        v = "noanswer -1"
    except Exception:
        v = "error -1"
    f.write("%d %s\n" % (t, v))
    time.sleep(max(0, 0.1 - (time.time() * 1000 - t) / 1000))
' "$SSHTUN" "$TMP/$1.sock" "$TMP/$1.mon"
	MON_PID=$(cat "$TMP/$1-mon.pid")
	wait_for 5 test -s "$TMP/$1.mon"
}
# mon_left_up NAME SINCE: the first sample at or after SINCE that answered and
# was not "up".
mon_left_up() {
	awk -v t="$2" '$1 >= t && $2 != "up" && $2 != "noanswer" && $2 != "error" { print $1; exit }' "$TMP/$1.mon"
}
# mon_up NAME SINCE: the first "up" sample at or after SINCE.
mon_up() { awk -v t="$2" '$1 >= t && $2 == "up" { print $1; exit }' "$TMP/$1.mon"; }
mon_last_up() { tail -n 1 "$TMP/$1.mon" | grep -q ' up '; }

# first_reply NAME SINCE_MS [sent]: ms of the first echo reply received at or
# after SINCE_MS; with "sent", of the first whose request went out at or after
# it (receipt minus its RTT), so that an answer in flight does not count.
first_reply() {
	awk -v t="$2" -v sent="${3:-}" '/bytes from/ {
		s = $1; gsub(/[][]/, "", s); ms = s * 1000; rtt = 0
		if (sent != "" && match($0, /time=[0-9.]+/)) rtt = substr($0, RSTART + 5, RLENGTH - 5)
		if (ms - rtt >= t) { printf "%.0f\n", ms; exit } }' "$TMP/$1-ping.log"
}
has_reply() { [ -n "$(first_reply "$@")" ]; }

blackhole_on() {
	timeout 5 ip netns exec "$NS_C" nft -f - <<-EOF
	table netdev bench_bh {
		chain in { type filter hook ingress device "veth-c" priority 0; policy drop; }
		chain out { type filter hook egress device "veth-c" priority 0; policy drop; }
	}
	EOF
}
blackhole_off() { timeout 5 ip netns exec "$NS_C" nft delete table netdev bench_bh; }

# ms_between COL METRIC FROM TO: R[METRIC,COL] = TO - FROM, or a failure.
ms_between() {
	if [ -n "$3" ] && [ -n "$4" ]; then
		R[$2,$1]=$(($4 - $3))
		say "$1: $(label "$2"): ${R[$2,$1]} ms"
	else
		fail "$1: $(label "$2"): not seen"
	fi
}

reconnect_section() {
	local name=rc col=sshtun helpers t_fault t_left t_up t_flow t_bh t_lift ping_pid left
	say "---- reconnect (issue 5): helper mode, default ServerAliveInterval/CountMax"
	sshtun_start "$name" || return 1
	mon_start "$name"
	bg_run "$name-ping" timeout -k 2 180 ip netns exec "$NS_C" ping -D -n -i 0.1 "$ST_PEER"
	ping_pid=$(cat "$TMP/$name-ping.pid")
	wait_for 5 has_reply "$name" "$(now_ms)"

	# (a) the server helper is killed; sshd and the link stay.
	helpers=$(server_helpers)
	if [ -z "$helpers" ]; then
		fail "$col: no sshtun serve process found in the server namespace"
	else
		say "$col: kill -KILL the server helper ($(echo $helpers))"
		t_fault=$(now_ms)
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL $helpers
		wait_for 20 has_reply "$name" "$t_fault" sent
		t_flow=$(first_reply "$name" "$t_fault" sent)
		t_left=$(mon_left_up "$name" "$t_fault")
		t_up=$(mon_up "$name" "${t_left:-$t_fault}")
		ms_between "$col" rc_kill_left_up_ms "$t_fault" "$t_left"
		ms_between "$col" rc_kill_up_ms "$t_fault" "$t_up"
		ms_between "$col" rc_kill_traffic_ms "$t_fault" "$t_flow"
	fi

	# (b) the client's veth blackholed both ways for BLACKHOLE_S, then lifted.
	if ! wait_for 15 mon_last_up "$name"; then
		fail "$col: not up again before the blackhole" "$TMP/$name.log"
	elif ! blackhole_on 2>"$TMP/nft.err"; then
		fail "$col: nft blackhole on veth-c" "$TMP/nft.err"
	else
		t_bh=$(now_ms)
		say "$col: veth-c blackholed for $BLACKHOLE_S s"
		wait_for "$BLACKHOLE_S" eval '[ -n "$(mon_left_up "$name" "$t_bh")" ]'
		t_left=$(mon_left_up "$name" "$t_bh")
		left=$((t_bh + BLACKHOLE_S * 1000 - $(now_ms)))
		[ "$left" -gt 0 ] && sleep "$(awk -v m="$left" 'BEGIN { printf "%.3f", m / 1000 }')"
		[ -n "$t_left" ] || t_left=$(mon_left_up "$name" "$t_bh")
		if ! blackhole_off 2>"$TMP/nft.err"; then
			fail "$col: lifting the nft blackhole" "$TMP/nft.err"
		else
			t_lift=$(now_ms)
			say "$col: blackhole lifted (state: $(tail -n 1 "$TMP/$name.mon" | cut -d' ' -f2))"
			wait_for 40 has_reply "$name" "$t_lift"
			t_flow=$(first_reply "$name" "$t_lift")
			wait_for 5 eval '[ -n "$(mon_up "$name" "$t_lift")" ]'
			t_up=$(mon_up "$name" "$t_lift")
			ms_between "$col" rc_bh_left_up_ms "$t_bh" "$t_left"
			if [ -n "$t_left" ]; then
				ms_between "$col" rc_lift_up_ms "$t_lift" "$t_up"
			else
				fail "$col: state never left up during the ${BLACKHOLE_S} s blackhole"
			fi
			ms_between "$col" rc_lift_traffic_ms "$t_lift" "$t_flow"
		fi
	fi
	R[rc_reconnects,$col]=$(awk 'END { print $3 }' "$TMP/$name.mon")
	kill_all "$ping_pid" "$MON_PID"
	sshtun_stop "$name"
	return 0
}
