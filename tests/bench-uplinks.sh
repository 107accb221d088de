# tests/bench-uplinks.sh: the `uplinks' part of `make bench' (issue 17),
# sourced by tests/bench.sh after tests/e2e/lib.sh and its own helpers
# (iperf_run, sshtun_start, sshtun_stop, sshw_start, sshw_stop, say, fail,
# val, div, R[]).
#
# Two uplinks between the namespaces, each shaped to UPL_MBIT (20) Mbit/s
# with tbf on both ends' egress:
#   A  veth-c 198.51.100.2 <-> veth-s 198.51.100.1 (the server's address)
#   B  ulb-c  203.0.113.2  <-> ulb-s  203.0.113.1, with a default route via
#      203.0.113.1 on ulb-c that only a socket bound to ulb-c takes (the /24
#      on veth-c is the better route for everything else)
# Four TCP streams together (iperf3 -P 4, BENCH_TIME s) each way through
#   sshtun_2conns  sshtun --connections 2 -b veth-c -b ulb-c: a connection
#                  on each uplink
#   sshtun_1conn   sshtun, one connection (uplink A)
#   sshw           ssh -w, aes256-ctr hmac-sha2-256 (uplink A)
# Goodput in Mbit/s, the ratios, and how the bytes split over the two
# connections (stats --json, per connection; the client steers each new
# flow to the connection with the fewest, so 4 streams are 2 and 2).  A run
# that leaves one connection idle all the same is said and run again
# (UPL_TRIES in all).  Target: >= 34 Mbit/s for the two.
# shellcheck shell=bash

declare -A R	# bench.sh's results: R[metric,col]

UPL_MBIT=${UPL_MBIT:-20}
UPL_TARGET=34
UPL_TRIES=3
UPL_COLS=(sshtun_2conns sshtun_1conn sshw)
UPL_B_S=203.0.113.1 UPL_B_C=203.0.113.2
UPL_DEVS=("$NS_S veth-s" "$NS_S ulb-s" "$NS_C veth-c" "$NS_C ulb-c")

uplinks_setup() {
	local d
	{
		ip -n "$NS_S" link add ulb-s type veth peer name ulb-c netns "$NS_C" &&
		ip -n "$NS_S" addr add "$UPL_B_S/24" dev ulb-s &&
		ip -n "$NS_C" addr add "$UPL_B_C/24" dev ulb-c &&
		ip -n "$NS_S" link set ulb-s up &&
		ip -n "$NS_C" link set ulb-c up &&
		ip -n "$NS_C" route add default via "$UPL_B_S" dev ulb-c
	} 2>"$TMP/upl.err" || { fail "uplinks: the second uplink (ulb-c/ulb-s)" "$TMP/upl.err"; return 1; }
	for d in "${UPL_DEVS[@]}"; do
		# shellcheck disable=SC2086 # "NS DEV"
		set -- $d
		if ! tc -n "$1" qdisc replace dev "$2" root tbf rate "${UPL_MBIT}mbit" burst 32kbit \
			latency 50ms 2>"$TMP/upl.err"; then
			fail "uplinks: tc tbf on $2" "$TMP/upl.err"
			return 1
		fi
	done
	say "uplinks: veth-c/veth-s and ulb-c/ulb-s each shaped: $(tc -n "$NS_S" qdisc show dev ulb-s | head -n 1)"
}

uplinks_teardown() {
	local d
	for d in "${UPL_DEVS[@]}"; do
		# shellcheck disable=SC2086
		set -- $d
		tc -n "$1" qdisc del dev "$2" root 2>/dev/null
	done
	ip -n "$NS_S" link del ulb-s 2>/dev/null
	return 0
}

# upl_iperf COL ADDR DIR: 4 streams for BENCH_TIME s; R[upl_DIR_mbps,COL]
# from iperf3's JSON (iperf_run keeps Gbit/s to 3 places: 1 Mbit/s steps).
upl_iperf() {
	IPERF_STREAMS=4 iperf_run "upl_$1" "$2" "$3" || return 1
	R[upl_${3}_mbps,$1]=$("$PYTHON" -c 'import json, sys
print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
		"$TMP/iperf.upl_$1.$3.4.json" 2>/dev/null) || R[upl_${3}_mbps,$1]=n/a
	say "uplinks: $1, 4 streams $3: $(val "upl_${3}_mbps" "$1") Mbit/s"
}

# upl_conn_bytes NAME K FIELD: connection K's FIELD from `stats --json'.
upl_conn_bytes() {
	ctl "$1" stats --json >"$TMP/$1.stats" 2>/dev/null &&
		json_get "$TMP/$1.stats" "connections.$2.$3"
}

# upl_two DIR: the 4 streams one way over the two connections, run again
# while one connection was left (nearly) idle.
upl_two() {
	local dir=$1 field=rx_bytes try a0 b0 a1 b1 split
	[ "$dir" = c2s ] && field=tx_bytes
	for try in $(seq 1 "$UPL_TRIES"); do
		a0=$(upl_conn_bytes bench-upl2 0 $field) b0=$(upl_conn_bytes bench-upl2 1 $field)
		upl_iperf sshtun_2conns "$ST_PEER" "$dir" || return 1
		a1=$(upl_conn_bytes bench-upl2 0 $field) b1=$(upl_conn_bytes bench-upl2 1 $field)
		if ! [[ $a0$b0$a1$b1 =~ ^[0-9]+$ ]]; then
			fail "uplinks: no per-connection $field in stats --json" "$TMP/bench-upl2.stats"
			return 1
		fi
		split=$(awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) 'BEGIN {
			t = a + b; if (t <= 0) { print "n/a"; exit }
			printf "%.0f/%.0f", 100 * a / t, 100 * b / t }')
		R[upl_${dir}_split,sshtun_2conns]=$split
		R[upl_${dir}_tries,sshtun_2conns]=$try
		say "uplinks: bytes over connection 0/1 ($dir): $split %"
		# Both connections carried at least a tenth: the streams were spread.
		awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) 'BEGIN { t = a + b; exit !(t > 0 && a >= t / 10 && b >= t / 10) }' &&
			return 0
		say "uplinks: one connection carried (nearly) every stream; again ($try of $UPL_TRIES)"
	done
	return 0
}

uplinks_section() {
	local dir
	uplinks_setup || { uplinks_teardown; return 1; }
	if sshtun_start bench-upl2 --compress off --connections 2 -b veth-c -b ulb-c; then
		if wait_for 20 eval 'bench_status bench-upl2 && [ "$(json_get "$TMP/bench-upl2.status" connections_up)" = 2 ]'; then
			for dir in s2c c2s; do upl_two "$dir"; done
		else
			fail "uplinks: not 2 of 2 connections up within 20 s" "$TMP/bench-upl2.log"
		fi
		sshtun_stop bench-upl2
	fi
	if sshtun_start bench-upl1 --compress off; then
		for dir in s2c c2s; do upl_iperf sshtun_1conn "$ST_PEER" "$dir"; done
		sshtun_stop bench-upl1
	fi
	if sshw_start sshw 5 "$SSHW_C" "$SSHW_S" -c aes256-ctr -m hmac-sha2-256; then
		for dir in s2c c2s; do upl_iperf sshw "$SSHW_S" "$dir"; done
		sshw_stop sshw 5
	fi
	uplinks_teardown
}

report_uplinks() {
	local c dir v
	echo "Two uplinks (issue 17): veth-c and ulb-c each shaped to $UPL_MBIT Mbit/s (tbf, both ways);"
	echo "iperf3 -P 4 for $BENCH_TIME s each way, --compress off; split = % of the bytes over connection 0/1"
	echo "(each new flow to the connection with the fewest; a run that left one idle is run again)."
	echo
	printf '%-42s | %10s | %10s | %9s | %9s\n' variant "s2c Mbit/s" "c2s Mbit/s" "split s2c" "split c2s"
	printf '%s\n' "-------------------------------------------+------------+------------+-----------+----------"
	for c in "${UPL_COLS[@]}"; do
		case $c in
		sshtun_2conns) v="sshtun --connections 2 -b veth-c -b ulb-c" ;;
		sshtun_1conn) v="sshtun, one connection (uplink A)" ;;
		sshw) v="ssh -w aes256-ctr (uplink A)" ;;
		esac
		printf '%-42s | %10s | %10s | %9s | %9s\n' "$v" "$(val upl_s2c_mbps "$c")" "$(val upl_c2s_mbps "$c")" \
			"$(val upl_s2c_split "$c" | sed 's/^n\/a$/-/')" "$(val upl_c2s_split "$c" | sed 's/^n\/a$/-/')"
	done
	echo
	for dir in s2c c2s; do
		v=$(val "upl_${dir}_mbps" sshtun_2conns)
		printf '%s: two/one %s, two/ssh -w %s; target >= %s Mbit/s: %s\n' "$dir" \
			"$(div "$v" "$(val "upl_${dir}_mbps" sshtun_1conn)" '%.2fx')" \
			"$(div "$v" "$(val "upl_${dir}_mbps" sshw)" '%.2fx')" "$UPL_TARGET" \
			"$(awk -v v="$v" -v t="$UPL_TARGET" 'BEGIN { if (v !~ /^[0-9.]+$/) print "n/a"; else print (v >= t ? "met" : "NOT met") }')"
	done
	echo "README row: | 4 streams over two ${UPL_MBIT} Mbit/s uplinks, s2c (Mbit/s) | $(val upl_s2c_mbps sshtun_2conns) (--connections 2) | $(val upl_s2c_mbps sshtun_1conn) (one connection) | $(val upl_s2c_mbps sshw) | $(div "$(val upl_s2c_mbps sshtun_2conns)" "$(val upl_s2c_mbps sshw)" '%.2fx') |"
}
