#!/bin/bash
# t_reconnect.sh: the tunnel stays up through faults (issue 5).  Each fault
# hits a client while a paced TCP transfer runs through the tunnel; the client
# must leave "up", come back by itself with the same pair on the same
# interface, and the transfer must finish with the same sha256.
#
#   1. the server helper is killed          2. sshd is restarted
#   3. the link is blackholed for 30 s      4. sshd rekeys every 1 MB
#   5. SIGTERM / SIGKILL + cleanup / a new instance leave the client
#      namespace's routes, addresses and nft ruleset as they were
#   6. `ctl reconnect`                      7. host key change / key refused
#      stop the retries with exit 4 / 5
#
# Timings (fault to leaving "up", server back to traffic flowing) are printed
# as TAP comments for the record.
. "$(dirname "$0")/lib.sh"

FAST=(-o ServerAliveInterval=1 -o ServerAliveCountMax=3)

# ---- helpers ----------------------------------------------------------------

has_addr() { ip -n "$1" -o addr show dev "$2" | grep -qw -- "$3"; }
ifindex_of() { ip -n "$1" -o link show dev "$2" 2>/dev/null | cut -d: -f1; }

# argv of PID as one line, NULs turned into spaces.
cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"; }

# server_helpers: pids of `sshtun serve` processes in the server namespace,
# one per session: the monitor, not the worker it forked (same argv).
is_helper() { case $(cmdline "$1") in "$SSHTUN serve "*) return 0 ;; esac; return 1; }
server_helpers() {
	local p
	for p in $(ip netns pids "$NS_S" 2>/dev/null); do
		is_helper "$p" && ! is_helper "$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null)" &&
			echo "$p"
	done
}
helper_count() { server_helpers | grep -c .; }
helpers_are() { [ "$(helper_count)" -eq "$1" ]; }

# server_sessions: the per-connection sshd processes (not the listeners).
server_sessions() {
	local p c
	for p in $(ip netns pids "$NS_S" 2>/dev/null); do
		c=$(cmdline "$p")
		case $c in
		*"[listener]"*) ;;
		"sshd: "*) echo "$p" ;;
		esac
	done
}

# kill_sessions SIG: what a restart of the sshd service does to the running
# sessions: every per-connection sshd and every helper gets SIG.
kill_sessions() {
	local pids
	pids="$(server_sessions) $(server_helpers)"
	# shellcheck disable=SC2086 # a list of pids
	[ -n "${pids// /}" ] && kill "-$1" $pids 2>/dev/null
	# shellcheck disable=SC2086
	wait_for 10 all_gone $pids
}

# ---- the state monitor ----------------------------------------------------
# mon_start NAME IFNAME: every 0.1 s, "ms state reconnects ifindex local_addr
# local_addr6 peer_addr state_detail" into $TMP/NAME.mon (spaces in the
# detail become _).  A status that does not come within 1 s is "noanswer";
# a missing interface has ifindex 0.
mon_start() {
	local name=$1 ifname=$2
	: >"$TMP/$name.mon"
	bg_run "$name-mon" ip netns exec "$NS_C" "$PYTHON" -c '
import json, socket, subprocess, sys, time
sshtun, sock, ifname, out = sys.argv[1:5]
f = open(out, "a", buffering=1)
while True:
    t = int(time.time() * 1000)
    r = None
    try:
        r = subprocess.run([sshtun, "ctl", "-S", sock, "status", "--json"],
                           capture_output=True, timeout=1)
        j = json.loads(r.stdout)
        v = [j["state"], str(j["reconnects"]), j["local_addr"] or "-",
             j["local_addr6"] or "-", j["peer_addr"] or "-",
             (j["state_detail"] or "-").replace(" ", "_")]
    except subprocess.TimeoutExpired:
        v = ["noanswer", "-1", "-", "-", "-"]
    except Exception as e:
        why = "rc=%s out=%r err=%r %r" % (r and r.returncode, r and r.stdout[:80], r and r.stderr[:80], e)
        v = ["error", "-1", "-", "-", "-", why.replace(" ", "_")]
    try:
        idx = socket.if_nametoindex(ifname)
    except OSError:
        idx = 0
    f.write("%d %s %s %d %s\n" % (t, v[0], v[1], idx, " ".join(v[2:])))
    time.sleep(0.1)
' "$SSHTUN" "$TMP/$name.sock" "$ifname" "$TMP/$name.mon"
	MON_PID=$(cat "$TMP/$name-mon.pid")
	wait_for 5 test -s "$TMP/$name.mon"
}
mon_stop() { kill_all "$MON_PID"; }

# mon_first NAME SINCE_MS REGEX: time of the first sample at or after
# SINCE_MS whose state matches REGEX (empty when there is none).
mon_first() {
	awk -v t="$2" -v re="^($3)\$" '$1 >= t && $2 ~ re { print $1; exit }' "$TMP/$1.mon"
}
# mon_left_up NAME SINCE: the first sample after SINCE that answered and was
# not "up" (a state the client reported: reconnecting, connecting, ...).
mon_left_up() { mon_first "$1" "$2" 'connecting|reconnecting|authenticating|negotiating|closed'; }
mon_seen() { [ -n "$(mon_first "$1" "$2" "$3")" ]; }
# mon_detail_seen NAME SINCE STATE DETAIL_REGEX
mon_detail_seen() {
	awk -v t="$2" -v st="$3" -v re="$4" '$1 >= t && $2 == st && $8 ~ re { f = 1; exit } END { exit !f }' \
		"$TMP/$1.mon"
}
mon_back_up() { local l; l=$(mon_left_up "$1" "$2"); [ -n "$l" ] && [ -n "$(mon_first "$1" "$l" up)" ]; }
# mon_ifindex_steady NAME IDX: every sample saw the interface with IDX.
mon_ifindex_steady() {
	awk -v i="$2" '$4 != i { bad++; if (bad == 1) print "sample: " $0 } END { exit bad > 0 }' "$TMP/$1.mon"
}
# mon_addrs_steady NAME L4 L6 P4: every sample that answered showed the pair.
mon_addrs_steady() {
	awk -v a="$2" -v b="$3" -v c="$4" '$2 != "noanswer" && $2 != "error" &&
		($5 != a || $6 != b || $7 != c) { bad++; if (bad == 1) print "sample: " $0 }
		END { exit bad > 0 }' "$TMP/$1.mon"
}
mon_never_left_up() {
	awk '$2 != "up" && $2 != "noanswer" { bad++; if (bad == 1) print "sample: " $0 }
		END { exit bad > 0 }' "$TMP/$1.mon"
}

# ---- the server side: helpers and TUNs every 0.2 s ----------------------------
# srvmon_start NAME: "ms helper,pids, tun,names," into $TMP/NAME-srvmon.log.
srv_sample() {
	local h t
	h=$(server_helpers | tr '\n' ,)
	t=$(ip -n "$NS_S" -o link show | awk -F': ' '$2 ~ /^sshtun/ { sub(/@.*/, "", $2); printf "%s,", $2 }')
	echo "$(now_ms) ${h:-none} ${t:-none}"
}
srvmon_start() {
	bg_run "$1-srvmon" eval 'while :; do srv_sample; sleep 0.2; done'
	SRVMON_PID=$(cat "$TMP/$1-srvmon.pid")
}
srvmon_stop() { kill_all "$SRVMON_PID"; }
# srv_gone NAME PID: ms of the first sample without helper PID.
srv_gone() { awk -v p="$2" '/^[0-9]/ { if (("," $2) !~ ("," p ",")) { print $1; exit } }' "$TMP/$1-srvmon.log"; }

# ---- a ping log, to see when traffic flows again ----------------------------
pinger_start() { bg_run "$1-ping" ip netns exec "$NS_C" ping -D -n -i 0.1 "$2"; PING_PID=$(cat "$TMP/$1-ping.pid"); }
pinger_stop() { kill_all "$PING_PID"; }
# first_reply NAME SINCE_MS: ms of the first echo reply at or after SINCE_MS.
first_reply() {
	awk -v t="$2" '/bytes from/ { s = $1; gsub(/[][]/, "", s); ms = s * 1000;
		if (ms >= t) { printf "%.0f\n", ms; exit } }' "$TMP/$1-ping.log"
}

# ---- a paced TCP transfer, server to client over the inner addresses ---------
# xfer_start TAG PEER PORT MB SECONDS: SECONDS 0 means as fast as it goes.
xfer_start() {
	local tag=$1 peer=$2 port=$3 mb=$4 secs=$5
	head -c "${mb}M" /dev/urandom >"$TMP/$tag.src"
	XFER_SHA=$(sha "$TMP/$tag.src")
	rm -f "$TMP/$tag.dst"
	bg_run "$tag-send" ip netns exec "$NS_S" "$PYTHON" -c '
import socket, sys, time
a, p, path, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.create_server((a, p), family=socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(None)
chunk = 65536
with open(path, "rb") as f:
    data = f.read()
n = len(data)
t0 = time.monotonic()
for off in range(0, n, chunk):
    if secs > 0:
        d = t0 + secs * off / n - time.monotonic()
        if d > 0:
            time.sleep(d)
    c.sendall(data[off:off + chunk])
c.shutdown(socket.SHUT_WR)
# Stay until the receiver has it all: an orphaned socket gives up early.
c.settimeout(240)
c.recv(1)
' "$peer" "$port" "$TMP/$tag.src" "$secs"
	wait_for 10 tcp_listening "$port" || return 1
	bg_run "$tag-recv" ip netns exec "$NS_C" timeout 240 "$PYTHON" -c '
import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.create_connection((a, p), timeout=10)
c.settimeout(None)
with open(path, "wb", buffering=0) as f:
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        f.write(d)
' "$peer" "$port" "$TMP/$tag.dst"
	XFER_PID=$(cat "$TMP/$tag-recv.pid")
	wait_for 10 eval "[ \$(size_of '$TMP/$tag.dst') -gt 0 ]"
}
# xfer_running TAG: the receiver is still at it and has not got everything.
xfer_running() { alive "$XFER_PID" && [ "$(size_of "$TMP/$1.dst")" -lt "$(size_of "$TMP/$1.src")" ]; }
# xfer_finish TAG TIMEOUT: the receiver ended with 0 and the sha256 matches.
xfer_finish() {
	local tag=$1 t0 got
	t0=$(now_ms)
	wait_exit "$XFER_PID" "$2"
	is "$EXIT_RC" 0 "$tag: the TCP transfer started before the fault completes (receiver exit 0)"
	got=$(sha "$TMP/$tag.dst" 2>/dev/null)
	is "$got" "$XFER_SHA" "$tag: sha256 of what arrived matches ($(size_of "$TMP/$tag.dst") of $(size_of "$TMP/$tag.src") bytes)"
	diag "$tag: transfer finished $(( $(now_ms) - t0 )) ms after we started waiting"
	rm -f "$TMP/$tag.src" "$TMP/$tag.dst"
}

# ---- a client --------------------------------------------------------------
# client_start NAME [args...]: start, wait for up, remember what status says.
client_start() {
	local name=$1 st
	client_run "$@"
	check "$name: tunnel comes up" client_wait_up "$name" || return 1
	st=$TMP/$name.status
	IFN=$(json_get "$st" ifname)
	L4=$(json_get "$st" local_addr)
	L6=$(json_get "$st" local_addr6)
	P4=$(json_get "$st" peer_addr)
	P6=$(json_get "$st" peer_addr6)
	RC0=$(json_get "$st" reconnects)
	IDX=$(ifindex_of "$NS_C" "$IFN")
	diag "$name: $IFN (ifindex $IDX) $L4 <-> $P4, $L6 <-> $P6, reconnects $RC0"
}

# after_fault NAME: the checks every fault scenario ends with.
after_fault() {
	local name=$1 st=$TMP/$1.status
	client_status "$name"
	is "$(json_get "$st" reconnects)" "$((RC0 + 1))" "$name: reconnects went from $RC0 to $((RC0 + 1))"
	is "$(json_get "$st" local_addr)/$(json_get "$st" local_addr6)" "$L4/$L6" \
		"$name: same local_addr/local_addr6 after reconnecting"
	is "$(json_get "$st" peer_addr)/$(json_get "$st" peer_addr6)" "$P4/$P6" \
		"$name: same peer_addr/peer_addr6 after reconnecting"
	is "$(ifindex_of "$NS_C" "$IFN")" "$IDX" "$name: $IFN has the same ifindex $IDX as before"
	check "$name: the interface was there with ifindex $IDX in every sample" mon_ifindex_steady "$name" "$IDX"
	check "$name: status showed the same pair in every sample" mon_addrs_steady "$name" "$L4" "$L6" "$P4"
	check "$name: the kernel still has $L4 and $L6 on $IFN" \
		eval 'has_addr "$NS_C" "$IFN" "$L4" && has_addr "$NS_C" "$IFN" "$L6"'
}

# client_quit NAME: quit, exit 0, and the server has no helper left.
client_quit() {
	ctl "$1" quit >/dev/null 2>&1
	wait_exit "$(client_pid "$1")" 10
	is "$EXIT_RC" 0 "$1: quits with status 0"
	check "$1: no helper left on the server" wait_for 10 helpers_are 0
}

# timing LABEL FROM TO: a TAP comment, or "not seen".
timing() {
	if [ -n "$2" ] && [ -n "$3" ]; then
		diag "timing: $1: $(($3 - $2)) ms"
	else
		diag "timing: $1: not seen"
	fi
}

# ---------------------------------------------------------------------------
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
check "sshd" sshd_start
fail_fast "no sshtun binary, namespaces or sshd"
SSHD_MAIN=$SSHD_PID

# ---- 1. the server helper is killed in the middle of a transfer --------------
diag "--- 1. kill -KILL the server helper during a transfer"
client_start r1 "${FAST[@]}"
fail_fast "the first tunnel did not come up"
mon_start r1 "$IFN"
pinger_start r1 "$P4"
check "r1: a 30 MB transfer over ~15 s starts" xfer_start x1 "$P4" 5001 30 15
sleep 3
helper=$(server_helpers)
check "r1: exactly one helper runs on the server" test "$(echo "$helper" | grep -c .)" -eq 1
check "r1: the transfer is still running when the fault hits" xfer_running x1
t_fault=$(now_ms)
kill -KILL "$helper"
check "r1: status leaves up and shows reconnecting" wait_for 10 mon_seen r1 "$t_fault" reconnecting
check "r1: back up by itself within 10 s" wait_for 10 mon_back_up r1 "$t_fault"
t_left=$(mon_left_up r1 "$t_fault")
t_up=$(mon_first r1 "${t_left:-$t_fault}" up)
wait_for 10 eval '[ -n "$(first_reply r1 "${t_up:-$t_fault}")" ]'
t_flow=$(first_reply r1 "$t_fault")
timing "1 helper killed -> state leaves up" "$t_fault" "$t_left"
timing "1 helper killed (server still there) -> traffic flowing" "$t_fault" "$t_flow"
after_fault r1
check "r1: the killed helper $helper is gone, one new helper runs" \
	eval '! alive "$helper" && helpers_are 1 && [ "$(server_helpers)" != "$helper" ]'
xfer_finish x1 60
pinger_stop
mon_stop
client_quit r1

# ---- 2. sshd restarts: listener and sessions go, sshd comes back after 2 s ----
diag "--- 2. restart sshd during a transfer"
client_start r2 "${FAST[@]}"
mon_start r2 "$IFN"
pinger_start r2 "$P4"
check "r2: a 30 MB transfer over ~15 s starts" xfer_start x2 "$P4" 5002 30 15
sleep 3
check "r2: the transfer is still running when the fault hits" xfer_running x2
t_fault=$(now_ms)
kill -TERM "$SSHD_PID"
check "r2: the sshd listener ($SSHD_PID) stopped" wait_exit "$SSHD_PID" 10
check "r2: the sessions and the helper stopped (as a service restart does)" kill_sessions TERM
check "r2: status leaves up and shows reconnecting" wait_for 10 mon_seen r2 "$t_fault" reconnecting
sleep "$(awk -v d=$(( $(now_ms) - t_fault )) 'BEGIN { s = (2000 - d) / 1000; printf "%.3f\n", (s > 0 ? s : 0) }')"
check "r2: sshd starts again with the same configuration" sshd_start
SSHD_MAIN=$SSHD_PID
t_ret=$(now_ms)
check "r2: back up by itself within 15 s of sshd's return" wait_for 15 mon_seen r2 "$t_ret" up
t_left=$(mon_left_up r2 "$t_fault")
t_up=$(mon_first r2 "$t_ret" up)
wait_for 10 eval '[ -n "$(first_reply r2 "${t_up:-$t_ret}")" ]'
t_flow=$(first_reply r2 "$t_ret")
timing "2 sessions killed -> state leaves up" "$t_fault" "$t_left"
timing "2 sshd back -> state up" "$t_ret" "$t_up"
timing "2 sshd back -> traffic flowing" "$t_ret" "$t_flow"
after_fault r2
xfer_finish x2 60
pinger_stop
mon_stop
client_quit r2

# ---- 3. the link is blackholed for 30 s (default keepalive settings) ---------
diag "--- 3. blackhole veth-c for 30 s with nft during a transfer (default ServerAlive*)"
blackhole_on() {
	in_c nft -f - <<-EOF
	table netdev bh {
		chain in { type filter hook ingress device "veth-c" priority 0; policy drop; }
		chain out { type filter hook egress device "veth-c" priority 0; policy drop; }
	}
	EOF
}
blackhole_off() { in_c nft delete table netdev bh; }
client_start r3 -v
mon_start r3 "$IFN"
pinger_start r3 "$P4"
old_helper=$(server_helpers)
srvmon_start r3
check "r3: a 40 MB transfer over ~20 s starts" xfer_start x3 "$P4" 5003 40 20
sleep 3
check "r3: the transfer is still running when the fault hits" xfer_running x3
t_fault=$(now_ms)
check "r3: blackhole on (all of veth-c's traffic dropped, both ways)" blackhole_on
check "r3: status leaves up within 20 s of the blackhole" wait_for 20 eval '[ -n "$(mon_left_up r3 "$t_fault")" ]'
t_left=$(mon_left_up r3 "$t_fault")
check "r3: status shows reconnecting" wait_for 5 mon_seen r3 "$t_fault" reconnecting
check "r3: its detail says when the next try is (reconnecting in N s)" \
	mon_detail_seen r3 "$t_fault" reconnecting '^reconnecting_in_[0-9]+s$'
timing "3 blackhole -> state leaves up (default keepalive; issue: within 15 s)" "$t_fault" "$t_left"
sleep "$(awk -v d=$(( $(now_ms) - t_fault )) 'BEGIN { s = (30000 - d) / 1000; printf "%.3f\n", (s > 0 ? s : 0) }')"
check "r3: the old helper ($old_helper) is still there during the blackhole (half-open)" alive "$old_helper"
check "r3: blackhole lifted after 30 s" blackhole_off
t_ret=$(now_ms)
check "r3: back up by itself within 35 s of the lift" wait_for 35 mon_seen r3 "$t_ret" up
t_up=$(mon_first r3 "$t_ret" up)
wait_for 10 eval '[ -n "$(first_reply r3 "${t_up:-$t_ret}")" ]'
t_flow=$(first_reply r3 "$t_ret")
timing "3 blackhole lifted -> state up" "$t_ret" "$t_up"
timing "3 blackhole lifted -> traffic flowing" "$t_ret" "$t_flow"
after_fault r3
check "r3: the stale helper $old_helper is gone; one helper remains (within 10 s)" \
	wait_for 10 eval '! alive "$old_helper" && helpers_are 1'
diag "r3: helpers now: $(server_helpers | tr '\n' ' ')(before: $old_helper)"
timing "3 blackhole lifted -> stale helper gone on the server" "$t_ret" "$(srv_gone r3 "$old_helper")"
srvmon_stop
xfer_finish x3 120
pinger_stop
mon_stop
client_quit r3

# ---- 4. sshd rekeys every 1 MB under a 200 MB transfer ------------------------
diag "--- 4. RekeyLimit 1M under a 200 MB transfer"
# sshd_config keeps the first LogLevel, so debug logging (which shows each
# key exchange) comes from the command line through a wrapper.
printf '#!/bin/sh\nexec /usr/sbin/sshd -o LogLevel=DEBUG1 "$@"\n' >"$TMP/sshd-debug"
chmod +x "$TMP/sshd-debug"
check "r4: a second sshd with RekeyLimit 1M (and LogLevel DEBUG1) on port 2222" \
	eval 'SSHD=$TMP/sshd-debug SSHD_PORT=2222 sshd_start "RekeyLimit 1M"'
SSHD_REKEY=$SSHD_PID
client_start r4 -p 2222 "${FAST[@]}"
mon_start r4 "$IFN"
check "r4: a 200 MB transfer (not paced) starts" xfer_start x4 "$P4" 5004 200 0
t0=$(now_ms)
xfer_finish x4 120
diag "timing: 4 200 MB with RekeyLimit 1M: $(( $(now_ms) - t0 )) ms"
client_status r4
is "$(json_get "$TMP/r4.status" reconnects)" 0 "r4: reconnects is still 0"
check "r4: status was up in every sample" mon_never_left_up r4
kex=$(grep -c "SSH2_MSG_NEWKEYS received" "$TMP/sshd.2222.log")
check "r4: sshd's log shows rekeying ($kex key exchanges)" test "$kex" -ge 2
# libssh2's own window adjust, recomputed after a cut send, went out as ~4 GiB
# and sshd dropped us (chanlink.c); every adjust is ours now.
check "r4: sshd refused no window adjust (no \"overflows remote window\")" \
	eval '! grep "overflows remote window" "$TMP/sshd.2222.log"'
mon_stop
client_quit r4
kill_all "$SSHD_REKEY"

# ---- 5. exits leave the client namespace as it was ------------------------------
diag "--- 5. SIGTERM, SIGKILL + cleanup, SIGKILL + a new instance"
snapshot() {
	{
		echo "== ip route"; in_c ip route
		echo "== ip addr"; in_c ip addr
		echo "== ip -6 route"; in_c ip -6 route
		echo "== nft list ruleset"; in_c nft list ruleset
	} 2>&1
}
snapshot >"$TMP/before"
same_as_before() { snapshot >"$TMP/after"; diff "$TMP/before" "$TMP/after"; }
R5=(-r 203.0.113.0/24 -r default "${FAST[@]}")

client_start r5a "${R5[@]}"
check "r5a: routes 203.0.113.0/24 and the default halves are in place" \
	eval 'in_c ip route | grep -q "^203.0.113.0/24 dev $IFN" && in_c ip route | grep -q "^128.0.0.0/1 dev $IFN"'
kill -TERM "$(client_pid r5a)"
check "r5a: exits after SIGTERM" wait_exit "$(client_pid r5a)" 10
check "r5a: after SIGTERM ip route, ip addr, ip -6 route, nft ruleset are as before" same_as_before

client_start r5b "${R5[@]}"
check "r5b: the state file beside the socket records the server pin" grep -q "^pin " "$TMP/r5b.state"
{ kill -KILL "$(client_pid r5b)"; wait_exit "$(client_pid r5b)" 10; } 2>/dev/null
snapshot >"$TMP/after"
diag "r5b: after SIGKILL, before cleanup:" "$(diff "$TMP/before" "$TMP/after")"
check "r5b: sshtun cleanup -S succeeds" in_c "$SSHTUN" cleanup -S "$TMP/r5b.sock"
check "r5b: after SIGKILL + cleanup everything is as before" same_as_before
check "r5b: the state file is gone" test ! -e "$TMP/r5b.state"

client_start r5b "${R5[@]}"
{ kill -KILL "$(client_pid r5b)"; wait_exit "$(client_pid r5b)" 10; } 2>/dev/null
check "r5b: a killed instance left its state file" test -e "$TMP/r5b.state"
client_start r5b "${R5[@]}"
check "r5b: the new instance says it cleaned up after the earlier one" \
	grep -q "cleaned up after an earlier instance" "$TMP/r5b.log"
check "r5b: the new instance recorded its own pin (the old one was gone)" grep -q "^pin " "$TMP/r5b.state"
client_quit r5b
check "r5b: after SIGKILL + a new instance + quit everything is as before" same_as_before

# ---- 6. ctl reconnect ------------------------------------------------------------
diag "--- 6. sshtun ctl reconnect"
client_start r6 "${FAST[@]}"
mon_start r6 "$IFN"
old_helper=$(server_helpers)
t0=$(now_ms)
check "r6: 'ctl reconnect' answers" ctl r6 reconnect
check "r6: a new helper replaced $old_helper (the connection was dropped)" \
	wait_for 10 eval '! alive "$old_helper" && helpers_are 1'
check "r6: up again within 10 s" wait_for 10 client_is_up r6
t_up=$(mon_first r6 "$t0" up)
wait_for 10 in_c ping -c 1 -W 1 "$P4"
t_flow=$(now_ms)
timing "6 ctl reconnect -> state up" "$t0" "$t_up"
timing "6 ctl reconnect -> traffic flowing (ping answered)" "$t0" "$t_flow"
after_fault r6
mon_stop
client_quit r6

# ---- 7. failures that will not heal stop the retries -------------------------
diag "--- 7. refused key (exit 5) and changed host key (exit 4) end the retries"
client_start r7a "${FAST[@]}"
cp "$TMP/authorized_keys" "$TMP/authorized_keys.orig"
: >"$TMP/authorized_keys"
check "r7a: client key removed from authorized_keys; its session killed" kill_sessions TERM
check "r7a: exits by itself within 15 s once the key is refused" wait_exit "$(client_pid r7a)" 15
is "$EXIT_RC" 5 "r7a: exit status 5 (authentication)"
check "r7a: its message names the authentication failure" \
	grep -Eiq "permission denied|authentication" "$TMP/r7a.log"
grep -Ei "permission denied|authentication" "$TMP/r7a.log" | tail -n 1 | sed 's/^/# r7a log: /'
check "r7a: interface $IFN is gone" eval '! ip -n "$NS_C" link show dev "$IFN" >/dev/null 2>&1'
cp "$TMP/authorized_keys.orig" "$TMP/authorized_keys"

client_start r7b "${FAST[@]}"
ssh-keygen -q -t ed25519 -N '' -C sshtun-test-host-2 -f "$TMP/host_key.new"
mv -f "$TMP/host_key.new" "$TMP/host_key"
mv -f "$TMP/host_key.new.pub" "$TMP/host_key.pub"
kill -TERM "$SSHD_MAIN"
wait_exit "$SSHD_MAIN" 10
check "r7b: sshd restarted with a different host key" sshd_start
check "r7b: its session killed" kill_sessions TERM
check "r7b: exits by itself within 15 s once the host key changed" wait_exit "$(client_pid r7b)" 15
is "$EXIT_RC" 4 "r7b: exit status 4 (host key)"
check "r7b: its message names the host key change" grep -Eiq "host key.*changed" "$TMP/r7b.log"
grep -Ei "host key" "$TMP/r7b.log" | tail -n 1 | sed 's/^/# r7b log: /'
check "r7b: interface $IFN is gone" eval '! ip -n "$NS_C" link show dev "$IFN" >/dev/null 2>&1'

done_testing
