#!/bin/bash
# t_shell.sh: the shell of issue 3 end to end, against a real tunnel through
# a real sshd:
#   - a script of commands through `sshtun ctl`, the JSON read by python's
#     json module (status, stats, route list, ping), help, the human tables;
#   - route add/del seen in the kernel (IPv4 and IPv6), and every refusal:
#     a route twice, a missing one, bad CIDRs, one that would capture the SSH
#     server; -r and -c on the command line;
#   - bad input on the control socket: unknown command, wrong argument
#     count, an over-long raw line, a client that says nothing; five ctl
#     clients at once;
#   - lines on a standard input that is not a terminal;
#   - the real readline prompt in tmux: tab completion, a log line arriving
#     while a command is half typed, Ctrl-C, Ctrl-D exiting with status 0.
. "$(dirname "$0")/lib.sh"

# The prompt test runs in a tmux server of its own (a private socket), which
# the EXIT trap takes down before lib.sh's cleanup.
TM=sshtun-test-$$
tm() { tmux -L "$TM" -f "$TMP/tmux.conf" "$@"; }
TM_STARTED=0
TM_SOCKET=
shell_cleanup() {
	local rc=$1
	if [ "$TM_STARTED" = 1 ]; then
		# What the pane showed last, for cleanup's log tails on failure.
		tm capture-pane -p -t "$TM" -S -100 2>/dev/null |
			awk 'NF { for (; blank; blank--) print ""; print; next } { blank++ }' \
			>"$TMP/tmux-pane.log"
		tm kill-session -t "$TM" >/dev/null 2>&1
		tm kill-server >/dev/null 2>&1
		# tmux leaves its socket file behind.
		[ -n "$TM_SOCKET" ] && [ -S "$TM_SOCKET" ] && rm -f "$TM_SOCKET"
	fi
	cleanup "$rc"
}
trap 'shell_cleanup $?' EXIT

# ---- helpers ----------------------------------------------------------------

# run_ctl NAME ARGS...: one ctl command, bounded; sets RC, OUT, ERR.
run_ctl() {
	local name=$1
	shift
	in_c timeout -k 2 10 "$SSHTUN" ctl -S "$TMP/$name.sock" "$@" \
		>"$TMP/ctl.out" 2>"$TMP/ctl.err"
	RC=$?
	OUT=$(cat "$TMP/ctl.out")
	ERR=$(cat "$TMP/ctl.err")
}

# matches TEXT REGEX DESC: TEXT matches the extended REGEX.
matches() {
	if grep -Eq -- "$2" <<<"$1"; then
		ok "$3"
	else
		not_ok "$3"
		diag "does not match /$2/:" "$1"
		return 1
	fi
}

# nlines TEXT: how many lines (0 for none).
nlines() {
	if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

# refused DESC WANT_RC REGEX: the last run_ctl failed with WANT_RC ("any"
# for any nonzero), said exactly one line matching REGEX on stderr and
# nothing on stdout.
refused() {
	local desc=$1 want=$2 re=$3
	if [ "$want" = any ]; then
		check "$desc: exit nonzero (got $RC)" test "$RC" -ne 0
	else
		is "$RC" "$want" "$desc: exit $want"
	fi
	matches "$ERR" "$re" "$desc: message says /$re/"
	is "$(nlines "$ERR")/$(nlines "$OUT")" "1/0" "$desc: one line on stderr, none on stdout"
}

# json_check FILE EXPR...: FILE holds exactly one line, one JSON object j,
# and each python EXPR holds for it.  Helpers for the expressions: ip4(s),
# ip6(s) (an address without prefix), integer(v), number(v) (not bool),
# rtt(v) (null or a number >= 0).
json_check() {
	"$PYTHON" - "$@" <<'PY'
import ipaddress, json, sys
path, exprs = sys.argv[1], sys.argv[2:]
text = open(path).read()
lines = text.splitlines()
if len(lines) != 1 or not text.endswith("\n"):
    sys.exit("want exactly one line, got %d: %r" % (len(lines), text[:500]))
try:
    j = json.loads(lines[0])
except ValueError as e:
    sys.exit("not JSON (%s): %r" % (e, lines[0][:500]))
if not isinstance(j, dict):
    sys.exit("not a JSON object: %r" % lines[0][:500])
def ip4(s):
    return isinstance(s, str) and "/" not in s and bool(ipaddress.IPv4Address(s))
def ip6(s):
    return isinstance(s, str) and "/" not in s and bool(ipaddress.IPv6Address(s))
def integer(v):
    return type(v) is int and v >= 0
def number(v):
    return type(v) in (int, float) and v >= 0
def rtt(v):
    return v is None or number(v)
bad = []
for e in exprs:
    try:
        good = eval(e, {"j": j, "ip4": ip4, "ip6": ip6, "integer": integer,
                        "number": number, "rtt": rtt})
    except Exception as x:
        good = False
        e += "  (%s: %s)" % (type(x).__name__, x)
    if not good:
        bad.append(e)
if bad:
    print(lines[0])
    sys.exit("fails: " + "; ".join(bad))
PY
}

# json_lines FILE MIN: FILE holds at least MIN lines, each one JSON object.
json_lines() {
	"$PYTHON" - "$1" "$2" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for l in lines:
    if not isinstance(json.loads(l), dict):
        sys.exit("not an object: %r" % l)
if len(lines) < int(sys.argv[2]):
    sys.exit("%d lines, want at least %s" % (len(lines), sys.argv[2]))
PY
}

# Kernel routes in the client namespace (never the root namespace's).
route4_dev() { ip -n "$NS_C" -4 route show "$1" | grep -qw "dev $2"; }
route6_dev() { ip -n "$NS_C" -6 route show "$1" | grep -qw "dev $2"; }
route4_none() { [ -z "$(ip -n "$NS_C" -4 route show "$1")" ]; }
route6_none() { [ -z "$(ip -n "$NS_C" -6 route show "$1")" ]; }
link_gone() { ! ip -n "$NS_C" link show dev "$1" >/dev/null 2>&1; }

# pings ADDR: through the tunnel from the client namespace (the first
# packet may race the routes: one answer first, then three in a row).
pings() {
	wait_for 10 in_c ping -c 1 -W 1 "$1"
	in_c ping -c 3 -i 0.2 -W 2 "$1"
}

# ifname_of NAME: from its last status.
ifname_of() { json_get "$TMP/$1.status" ifname; }

# quit_client NAME: `ctl quit`, exit 0, interface gone.
quit_client() {
	local name=$1 ifn
	ifn=$(ifname_of "$name")
	check "$name: 'ctl quit' answers" ctl "$name" quit
	wait_exit "$(client_pid "$name")" 10
	is "$EXIT_RC" 0 "$name: exits with status 0 after quit"
	check "$name: interface $ifn is gone" wait_for 5 link_gone "$ifn"
}

# A control-socket client speaking the wire protocol directly.
# raw_ctl SOCK PAYLOAD_SPEC TIMEOUT: sends the payload ("long" = 5000 bytes
# of a run request, then a newline), prints what comes back until EOF.
raw_long() {
	"$PYTHON" - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"run status " + b"x" * 5000 + b"\n")
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except socket.timeout:
    out += b"<timeout>"
sys.stdout.write(out.decode(errors="replace"))
PY
}

# silent SOCK SECONDS [BYTES]: connect, send BYTES (if any, no newline),
# then say nothing more for SECONDS.  Prints "connected" once connected.
# exec: under bg_run the pid recorded is python's own, so kill_all ends it.
silent() {
	exec "$PYTHON" - "$@" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
if len(sys.argv) > 3:
    s.sendall(sys.argv[3].encode())
print("connected", flush=True)
time.sleep(float(sys.argv[2]))
PY
}

# stat_of FILE KEY: a number from stats --json.
stat_of() { json_get "$1" "$2"; }

# ---------------------------------------------------------------------------
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
check "sshd" sshd_start
fail_fast "no sshtun binary, namespaces or sshd"

client_run c1
check "c1: tunnel comes up (status says up)" client_wait_up c1
fail_fast "the tunnel did not come up"
IF1=$(ifname_of c1)
PEER1=$(json_get "$TMP/c1.status" peer_addr)
diag "c1: $(cat "$TMP/c1.status")"

# ---- 1. a script of commands through ctl, JSON read by a real parser ------

run_ctl c1 status --json
is "$RC" 0 "status --json: exit 0"
printf '%s\n' "$OUT" >"$TMP/st.json"
check "status --json: one JSON object on one line, every field with a sensible type" \
	json_check "$TMP/st.json" \
	'j["state"] == "up"' \
	'j["server"] == "198.51.100.1:22"' \
	'isinstance(j["ifname"], str) and j["ifname"] != ""' \
	'ip4(j["local_addr"])' 'ip4(j["peer_addr"])' \
	'ip6(j["local_addr6"])' 'ip6(j["peer_addr6"])' \
	'j["mode"] == "sshtun"' \
	'j["compression"] == "auto"' \
	'integer(j["uptime_s"])' \
	'integer(j["reconnects"]) and j["reconnects"] == 0' \
	'isinstance(j["routes"], list) and j["routes"] == []'
check "status --json: ifname $IF1 exists in the client namespace" ip -n "$NS_C" link show dev "$IF1"
is "$ERR" "" "status --json: nothing on stderr"

run_ctl c1 stats --json
is "$RC" 0 "stats --json: exit 0"
printf '%s\n' "$OUT" >"$TMP/stats0.json"
STATS_FIELDS=(
	'integer(j["tx_packets"])' 'integer(j["rx_packets"])'
	'integer(j["tx_bytes"])' 'integer(j["rx_bytes"])'
	'integer(j["tx_wire_bytes"])' 'integer(j["rx_wire_bytes"])'
	'integer(j["drops"])' 'rtt(j["rtt_ms"])' 'rtt(j["rtt_avg_ms"])'
	'number(j["tx_rate_bps"])' 'number(j["rx_rate_bps"])'
	'integer(j["reconnects"])' 'integer(j["uptime_s"])'
	'j["tx_wire_bytes"] >= j["tx_bytes"] or j["tx_compressed"] > 0'
)
check "stats --json: one JSON object on one line, every field with a sensible type" \
	json_check "$TMP/stats0.json" "${STATS_FIELDS[@]}"

check "ping through the tunnel to $PEER1" pings "$PEER1"
run_ctl c1 stats --json
printf '%s\n' "$OUT" >"$TMP/stats1.json"
check "stats --json after the ping: still well formed" json_check "$TMP/stats1.json" "${STATS_FIELDS[@]}"
for k in tx_packets rx_packets; do
	a=$(stat_of "$TMP/stats0.json" $k) b=$(stat_of "$TMP/stats1.json" $k)
	check "stats: $k grew by at least 4 with the pings ($a -> $b)" test "$b" -ge $((a + 4))
done
for k in tx_bytes rx_bytes tx_wire_bytes rx_wire_bytes; do
	a=$(stat_of "$TMP/stats0.json" $k) b=$(stat_of "$TMP/stats1.json" $k)
	check "stats: $k grew by at least 4 x 84 bytes ($a -> $b)" test "$b" -ge $((a + 336))
done

# Rates while traffic flows: five pings a second for three seconds.
in_c ping -q -c 15 -i 0.2 -W 2 "$PEER1" >/dev/null 2>&1 &
PF=$!
sleep 2.2
run_ctl c1 stats --json
printf '%s\n' "$OUT" >"$TMP/stats-rate.json"
run_ctl c1 stats
RATE_ROW=$(grep '^rate ' <<<"$OUT")
wait "$PF"
check "stats --json while pinging: tx_rate_bps and rx_rate_bps > 0" json_check "$TMP/stats-rate.json" \
	'j["tx_rate_bps"] > 0' 'j["rx_rate_bps"] > 0'
matches "$RATE_ROW" '^rate +[0-9.]+ [kM]?bit/s +[0-9.]+ [kM]?bit/s$' "stats while pinging: the rate row has units ($RATE_ROW)"
check "stats while pinging: the rates are not zero" eval '! grep -q " 0 bit/s" <<<"$RATE_ROW"'

run_ctl c1 route list --json
is "$RC" 0 "route list --json: exit 0"
printf '%s\n' "$OUT" >"$TMP/rl.json"
check "route list --json: {\"routes\": []} while there are none" \
	json_check "$TMP/rl.json" 'j == {"routes": [], "uid_routes": []}'

t0=$(now_ms)
run_ctl c1 ping 3
ms=$(($(now_ms) - t0))
is "$RC" 0 "ping 3: exit 0 (${ms} ms)"
is "$(grep -cE '^reply from tunnel: time=[0-9]+\.[0-9]+ ms$' <<<"$OUT")" 3 "ping 3: three replies"
matches "$OUT" '^3 sent, 3 received, 0% loss, rtt min/avg/max [0-9.]+/[0-9.]+/[0-9.]+ ms$' \
	"ping 3: a summary line"
check "ping 3: paced one a second (took ${ms} ms, want >= 1800)" test "$ms" -ge 1800

run_ctl c1 ping 2 --json
is "$RC" 0 "ping 2 --json: exit 0"
printf '%s\n' "$OUT" >"$TMP/ping.json"
check "ping 2 --json: one object, 2 sent, 2 received" json_check "$TMP/ping.json" \
	'j["sent"] == 2' 'j["received"] == 2' 'j["loss_pct"] == 0' \
	'number(j["rtt_min_ms"]) and number(j["rtt_avg_ms"]) and number(j["rtt_max_ms"])' \
	'j["rtt_min_ms"] <= j["rtt_avg_ms"] <= j["rtt_max_ms"]'

run_ctl c1 stats --json
printf '%s\n' "$OUT" >"$TMP/stats2.json"
check "stats --json after ping: rtt_ms and rtt_avg_ms are numbers, uptime_s moved on" \
	json_check "$TMP/stats2.json" 'number(j["rtt_ms"]) and j["rtt_ms"] > 0' \
	'number(j["rtt_avg_ms"]) and j["rtt_avg_ms"] > 0' "j[\"uptime_s\"] >= 2"

# Answers that come over time reach a script as they come, even when ctl's
# output is a pipe or a file: stats --watch until it is stopped, ping's
# replies one a second.
in_c timeout 2.5 "$SSHTUN" ctl -S "$TMP/c1.sock" stats --watch --json >"$TMP/watch.out" 2>&1
rc=$?
is "$rc" 124 "stats --watch --json through ctl runs until stopped (here by timeout 2.5)"
check "stats --watch --json through ctl into a file: a JSON line a second, as they come (>= 2 in 2.5 s)" \
	json_lines "$TMP/watch.out" 2
in_c timeout 10 "$SSHTUN" ctl -S "$TMP/c1.sock" ping 3 >"$TMP/ping3.out" 2>&1 &
P3=$!
check "ping 3 through ctl into a file: the first reply is there before the last is sent" \
	wait_for 1.5 grep -q '^reply from tunnel' "$TMP/ping3.out"
wait "$P3"
is "$?/$(grep -c '^reply from tunnel' "$TMP/ping3.out")" "0/3" "ping 3 through ctl into a file: exit 0, three replies"
run_ctl c1 ping 1
is "$RC" 0 "after a ctl was killed in the middle of stats --watch, ping 1 works"

run_ctl c1 help
is "$RC" 0 "help: exit 0"
for cmd in "status" "stats" "route add" "route del" "route list" "ping" "reconnect" \
	"compress" "log" "help" "quit"; do
	matches "$OUT" "^  $cmd( |$)" "help lists '$cmd'"
done
run_ctl c1 help route
is "$RC" 0 "help route: exit 0"
matches "$OUT" '^usage: route add <CIDR> \[--uid UID\]$' "help route: usage of route add"
matches "$OUT" '^usage: route del <CIDR> \[--uid UID\]$' "help route: usage of route del"
matches "$OUT" '^usage: route list \[--json\]$' "help route: usage of route list"
run_ctl c1 help nosuch
refused "help nosuch" 2 "unknown command \`nosuch'"

# The human tables: label column 12 wide, values from column 14, units.
run_ctl c1 status
is "$RC" 0 "status: exit 0"
printf '%s\n' "$OUT" >"$TMP/status.txt"
diag "status:" "$OUT"
bad=$(awk 'length($0) < 14 || substr($0, 13, 1) != " " || substr($0, 14, 1) == " " ||
	substr($0, 1, 1) == " "' "$TMP/status.txt")
is "$bad" "" "status: every line is 'label' padded to 12 columns, value at column 14"
for re in '^state +up$' "^server +$S_ADDR:22$" "^interface +$IF1 \\(mtu [0-9]+\\)$" \
	'^address +[0-9.]+ -> [0-9.]+$' '^address6 +[0-9a-f:]+ -> [0-9a-f:]+$' '^mode +sshtun$' \
	'^compression +auto$' '^uptime +([0-9]+h)?([0-9]+m)?[0-9]+s$' '^reconnects +0$' \
	'^routes +none$'; do
	matches "$OUT" "$re" "status: a line /$re/"
done

run_ctl c1 stats
is "$RC" 0 "stats: exit 0"
printf '%s\n' "$OUT" >"$TMP/stats.txt"
diag "stats:" "$OUT"
# The tx and rx columns start at the same place on every two-column row.
bad=$(awk '/^(packets|bytes|on the wire|rate) / && (substr($0, 13, 1) != " " ||
	substr($0, 14, 1) == " " || substr($0, 28, 1) != " " || substr($0, 29, 1) == " ")' \
	"$TMP/stats.txt")
is "$bad" "" "stats: tx values at column 14 and rx values at column 29 on every row"
matches "$(head -n 1 "$TMP/stats.txt")" '^ {13}tx {13}rx$' "stats: a header with tx and rx over the columns"
U_BYTES='[0-9]+(\.[0-9])? (B|KiB|MiB|GiB|TiB)'
U_RATE='[0-9]+(\.[0-9])? (bit/s|kbit/s|Mbit/s|Gbit/s)'
matches "$OUT" "^packets +[0-9]+ +[0-9]+$" "stats: packets row"
matches "$OUT" "^bytes +$U_BYTES +$U_BYTES$" "stats: bytes with units (B, KiB, MiB...)"
matches "$OUT" "^on the wire +$U_BYTES +$U_BYTES$" "stats: wire bytes with units"
matches "$OUT" "^rate +$U_RATE +$U_RATE$" "stats: rates with units (bit/s, kbit/s, Mbit/s...)"
matches "$OUT" '^round trip +[0-9]+\.[0-9]+ ms \(average [0-9]+\.[0-9]+ ms\)$' "stats: round trip in ms"
matches "$OUT" '^uptime +([0-9]+m)?[0-9]+s$' "stats: uptime with units"

# ---- 2. route add/del, seen in the kernel ---------------------------------

run_ctl c1 route add 203.0.113.0/24
is "$RC/$OUT" "0/route 203.0.113.0/24 added" "route add 203.0.113.0/24: exit 0, says added"
check "kernel: 203.0.113.0/24 via $IF1" route4_dev 203.0.113.0/24 "$IF1"
run_ctl c1 route add 2001:db8:99::/48
is "$RC/$OUT" "0/route 2001:db8:99::/48 added" "route add 2001:db8:99::/48: exit 0, says added"
check "kernel: 2001:db8:99::/48 via $IF1" route6_dev 2001:db8:99::/48 "$IF1"

run_ctl c1 route list
is "$RC" 0 "route list: exit 0"
is "$(sort <<<"$OUT" | tr '\n' ' ')" "2001:db8:99::/48 203.0.113.0/24 " "route list: shows both"
run_ctl c1 route list --json
printf '%s\n' "$OUT" >"$TMP/rl.json"
check "route list --json: both routes" json_check "$TMP/rl.json" \
	'sorted(j["routes"]) == ["2001:db8:99::/48", "203.0.113.0/24"]'
client_status c1
check "status --json: routes has both" json_check "$TMP/c1.status" \
	'sorted(j["routes"]) == ["2001:db8:99::/48", "203.0.113.0/24"]'
run_ctl c1 status
matches "$OUT" '^routes +(203\.0\.113\.0/24 2001:db8:99::/48|2001:db8:99::/48 203\.0\.113\.0/24)$' \
	"status: the routes line lists both"

run_ctl c1 route add 203.0.113.0/24
refused "route add 203.0.113.0/24 twice" any 'exists'
run_ctl c1 route add 2001:db8:99::/48
refused "route add 2001:db8:99::/48 twice" any 'exists'
check "kernel: 203.0.113.0/24 still there once" \
	eval '[ "$(ip -n "$NS_C" -4 route show 203.0.113.0/24 | wc -l)" = 1 ]'

run_ctl c1 route del 198.18.99.0/24
refused "route del of a route never added" any "198\\.18\\.99\\.0/24"
matches "$ERR" 'no route' "route del of a missing route: says there is no such route"
run_ctl c1 route del 2001:db8:98::/48
refused "route del of a missing IPv6 route" any "2001:db8:98::/48"

for bad in 300.1.2.3/8 10.0.0.0/33 foo 2001:db8::/129 198.51.100.0/ ""; do
	run_ctl c1 route add "$bad"
	refused "route add '$bad' (bad CIDR)" 2 "bad CIDR \`${bad//./\\.}'"
done
run_ctl c1 route del foo
refused "route del foo (bad CIDR)" 2 "bad CIDR \`foo'"

run_ctl c1 route add 198.51.100.0/24
refused "route add 198.51.100.0/24 (contains the SSH server)" any \
	"198\\.51\\.100\\.0/24 would capture the SSH server's own address 198\\.51\\.100\\.1"
run_ctl c1 route add 198.51.100.1/32
refused "route add 198.51.100.1/32 (the SSH server itself)" any "capture the SSH server"
check "kernel: 198.51.100.0/24 untouched (only the veth's own route)" \
	eval '[ "$(ip -n "$NS_C" -4 route show 198.51.100.0/24 | wc -l)" = 1 ] &&
	      ip -n "$NS_C" -4 route show 198.51.100.0/24 | grep -qw "dev veth-c" &&
	      ! ip -n "$NS_C" -4 route | grep -q "^198\.51\.100\..* dev $IF1"'
check "kernel: the SSH server is still reached over veth-c" \
	eval 'ip -n "$NS_C" -4 route get 198.51.100.1 | grep -qw "dev veth-c"'
run_ctl c1 route list --json
printf '%s\n' "$OUT" >"$TMP/rl.json"
check "route list --json: the refusals added nothing" json_check "$TMP/rl.json" \
	'sorted(j["routes"]) == ["2001:db8:99::/48", "203.0.113.0/24"]'
check "the tunnel still carries traffic after the refusals" pings "$PEER1"

run_ctl c1 route del 203.0.113.0/24
is "$RC/$OUT" "0/route 203.0.113.0/24 removed" "route del 203.0.113.0/24: exit 0, says removed"
check "kernel: 203.0.113.0/24 gone" route4_none 203.0.113.0/24
run_ctl c1 route del 2001:db8:99::/48
is "$RC/$OUT" "0/route 2001:db8:99::/48 removed" "route del 2001:db8:99::/48: exit 0, says removed"
check "kernel: 2001:db8:99::/48 gone" route6_none 2001:db8:99::/48
run_ctl c1 route list --json
printf '%s\n' "$OUT" >"$TMP/rl.json"
check "route list --json: empty again" json_check "$TMP/rl.json" 'j == {"routes": [], "uid_routes": []}'
run_ctl c1 route list
is "$RC/$OUT" "0/no routes through the tunnel" "route list: says there are none"

# ---- 3. bad input -----------------------------------------------------------

run_ctl c1 frobnicate
refused "unknown command" 2 "unknown command \`frobnicate'"
run_ctl c1 route frob 203.0.113.0/24
refused "unknown route sub-command" 2 "unknown command \`route frob'"
run_ctl c1 route add
refused "route add without CIDR" 2 '^usage: route add <CIDR> \[--uid UID\]$'
run_ctl c1 route add 203.0.113.0/24 198.18.5.0/24
refused "route add with two CIDRs" 2 '^usage: route add <CIDR> \[--uid UID\]$'
run_ctl c1 ping 1 2
refused "ping 1 2" 2 '^usage: ping \[COUNT\] \[--json\]$'
run_ctl c1 status now
refused "status now" 2 '^usage: status \[--json\]$'
run_ctl c1 compress
refused "compress without a mode" 2 '^usage: compress <auto\|off\|LEVEL>$'
run_ctl c1 quit now
refused "quit now (must not quit)" 2 '^usage: quit$'
run_ctl c1 status --yaml
is "$RC" 2 "status --yaml: exit 2"
matches "$ERR" "unknown option \`--yaml'" "status --yaml: names the option"
run_ctl c1 ping many
refused "ping many" 2 "bad count \`many'"
run_ctl c1 ping 0
refused "ping 0" 2 "bad count \`0'"
run_ctl c1 compress 10
refused "compress 10" 2 "bad compression \`10'"
run_ctl c1 log nosuch
refused "log nosuch" 2 "bad log level \`nosuch'"
run_ctl c1 compress 6
is "$RC/$OUT" "0/compression 6" "compress 6: exit 0"
client_status c1
check "compress 6: status --json compression is \"6\"" json_check "$TMP/c1.status" 'j["compression"] == "6"'
run_ctl c1 compress auto
is "$RC/$OUT" "0/compression auto" "compress auto: exit 0"
run_ctl c1 route
is "$RC" 2 "route alone: exit 2"
matches "$ERR" '^usage: route add <CIDR> \[--uid UID\]$' "route alone: shows the route usages"
check "after the usage errors c1 is still up" client_is_up c1

# Too long for the wire: ctl refuses before sending.  The longest that fits
# ("run " + 4090 + newline = 4095 bytes) reaches the instance.
run_ctl c1 route add "$(head -c 5000 /dev/zero | tr '\0' 1)"
refused "ctl with a 5000-byte command" 2 'too long'
run_ctl c1 route add "$(head -c 4081 /dev/zero | tr '\0' 1)"
refused "ctl with a 4091-byte command (one too many)" 2 'too long'
run_ctl c1 route add "$(head -c 4080 /dev/zero | tr '\0' 1)"
refused "ctl with a 4090-byte command (the most that fits): the instance answers" 2 "^bad CIDR \`1111"

# raw_line SOCK N: one request line of N bytes (newline not counted).
raw_line() {
	"$PYTHON" - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
line = b"run help"
line += b" " * (int(sys.argv[2]) - len(line))
s.sendall(line + b"\n")
s.shutdown(socket.SHUT_WR)
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except socket.timeout:
    out += b"<timeout>"
sys.stdout.write(out.decode(errors="replace"))
PY
}
raw_line "$TMP/c1.sock" 4095 >"$TMP/raw4095.out" 2>&1
check "raw line of 4095 bytes + newline (fills the buffer exactly): answered, x 0" \
	eval 'grep -q "^o   quit" "$TMP/raw4095.out" && [ "$(tail -n 1 "$TMP/raw4095.out")" = "x 0" ]'
raw_line "$TMP/c1.sock" 4096 >"$TMP/raw4096.out" 2>&1
check "raw line of 4096 bytes + newline: 'e line too long', x 2" \
	eval 'grep -q "^e line too long" "$TMP/raw4096.out" && [ "$(tail -n 1 "$TMP/raw4096.out")" = "x 2" ]'

# Too long, sent raw: an error answer, then the connection closes.
raw_long "$TMP/c1.sock" >"$TMP/raw.out" 2>&1
diag "raw 5000-byte line got: $(head -c 300 "$TMP/raw.out")"
check "raw over-long line: answered 'e line too long'" grep -q '^e line too long' "$TMP/raw.out"
check "raw over-long line: answer ends 'x 2', then EOF (no timeout)" \
	eval '[ "$(tail -n 1 "$TMP/raw.out")" = "x 2" ]'
check "raw over-long line: the rest of the line is not run as a command" \
	eval '[ "$(grep -c "^x " "$TMP/raw.out")" = 1 ]'
check "after the over-long line: status answers, up" client_is_up c1
check "after the over-long line: the tunnel pings" pings "$PEER1"

# A client that connects and says nothing, and one that sends half a line:
# others are served meanwhile, in well under 2 s.
bg_run silent1 silent "$TMP/c1.sock" 60
bg_run silent2 silent "$TMP/c1.sock" 60 "run stat"
check "two silent control clients connected" \
	wait_for 5 eval 'grep -q connected "$TMP/silent1.log" && grep -q connected "$TMP/silent2.log"'
t0=$(now_ms)
in_c timeout 2 "$SSHTUN" ctl -S "$TMP/c1.sock" status --json >"$TMP/st.json" 2>&1
rc=$? ms=$(($(now_ms) - t0))
is "$rc" 0 "with silent clients connected, ctl status answers within 2 s (${ms} ms)"
check "... and says up" json_check "$TMP/st.json" 'j["state"] == "up"'
run_ctl c1 ping 1
is "$RC" 0 "with silent clients connected, ctl ping 1 works"
check "with silent clients connected, the tunnel pings" pings "$PEER1"
check "the silent clients are still connected (not our doing they go)" \
	eval 'alive "$(cat "$TMP/silent1.pid")" && alive "$(cat "$TMP/silent2.pid")"'
kill_all "$(cat "$TMP/silent1.pid")" "$(cat "$TMP/silent2.pid")"
check "after the silent clients left: status says up" client_is_up c1

# Every slot taken by silent clients: a ctl is turned away at once, with a
# message that says why (five tries: the refusal must never be lost).
bg_run crowd "$PYTHON" -c 'import socket, sys, time
ss = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    ss.append(s)
print("connected", flush=True)
time.sleep(60)' "$TMP/c1.sock" 16
check "16 silent control clients connected" wait_for 5 grep -q connected "$TMP/crowd.log"
for try in 1 2 3 4 5; do
	t0=$(now_ms)
	run_ctl c1 status --json
	ms=$(($(now_ms) - t0))
	refused "control socket full, try $try (${ms} ms)" 1 'too many control clients'
done
kill_all "$(cat "$TMP/crowd.pid")"
check "once the crowd left: status says up" wait_for 5 client_is_up c1

# ---- 4. five ctl clients at once --------------------------------------------

five() {
	local i pids=() rcs=""
	for i in 1 2 3 4 5; do
		in_c timeout -k 2 15 "$SSHTUN" ctl -S "$TMP/c1.sock" "$@" >"$TMP/five.$i" 2>&1 &
		pids+=($!)
	done
	for i in 0 1 2 3 4; do
		wait "${pids[$i]}"
		rcs="$rcs$? "
	done
	FIVE_RCS=$rcs
}
five status --json
is "$FIVE_RCS" "0 0 0 0 0 " "five ctl status --json at once: all exit 0"
for i in 1 2 3 4 5; do
	check "five at once: answer $i is one JSON object with state up" \
		json_check "$TMP/five.$i" 'j["state"] == "up"' 'j["ifname"] == "'"$IF1"'"'
done
t0=$(now_ms)
five ping 2 --json
ms=$(($(now_ms) - t0))
is "$FIVE_RCS" "0 0 0 0 0 " "five ctl ping 2 --json at once: all exit 0 (${ms} ms)"
for i in 1 2 3 4 5; do
	check "five pings at once: answer $i has 2 sent, 2 received" \
		json_check "$TMP/five.$i" 'j["sent"] == 2' 'j["received"] == 2'
done
check "five pings at once ran side by side (${ms} ms < 5000)" test "$ms" -lt 5000

check "after all that, c1 pings" pings "$PEER1"

# reconnect: the interface and the routes stay.
run_ctl c1 route add 203.0.113.0/24
is "$RC" 0 "route add 203.0.113.0/24 before reconnect"
run_ctl c1 reconnect
is "$RC/$OUT" "0/reconnecting" "reconnect: exit 0, says reconnecting"
check "reconnect: up again" wait_for 20 eval 'client_is_up c1 && [ "$(json_get "$TMP/c1.status" reconnects)" = 1 ]'
check "reconnect: same interface, reconnects 1, route kept" json_check "$TMP/c1.status" \
	'j["ifname"] == "'"$IF1"'"' 'j["reconnects"] == 1' 'j["routes"] == ["203.0.113.0/24"]'
check "reconnect: kernel still has 203.0.113.0/24 via $IF1" route4_dev 203.0.113.0/24 "$IF1"
check "reconnect: the tunnel pings" pings "$PEER1"
quit_client c1
check "c1: its route 203.0.113.0/24 went with it" route4_none 203.0.113.0/24

# ---- 2b. -r on the command line ----------------------------------------------

client_run c2 -r 203.0.113.0/24
check "c2 (-r 203.0.113.0/24): comes up" client_wait_up c2
IF2=$(ifname_of c2)
check "c2: kernel has 203.0.113.0/24 via $IF2" wait_for 5 route4_dev 203.0.113.0/24 "$IF2"
check "c2: status --json routes = [203.0.113.0/24]" json_check "$TMP/c2.status" \
	'j["routes"] == ["203.0.113.0/24"]'
run_ctl c2 route del 203.0.113.0/24
is "$RC" 0 "c2: the -r route can be deleted with route del"
check "c2: kernel: 203.0.113.0/24 gone" route4_none 203.0.113.0/24
quit_client c2

# ---- 5. -c commands -----------------------------------------------------------

client_run c3 -c 'route add 203.0.113.0/24' -c 'route add 2001:db8:99::/48'
check "c3 (-c 'route add ...'): comes up" client_wait_up c3
IF3=$(ifname_of c3)
check "c3: kernel has 203.0.113.0/24 via $IF3" wait_for 5 route4_dev 203.0.113.0/24 "$IF3"
check "c3: kernel has 2001:db8:99::/48 via $IF3" wait_for 5 route6_dev 2001:db8:99::/48 "$IF3"
run_ctl c3 route list --json
printf '%s\n' "$OUT" >"$TMP/rl.json"
check "c3: route list --json has both" json_check "$TMP/rl.json" \
	'sorted(j["routes"]) == ["2001:db8:99::/48", "203.0.113.0/24"]'
check "c3: the -c output went to its output" grep -q 'route 203.0.113.0/24 added' "$TMP/c3.log"
quit_client c3
check "c3: kernel: its routes went with it" \
	eval 'route4_none 203.0.113.0/24 && route6_none 2001:db8:99::/48'

# -c commands run from the loop, in turn, even one that tears the session
# down (reconnect): the ones after it still run.
reconnects_of() { ctl "$1" status --json >"$TMP/$1.rs" 2>/dev/null && json_get "$TMP/$1.rs" reconnects; }
client_run c3r -c reconnect -c 'status --json' -c 'route add 203.0.113.0/24'
check "c3r (-c reconnect -c status -c route add): comes up" client_wait_up c3r
check "c3r: the reconnect from -c happened (reconnects 1)" \
	wait_for 15 eval '[ "$(reconnects_of c3r)" = 1 ]'
IF3R=$(ifname_of c3r)
check "c3r: the commands after it ran (route via $IF3R)" wait_for 10 route4_dev 203.0.113.0/24 "$IF3R"
check "c3r: the status JSON from -c reached its output" grep -q '"state"' "$TMP/c3r.log"
quit_client c3r


# ---- 6. lines on a standard input that is not a terminal -------------------

mkfifo "$TMP/c4.in"
CLIENT_N='' client_argv c4
echo "$ ${CLIENT_ARGV[*]}" >"$TMP/c4.log"
ip netns exec "$NS_C" "${CLIENT_ARGV[@]}" <"$TMP/c4.in" >"$TMP/c4.stdout" 2>>"$TMP/c4.log" &
C4=$!
PIDS+=("$C4")
echo "$C4" >"$TMP/c4.pid"
exec 7>"$TMP/c4.in"
printf 'status --json\nroute add 198.18.200.0/24\n' >&7
check "c4 (no -N, stdin a pipe): prints the status JSON on stdout" \
	wait_for 20 eval '[ "$(head -n 1 "$TMP/c4.stdout" 2>/dev/null | head -c 1)" = "{" ]'
head -n 1 "$TMP/c4.stdout" >"$TMP/c4.status"
check "c4: the stdout JSON is a whole status object with state up" json_check "$TMP/c4.status" \
	'j["state"] == "up"' 'j["server"] == "198.51.100.1:22"' 'ip4(j["local_addr"])' \
	'isinstance(j["routes"], list)'
IF4=$(json_get "$TMP/c4.status" ifname)
check "c4: kernel has 198.18.200.0/24 via $IF4" wait_for 5 route4_dev 198.18.200.0/24 "$IF4"
check "c4: says 'route 198.18.200.0/24 added' on stdout" \
	wait_for 5 grep -qx 'route 198.18.200.0/24 added' "$TMP/c4.stdout"
check "c4: still running before quit" alive "$C4"
printf 'quit\n' >&7
wait_exit "$C4" 10
exec 7>&-
is "$EXIT_RC" 0 "c4: exits with status 0 at quit"
is "$(cat "$TMP/c4.stdout")" "$(cat "$TMP/c4.status")
route 198.18.200.0/24 added" "c4: stdout holds exactly the two answers"
check "c4: interface $IF4 and its route are gone" \
	eval 'wait_for 5 link_gone "$IF4" && route4_none 198.18.200.0/24'

# ---- 7. the real prompt, in tmux --------------------------------------------

cat >"$TMP/tmux.conf" <<EOF
set -g remain-on-exit on
set -g status off
set -g history-limit 5000
set -g default-shell /bin/bash
EOF
mkdir -p "$TMP/state"
CLIENT_N='' CLIENT_PREFIX="XDG_STATE_HOME=$TMP/state" client_argv tm
TM_CMD="ip netns exec $NS_C $(printf '%q ' "${CLIENT_ARGV[@]}"); echo \$? >$TMP/tm.rc"
echo "$ $TM_CMD" >"$TMP/tm.log"
TM_STARTED=1
check "tmux: session started" tm new-session -d -s "$TM" -x 120 -y 30 "$TM_CMD"
TM_SOCKET=$(tm display-message -p -t "$TM" '#{socket_path}' 2>/dev/null)
case $TM_SOCKET in */"$TM") ;; *) TM_SOCKET= ;; esac	# ours, or leave it be

PT=$TM:0	# the pane the helpers below look at and type into
pane() { tm capture-pane -p -t "$PT" -S -200 2>/dev/null; }
# The pane's last lines with text, for diagnostics.
pane_tail() {
	pane | awk 'NF { for (; blank; blank--) print ""; print; next } { blank++ }' |
		tail -n 12 | sed 's/^/   | /' | while IFS= read -r l; do diag "$l"; done
}
PROMPT="sshtun tm (up)>"
# The line being edited: the last prompt line, trailing blanks dropped.
prompt_line() { pane | grep -F "sshtun tm (" | tail -n 1 | sed 's/[[:space:]]*$//'; }
prompt_is() { [ "$(prompt_line)" = "$1" ]; }
pane_has() { pane | grep -Eq -- "$1"; }
keys() { tm send-keys -t "$PT" "$@"; }
typed() { tm send-keys -t "$PT" -l -- "$1"; }
# expect_prompt TEXT DESC: the line being edited becomes "PROMPT TEXT".
expect_prompt() {
	local want="$PROMPT${1:+ $1}"
	if wait_for 5 prompt_is "$want"; then
		ok "$2"
	else
		not_ok "$2"
		diag "want prompt line: '$want'" "got:              '$(prompt_line)'"
		pane_tail
	fi
}
# expect_pane REGEX DESC: the pane shows a line matching REGEX (5 s).
expect_pane() {
	if wait_for 5 pane_has "$1"; then
		ok "$2"
	else
		not_ok "$2"
		diag "no line matches /$1/ in the pane:"
		pane_tail
	fi
}

if ! check "tmux: the prompt shows '$PROMPT' (tunnel up)" wait_for 20 pane_has "^sshtun tm \\(up\\)>"; then
	echo "# no prompt in tmux: the prompt tests cannot run"
	done_testing
fi
client_status tm
IFT=$(ifname_of tm)
pane >"$TMP/tmux-start.log"

# Tab completion of a command: sta -> stat (status and stats share it),
# Tab again lists both, u + Tab -> status.
typed sta
keys Tab
expect_prompt "stat" "tab: 'sta' completes to 'stat' (status and stats share it)"
# readline: the Tab after a partial completion only beeps, the next lists.
keys Tab Tab
expect_pane '^stats +status *$' "tab tab: lists stats and status"
expect_prompt "stat" "... and keeps 'stat' on the line"
typed u
keys Tab
expect_prompt "status" "tab: 'statu' completes to 'status'"
keys C-u
expect_prompt "" "Ctrl-U clears the line"
typed rec
keys Tab
expect_prompt "reconnect" "tab: 'rec' completes to 'reconnect'"
keys C-u
typed "route "
keys Tab Tab
expect_pane '^add +del +(\S+ +)*list *$' "tab tab after 'route ': lists add, del, list"
keys C-u

# Live arguments: the routes this instance has, after 'route del '.
run_ctl tm route add 198.18.201.0/24
is "$RC" 0 "ctl: route add 198.18.201.0/24 to the prompt's instance"
expect_pane '^route 198\.18\.201\.0/24 via ' "the route's log line shows in the pane"
expect_prompt "" "after the log line, an empty prompt is drawn again"
typed "route del "
keys Tab
expect_prompt "route del 198.18.201.0/24" "tab after 'route del ': offers the route that exists"
keys Enter
expect_pane '^route 198\.18\.201\.0/24 removed$' "Enter: route del runs at the prompt"
check "kernel: 198.18.201.0/24 gone after route del at the prompt" \
	wait_for 5 route4_none 198.18.201.0/24

typed "compress "
keys Tab Tab
expect_pane '^auto +off *$' "tab tab after 'compress ': lists the modes auto and off"
expect_prompt "compress" "... and keeps 'compress ' on the line"
keys C-u
typed "help ro"
keys Tab
expect_prompt "help route" "tab after 'help ro': completes the command name"
keys C-u

# A log line arriving while a command is half typed.
typed stat
expect_prompt "stat" "typed 'stat' shows on the prompt line"
run_ctl tm route add 203.0.113.0/24
is "$RC" 0 "ctl (from outside): route add 203.0.113.0/24"
expect_pane "^route 203\\.0\\.113\\.0/24 via $IFT\$" "the log line 'route 203.0.113.0/24 via $IFT' shows on a line of its own"
expect_prompt "stat" "the prompt line still holds the typed 'stat' after the log line"
pane >"$TMP/tmux-halftyped.log"
check "the log line is above the prompt line" eval '
	l=$(grep -n "^route 203\.0\.113\.0/24 via" "$TMP/tmux-halftyped.log" | tail -n 1 | cut -d: -f1)
	p=$(grep -n "^sshtun tm (up)> stat" "$TMP/tmux-halftyped.log" | tail -n 1 | cut -d: -f1)
	[ -n "$l" ] && [ -n "$p" ] && [ "$l" -lt "$p" ]'
check "no line mixes the log text with the prompt" \
	eval '! grep -E "(stat.*route 203|route 203.*sshtun tm)" "$TMP/tmux-halftyped.log"'
typed us
keys Enter
expect_pane "^interface +$IFT \\(mtu [0-9]+\\)$" "finishing the line ('us' + Enter) runs status"
expect_pane '^routes +203\.0\.113\.0/24$' "status at the prompt lists the route"
expect_pane '^sshtun tm \(up\)> status$' "the finished line reads 'status'"
expect_prompt "" "a fresh prompt after the output"

# Ctrl-C clears the line being typed and keeps the tunnel.
typed garbage
expect_prompt "garbage" "typed 'garbage'"
keys C-c
expect_prompt "" "Ctrl-C: the line is cleared, a fresh prompt"
check "Ctrl-C at the prompt: the tunnel stays up" client_is_up tm

# stats --watch at the prompt: a row a second, any key stops it.
typed "stats --watch"
keys Enter
expect_pane '^uptime +tx rate +rx rate +tx pkts +rx pkts +drops +rtt *$' "stats --watch: a header"
check "stats --watch: rows come, a second apart" wait_for 5 eval \
	'[ "$(pane | grep -cE "^[0-9hms]+ +[0-9.]+ [kMG]?bit/s +[0-9.]+ [kMG]?bit/s +[0-9]+ +[0-9]+ +[0-9]+ +")" -ge 2 ]'
typed q
expect_prompt "" "stats --watch: a key stops it, a fresh prompt"
sleep 1.2
n1=$(pane | grep -cE '^[0-9hms]+ +[0-9.]+ [kMG]?bit/s')
sleep 1.2
n2=$(pane | grep -cE '^[0-9hms]+ +[0-9.]+ [kMG]?bit/s')
is "$n2" "$n1" "stats --watch: no rows after it stopped"

# ping at the prompt, stopped by Ctrl-C: the summary, then the prompt.
typed "ping 100"
keys Enter
expect_pane '^reply from tunnel: time=' "ping 100 at the prompt: replies come"
keys C-c
expect_pane '^[0-9]+ sent, [0-9]+ received, 0% loss' "Ctrl-C stops ping 100: its summary"
expect_prompt "" "after the ping summary, a fresh prompt"

# `sshtun ctl` with no command: a prompt to the running instance, with the
# same completion (asked of the instance over its socket).
CTL_CMD="ip netns exec $NS_C env HOME=$TMP/home XDG_STATE_HOME=$TMP/state $SSHTUN ctl -S $TMP/tm.sock; echo \$? >$TMP/ctlprompt.rc"
check "tmux: a second window with 'sshtun ctl -S $TMP/tm.sock'" tm new-window -t "$TM:1" "$CTL_CMD"
PT=$TM:1
check "ctl prompt: shows '$PROMPT'" wait_for 10 pane_has "^sshtun tm \\(up\\)>"
typed "route add 198.18.202.0/24"
keys Enter
expect_pane '^route 198\.18\.202\.0/24 added$' "ctl prompt: route add runs in the instance"
check "kernel: 198.18.202.0/24 via $IFT" wait_for 5 route4_dev 198.18.202.0/24 "$IFT"
typed "ro"
keys Tab
expect_prompt "route" "ctl prompt: tab completes 'ro' to 'route'"
typed "del "
keys Tab Tab
expect_pane '^198\.18\.202\.0/24 +203\.0\.113\.0/24 *$' \
	"ctl prompt: tab tab after 'route del ' lists the instance's two routes"
typed 1
keys Tab
expect_prompt "route del 198.18.202.0/24" "ctl prompt: 'route del 1' + tab completes the route"
keys Enter
expect_pane '^route 198\.18\.202\.0/24 removed$' "ctl prompt: route del runs"
keys C-d
check "ctl prompt: Ctrl-D leaves" wait_for 5 test -s "$TMP/ctlprompt.rc"
is "$(cat "$TMP/ctlprompt.rc" 2>/dev/null)" 0 "ctl prompt: exit status 0"
check "ctl prompt left, the instance is still up" client_is_up tm

# `quit' typed at a ctl prompt stops that instance, and the prompt ends with
# it (instead of staying on a socket that no longer answers).
client_run tq
if check "tq: comes up for the ctl prompt's quit" client_wait_up tq; then
	IFQ=$(ifname_of tq)
	CTLQ_CMD="ip netns exec $NS_C env HOME=$TMP/home XDG_STATE_HOME=$TMP/state $SSHTUN ctl -S $TMP/tq.sock; echo \$? >$TMP/ctlquit.rc"
	check "tmux: a window with 'sshtun ctl -S $TMP/tq.sock'" tm new-window -t "$TM:2" "$CTLQ_CMD"
	PT=$TM:2
	check "ctl prompt (tq): shows the prompt" wait_for 10 pane_has "^sshtun tq \\(up\\)>"
	typed "quit"
	keys Enter
	expect_pane "^instance .tq. stopped$" "ctl prompt: 'quit' says the instance stopped"
	check "ctl prompt: ends after quit (exit status written)" wait_for 5 test -s "$TMP/ctlquit.rc"
	is "$(cat "$TMP/ctlquit.rc" 2>/dev/null)" 0 "ctl prompt: exit status 0 after quit"
	wait_exit "$(client_pid tq)" 10
	is "$EXIT_RC" 0 "tq: exits with status 0 after the ctl prompt's quit"
	check "tq: interface $IFQ is gone" wait_for 5 link_gone "$IFQ"
fi
PT=$TM:0

# Ctrl-D quits with status 0 and takes the interface with it.
keys C-d
check "Ctrl-D: the client exits (exit status written)" wait_for 10 test -s "$TMP/tm.rc"
is "$(cat "$TMP/tm.rc" 2>/dev/null)" 0 "Ctrl-D: exit status 0"
check "Ctrl-D: interface $IFT is gone" wait_for 5 link_gone "$IFT"
check "Ctrl-D: its route 203.0.113.0/24 is gone" route4_none 203.0.113.0/24
check "Ctrl-D: the control socket is gone" wait_for 5 test ! -e "$TMP/tm.sock"

# History in $XDG_STATE_HOME/sshtun/history, mode 0600.
HIST=$TMP/state/sshtun/history
is "$(stat -c %a "$HIST" 2>/dev/null)" 600 "history file $HIST has mode 0600"
check "history holds the lines typed (route del ..., status)" \
	eval 'grep -qxE "route del 198\.18\.201\.0/24 ?" "$HIST" && grep -qx status "$HIST"'

done_testing
