#!/bin/bash
# t_leaks.sh: a full tunnel leaks nothing by default (issue 19), counted on
# the server's veth-s ingress:
#
#   counter out6   IPv6 to the outside (2001:db8:99::/48, beyond the server)
#   counter dns    port 53 to anything, TCP or UDP
#
# The client namespace has default routes through the server in both
# families, so that without the tunnel both leave through veth-c.  The
# helper offers IPv4 only (--pool6 none) and a resolver (--dns).  The
# client's /etc/resolv.conf is a file of ours, bind-mounted in a private
# mount namespace (nothing under /etc is touched).
#
#   0. control: without a client both counters count
#   1. -r default against an IPv4-only server: IPv6 to the outside does not
#      leave veth-c (and fails at once: unreachable)
#   2. -r default --dns: DNS to resolvers outside the tunnel (the server's
#      own address, pinned; a LAN host) does not leave; status says so;
#      `dns off' lets it out again, a clean quit leaves no table
#   3. the network side SIGKILLed: the root side reverts DNS and drops the
#      block with it (only a kill switch stays after a crash)
. "$(dirname "$0")/lib.sh"

OUT4=203.0.113.9
OUT6=2001:db8:99::9
RESOLVER=203.0.113.53

poke() {	# poke PORT ADDR...: three UDP datagrams to each, errors ignored
	in_c "$PYTHON" -c 'import socket, sys
port = int(sys.argv[1])
for a in sys.argv[2:]:
    for _ in range(3):
        try:
            s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"leak?", (a, port))
            s.close()
        except OSError:
            pass' "$@"
}
# send6_error ADDR: the errno name a UDP send to ADDR meets ("" if none).
send6_error() {
	in_c "$PYTHON" -c 'import errno, socket, sys
try:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.sendto(b"x", (sys.argv[1], 9))
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))' "$1"
}

counters_setup() {
	in_s nft -f - <<-EOF
	table inet leakcount {
		counter out6 {}
		counter dns {}
		chain pre {
			type filter hook prerouting priority -400; policy accept;
			iifname != "veth-s" accept
			ip6 daddr 2001:db8:99::/48 counter name "out6"
			meta l4proto { tcp, udp } th dport 53 counter name "dns"
		}
	}
	EOF
}
count() { in_s nft list counter inet leakcount "$1" | awk '/packets/ { print $2 }'; }
counters_reset() { in_s nft reset counters table inet leakcount >/dev/null; }
guard_tables() { in_c nft list tables | grep -c 'table inet sshtun_guard_'; }

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
SSHD_SUBSYSTEM="$SSHTUN serve --pool $POOL4 --pool6 none --lease-file $TMP/leases --dns $RESOLVER" \
	sshd_start || { echo "Bail out! sshd did not start"; exit 1; }
in_s ip addr add "$OUT4/24" dev lo
in_s ip addr add "$OUT6/48" dev lo
in_c ip route add default via "$S_ADDR"
in_c ip -6 route add default via "$S_ADDR6"
# A LAN host that is not there: a neighbour entry sends its packets out.
in_c ip neigh add 198.51.100.77 lladdr "$(in_s cat /sys/class/net/veth-s/address)" dev veth-c nud permanent
counters_setup || { echo "Bail out! nft counters"; exit 1; }
printf 'nameserver 198.51.100.77\n' >"$TMP/resolv.conf"
cat >"$TMP/privmount" <<EOF
#!/bin/sh
mount --bind "$TMP/resolv.conf" /etc/resolv.conf && exec "\$@"
EOF
chmod +x "$TMP/privmount"
MNT="unshare -m --propagation private $TMP/privmount"

# ---- 0. control ---------------------------------------------------------------
diag "--- 0. control: no client"
poke 9 "$OUT6"
poke 53 198.51.100.77
check "0: IPv6 to the outside leaves veth-c (out6 $(count out6))" eval '[ "$(count out6)" -gt 0 ]'
check "0: DNS to the LAN leaves veth-c (dns $(count dns))" eval '[ "$(count dns)" -gt 0 ]'

# ---- 1. full tunnel, IPv4-only server -----------------------------------------
diag "--- 1. -r default, the server offers no IPv6"
CLIENT_PREFIX=$MNT client_run f1 -r default
check "1: up" client_wait_up f1
is "$(json_get "$TMP/f1.status" local_addr6)" "" "1: no IPv6 in the tunnel"
counters_reset
poke 9 "$OUT6"
is "$(count out6)" 0 "1: IPv6 packets to the outside that left veth-c"
e=$(send6_error "$OUT6")
check "1: IPv6 to the outside fails at once (unreachable route: $e)" eval '[ "$e" = EHOSTUNREACH ] || [ "$e" = ENETUNREACH ]'
check "1: IPv6 on the LAN still works (ping $S_ADDR6)" in_c ping -6 -c 1 -W 5 "$S_ADDR6"
ctl f1 quit >/dev/null 2>&1
check "1: quit" wait_exit "$(client_pid f1)" 15
check "1: the unreachable routes are gone after quit" eval '! in_c ip -6 route show | grep -q unreachable'
counters_reset
poke 9 "$OUT6"
check "1: after quit IPv6 to the outside leaves again" eval '[ "$(count out6)" -gt 0 ]'

# ---- 2. full tunnel with --dns ---------------------------------------------------
diag "--- 2. -r default --dns"
CLIENT_PREFIX=$MNT client_run f2 -r default --dns
check "2: up" client_wait_up f2
check "2: DNS is on" wait_for 10 eval 'client_status f2 && [ "$(json_get "$TMP/f2.status" dns_guard)" = true ]'
counters_reset
poke 53 "$S_ADDR" 198.51.100.77 "$S_ADDR6"
is "$(count dns)" 0 "2: DNS packets to resolvers outside the tunnel that left veth-c"
is "$(json_get "$TMP/f2.status" kill_switch)" false "2: no kill switch asked for"
check "2: ctl dns off" ctl f2 dns off
client_status f2
is "$(json_get "$TMP/f2.status" dns_guard)" false "2: dns_guard false after dns off"
counters_reset
poke 53 198.51.100.77
check "2: after dns off, DNS to the LAN leaves again" eval '[ "$(count dns)" -gt 0 ]'
check "2: ctl dns on" ctl f2 dns on
counters_reset
poke 53 198.51.100.77
is "$(count dns)" 0 "2: after dns on, blocked again"
ctl f2 quit >/dev/null 2>&1
check "2: quit" wait_exit "$(client_pid f2)" 15
is "$(guard_tables)" 0 "2: no guard table after a clean quit"

# ---- 3. the network side killed: the DNS block goes with the DNS settings -------
diag "--- 3. SIGKILL of the network side of a full tunnel with --dns"
CLIENT_PREFIX=$MNT client_run f3 -r default --dns
check "3: up" client_wait_up f3
check "3: DNS blocked" wait_for 10 eval 'client_status f3 && [ "$(json_get "$TMP/f3.status" dns_guard)" = true ]'
user_side=$(pgrep -P "$(client_pid f3)")
check "3: the network side found ($user_side)" test -n "$user_side"
kill -KILL $user_side
check "3: the root side undoes and exits" wait_exit "$(client_pid f3)" 15
is "$(guard_tables)" 0 "3: no guard table left (no DNS block without the DNS settings)"
counters_reset
poke 53 198.51.100.77
check "3: DNS to the LAN leaves again" eval '[ "$(count dns)" -gt 0 ]'

done_testing
