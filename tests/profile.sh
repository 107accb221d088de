#!/bin/bash
# tests/profile.sh: `make profile`.  Not a test: where the CPU per GB goes
# (issue 14), in counts that a loaded machine does not bend much.
#
# The namespaces and sshd of tests/e2e/lib.sh, one helper-mode client, and
# each way (c2s: iperf3 from the client, s2c: -R) three fixed transfers of
# PROFILE_MB MB, one after the other:
#   1. CPU seconds (utime + stime, /proc/PID/stat) per GB of each side's
#      tunnel processes: the client's sshtun processes; the server's sshd
#      processes and the helper (iperf3 itself not counted);
#   2. strace -c -f on each side: system calls per MB, and the top few;
#   3. perf record (cpu-clock, the software clock: this VM has no hardware
#      counters) on each side: per process, the share of each library, then
#      the top PROFILE_TOP symbols.
# libcrypto is stripped on Debian: its unnamed addresses are named here by
# the instructions around them (aesenc: AES, sha256rnds2: SHA-256 ...),
# one line per algorithm and, for AES, whether it ran one block at a time
# (the `cmp $0x1,%rdx' entry of aesni_ctr32_encrypt_blocks).
#
# Output: a text report on stdout and in $PROFILE_OUT/report.txt (default
# build/profile), the raw perf.data and strace files beside it.
# SSHTUN=... profiles another binary (e.g. one built from an older commit).
. "$(dirname "$0")/e2e/lib.sh"

PROFILE_MB=${PROFILE_MB:-256}
PROFILE_TOP=${PROFILE_TOP:-15}
PROFILE_OUT=${PROFILE_OUT:-$REPO/build/profile}
PORT=5201
mkdir -p "$PROFILE_OUT" || exit 1
REPORT=$PROFILE_OUT/report.txt
: >"$REPORT"
say() { echo "$*" | tee -a "$REPORT"; }

for tool in iperf3 strace perf objdump; do
	command -v "$tool" >/dev/null || { echo "profile: $tool is not installed" >&2; exit 1; }
done
netns_setup || { echo "profile: cannot build namespaces" >&2; exit 1; }
sshd_start || { echo "profile: sshd did not start" >&2; exit 1; }
client_run prof
client_wait_up prof || { echo "profile: tunnel not up" >&2; tail -5 "$TMP/prof.log" >&2; exit 1; }
PEER=$(json_get "$TMP/prof.status" peer_addr)
wait_for 10 in_c ping -n -c 1 -W 1 "$PEER" || { echo "profile: no answer from $PEER" >&2; exit 1; }

# side_pids c|s: the tunnel's own processes on one side.
side_pids() {
	local ns=$NS_C p comm
	[ "$1" = s ] && ns=$NS_S
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		case $comm in sshtun* | sshd | sshd-session) echo "$p" ;; esac
	done
}

# transfer DIR TAG: one iperf3 -n run; sets GOT (bytes) and GBPS.
transfer() {
	local flag='' json=$PROFILE_OUT/iperf.$1.$2.json
	[ "$1" = s2c ] && flag=-R
	bg_run "iperf3-s.$1.$2" ip netns exec "$NS_S" iperf3 -s -1 -p "$PORT"
	wait_for 5 sshd_listening "$PORT" || { echo "profile: iperf3 -s did not listen" >&2; return 1; }
	timeout -k 3 120 ip netns exec "$NS_C" iperf3 -c "$PEER" -p "$PORT" -n "${PROFILE_MB}M" \
		$flag --connect-timeout 3000 -J >"$json" 2>"$json.err" || return 1
	read -r GBPS GOT < <("$PYTHON" -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum_received"]
print("%.2f %d" % (e["bits_per_second"] / 1e9, e["bytes"]))' "$json") && [ "${GOT:-0}" -gt 0 ]
}

# cpu_run DIR: CPU seconds per GB on each side.
cpu_run() {
	local cp sp c0 s0 c1 s1 hz
	hz=$(getconf CLK_TCK)
	cp=$(side_pids c) sp=$(side_pids s)
	# shellcheck disable=SC2086 # pid lists
	c0=$(cpu_ticks $cp) s0=$(cpu_ticks $sp)
	transfer "$1" cpu || { say "$1: transfer failed"; return 1; }
	# shellcheck disable=SC2086
	c1=$(cpu_ticks $cp) s1=$(cpu_ticks $sp)
	say "$1: $GBPS Gbit/s (under load: noise); CPU s/GB: client $(awk -v t=$((c1 - c0)) -v hz="$hz" \
		-v b="$GOT" 'BEGIN { printf "%.2f", t / hz / (b / 1e9) }'), server $(awk -v t=$((s1 - s0)) \
		-v hz="$hz" -v b="$GOT" 'BEGIN { printf "%.2f", t / hz / (b / 1e9) }')"
}

# trace_run DIR TOOL: strace or perf attached to each side's processes
# during one transfer.
trace_run() {
	local dir=$1 tool=$2 side pids p args out
	local -A tp
	for side in c s; do
		pids=$(side_pids "$side")
		out=$PROFILE_OUT/$tool.$dir.$side
		if [ "$tool" = strace ]; then
			args=()
			for p in $pids; do args+=(-p "$p"); done
			strace -c -f -o "$out" "${args[@]}" 2>"$out.err" &
		else
			perf record -q -e cpu-clock -F 2000 -g -p "$(echo "$pids" | paste -sd,)" \
				-o "$out.data" >"$out.err" 2>&1 &
		fi
		tp[$side]=$!
		PIDS+=("${tp[$side]}")
	done
	if [ "$tool" = strace ]; then
		wait_for 5 grep -q attached "$PROFILE_OUT/strace.$dir.c.err"
		wait_for 5 grep -q attached "$PROFILE_OUT/strace.$dir.s.err"
	else
		# perf says nothing once attached: wait until it has made its file.
		wait_for 5 test -s "$PROFILE_OUT/perf.$dir.c.data"
		wait_for 5 test -s "$PROFILE_OUT/perf.$dir.s.data"
	fi
	transfer "$dir" "$tool"
	local rc=$?
	for side in c s; do
		kill -INT "${tp[$side]}" 2>/dev/null
		wait_exit "${tp[$side]}" 20 || kill_all "${tp[$side]}"
	done
	return $rc
}

strace_report() {
	local dir=$1 side f top
	for side in c s; do
		f=$PROFILE_OUT/strace.$dir.$side
		# strace -c: "% time seconds usecs/call calls [errors] syscall".
		top=$(awk -v got="$GOT" '$1 ~ /^[0-9.]+$/ && $NF != "total" {
				printf "%.1f %s%s\n", $4 / (got / 1048576), $NF,
					NF == 6 ? sprintf(" (%.1f failed)", $5 / (got / 1048576)) : "" }' "$f" |
			sort -rn | head -n 6 | awk '{ $0 = $2 " " $1 substr($0, index($0, "(") ? index($0, "(") - 1 : length($0) + 1) } 1' |
			paste -sd, | sed 's/,/, /g')
		say "$dir $([ "$side" = c ] && echo client || echo server) syscalls/MB: $(awk -v got="$GOT" \
			'$NF == "total" { printf "%.0f", $4 / (got / 1048576) }' "$f"): $top"
	done
}

# perf_report DIR: per process, libraries, then the top symbols, libcrypto's
# addresses named by what they run.
perf_report() {
	local dir=$1 side data
	for side in c s; do
		data=$PROFILE_OUT/perf.$dir.$side.data
		say "--- $dir, $([ "$side" = c ] && echo client || echo server) side: % of the side's CPU samples"
		perf report -i "$data" --no-children -g none --sort comm,dso,symbol --stdio 2>/dev/null |
			"$PYTHON" "$TESTS_DIR/profile_names.py" "$PROFILE_TOP" | tee -a "$REPORT"
	done
}

say "# sshtun profile: $("$SSHTUN" --version 2>/dev/null | head -1), $PROFILE_MB MB each way, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for dir in c2s s2c; do
	cpu_run "$dir"
	trace_run "$dir" strace && strace_report "$dir"
	trace_run "$dir" perf && perf_report "$dir"
done
