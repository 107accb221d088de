#!/bin/bash
# t_uplinks.sh: two uplinks, one connection on each (issue 17):
# `--connections 2 -b veth-c -b ulb-c` binds each connection to its own
# interface (SO_BINDTODEVICE), as a laptop's Wi-Fi and phone tether.
#
#   uplink A  veth-c 198.51.100.2/24 <-> veth-s 198.51.100.1 (the server)
#   uplink B  ulb-c  203.0.113.2/24  <-> ulb-s  203.0.113.1, and a default
#             route via 203.0.113.1 on ulb-c that only a socket bound to
#             ulb-c takes (the /24 on veth-c is the better route otherwise)
#
#   1. Both connections up, each leaving from its own uplink (stats --json:
#      bind and local address; sshd saw both addresses).
#   2. Uplink B goes down (ip link; its default route goes with it) under
#      4 paced downloads: the downloads
#      go on over A and complete intact (sha256); connection 1 is down with
#      its queue detached, connection 0 up; uplink B comes back: connection
#      1 comes back on it, same pair.
#   3. Uplink A is blackholed silently on the server's side (nft drops its
#      packets, no link event anywhere) under 4 more downloads: connection
#      0's keepalives fail, the downloads complete over B; the blackhole
#      lifted, connection 0 comes back.
. "$(dirname "$0")/lib.sh"

B_S=203.0.113.1 B_C=203.0.113.2
st() { json_get "$TMP/$1.status" "$2"; }
stats() { ctl "$1" stats --json >"$TMP/$1.stats" 2>/dev/null; }
cs() { json_get "$TMP/$1.stats" "connections.$2.$3"; }
conns_up() { client_status "$1" && [ "$(st "$1" connections_up)" = "$2" ]; }
# conn_up NAME K: connection K up with its queue attached; conn_down: not
# up, its queue detached (as stats --json say)
conn_up() { stats "$1" && [ "$(cs "$1" "$2" state)/$(cs "$1" "$2" queue)" = "up/attached" ]; }
conn_down() { stats "$1" && [ "$(cs "$1" "$2" state)" != up ] && [ "$(cs "$1" "$2" queue)" = detached ]; }

# ---- flows (as t_connections.sh) ------------------------------------------
PORT=5200
# (start_flows, flows_under_way, flows_finish, flows_intact: lib.sh)

check "namespaces" netns_setup
uplink_b() {
	ip -n "$NS_S" link add ulb-s type veth peer name ulb-c netns "$NS_C" &&
	ip -n "$NS_S" addr add "$B_S/24" dev ulb-s &&
	ip -n "$NS_C" addr add "$B_C/24" dev ulb-c &&
	ip -n "$NS_S" link set ulb-s up &&
	ip -n "$NS_C" link set ulb-c up &&
	ip -n "$NS_C" route add default via "$B_S" dev ulb-c
}
check "uplink B (ulb-c $B_C <-> ulb-s $B_S)" uplink_b
# Both uplinks paced (server to client) so that downloads last a few seconds.
for dev in veth-s ulb-s; do
	in_s tc qdisc add dev $dev root tbf rate 24mbit burst 32kb latency 400ms
done
check "sshd" sshd_start
fail_fast "no namespaces, uplinks or sshd"

# ---- 1. one connection on each uplink -------------------------------------
client_run ul -v -w ul0 --connections 2 -b veth-c -b ulb-c \
	-o ServerAliveInterval=1 -o ServerAliveCountMax=3
check "client up" client_wait_up ul
check "2 of 2 connections up" wait_for 20 conns_up ul 2
fail_fast "the connections did not come up"
client_status ul
pair=$(st ul local_addr) peer=$(st ul peer_addr)
stats ul
is "$(cs ul 0 bind)/$(cs ul 1 bind)" "veth-c/ulb-c" "stats --json: connection 0 bound to veth-c, 1 to ulb-c"
check "connection 0 leaves from $C_ADDR (uplink A)" eval 'cs ul 0 local | grep -q "^$C_ADDR:"'
check "connection 1 leaves from $B_C (uplink B)" eval 'cs ul 1 local | grep -q "^$B_C:"'
check "sshd saw a connection from each" \
	eval 'grep -q "Accepted publickey for root from $C_ADDR " "$TMP/sshd.22.log" && grep -q "Accepted publickey for root from $B_C " "$TMP/sshd.22.log"'

# ---- 2. uplink B goes down under the downloads ----------------------------
rc1=$(cs ul 1 reconnects)
check "4 downloads start (3 MB each)" start_flows a 4 3072
check "all 4 under way (128 KB in each)" wait_for 30 flows_under_way 128
check "uplink B down" ip -n "$NS_C" link set ulb-c down
check "connection 1 down, its queue detached" wait_for 20 conn_down ul 1
check "connection 0 up, its queue attached" conn_up ul 0
check "status: 1 of 2 connections up, the tunnel up" \
	eval 'conns_up ul 1 && [ "$(st ul state)" = up ]'
check "every download finishes" flows_finish
check "intact (sha256)" flows_intact
# Link down took the default route via ulb-c with it (the kernel drops
# routes through a link that goes down): back as DHCP would bring it.
check "uplink B up again, its default route back" \
	eval 'ip -n "$NS_C" link set ulb-c up && ip -n "$NS_C" route add default via "$B_S" dev ulb-c'

check "connection 1 comes back: 2 of 2 up" wait_for 30 conns_up ul 2
stats ul
check "on uplink B again ($B_C), its reconnects count up" \
	eval 'cs ul 1 local | grep -q "^$B_C:" && [ "$(cs ul 1 reconnects)" -gt "$rc1" ]'
check "the same pair ($pair)" eval '[ "$(st ul local_addr)" = "$pair" ]'

# ---- 3. uplink A blackholed silently --------------------------------------
blackhole() {
	in_s nft -f - <<-EOF
	table inet t_uplinks {
		chain in { type filter hook input priority 0; iifname "veth-s" tcp dport 22 drop; }
		chain out { type filter hook output priority 0; oifname "veth-s" tcp sport 22 drop; }
	}
	EOF
}
rc0=$(cs ul 0 reconnects)
check "4 more downloads start" start_flows b 4 3072
check "all 4 under way (128 KB in each)" wait_for 30 flows_under_way 128
check "uplink A blackholed on the server's side (nft)" blackhole
check "connection 0 declared dead (keepalives), its queue detached" wait_for 20 conn_down ul 0
check "connection 1 up, its queue attached" conn_up ul 1
check "every download finishes" flows_finish
check "intact (sha256)" flows_intact
check "the blackhole lifted" in_s nft delete table inet t_uplinks
check "connection 0 comes back: 2 of 2 up" wait_for 30 conns_up ul 2
stats ul
check "on uplink A again, its reconnects count up" \
	eval 'cs ul 0 local | grep -q "^$C_ADDR:" && [ "$(cs ul 0 reconnects)" -gt "$rc0" ]'
check "the same pair ($pair)" eval '[ "$(st ul local_addr)" = "$pair" ]'

done_testing
