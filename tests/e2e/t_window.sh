#!/bin/bash
# The channel window the client grants the server (window.c), on real
# paths, read from `stats --json` rx_window after a download through the
# tunnel:
#   - a short slow path (veth-s shaped to 20 Mbit/s): twice rate x RTT is a
#     few kB, so the window stays at its floor (256 KiB); the old client
#     granted 16 MiB whatever the path, and sshd queued the download there;
#   - a long path (a user-space relay holding each byte DELAY_MS each way,
#     this kernel has no netem): the window grows past the floor, with the
#     rate, and never past its cap (16 MiB).
# The rule's arithmetic (growth, cap, a stalled reader) is in
# tests/unit/test_window.c; speed is measured only by `make bench`.
. "$(dirname "$0")/lib.sh"

FLOOR=262144
CAP=16777216
DELAY_MS=${DELAY_MS:-25}
RELAY_PORT=2200

netns_setup || { echo "Bail out! cannot build namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

# download NAME ADDR: DL_SECS (4) s of iperf3 server -> client through the tunnel, then
# the client's stats in $TMP/NAME.stats.
download() {
	local name=$1 addr=$2
	bg_run "iperf_s.$name" timeout 30 ip netns exec "$NS_S" iperf3 -s -1 -B "$addr" -p 5201
	wait_for 10 in_s ss -Hltn "( sport = :5201 )" || return 1
	timeout 30 ip netns exec "$NS_C" iperf3 -c "$addr" -p 5201 -R -t "${DL_SECS:-4}" -J >"$TMP/iperf.$name.json" || return 1
	wait_exit "$(cat "$TMP/iperf_s.$name.pid")" 10
	ctl "$name" stats --json >"$TMP/$name.stats"
}
mbit() { json_get "$TMP/iperf.$1.json" end.sum_received.bits_per_second | awk '{ printf "%.1f", $1 / 1e6 }'; }

# ---- a short slow path ----
client_run short --compress off
check "short: tunnel comes up" client_wait_up short || fail_fast
SRV=$(json_get "$TMP/short.status" peer_addr)
check "short: tbf on veth-s (server -> client, 20 Mbit/s)" \
	timeout 5 ip netns exec "$NS_S" tc qdisc add dev veth-s root tbf \
	rate 20mbit burst 32kbit latency 20ms || fail_fast
check "short: a download through the tunnel" download short "$SRV"
win=$(json_get "$TMP/short.stats" rx_window)
diag "short: $(mbit short) Mbit/s, rx_window $win, rtt $(json_get "$TMP/short.stats" rtt_ms) ms"
check "short: the window stays at its floor ($win = $FLOOR)" [ "$win" = "$FLOOR" ]
timeout 5 ip netns exec "$NS_S" tc qdisc del dev veth-s root
ctl short quit >/dev/null 2>&1
wait_exit "$(cat "$TMP/short.pid")" 10

# ---- a long path ----
bg_run relay timeout 120 ip netns exec "$NS_S" "$PYTHON" "$(dirname "$0")/delay_relay.py" \
	"$S_ADDR" "$RELAY_PORT" "$S_ADDR" 22 "$DELAY_MS" "$TMP/relay.ready"
check "long: the relay listens" wait_for 10 test -e "$TMP/relay.ready" || fail_fast
known_hosts_lines "$TMP/host_key.pub" "$RELAY_PORT" >>"$TMP/known_hosts"
client_run long --compress off -p "$RELAY_PORT"
check "long: tunnel comes up through the relay" client_wait_up long || fail_fast
SRV=$(json_get "$TMP/long.status" peer_addr)
check "long: a download through the tunnel" download long "$SRV"
win=$(json_get "$TMP/long.stats" rx_window)
rtt=$(json_get "$TMP/long.stats" rtt_ms)
diag "long: $(mbit long) Mbit/s, rx_window $win, rtt $rtt ms"
check "long: the round trip is the relay's ($rtt ms >= $((2 * DELAY_MS)))" \
	awk -v r="$rtt" -v d="$DELAY_MS" 'BEGIN { exit !(r >= 2 * d) }'
check "long: the window grew past its floor ($win > $FLOOR)" [ "$win" -gt "$FLOOR" ]
check "long: the window stays within its cap ($win <= $CAP)" [ "$win" -le "$CAP" ]
ctl long quit >/dev/null 2>&1
wait_exit "$(cat "$TMP/long.pid")" 10

done_testing
