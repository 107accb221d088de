#!/bin/bash
# t_routing.sh: routing, NAT, offered routes, DNS and pool collisions
# (issue 6), with a third namespace, a "LAN host" behind the server:
#
#   client ns --veth-c/veth-s-- server ns --veth-sl/veth-l-- LAN ns
#   198.51.100.2                198.51.100.1                 (none)
#                               203.0.113.1/24               203.0.113.10/24
#                               2001:db8:203::1/64           2001:db8:203::10/64
#
# The LAN host has no route back to the pool: only the server's --nat
# (masquerade) lets it answer.  It runs dnsmasq (host.lan.test) and a TCP
# service that tells each caller which address it came from.
#
#   1. -r 203.0.113.0/24 (+ its IPv6 twin): ping + TCP, masqueraded; nft table
#   2. `route add` at the prompt, `route del` makes the LAN unreachable again
#   3. full tunnel (-r default and `route add default`): pin, stays up 10 s,
#      routes exactly as before after quit
#   4. --dns / --dns-domain with /etc/netns/NS/resolv.conf, `dns off|on`,
#      original back after quit and after SIGKILL + cleanup
#   5. two clients at once, distinct pairs, both reach the LAN host; the NAT
#      table stays while one of them remains
#   6. offered routes: ignored without --accept-routes, installed with it,
#      one capturing the server's address refused
#   7. pool pairs skip prefixes in use on the client and on the server
#   8. the NAT table and the forwarding sysctls are gone once all clients left
. "$(dirname "$0")/lib.sh"

NS_L=sshtun-l-$$
LAN=203.0.113.10
LAN6=2001:db8:203::10
LAN_GW=203.0.113.1
LAN_GW6=2001:db8:203::1
LAN_NET=203.0.113.0/24
LAN_NET6=2001:db8:203::/64
LAN_PORT=8080
RESOLV=/etc/netns/$NS_C/resolv.conf
SERVE="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases --nat --nat-out veth-sl"
LAN_UP=0

in_l() { ip netns exec "$NS_L" "$@"; }

# lib.sh's cleanup ends the clients, sshd and the client and server
# namespaces; then the LAN namespace and the resolv.conf under /etc/netns.
lan_cleanup() {
	if [ "$LAN_UP" = 1 ] && ns_exists "$NS_L"; then
		# shellcheck disable=SC2046 # a list of pids
		kill_all $(ip netns pids "$NS_L" 2>/dev/null)
		ip netns del "$NS_L"
	fi
	rm -rf "/etc/netns/$NS_C"
}
trap 'cleanup $?; lan_cleanup' EXIT

lan_setup() {
	ip netns add "$NS_L" || return 1
	LAN_UP=1
	ip -n "$NS_S" link add veth-sl type veth peer name veth-l netns "$NS_L" || return 1
	ip -n "$NS_L" link set lo up
	ip -n "$NS_S" addr add "$LAN_GW/24" dev veth-sl
	ip -n "$NS_L" addr add "$LAN/24" dev veth-l
	ip -n "$NS_S" addr add "$LAN_GW6/64" dev veth-sl nodad
	ip -n "$NS_L" addr add "$LAN6/64" dev veth-l nodad
	ip -n "$NS_S" link set veth-sl up
	ip -n "$NS_L" link set veth-l up
}

# The LAN host's TCP service: one line naming the caller's address.
lan_service() {
	in_l timeout 600 "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(16)
while True:
    c, peer = s.accept()
    a = peer[0]
    if a.startswith("::ffff:"):
        a = a[7:]
    c.sendall(("lan-host %s\n" % a).encode())
    c.close()' "$LAN_PORT"
}
lan_listening() { in_l ss -Hltn "( sport = :$LAN_PORT )" | grep -q .; }
dns_listening() { in_l ss -Hlun "( sport = :53 )" | grep -q "$LAN"; }

# fetch ADDR: what the LAN service says to a client-namespace caller.
fetch() {
	in_c timeout 10 "$PYTHON" -c 'import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
d = b""
while True:
    x = c.recv(4096)
    if not x:
        break
    d += x
sys.stdout.write(d.decode().strip())' "$1" "$LAN_PORT" 2>&1
}

# pings FROM_NS ADDR [ping options]: one answer within 10 s, then three.
pings() {
	local ns=$1 a=$2
	shift 2
	wait_for 10 ip netns exec "$ns" ping -c 1 -W 1 "$@" "$a"
	ip netns exec "$ns" ping -c 3 -i 0.2 -W 2 "$@" "$a"
}
no_ping() { ! in_c ping -c 1 -W 1 "$1"; }

# route_via NS PREFIX DEV: the kernel has exactly PREFIX through DEV.
route_via() {
	local fam=-4
	case $2 in *:*) fam=-6 ;; esac
	ip -n "$1" $fam route show exact "$2" | grep -q "dev $3\( \|\$\)"
}
no_route() {
	local fam=-4
	case $2 in *:*) fam=-6 ;; esac
	[ -z "$(ip -n "$1" $fam route show exact "$2")" ]
}
routes_of_ns() { ip -n "$1" -4 route show table all; ip -n "$1" -6 route show table all; }
link_gone() { ! ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

in_net() {
	"$PYTHON" -c 'import ipaddress, sys
sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' "$1" "$2"
}
not_in_net() { ! in_net "$1" "$2"; }

nat_table() { in_s nft list tables 2>/dev/null | grep -qx "table inet sshtun"; }
no_nat_table() { ! nat_table; }
sysctl_s() { in_s cat "/proc/sys/net/$1"; }

# Links in the server namespace other than lo and the veths: the helpers' TUNs.
server_tuns() { ip -n "$NS_S" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
	grep -vx -e lo -e veth-s -e veth-sl; }
no_server_tuns() { [ -z "$(server_tuns)" ]; }

# up NAME [args]: start a client, wait for "up"; sets IF, LOCAL, PEER.
up() {
	local name=$1
	client_run "$@"
	if ! check "$name: tunnel up" client_wait_up "$name"; then
		IF='' LOCAL='' PEER=''
		return 1
	fi
	IF=$(json_get "$TMP/$name.status" ifname)
	LOCAL=$(json_get "$TMP/$name.status" local_addr)
	PEER=$(json_get "$TMP/$name.status" peer_addr)
	diag "$name: $IF $LOCAL <-> $PEER"
}

# quit NAME IFNAME: `ctl quit`, exit 0, the interface gone.
quit() {
	check "$1: ctl quit" ctl "$1" quit
	wait_exit "$(client_pid "$1")" 10
	is "$EXIT_RC" 0 "$1: exits 0 after quit"
	[ -n "$2" ] && check "$1: $2 gone" wait_for 5 link_gone "$NS_C" "$2"
}

log_has() { grep -qF -- "$2" "$TMP/$1.log"; }

# reaches_lan NAME [ping options]: ping and TCP, seen by the LAN host as the
# server's LAN address (masqueraded).
reaches_lan() {
	local name=$1
	shift
	check "$name: pings the LAN host $LAN" pings "$NS_C" "$LAN" "$@"
	[ $# -gt 0 ] && return	# TCP follows the routing table, not -I
	is "$(fetch "$LAN")" "lan-host $LAN_GW" \
		"$name: TCP from the LAN host; it saw the caller as $LAN_GW (masqueraded)"
}

# ---------------------------------------------------------------------------
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces (client, server)" netns_setup
check "LAN namespace $NS_L behind the server" lan_setup
check "the LAN host has no route to the pool (only NAT can answer)" \
	eval '[ -z "$(ip -n "$NS_L" route show default)" ] && [ -z "$(ip -n "$NS_L" -6 route show default)" ]'
FWD4=$(sysctl_s ipv4/ip_forward)
FWD6=$(sysctl_s ipv6/conf/all/forwarding)
is "$FWD4" 0 "server ns: net.ipv4.ip_forward is 0 before any client"
check "server ns: no nft table inet sshtun before any client" no_nat_table

SSHD_SUBSYSTEM="$SERVE --route $LAN_NET --dns $LAN --dns-domain lan.test" \
	check "sshd (serve --nat --route $LAN_NET --dns $LAN --dns-domain lan.test)" sshd_start
bg_run dnsmasq ip netns exec "$NS_L" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv \
	--no-hosts --listen-address="$LAN" --bind-interfaces --address=/host.lan.test/"$LAN" \
	--pid-file="$TMP/dnsmasq.pid" --log-facility=- --log-queries
check "dnsmasq on the LAN host" wait_for 10 dns_listening
bg_run lan-service lan_service
check "TCP service on the LAN host" wait_for 10 lan_listening
check "no tunnel yet: the client cannot reach the LAN host" no_ping "$LAN"
fail_fast "setup failed"

# ---- 1. -r CIDR -------------------------------------------------------------
up r1 -r "$LAN_NET" -r "$LAN_NET6"
fail_fast "the first tunnel did not come up"
check "r1: $LAN_NET via $IF" route_via "$NS_C" "$LAN_NET" "$IF"
check "r1: $LAN_NET6 via $IF" route_via "$NS_C" "$LAN_NET6" "$IF"
reaches_lan r1
check "r1: pings the LAN host $LAN6 over IPv6" pings "$NS_C" "$LAN6"
is "$(fetch "$LAN6")" "lan-host $LAN_GW6" "r1: TCP over IPv6; the LAN host saw $LAN_GW6 (masqueraded)"
check "server ns: nft table inet sshtun exists while r1 is up" nat_table
check "server ns: it masquerades the pool $POOL4" eval 'in_s nft list table inet sshtun | grep -q "198.18.0.0/24.*masquerade"'
is "$(sysctl_s ipv4/ip_forward)" 1 "server ns: net.ipv4.ip_forward is 1 while r1 is up"
is "$(sysctl_s ipv6/conf/all/forwarding)" 1 "server ns: IPv6 forwarding is 1 while r1 is up"
quit r1 "$IF"
check "r1 gone: $LAN_NET no longer routed" no_route "$NS_C" "$LAN_NET"
check "r1 gone: last client left, nft table removed" wait_for 10 no_nat_table
is "$(sysctl_s ipv4/ip_forward)" "$FWD4" "r1 gone: net.ipv4.ip_forward back to $FWD4"

# ---- 2. route add / del at the prompt ---------------------------------------
up r2
IF2=$IF
check "r2 (no -r): the LAN host is unreachable" no_ping "$LAN"
check "r2: ctl route add $LAN_NET" ctl r2 route add "$LAN_NET"
check "r2: $LAN_NET via $IF2" route_via "$NS_C" "$LAN_NET" "$IF2"
is "$(json_get "$(ctl r2 route list --json)" routes)" "[\"$LAN_NET\"]" "r2: route list --json shows it"
reaches_lan r2
check "r2: ctl route del $LAN_NET" ctl r2 route del "$LAN_NET"
check "r2: $LAN_NET gone from the kernel" no_route "$NS_C" "$LAN_NET"
t0=$(now_ms)
check "r2: after route del the LAN host is unreachable again" no_ping "$LAN"
ms=$(($(now_ms) - t0))
check "r2: ... and the ping fails fast ($ms ms)" test "$ms" -lt 3000
is "$(json_get "$(ctl r2 route list --json)" routes)" "[]" "r2: route list is empty"
quit r2 "$IF2"

# ---- 3. full tunnel ---------------------------------------------------------
# A link is unlisted before its routes are flushed: wait for those first.
no_tun_routes() { ! routes_of_ns "$NS_C" | grep -q "dev sshtun"; }
check "client ns: no routes of earlier tunnels left" wait_for 5 no_tun_routes
routes_of_ns "$NS_C" >"$TMP/routes.before"
routes_same() { routes_of_ns "$NS_C" >"$TMP/routes.after" && cmp -s "$TMP/routes.before" "$TMP/routes.after"; }

full_tunnel_checks() {
	local name=$1 ifn=$2 p
	for p in 0.0.0.0/1 128.0.0.0/1 ::/1 8000::/1; do
		check "$name: $p via $ifn" route_via "$NS_C" "$p" "$ifn"
	done
	check "$name: pin route $S_ADDR/32 via veth-c" route_via "$NS_C" "$S_ADDR/32" veth-c
	check "$name: ip route get $S_ADDR goes via veth-c" \
		eval 'in_c ip route get "$S_ADDR" | grep -q "dev veth-c "'
	check "$name: ip route get $LAN goes via $ifn" \
		eval 'in_c ip route get "$LAN" | grep -q "dev $ifn "'
	reaches_lan "$name"
	check "$name: pings the LAN host $LAN6 over IPv6 (::/1)" pings "$NS_C" "$LAN6"
}

up f1 -r default
IF3=$IF
full_tunnel_checks f1 "$IF3"
# The SSH connection itself must not be captured: still up 10 s later.
sleep 10
check "f1: status still up after 10 s" client_is_up f1
check "f1: uptime_s >= 10" eval '[ "$(json_get "$TMP/f1.status" uptime_s)" -ge 10 ]'
is "$(json_get "$TMP/f1.status" reconnects)" 0 "f1: no reconnects"
reaches_lan "f1 (after 10 s)"
quit f1 "$IF3"
if ! check "f1 gone: client ns routes exactly as before" wait_for 5 routes_same; then
	diff "$TMP/routes.before" "$TMP/routes.after" | sed 's/^/#   /'
fi

up f2
IF3=$IF
check "f2: ctl route add default" ctl f2 route add default
full_tunnel_checks f2 "$IF3"
quit f2 "$IF3"
if ! check "f2 gone: client ns routes exactly as before" wait_for 5 routes_same; then
	diff "$TMP/routes.before" "$TMP/routes.after" | sed 's/^/#   /'
fi

# ---- 4. DNS -----------------------------------------------------------------
mkdir -p "/etc/netns/$NS_C"
printf 'nameserver 203.0.113.99\n' >"$RESOLV"
cp "$RESOLV" "$TMP/resolv.orig"
resolv_is_orig() { cmp -s "$TMP/resolv.orig" "$RESOLV"; }
resolv_has() { grep -qx -- "$1" "$RESOLV"; }
resolv_ours() { resolv_has "nameserver $LAN"; }
resolves() { [ "$(in_c timeout 15 getent hosts "$1" | awk '{print $1}')" = "$LAN" ]; }
dns_json() { ctl "$1" dns --json >"$TMP/$1.dns" 2>&1; }
check "client ns sees $RESOLV as /etc/resolv.conf" eval 'in_c cat /etc/resolv.conf | grep -qx "nameserver 203.0.113.99"'

# A symlink planted where the resolv.conf backup goes: replaced, never
# written through.
echo precious >"$TMP/victim-backup"
ln -s "$TMP/victim-backup" "$TMP/d1.state.resolv.conf"
up d1 --dns
is "$(cat "$TMP/victim-backup")" precious "d1: the planted backup symlink's target is untouched"
check "d1: the backup is a plain file of its own" eval '[ -f "$TMP/d1.state.resolv.conf" ] && [ ! -L "$TMP/d1.state.resolv.conf" ]'
IF4=$IF
check "d1: resolv.conf has nameserver $LAN" wait_for 5 resolv_ours
check "d1: resolv.conf has 'search lan.test'" resolv_has "search lan.test"
check "d1: the original nameserver 203.0.113.99 is out" eval '! grep -q 203.0.113.99 "$RESOLV"'
diag "d1: resolv.conf:" "$(cat "$RESOLV")"
check "d1: the resolver $LAN is routed through $IF4" route_via "$NS_C" "$LAN/32" "$IF4"
check "d1: getent hosts host.lan.test -> $LAN" resolves host.lan.test
check "d1: getent hosts host (via search lan.test) -> $LAN" resolves host
check "d1: ctl dns --json" dns_json d1
is "$(json_get "$TMP/d1.dns" active)" true "d1: dns active true"
is "$(json_get "$TMP/d1.dns" method)" file "d1: dns method file"
is "$(json_get "$TMP/d1.dns" servers)" "$LAN" "d1: dns servers $LAN"
is "$(json_get "$TMP/d1.dns" domains)" lan.test "d1: dns domains lan.test"
is "$(json_get "$TMP/d1.dns" split)" false "d1: dns split false"
check "d1: ctl dns off" ctl d1 dns off
check "d1: after dns off resolv.conf is the original byte for byte" resolv_is_orig
dns_json d1
is "$(json_get "$TMP/d1.dns" active)" false "d1: dns active false after off"
check "d1: ctl dns on" ctl d1 dns on
check "d1: after dns on resolv.conf has nameserver $LAN again" resolv_ours
check "d1: getent hosts host.lan.test -> $LAN again" resolves host.lan.test
dns_json d1
is "$(json_get "$TMP/d1.dns" active)" true "d1: dns active true after on"
quit d1 "$IF4"
check "d1 gone: resolv.conf is the original byte for byte" resolv_is_orig

up d2 --dns
IF4=$IF
check "d2: resolv.conf has nameserver $LAN" wait_for 5 resolv_ours
kill -KILL "$(client_pid d2)"
wait_exit "$(client_pid d2)" 10
check "d2: SIGKILLed, resolv.conf is still sshtun's" resolv_ours
check "d2: sshtun cleanup -S" in_c "$SSHTUN" cleanup -S "$TMP/d2.sock"
check "d2: after cleanup resolv.conf is the original byte for byte" resolv_is_orig
check "d2: $IF4 gone" wait_for 5 link_gone "$NS_C" "$IF4"

up d3 --dns-domain lan.test
IF4=$IF
check "d3: resolv.conf has nameserver $LAN" wait_for 5 resolv_ours
check "d3: resolv.conf has 'search lan.test'" resolv_has "search lan.test"
check "d3: getent hosts host.lan.test -> $LAN" resolves host.lan.test
check "d3: log warns that with the file method everything goes to the tunnel" \
	log_has d3 "split DNS needs systemd-resolved or resolvconf"
dns_json d3
is "$(json_get "$TMP/d3.dns" active)" true "d3: dns active true"
is "$(json_get "$TMP/d3.dns" split)" true "d3: dns split true"
is "$(json_get "$TMP/d3.dns" domains)" lan.test "d3: dns domains lan.test"
quit d3 "$IF4"
check "d3 gone: resolv.conf is the original byte for byte" resolv_is_orig

# ---- 5. two clients at once -------------------------------------------------
up m1 -r "$LAN_NET"
IFM1=$IF LOCALM1=$LOCAL PEERM1=$PEER
up m2 -r "$LAN_NET"
IFM2=$IF LOCALM2=$LOCAL PEERM2=$PEER
check "m1, m2: distinct interfaces ($IFM1, $IFM2)" test "$IFM1" != "$IFM2"
check "m1, m2: distinct pairs ($LOCALM1/$PEERM1, $LOCALM2/$PEERM2)" \
	eval '[ "$LOCALM1" != "$LOCALM2" ] && [ "$LOCALM1" != "$PEERM2" ] && [ "$PEERM1" != "$LOCALM2" ]'
reaches_lan m1 -I "$IFM1"
reaches_lan m2 -I "$IFM2"
reaches_lan "m1+m2 (routing table)"
# m2 was told its route was added; it must not depend on m1's.
check "m2: $LAN_NET via its own $IFM2 (route list says it has it)" route_via "$NS_C" "$LAN_NET" "$IFM2"
quit m1 "$IFM1"
check "m1 gone: the NAT table stays while m2 is up" nat_table
reaches_lan "m2 (m1 gone)"
quit m2 "$IFM2"
check "m1, m2 gone: nft table removed" wait_for 10 no_nat_table

# ---- 6. offered routes ------------------------------------------------------
up o1
IFO1=$IF
check "o1 (no --accept-routes): $LAN_NET not installed" no_route "$NS_C" "$LAN_NET"
check "o1: log says the server offers routes" log_has o1 "the server offers 1 route"
is "$(json_get "$(ctl o1 route list --json)" routes)" "[]" "o1: route list is empty"
quit o1 "$IFO1"

up o2 --accept-routes
IFO2=$IF
check "o2 (--accept-routes): $LAN_NET via $IFO2" route_via "$NS_C" "$LAN_NET" "$IFO2"
reaches_lan o2
quit o2 "$IFO2"

SSHD_PORT=2222 SSHD_SUBSYSTEM="$SERVE --route $LAN_NET --route 198.51.100.0/24 --route $LAN_NET6" \
	check "sshd on 2222 offering $LAN_NET, 198.51.100.0/24 (the server's own) and $LAN_NET6" sshd_start
SSHD_2222=$SSHD_PID
up o3 --accept-routes -p 2222
IFO3=$IF
check "o3: log refuses 198.51.100.0/24 (captures the server's address)" \
	log_has o3 "not accepting the offered route 198.51.100.0/24"
grep -F "198.51.100.0/24" "$TMP/o3.log" | sed 's/^/#   /'
check "o3: no 198.51.100.0/24 via $IFO3" eval '! route_via "$NS_C" 198.51.100.0/24 "$IFO3"'
check "o3: 198.51.100.0/24 still only on veth-c" \
	eval '[ "$(ip -n "$NS_C" route show exact 198.51.100.0/24 | grep -c .)" = 1 ] && route_via "$NS_C" 198.51.100.0/24 veth-c'
check "o3: $LAN_NET installed via $IFO3" route_via "$NS_C" "$LAN_NET" "$IFO3"
check "o3: $LAN_NET6 installed via $IFO3" route_via "$NS_C" "$LAN_NET6" "$IFO3"
reaches_lan o3
check "o3: still up" client_is_up o3
quit o3 "$IFO3"
kill_all "$SSHD_2222"

# ---- 8. NAT cleanup ---------------------------------------------------------
check "all clients gone: no sshtun TUN left in the server ns" wait_for 10 no_server_tuns
check "all clients gone: nft table inet sshtun removed" wait_for 10 no_nat_table
is "$(sysctl_s ipv4/ip_forward)" "$FWD4" "all clients gone: net.ipv4.ip_forward back to $FWD4"
is "$(sysctl_s ipv6/conf/all/forwarding)" "$FWD6" "all clients gone: IPv6 forwarding back to $FWD6"

# ---- 7. pool collisions (fresh lease files: pair 0 would come first) ------
ip -n "$NS_C" route add 198.18.0.0/30 dev veth-c
SSHD_PORT=2223 SSHD_SUBSYSTEM="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases7a" \
	check "sshd on 2223 with a fresh lease file" sshd_start
up p1 -p 2223
IFP=$IF
check "p1: local_addr $LOCAL is outside the client's 198.18.0.0/30" not_in_net "$LOCAL" 198.18.0.0/30
check "p1: peer_addr $PEER is outside the client's 198.18.0.0/30" not_in_net "$PEER" 198.18.0.0/30
check "p1: pings its peer $PEER" pings "$NS_C" "$PEER"
quit p1 "$IFP"
kill_all "$SSHD_PID"

ip -n "$NS_S" route add 198.18.0.4/30 dev veth-s
SSHD_PORT=2224 SSHD_SUBSYSTEM="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases7b" \
	check "sshd on 2224 with a fresh lease file" sshd_start
up p2 -p 2224
IFP=$IF
check "p2: local_addr $LOCAL is outside the server's 198.18.0.4/30" not_in_net "$LOCAL" 198.18.0.4/30
check "p2: peer_addr $PEER is outside the server's 198.18.0.4/30" not_in_net "$PEER" 198.18.0.4/30
check "p2: local_addr $LOCAL is outside the client's 198.18.0.0/30" not_in_net "$LOCAL" 198.18.0.0/30
check "p2: pings its peer $PEER" pings "$NS_C" "$PEER"
quit p2 "$IFP"
kill_all "$SSHD_PID"
ip -n "$NS_C" route del 198.18.0.0/30 dev veth-c
ip -n "$NS_S" route del 198.18.0.4/30 dev veth-s

done_testing
