#!/bin/bash
# t_connections.sh: --connections N, one tunnel over several SSH connections
# (issue 17).  The client opens 2 connections; the server's helpers attach
# to ONE multi-queue TUN, the client's TUN has 2 queues, and the client
# steers each new flow to the connection with the fewest (t_steer.sh).
#
#   1. 4 downloads at once complete intact (sha256); both connections
#      carried bytes (stats --json, per connection); the server has one
#      sshtun device with 2 queues, the client's has 2.
#   2. One connection's sshd session is killed in the middle of 4 paced
#      downloads: every download completes intact, the connection comes
#      back (its reconnects count), with the same pair and the same server
#      device.
#   3. A join with a wrong token (a bare protocol client, join_client.py,
#      with the real client's id) is refused with the NOJOIN flag and one
#      line that does not echo the token; the group is unharmed.
#   4. Another account (bob, through sudo's SUDO_UID as t_accounts.sh) with
#      the client's id is refused with NOJOIN: no group of his; unharmed.
#   5. Refusals: --connections 9, --connections with --openssh, more -b
#      than connections.
. "$(dirname "$0")/lib.sh"

SERVE="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases"
BOB=4242002
as() { echo "env SUDO_UID=$1 SUDO_USER=$2 $SERVE"; }
JOIN="$TESTS_DIR/e2e/join_client.py"
SSH_ARGS=(env -u SSH_AUTH_SOCK "HOME=$TMP/home" ssh -F /dev/null -T -i "$TMP/client_key"
	-o "UserKnownHostsFile=$TMP/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes
	-o ConnectTimeout=5)

st() { json_get "$TMP/$1.status" "$2"; }
stats() { ctl "$1" stats --json >"$TMP/$1.stats" 2>/dev/null; }
# cs NAME K FIELD: connection K's FIELD in the last stats
cs() { json_get "$TMP/$1.stats" "connections.$2.$3"; }
conns_up() { client_status "$1" && [ "$(st "$1" connections_up)" = "$2" ]; }
# The server's TUN devices, one line each (ip -d: "multi_queue numqueues N").
srv_tuns() { ip -n "$NS_S" -d -o link show type tun; }
srv_one_tun_queues() {
	[ "$(srv_tuns | grep -c .)" = 1 ] && srv_tuns | grep -q "multi_queue numqueues $1 "
}
srv_tun_name() { srv_tuns | awk -F': ' '{ print $2; exit }'; }
# conn_bytes NAME K: what connection K moved both ways so far
conn_bytes() { echo $(($(cs "$1" "$2" rx_bytes) + $(cs "$1" "$2" tx_bytes))); }

# ---- flows: downloads from the server's tunnel address --------------------
PORT=5100
# (start_flows, flows_under_way, flows_finish, flows_intact: lib.sh)
# join_cmd OUT KEY=VALUE...: a bare protocol client (join_client.py) whose
# ssh runs REMOTE (ssh options and command: the helper as the subsystem, or
# as a command for another account).  join_try runs it to its end
# (bounded): RC its exit (3: an ERROR frame came, in OUT.error).
join_cmd() {
	local out=$1
	shift
	JOIN_ARGV=(ip netns exec "$NS_C" "$PYTHON" "$JOIN" "$out" "$@" --
		"${SSH_ARGS[@]}" "${REMOTE[@]}")
}
join_try() {
	join_cmd "$@"
	timeout -k 5 20 "${JOIN_ARGV[@]}" >"$1.log" 2>&1
	RC=$?
}

check "namespaces" netns_setup
check "sshd" sshd_start
fail_fast "no namespaces or sshd"

# ---- 1. four flows over two connections -----------------------------------
client_run mc -v -w mc0 --connections 2 -o ServerAliveInterval=1 -o ServerAliveCountMax=3
check "client up" client_wait_up mc
check "status: 2 of 2 connections up" wait_for 20 conns_up mc 2
fail_fast "the connections did not come up"
client_status mc
pair=$(st mc local_addr) peer=$(st mc peer_addr)
is "$(st mc connections)" 2 "status --json: connections 2"
check "the server has one sshtun device, with 2 queues" srv_one_tun_queues 2
check "the client's mc0 has 2 queues" \
	eval 'ip -n "$NS_C" -d -o link show dev mc0 | grep -q "multi_queue numqueues 2 "'
srv_dev=$(srv_tun_name)
srv_ifx=$(ip -n "$NS_S" -o link show dev "$srv_dev" | cut -d: -f1)
diag "pair $pair <-> $peer; server device $srv_dev (ifindex $srv_ifx)"

check "4 downloads start" start_flows a 4 2048
check "the 4 downloads finish" flows_finish
check "intact (sha256)" flows_intact
both_carried() { stats mc && [ "$(conn_bytes mc 0)" -ge 262144 ] && [ "$(conn_bytes mc 1)" -ge 262144 ]; }
check "both connections carried bytes (stats --json, per connection)" both_carried
diag "conn 0: $(conn_bytes mc 0) bytes, conn 1: $(conn_bytes mc 1) bytes"
is "$(cs mc 0 state)/$(cs mc 1 state)" "up/up" "stats --json: both connections up"
is "$(cs mc 0 queue)/$(cs mc 1 queue)" "attached/attached" "stats --json: both queues attached"
check "stats (human): a line per connection" \
	eval '[ "$(ctl mc stats | grep -cE "connection [01] +up, queue attached")" = 2 ]'

# ---- 2. one connection's sshd session killed mid-transfer -----------------
# 4 x 2 MB at 32 Mbit/s: about 2 s, time to cut one connection under them.
in_s tc qdisc add dev veth-s root tbf rate 32mbit burst 32kb latency 400ms
stats mc
b0=$(conn_bytes mc 0) b1=$(conn_bytes mc 1)
check "4 paced downloads start" start_flows k 4 2048
check "all 4 under way (128 KB in each)" wait_for 30 flows_under_way 128
# The victim: the connection that carries the most of them now.
stats mc
victim=0
[ $(($(conn_bytes mc 1) - b1)) -gt $(($(conn_bytes mc 0) - b0)) ] && victim=1
reconnects=$(cs mc $victim reconnects)
lport=$(cs mc $victim local)
lport=${lport##*:}
sessions=$(in_s ss -Htnp "( sport = :22 and dport = :$lport )" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
check "connection $victim's sshd session found (client port $lport)" test -n "$sessions"
diag "killing connection $victim's sshd session: $(echo $sessions)"
# shellcheck disable=SC2086 # a list of pids
kill -KILL $sessions
check "every download finishes" flows_finish
check "intact (sha256)" flows_intact
in_s tc qdisc del dev veth-s root
check "connection $victim comes back: 2 of 2 up" wait_for 30 conns_up mc 2
stats mc
check "its reconnects count went up" eval '[ "$(cs mc $victim reconnects)" -gt "$reconnects" ]'
check "the same pair ($pair)" eval '[ "$(st mc local_addr)" = "$pair" ]'
check "the server still has one device with 2 queues" srv_one_tun_queues 2
check "the same server device ($srv_dev, ifindex $srv_ifx)" \
	eval '[ "$(ip -n "$NS_S" -o link show dev "$srv_dev" | cut -d: -f1)" = "$srv_ifx" ]'

# ---- 3. a join with a wrong token -----------------------------------------
# The real client's id is in the server's lease file (index id pid time uid).
cid=$(awk 'NR == 1 { print $2 }' "$TMP/leases")
BAD=0123456789abcdef0123456789abcdef
REMOTE=(-s "root@$S_ADDR" sshtun)
join_try "$TMP/bad" "id=$cid" "join=$BAD"
check "a join with a wrong token: refused (exit 3, an ERROR frame)" eval '[ "$RC" = 3 ]'
check "... with the NOJOIN flag (0x08): the token does not match" grep -q "^flags=0x08 .*token" "$TMP/bad.error"
check "... one line saying why, without the token" \
	eval '[ "$(wc -l <"$TMP/bad.error")" = 0 ] && [ "$(wc -c <"$TMP/bad.error")" -gt 12 ] && ! grep -q "$BAD" "$TMP/bad.error"'
diag "refusal: $(cat "$TMP/bad.error" 2>/dev/null)"
check "the group is unharmed: 2 of 2 up" conns_up mc 2
check "the server still has one device with 2 queues" srv_one_tun_queues 2
check "a download after it" start_flows g 1 1024
check "... finishes intact" eval 'flows_finish && flows_intact'

# ---- 4. another account cannot join it -----------------------------------
# bob, with the real client's id: for him there is no such group (the token
# is not even looked at).  Bare clients on both sides, with a token that
# matches, are t_join.sh's.
REMOTE=("root@$S_ADDR" "$(as $BOB bob)")
join_try "$TMP/fb" "id=$cid" "join=$BAD"
check "bob, with the client's id: refused with NOJOIN, no group for his account" \
	eval '[ "$RC" = 3 ] && grep -q "^flags=0x08 .*account bob" "$TMP/fb.error"'
diag "refusal: $(cat "$TMP/fb.error" 2>/dev/null)"
check "the group is unharmed: 2 of 2 up" conns_up mc 2
check "the server still has one device with 2 queues" srv_one_tun_queues 2

# ---- 5. refusals ----------------------------------------------------------
TRY_TIMEOUT=10 client_try r9 -w r90 --connections 9
check "--connections 9: exit 2, naming 9" eval '[ "$RC" = 2 ] && echo "$MSG" | grep -q "9"'
TRY_TIMEOUT=10 client_try r0 -w r00 --connections 0
check "--connections 0: exit 2" eval '[ "$RC" = 2 ]'
TRY_TIMEOUT=10 client_try ro -w ro0 --openssh --connections 2
check "--connections 2 --openssh: exit 2, needs sshtun's helper" \
	eval '[ "$RC" = 2 ] && echo "$MSG" | grep -qi "helper"'
TRY_TIMEOUT=10 client_try rb -w rb0 --connections 2 -b "$C_ADDR" -b "$C_ADDR" -b "$C_ADDR"
check "--connections 2 with three -b: exit 2" eval '[ "$RC" = 2 ]'
diag "$(cat "$TMP/r9.log" "$TMP/ro.log" "$TMP/rb.log" 2>/dev/null)"

kill -TERM "$(client_pid mc)"
check "the client ends" wait_exit "$(client_pid mc)" 20
check "the server's device goes with it" wait_for 10 eval '[ -z "$(srv_tuns)" ]'

done_testing
