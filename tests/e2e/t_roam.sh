#!/bin/bash
# t_roam.sh: network changes at once (issue 17).  The client's address
# changes under a running download through the tunnel (a new address in the
# subnet, the old one deleted, as a new DHCP lease does): rtnetlink tells the
# client, which reconnects from the new address at once instead of waiting
# for the dead-peer timer (ServerAlive* at their defaults: 12 s).  The pair
# and the interface stay, and the download completes intact.  Assertions
# are on the order of events in the log, never on seconds.  Then, waiting
# to reconnect, a route back to the server ends the wait at once.  Then
# -b ADDR: the SSH connection leaves from the address given.
. "$(dirname "$0")/lib.sh"

NEW_ADDR=198.51.100.3
st() { json_get "$TMP/$1.status" "$2"; }
log_order() {
	awk -v a="$2" -v b="$3" 'i == 0 && $0 ~ a { i = NR } i && NR > i && $0 ~ b { f = 1 } END { exit !f }' \
		"$TMP/$1.log"
}

check "namespaces" netns_setup
# The old address goes, the new one (a secondary in the same subnet) stays.
in_c sysctl -qw net.ipv4.conf.veth-c.promote_secondaries=1
# A download of a few seconds: the server's side paced at 16 Mbit/s.
in_s tc qdisc add dev veth-s root tbf rate 16mbit burst 32kb latency 400ms
check "sshd" sshd_start
client_run rm -v -w rm0
check "client up" client_wait_up rm
client_status rm
pair=$(st rm local_addr) peer=$(st rm peer_addr)
ifx=$(ip -n "$NS_C" -o link show dev rm0 | cut -d: -f1)
diag "pair $pair <-> $peer on rm0 (ifindex $ifx)"

head -c $((6 * 1024 * 1024)) /dev/urandom >"$TMP/data"
bg_run send tcp_send "$peer" 5001 "$TMP/data"
check "the sender listens on the server's tunnel address" wait_for 10 tcp_listening 5001
bg_run recv tcp_recv "$peer" 5001 "$TMP/got"
check "the download is under way (256 KB in)" wait_for 30 eval '[ "$(size_of "$TMP/got")" -ge 262144 ]'

check "new address $NEW_ADDR added" ip -n "$NS_C" addr add "$NEW_ADDR/24" dev veth-c
check "old address $C_ADDR deleted" ip -n "$NS_C" addr del "$C_ADDR/24" dev veth-c
check "the download finishes" wait_exit "$(cat "$TMP/recv.pid")" 120
check "intact (sha256)" eval '[ "$(sha "$TMP/got")" = "$(sha "$TMP/data")" ]'

check "up again" client_wait_up rm
check "the same pair ($pair)" eval '[ "$(st rm local_addr)" = "$pair" ]'
check "the same interface" eval '[ "$(ip -n "$NS_C" -o link show dev rm0 | cut -d: -f1)" = "$ifx" ]'
check "log: the address change is seen, then the tunnel is up again" \
	log_order rm "network changed: the local address $C_ADDR is gone; reconnecting now" "tunnel up"
check "log: not through the dead-peer timer" eval '! grep -q "keepalives missed" "$TMP/rm.log"'
check "sshd: the new connection comes from $NEW_ADDR" \
	grep -q "Accepted publickey for root from $NEW_ADDR" "$TMP/sshd.22.log"

# ---- waiting to reconnect: a way back to the server cuts the wait short ----
# The client's only IPv4 address goes: no route to the server, every try
# fails at once and the backoff grows (1 s, 2 s, 4 s...).  Once the client
# waits 3 s or more, the address comes back, and with it the route: the
# next try comes at once (the log says so while the backoff still runs) and
# that try is the one that brings the tunnel up.
log_wait_try_up() {
	awk -v a="$2" -v b="$3" -v c="$4" '
		s == 0 && $0 ~ a { s = 1; next }
		s == 1 && $0 ~ b { s = 2; next }
		s == 1 && $0 ~ a { next }
		s == 2 && $0 ~ c { s = 3 }
		s == 2 && /reconnecting in|reconnect failed/ { exit 1 }
		END { exit s != 3 }' "$TMP/$1.log"
}
LONG_WAIT="connection lost; reconnecting in ([3-9]|[1-9][0-9])s"
check "address $NEW_ADDR deleted: no way to the server" ip -n "$NS_C" addr del "$NEW_ADDR/24" dev veth-c
check "the client backs off to a wait of 3 s or more" wait_for 30 grep -qE "$LONG_WAIT" "$TMP/rm.log"
check "address $C_ADDR back" ip -n "$NS_C" addr add "$C_ADDR/24" dev veth-c
check "up again" client_wait_up rm
check "log: the route is seen during the wait, the try is at once, and it brings the tunnel up" \
	log_wait_try_up rm "$LONG_WAIT" \
	"network changed while waiting: a route to the server $S_ADDR appeared .*; reconnecting now instead of in [0-9.]+s" \
	"tunnel up"
check "the same pair ($pair)" eval '[ "$(st rm local_addr)" = "$pair" ]'

# ---- -b ADDR: the connection leaves from one local address (an uplink) ----
BIND=198.51.100.4
check "another local address $BIND" ip -n "$NS_C" addr add "$BIND/24" dev veth-c
client_run rb -w rb0 -b "$BIND"
check "-b $BIND: up" client_wait_up rb
check "sshd: that connection comes from $BIND" \
	grep -q "Accepted publickey for root from $BIND" "$TMP/sshd.22.log"
TRY_TIMEOUT=10 client_try rx -w rx0 -b 198.51.100.9
check "-b with an address this machine lacks: exit 3, saying so" \
	eval '[ "$RC" = 3 ] && echo "$MSG" | grep -q "from 198.51.100.9 (-b): not an address of this machine"'
TRY_TIMEOUT=10 client_try rf -w rf0 -b 2001:db8:1::2
check "-b IPv6 to an IPv4 server: exit 3, no address of that family" \
	eval '[ "$RC" = 3 ] && echo "$MSG" | grep -q "no address of its family"'

done_testing
