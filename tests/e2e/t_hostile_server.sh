#!/bin/bash
# t_hostile_server.sh: a hostile server's hello gets nothing from the client
# (issue 12, findings 2, 3 and the client's parts of 8).  The real sshd runs
# tests/e2e/fake_helper.py as the sshtun subsystem; each case names the
# hello it sends.  For each: the exit status (6), the message naming the
# pair or resolver and what it overlaps, and the client namespace's kernel
# state (no such address or route), taken while the client is up or gone.
# With --connections 2: a join answered with another pair is dropped (the
# first connection's pair stays), one answered with routes and a resolver
# the first did not get changes neither.
#
# The client runs in a private mount namespace whose /etc/resolv.conf is
# $TMP/resolv.conf (nameserver 203.0.113.53): the host's files are never
# touched, even by a binary that would apply the server's DNS.
. "$(dirname "$0")/lib.sh"

says() {
	if grep -Eq -- "$1" <<<"$MSG"; then
		ok "$2"
	else
		not_ok "$2"
		diag "output does not match /$1/:" "$MSG"
	fi
}

MODE=$TMP/mode
RESOLV=$TMP/resolv.conf
# set_mode MODE...: what the next connections' helpers send (fake_helper.py).
set_mode() { printf '%s\n' "$@" >"$MODE"; rm -f "$MODE.n"; }
resolv_reset() { printf 'nameserver 203.0.113.53\n' >"$RESOLV"; }

# Runs "$@" with $RESOLV as /etc/resolv.conf and no resolved or resolvconf
# state of the host in view.
printf '%s\n' '#!/bin/sh' \
	"exec unshare -m --propagation private sh -c '" \
	'	mount --bind "$0" /etc/resolv.conf || exit 1' \
	'	for d in /run/systemd/resolve /run/resolvconf; do' \
	'		if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d" || exit 1; fi' \
	'	done' \
	"	exec \"\$@\"' \"$RESOLV\" \"\$@\"" >"$TMP/private_etc.sh"
chmod +x "$TMP/private_etc.sh"
CLIENT_PREFIX=$TMP/private_etc.sh

# hostile NAME MODE [client args...]: a client against MODE's hello.  Once
# it is up or gone: the client namespace's addresses and routes go to
# $TMP/NAME.net with the resolv.conf it sees; then EXIT_RC (999: still running after 5 s, then ended)
# and MSG (its output).
hostile() {
	local name=$1 pid
	set_mode "$2"
	shift 2
	resolv_reset
	client_run "$name" "$@"
	pid=$(client_pid "$name")
	wait_for 10 client_up_or_gone "$name"
	{ in_c ip addr; in_c ip route; in_c ip -6 route; cat "$RESOLV"; } >"$TMP/$name.net" 2>&1
	wait_exit "$pid" 5 || kill_all "$pid"
	MSG=$(cat "$TMP/$name.log")
}

# refused NAME DESC REGEX: exit 6, the message matches REGEX, never up.
refused() {
	is "$EXIT_RC" 6 "$1: $2: exit 6"
	says "$3" "$1: the message names it: /$3/"
	check "$1: the tunnel never came up" eval "! grep -q 'tunnel up' \"\$TMP/$1.log\""
}
# no_net NAME DESC REGEX: nothing in NAME's snapshot matches REGEX.
no_net() { check "$1: $2" eval "! grep -Eq -- '$3' \"\$TMP/$1.net\""; }

check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
set_mode good
SSHD_SUBSYSTEM="$PYTHON $REPO/tests/e2e/fake_helper.py $MODE" check "sshd with the fake helper" sshd_start
resolv_reset
check "the client sees $RESOLV as /etc/resolv.conf" \
	eval 'in_c "$CLIENT_PREFIX" cat /etc/resolv.conf | grep -qx "nameserver 203.0.113.53"'
fail_fast "no binary, namespaces or sshd"

# -- finding 3: the assigned pair ---------------------------------------------
hostile lan pair_lan
refused lan "a pair on the client's LAN" "198\.51\.100\.6/31.*network 198\.51\.100\.0/24"
no_net lan "no address 198.51.100.6 in the client namespace" "inet 198\.51\.100\.6/"

hostile srv pair_server
refused srv "a pair holding the SSH server's address" "198\.51\.100\.0/31.*SSH server's address 198\.51\.100\.1"
no_net srv "no address 198.51.100.0 in the client namespace" "inet 198\.51\.100\.0/"

# A gateway outside every connected network (on-link), so that only the
# gateway rule can catch it.
ip -n "$NS_C" route add 203.0.113.200/29 via 198.18.9.1 dev veth-c onlink
hostile gw pair_gateway
refused gw "a pair holding the client's gateway" "198\.18\.9\.0/31.*gateway 198\.18\.9\.1"
no_net gw "no address 198.18.9.0 in the client namespace" "inet 198\.18\.9\.0/"
ip -n "$NS_C" route del 203.0.113.200/29

hostile res pair_resolver
refused res "a pair holding the client's resolver" "203\.0\.113\.52/31.*resolver 203\.0\.113\.53"
no_net res "no address 203.0.113.52 in the client namespace" "inet 203\.0\.113\.52/"

hostile lan6 pair_lan6
refused lan6 "an IPv6 pair on the client's LAN" "2001:db8:1::4/127.*network 2001:db8:1::/64"
no_net lan6 "no address 2001:db8:1::4 in the client namespace" "inet6 2001:db8:1::4/"

# -- finding 2: dns= is resolvers, host addresses only -------------------------
hostile dnsw dns_wide --dns
refused dnsw "dns=0.0.0.0/1,128.0.0.0/1,::/0 with --dns" "resolver 0\.0\.0\.0/1.*not a network"
no_net dnsw "no route 0.0.0.0/1, 128.0.0.0/1 or ::/0 in the client namespace" \
	"^(0\.0\.0\.0/1|128\.0\.0\.0/1|::/0) "

hostile dnsl dns_lan --dns
refused dnsl "a resolver on the client's LAN with --dns" "resolver 198\.51\.100\.53.*network 198\.51\.100\.0/24"
no_net dnsl "no route for 198.51.100.53 through a tunnel" "^198\.51\.100\.53 dev"
no_net dnsl "resolv.conf does not name 198.51.100.53" "^nameserver 198\.51\.100\.53\$"

hostile dnss dns_server --dns
refused dnss "the SSH server as resolver with --dns" "resolver 198\.51\.100\.1,.*SSH server"
no_net dnss "resolv.conf does not name 198.51.100.1" "^nameserver 198\.51\.100\.1\$"

# -- a refusal after a reconnect is permanent ---------------------------------
set_mode good pair_lan
resolv_reset
client_run rc
check "rc: the first hello is good: up" client_wait_up rc
check "rc: ctl reconnect" ctl rc reconnect
wait_exit "$(client_pid rc)" 15 || kill_all "$(client_pid rc)"
MSG=$(cat "$TMP/rc.log")
is "$EXIT_RC" 6 "rc: the hostile pair after the reconnect ends the run: exit 6"
says "198\.51\.100\.6/31.*network 198\.51\.100\.0/24" "rc: the message names the pair and the network"

# -- finding 8: forged sources from the tunnel ----------------------------------
# A UDP socket on port 9999 in the client namespace writes down what reaches
# it; the helper sends, round after round, a forged IPv4 and IPv6 source,
# then one from its own inner address.  The legitimate ones prove the path.
bg_run rx ip netns exec "$NS_C" "$PYTHON" -c '
import select, socket, sys
out = open(sys.argv[1], "a")
socks = []
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 9999))
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(2048)
        out.write("%s %s\n" % (peer[0], data.decode(errors="replace")))
        out.flush()
' "$TMP/rx"
rx_bound() { [ "$(in_c ss -Hlun "( sport = :9999 )" | grep -c .)" = 2 ]; }
check "a UDP listener on port 9999 in the client namespace" wait_for 10 rx_bound
set_mode forge
resolv_reset
client_run fg
check "fg: a good hello: up" client_wait_up fg
rx_legit() { grep -q legit4 "$TMP/rx" && grep -q legit6 "$TMP/rx"; }
check "fg: the server's own IPv4 and IPv6 packets arrive" wait_for 10 rx_legit
diag "received (first lines):" "$(head -n 4 "$TMP/rx")"
check "fg: no forged IPv4 source (203.0.113.66) reached the socket" eval '! grep -q forged4 "$TMP/rx"'
check "fg: no forged IPv6 source (2001:db8:66::66) reached the socket" eval '! grep -q forged6 "$TMP/rx"'
ctl fg stats --json >"$TMP/fg.stats" 2>&1
check "fg: the forged packets are counted as drops" test "$(json_get "$TMP/fg.stats" drops)" -ge 2
ctl fg quit >/dev/null 2>&1

# -- --connections: joins that try to change what the first connection got ---
# The first hello carries a group token (join=); every join is answered
# with another pair (j1), or with routes and a resolver the first did not
# get (j2).  The first connection's pair, routes and resolv.conf stay.
set_mode join join_otherpair
resolv_reset
client_run j1 --connections 2
check "j1: the first hello (with join=) is good: up" client_wait_up j1
check "j1: the join with another pair is dropped, named" \
	wait_for 15 grep -q "server gave connection 1 a different pair" "$TMP/j1.log"
check "j1: the client namespace has the first pair only (not 198.18.0.105)" \
	eval 'in_c ip -4 addr | grep -q "198\.18\.0\.101/31" && ! in_c ip -4 addr | grep -q "198\.18\.0\.105"'
client_status j1
is "$(json_get "$TMP/j1.status" state)" up "j1: still up on the first connection"
is "$(json_get "$TMP/j1.status" connections_up)" 1 "j1: 1 connection up"
ctl j1 quit >/dev/null 2>&1
wait_exit "$(client_pid j1)" 10 || kill_all "$(client_pid j1)"

set_mode join join_routes
resolv_reset
client_run j2 --connections 2 --accept-routes --dns
check "j2: up" client_wait_up j2
two_up() { client_status j2 && [ "$(json_get "$TMP/j2.status" connections_up)" = 2 ]; }
check "j2: the join is up (2 connections)" wait_for 15 two_up
check "j2: no route to 203.0.113.0/24 from the join's hello" eval '! in_c ip route | grep -q "^203\.0\.113\.0/24"'
is "$(cat "$RESOLV")" "nameserver 203.0.113.53" "j2: resolv.conf untouched (not the join's resolver 198.18.0.100)"
ctl j2 quit >/dev/null 2>&1
wait_exit "$(client_pid j2)" 10 || kill_all "$(client_pid j2)"

# -- finding 8: -w takes interface names only ---------------------------------
# Each name's interface is looked for while the client runs (if it does).
set_mode good
n=0
for w in --foo 'a;b' .; do
	n=$((n + 1))
	client_run "w$n" -w "$w"
	wait_for 8 client_up_or_gone "w$n"
	in_c ip -o link >"$TMP/w$n.links" 2>&1
	wait_exit "$(client_pid "w$n")" 2 || kill_all "$(client_pid "w$n")"
	MSG=$(cat "$TMP/w$n.log")
	is "$EXIT_RC" 2 "-w '$w': exit 2"
	says "bad interface name \`$w'" "-w '$w': the message names it"
	# The kernel itself refuses "." (exit 7 before): no interface to look for.
	[ "$w" = . ] || check "-w '$w': no TUN interface made" eval "! grep -q 'link/none' \"\$TMP/w$n.links\""
done

done_testing
