# tests/bench-offload.sh: the `offload' part of `make bench' (issue 14),
# sourced by tests/bench.sh after tests/e2e/lib.sh and its own helpers
# (sshtun_start, sshtun_stop, say, fail, R[]).
#
# OFFLOAD_MB (default 1024) of random bytes each way through
#   sshtun_offload     helper mode, TUN offloads on both ends (the default)
#   sshtun_plain_1280  a client without offloads (SSHTUN_NO_OFFLOAD=1, as an
#                      older sshtun) at --mtu 1280: the helper must fall back
#                      to plain packets, and nothing is lost
# each checked by sha256 on arrival, with the time it took and the GSO
# super-packets the client's `stats --json' counted (0 without offloads).

OFFLOAD_MB=${OFFLOAD_MB:-1024}
OFFLOAD_PORT=5210
OFFLOAD_COLS=(sshtun_offload sshtun_plain_1280)
OFFLOAD_METRICS=(gb_c2s_s gb_c2s_gbps gb_c2s_sha256_ok gb_s2c_s gb_s2c_gbps gb_s2c_sha256_ok
	gso_tx_frames gso_rx_frames gso_split gso_bad)

# offload_send NS ADDR PORT: serves $TMP/offload.data to one connection.
offload_send() {
	ip netns exec "$1" timeout 900 "$PYTHON" -c 'import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_server((a, p), family=socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(60)
c, _ = s.accept()
with open(path, "rb") as f:
    c.sendfile(f)
c.close()' "$2" "$3" "$TMP/offload.data" >>"$TMP/offload-send.log" 2>&1 &
	PIDS+=($!)
}

# offload_recv NS ADDR PORT: connects, prints "BYTES SHA256 MS" of what came.
offload_recv() {
	ip netns exec "$1" timeout 900 "$PYTHON" -c 'import hashlib, socket, sys, time
a, p = sys.argv[1], int(sys.argv[2])
end = time.time() + 30
while True:
    try:
        c = socket.create_connection((a, p), timeout=120)
        break
    except ConnectionRefusedError:
        if time.time() > end:
            raise
        time.sleep(0.05)
t0, h, n = time.monotonic(), hashlib.sha256(), 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    h.update(d)
    n += len(d)
print(n, h.hexdigest(), int((time.monotonic() - t0) * 1000))' "$2" "$3"
}

# offload_way COL DIR(c2s|s2c) ADDR: one transfer; R[gb_DIR_*,COL].
offload_way() {
	local col=$1 dir=$2 addr=$3 out bytes sum ms
	OFFLOAD_PORT=$((OFFLOAD_PORT + 1))
	if [ "$dir" = s2c ]; then
		offload_send "$NS_S" "$addr" "$OFFLOAD_PORT"
		out=$(offload_recv "$NS_C" "$addr" "$OFFLOAD_PORT")
	else
		offload_send "$NS_C" "$addr" "$OFFLOAD_PORT"
		out=$(offload_recv "$NS_S" "$addr" "$OFFLOAD_PORT")
	fi
	read -r bytes sum ms <<<"$out"
	if [ "$bytes" != "$OFFLOAD_BYTES" ] || [ "$sum" != "$OFFLOAD_SUM" ]; then
		R[gb_${dir}_sha256_ok,$col]=no
		fail "$col: $dir: ${bytes:-0} bytes arrived, sha256 ${sum:-none} (want $OFFLOAD_BYTES, $OFFLOAD_SUM)"
		return 1
	fi
	R[gb_${dir}_sha256_ok,$col]=yes
	R[gb_${dir}_s,$col]=$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')
	R[gb_${dir}_gbps,$col]=$(awk -v b="$bytes" -v m="$ms" 'BEGIN { printf "%.2f", m ? b * 8 / m / 1e6 : 0 }')
	say "$col: $dir: $bytes bytes in $ms ms, sha256 matches"
}

# offload_run COL NAME [sshtun args...]
offload_run() {
	local col=$1 name=$2 local_addr k
	shift 2
	sshtun_start "$name" "$@" || return 1
	local_addr=$(json_get "$TMP/$name.status" local_addr 2>/dev/null)
	offload_way "$col" s2c "$ST_PEER"
	offload_way "$col" c2s "$local_addr"
	if timeout -k 1 3 ip netns exec "$NS_C" "$SSHTUN" ctl -S "$TMP/$name.sock" stats --json \
		>"$TMP/$name.stats" 2>/dev/null; then
		for k in gso_tx_frames gso_rx_frames gso_split gso_bad; do
			R[$k,$col]=$(json_get "$TMP/$name.stats" "$k" 2>/dev/null || echo n/a)
		done
	fi
	sshtun_stop "$name"
}

offload_section() {
	say "offload: $OFFLOAD_MB MB of random bytes each way, sha256 checked"
	if ! head -c $((OFFLOAD_MB << 20)) /dev/urandom >"$TMP/offload.data"; then
		fail "offload: cannot write $OFFLOAD_MB MB to $TMP"
		return 1
	fi
	OFFLOAD_BYTES=$((OFFLOAD_MB << 20))
	OFFLOAD_SUM=$(sha256sum <"$TMP/offload.data" | cut -d' ' -f1)
	offload_run sshtun_offload bench-offload
	CLIENT_PREFIX="env SSHTUN_NO_OFFLOAD=1" offload_run sshtun_plain_1280 bench-plain --mtu 1280
	rm -f "$TMP/offload.data"
}

report_offload() {
	local m c
	echo "offload (issue 14): $OFFLOAD_MB MB each way, sha256 checked; gso_* from the client's stats"
	printf '%-22s' ""
	printf ' %18s' "${OFFLOAD_COLS[@]}"
	echo
	for m in "${OFFLOAD_METRICS[@]}"; do
		printf '%-22s' "$m"
		for c in "${OFFLOAD_COLS[@]}"; do printf ' %18s' "$(val "$m" "$c")"; done
		echo
	done
}
