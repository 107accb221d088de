#!/bin/bash
# t_conngroup.sh: the client's side of --connections when things go wrong
# for the whole group (issue 17); t_connections.sh and t_uplinks.sh cover
# one connection lost at a time.
#
#   1. Every connection's sshd session killed at once: the first connects
#      afresh (a new group), the others join it, the same pair; the
#      server still has one device with 3 queues.
#   2. Two servers: reconnect HOST moves every connection to the other one
#      (the pair is that server's); every session there killed, the walk
#      takes all three back to the first server; pings go through.
#   3. A helper in user-space mode takes one connection: the client runs
#      one, its status says why (connections_note), and the tunnel works.
. "$(dirname "$0")/lib.sh"

POOL4B=198.18.1.0/24
POOL6B=2001:db8:78::/64
st() { json_get "$TMP/$1.status" "$2"; }
conns_up() { client_status "$1" && [ "$(st "$1" connections_up)" = "$2" ]; }
# established PORT: the server's established SSH connections on PORT.
established() { in_s ss -Htn state established "( sport = :$1 )" | grep -c .; }
# sessions PORT: the pids of the per-connection sshd processes on PORT
# ("sshd: root@notty", children of the listener).
sessions() {
	local p
	for p in $(in_s pgrep -f 'sshd: root@notty'); do
		in_s ss -Htnp state established "( sport = :$1 )" | grep -q "pid=$p," && echo "$p"
	done
}
srv_queues() { ip -n "$NS_S" -d -o link show type tun | grep -c "multi_queue numqueues $1 "; }
pings() { wait_for 10 in_c ping -c 1 -W 1 "$1"; }

check "namespaces" netns_setup || fail_fast
check "sshd on 22" sshd_start || fail_fast
SSHD_PORT=2222 SSHD_SUBSYSTEM="$SSHTUN serve --pool $POOL4B --pool6 $POOL6B --lease-file $TMP/leases2" \
	check "sshd on 2222" sshd_start || fail_fast

# ---- 1. all connections lost at once -----------------------------------
client_run g0 --connections 3 -o ServerAliveInterval=1 -o ServerAliveCountMax=3
check "1: up" client_wait_up g0 || fail_fast
check "1: 3 of 3 connections up" wait_for 20 conns_up g0 3
PAIR=$(st g0 local_addr)
check "1: three SSH connections" wait_for 10 eval '[ "$(established 22)" = 3 ]'
KILL=$(sessions 22)
diag "1: pair $PAIR; killing sshd sessions $(echo "$KILL" | tr "\n" " ")"
# shellcheck disable=SC2086 # a list of pids
check "1: all three sessions killed" eval '[ "$(echo $KILL | wc -w)" = 3 ] && kill -9 $KILL'
check "1: the tunnel leaves up" wait_for 15 eval '! client_is_up g0'
check "1: 3 of 3 connections up again" wait_for 30 conns_up g0 3
is "$(st g0 local_addr)" "$PAIR" "1: the same pair"
check "1: the server has one device with 3 queues" wait_for 10 eval '[ "$(srv_queues 3)" = 1 ]'
check "1: pings through" pings "$(st g0 peer_addr)"
ctl g0 quit >/dev/null
check "1: the client ends" wait_for 10 eval '! alive "$(client_pid g0)"'
check "1: its SSH connections are gone" wait_for 10 eval '[ "$(established 22)" = 0 ]'

# ---- 2. another server: all of them move --------------------------------
TARGET=root@$S_ADDR client_run g1 --connections 3 -o ServerAliveInterval=1 -o ServerAliveCountMax=3 \
	root@$S_ADDR:2222
check "2: up on the first of the list (2222)" \
	wait_for 20 eval 'conns_up g1 3 && [ "$(st g1 server)" = "$S_ADDR:2222" ]'
PAIR=$(st g1 local_addr)
check "2: reconnect root@$S_ADDR" ctl g1 reconnect "root@$S_ADDR"
check "2: 3 of 3 up on the other server" wait_for 30 eval 'conns_up g1 3 && [ "$(st g1 server)" = "$S_ADDR:22" ]'
check "2: all three SSH connections on port 22" wait_for 10 eval '[ "$(established 22)" = 3 ]'
check "2: none left on port 2222" wait_for 10 eval '[ "$(established 2222)" = 0 ]'
check "2: the other server's pair ($(st g1 local_addr) not $PAIR)" eval '[ "$(st g1 local_addr)" != "$PAIR" ]'
check "2: pings through" pings "$(st g1 peer_addr)"
# Every session on 22 killed: the walk goes on to the next server (2222),
# all three with it.
KILL=$(sessions 22)
# shellcheck disable=SC2086 # a list of pids
check "2: the three sessions on 22 killed" eval '[ "$(echo $KILL | wc -w)" = 3 ] && kill -9 $KILL'
check "2: 3 of 3 up on 2222 (the walk)" \
	wait_for 30 eval 'conns_up g1 3 && [ "$(st g1 server)" = "$S_ADDR:2222" ]'
check "2: all three on port 2222" wait_for 10 eval '[ "$(established 2222)" = 3 ]'
is "$(st g1 local_addr)" "$PAIR" "2: the first server's pair again"
check "2: pings through" pings "$(st g1 peer_addr)"
ctl g1 quit >/dev/null
check "2: the client ends" wait_for 10 eval '! alive "$(client_pid g1)"'

# ---- 3. a helper that takes one connection -----------------------------
kill "$SSHD_PID"	# the one on 2222
check "3: sshd on 2222 gone" wait_for 10 eval '! sshd_listening 2222'
SSHD_PORT=2222 SSHD_SUBSYSTEM="$SSHTUN serve --userspace --pool $POOL4B --pool6 $POOL6B --lease-file $TMP/leases3" \
	check "3: sshd on 2222 with a user-space helper" sshd_start || fail_fast
TARGET=root@$S_ADDR:2222 client_run g2 --connections 2
check "3: up" client_wait_up g2
check "3: status --json: connections 2" eval '[ "$(st g2 connections)" = 2 ]'
is "$(st g2 connections_up)" 1 "3: one connection up"
check "3: connections_note says why" eval 'st g2 connections_note | grep -q "cannot take more: its helper runs a user-space network stack"'
check "3: the log says so once" eval '[ "$(grep -c "one connection only" "$TMP/g2.log")" = 1 ]'
check "3: status (human) says 1 of 2 up and why" eval 'ctl g2 status | grep -q "connections  *1 of 2 up (server"'
check "3: pings through" pings "$(st g2 peer_addr)"

done_testing
