#!/bin/bash
# t_failover.sh: a list of servers (issue 17).  Two servers, each in its own
# namespace with its own sshd and its own address pool:
#
#   server 1  sshtun-s-PID   198.51.100.1:22    pool 198.18.0.0/24
#   server 2  sshtun-s2-PID  203.0.113.1:2200   pool 198.18.1.0/24
#
# Server 2 is reached through the client's default route (veth-c2), so a
# full tunnel (-r default) would take the connection to it into the tunnel
# itself unless the pin moves to it before connecting.
#
#   1. the list is tried in order: up on server 1; its sshd killed: up on
#      server 2 (new pair from its pool), same interface, routes (a full
#      tunnel) unchanged, the pin moved to server 2; the kill switch lets
#      the connection out to both servers
#   2. `reconnect HOST` goes back to server 1; its link blackholed: the
#      dead-peer timer moves the tunnel to server 2
#   3. a helper at --max-sessions-per-user refuses as busy: the next server
#      is tried at once (no backoff in between)
#   4. --balance random over 20 starts begins with each server (refused
#      ports: cheap); --balance order always with the first; all refused:
#      exit 3 naming the last
# Assertions are on the order of events, never on seconds.  client_argv puts
# $TARGET last: it is the list's last server.
. "$(dirname "$0")/lib.sh"

FAST=(-o ServerAliveInterval=1 -o ServerAliveCountMax=3)
NS_S2=sshtun-s2-$$
S2_ADDR=203.0.113.1
S1=root@$S_ADDR
S2=root@$S2_ADDR:2200
ROUTE=198.19.5.0/24

server2_setup() {
	ip netns add "$NS_S2" || return 1
	EXTRA_NS+=("$NS_S2")
	ip -n "$NS_S2" link add veth-s2 type veth peer name veth-c2 netns "$NS_C" || return 1
	ip -n "$NS_S2" link set lo up
	ip -n "$NS_S2" addr add "$S2_ADDR/24" dev veth-s2
	ip -n "$NS_C" addr add 203.0.113.2/32 dev veth-c2
	ip -n "$NS_S2" link set veth-s2 up
	ip -n "$NS_C" link set veth-c2 up
	ip -n "$NS_C" route add default dev veth-c2
	echo "[$S2_ADDR]:2200 $(cut -d' ' -f1,2 "$TMP/host_key.pub")" >>"$TMP/known_hosts"
}
sshd2_start() {
	NS_S=$NS_S2 SSHD_PORT=2200 \
		SSHD_SUBSYSTEM="$SSHTUN serve --pool 198.18.1.0/24 --pool6 none --lease-file $TMP/leases2" \
		sshd_start "$@"
}
# sshd1_start LEASEFILE [serve options]
sshd1_start() {
	SSHD_SUBSYSTEM="$SSHTUN serve --pool 198.18.0.0/24 --pool6 none --lease-file $TMP/$*" sshd_start
}
# Everything of server 1 (listener, sessions, helpers) dies at once.
server1_kill() {
	local pids
	pids=$(ip netns pids "$NS_S")
	# shellcheck disable=SC2086 # a list of pids
	[ -n "$pids" ] && kill -KILL $pids
	# shellcheck disable=SC2086
	wait_for 10 all_gone $pids
}

st() { json_get "$TMP/$1.status" "$2"; }
is_on() { client_is_up "$1" && [ "$(st "$1" server)" = "$2" ]; }
ifindex_of() { ip -n "$NS_C" -o link show dev "$1" 2>/dev/null | cut -d: -f1; }
route_there() {
	ip -n "$NS_C" route show "$ROUTE" | grep -q "dev $1" &&
		ip -n "$NS_C" route show 0.0.0.0/1 | grep -q "dev $1" &&
		ip -n "$NS_C" route show 128.0.0.0/1 | grep -q "dev $1"
}
pinned() { ip -n "$NS_C" route show "$1" | grep -q "dev $2"; }
# log_order NAME PATTERN1 PATTERN2: PATTERN1's first line comes before
# PATTERN2's first line after it.
log_order() {
	awk -v a="$2" -v b="$3" 'i == 0 && $0 ~ a { i = NR } i && NR > i && $0 ~ b { f = 1 } END { exit !f }' \
		"$TMP/$1.log"
}

check "namespaces" netns_setup
check "server 2's namespace" server2_setup
check "sshd on server 1" sshd1_start leases1
check "sshd on server 2" sshd2_start

# ---- 1. in order; server 1 killed -----------------------------------------
diag "--- 1. the list in order; server 1's sshd killed"
TARGET=$S2 client_run fo -v "${FAST[@]}" -w fo0 -r "$ROUTE" -r default --kill-switch "$S1"
check "up on server 1 (first in the list)" wait_for 20 is_on fo "$S_ADDR:22"
ifx=$(ifindex_of fo0)
check "its pair is from server 1's pool" eval '[[ $(st fo local_addr) == 198.18.0.* ]]'
check "status --json: servers, server 1 up, server 2 standby" \
	eval '[ "$(st fo servers.0.state)" = up ] && [ "$(st fo servers.1.state)" = standby ] &&
	      [ "$(st fo servers.1.host)" = "$S2" ]'
check "routes $ROUTE and default (0/1, 128/1) via fo0" route_there fo0
check "server 1 pinned to veth-c" pinned "$S_ADDR" veth-c
check "server 1's sshd and sessions killed" server1_kill
check "up on server 2" wait_for 20 is_on fo "$S2_ADDR:2200"
check "its pair is from server 2's pool" eval '[[ $(st fo local_addr) == 198.18.1.* ]]'
check "server 1's old address is gone from fo0" \
	eval '! ip -n "$NS_C" -o addr show dev fo0 | grep -q "198\.18\.0\."'
check "the same interface (ifindex $ifx)" eval '[ "$(ifindex_of fo0)" = "$ifx" ]'
check "routes $ROUTE and default still via fo0" route_there fo0
check "the pin moved: server 2 pinned to veth-c2, server 1's pin gone" \
	eval 'pinned "$S2_ADDR" veth-c2 && ! pinned "$S_ADDR" veth-c'
check "the kill switch is on and allows server 2" \
	eval '[ "$(st fo kill_switch)" = true ] && in_c nft list ruleset | grep -q "$S2_ADDR"'
check "status: server 1 failed, with why" \
	eval '[ "$(st fo servers.0.state)" = failed ] && [ -n "$(st fo servers.0.error)" ]'
check "log: lost, then up via server 2" log_order fo "connection lost" "tunnel up: .* via $S2"
check "traffic flows (ping the server's end)" \
	in_c ping -c 1 -W 5 -I fo0 "$(st fo peer_addr)"

# ---- 2. reconnect HOST; server 1's link blackholed ------------------------
diag "--- 2. reconnect $S1; then its link blackholed"
check "sshd on server 1 again" sshd1_start leases1
check "ctl reconnect $S1" ctl fo reconnect "$S1"
check "up on server 1 again" wait_for 20 is_on fo "$S_ADDR:22"
check "routes still via fo0, the pin back on server 1" \
	eval 'route_there fo0 && pinned "$S_ADDR" veth-c && ! pinned "$S2_ADDR" veth-c2' 
check "blackhole server 1's link (nft on veth-c)" in_c nft -f - <<-EOF
	table netdev bh {
		chain in { type filter hook ingress device "veth-c" priority 0; policy drop; }
		chain out { type filter hook egress device "veth-c" priority 0; policy drop; }
	}
EOF
check "the dead-peer timer moves it to server 2" wait_for 30 is_on fo "$S2_ADDR:2200"
check "the same interface, route unchanged" eval '[ "$(ifindex_of fo0)" = "$ifx" ] && route_there fo0'
check "ctl reconnect to a server not in the list is refused" eval '! ctl fo reconnect root@198.51.100.9'
in_c nft delete table netdev bh
kill_all "$(client_pid fo)"

# ---- 3. busy: skipped at once ---------------------------------------------
diag "--- 3. server 1 at --max-sessions-per-user 1"
server1_kill
# A lease file of its own: the helpers just killed may linger as zombies
# (their parent is gone; this namespace's reaper may be slow), which the
# pool counts as live sessions.
check "sshd on server 1 with --max-sessions-per-user 1" sshd1_start leases3 --max-sessions-per-user 1
client_run full -w full0
check "a first client takes server 1's one session" client_wait_up full
TARGET=$S2 client_run bz -v "${FAST[@]}" -w bz0 "$S1"
check "a second client with the list is up on server 2" wait_for 20 is_on bz "$S2_ADDR:2200"
check "it was told server 1 is busy" grep -q "refused the tunnel (busy).*max-sessions-per-user" "$TMP/bz.log"
check "status: server 1 busy" eval '[ "$(st bz servers.0.state)" = busy ]'
check "busy, then server 2 at once (no backoff between)" \
	eval 'log_order bz "(busy)" "tunnel up: .* via $S2" && ! grep -q "reconnecting in" "$TMP/bz.log"'
kill_all "$(client_pid full)" "$(client_pid bz)"

# ---- 4. --balance -----------------------------------------------------------
diag "--- 4. --balance random / order over closed ports (connection refused)"
A=root@$S_ADDR:1
B=root@$S_ADDR:2
first_of() { grep -m1 -o "connecting to root@$S_ADDR:[12]" "$TMP/$1.log" | sed 's/.*://'; }
ones=0 twos=0
for i in $(seq 20); do
	TARGET=$B TRY_TIMEOUT=10 client_try bal -v -w bal0 --balance random "$A"
	case $(first_of bal) in 1) ones=$((ones + 1)) ;; 2) twos=$((twos + 1)) ;; esac
done
diag "--balance random: first $A $ones times, $B $twos times"
check "--balance random: 20 starts began with each of the two" eval '[ $ones -gt 0 ] && [ $twos -gt 0 ] && [ $((ones + twos)) = 20 ]'
check "all refused: exit 3" eval '[ "$RC" = 3 ]'
check "both were tried" eval 'grep -q "connecting to $A" "$TMP/bal.log" && grep -q "connecting to $B" "$TMP/bal.log"'
orders=0
for i in 1 2 3; do
	TARGET=$B TRY_TIMEOUT=10 client_try ord -v -w ord0 "$A"
	[ "$(first_of ord)" = 1 ] && orders=$((orders + 1))
done
check "--balance order (the default): always the first" eval '[ $orders = 3 ]'
check "the message names the last server tried" eval 'echo "$MSG" | tail -1 | grep -q "port 2"'

done_testing
