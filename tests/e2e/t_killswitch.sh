#!/bin/bash
# t_killswitch.sh: --kill-switch and --allow-lan (issue 19), with counters,
# not guesses.  The client namespace gets default routes through the server
# (the "outside" is 203.0.113.0/24 and 2001:db8:99::/48 beyond it), so that
# without a kill switch a packet there leaves through veth-c.  In the
# server namespace, on veth-s ingress, before anything else:
#
#   counter ssh    TCP from the client to port 22 (the SSH connection)
#   counter lan    anything else to 198.51.100.0/24 or 2001:db8:1::/64
#   counter out    anything else (IPv6 neighbour discovery aside)
#
#   0. control: without a client, pokes at the LAN and the outside count
#   1. -r default --kill-switch: status says so; the tunnel works; pokes at
#      the LAN (the server's other ports, another host) leave nothing
#   2. the link blackholed (server side, after the counters): while the
#      tunnel is down only SSH to the server leaves
#   3. SIGKILL of both processes: the TUN is gone, the table stays, still
#      nothing leaves
#   4. `sshtun cleanup`: traffic flows again; the client namespace's nft
#      ruleset is exactly what it was before
#   5. --kill-switch --allow-lan: the LAN is reached, the outside is not; a
#      clean quit removes the table (ruleset as before)
#   6. the server given by a name only a resolver outside the tunnel knows
#      (dnsmasq beyond the server, the client namespace's resolv.conf):
#      the guard blocks that resolver, so the connect, and a reconnect
#      forced with `ctl reconnect', use the addresses of the start
#   7. the server's name resolves, after the start, to an address the guard
#      does not let out (the client namespace's hosts file changed): a
#      reconnect goes to the addresses of the start, not into the wall
. "$(dirname "$0")/lib.sh"

OUT4=203.0.113.9
OUT6=2001:db8:99::9

poke() {	# poke ADDR...: three UDP datagrams to port 9 of each, errors ignored
	in_c "$PYTHON" -c 'import socket, sys
for a in sys.argv[1:]:
    for _ in range(3):
        try:
            s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"leak?", (a, 9))
            s.close()
        except OSError:
            pass' "$@"
}

counters_setup() {
	in_s nft -f - <<-EOF
	table inet kscount {
		counter ssh {}
		counter lan {}
		counter out {}
		chain pre {
			type filter hook prerouting priority -400; policy accept;
			iifname != "veth-s" accept
			ip saddr $C_ADDR tcp dport 22 counter name "ssh" accept
			icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept
			ip daddr 198.51.100.0/24 counter name "lan" accept
			ip6 daddr 2001:db8:1::/64 counter name "lan" accept
			counter name "out"
		}
	}
	EOF
}
count() { in_s nft list counter inet kscount "$1" | awk '/packets/ { print $2 }'; }
counters_reset() { in_s nft reset counters table inet kscount >/dev/null; }
blackhole_on() {
	in_s nft -f - <<-EOF
	table inet bh {
		chain pre { type filter hook prerouting priority -300; policy accept; iifname "veth-s" drop; }
	}
	EOF
}
blackhole_off() { in_s nft delete table inet bh; }
guard_tables() { in_c nft list tables | grep -c 'table inet sshtun_guard_'; }
state_is() { client_status "$1" && [ "$(json_get "$TMP/$1.status" state)" = "$2" ]; }
state_is_not() { client_status "$1" && [ "$(json_get "$TMP/$1.status" state)" != "$2" ]; }
ours_in_c() {	# the sshtun processes in the client namespace
	local p
	for p in $(ip netns pids "$NS_C" 2>/dev/null); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$SSHTUN" ] && echo "$p"
	done
}
no_tun() { ! in_c ip -o link show | grep -q ': sshtun'; }
ssh_seen() { [ "$(count ssh)" -gt 0 ]; }

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }
in_s ip addr add "$OUT4/24" dev lo
in_s ip addr add "$OUT6/48" dev lo
in_c ip route add default via "$S_ADDR"
in_c ip -6 route add default via "$S_ADDR6"
# A LAN host that is not there: a neighbour entry sends its packets out.
in_c ip neigh add 198.51.100.77 lladdr "$(in_s cat /sys/class/net/veth-s/address)" dev veth-c nud permanent
counters_setup || { echo "Bail out! nft counters"; exit 1; }
in_c nft list ruleset >"$TMP/ruleset.before"

# ---- 0. the counters see a leak when there is no kill switch ---------------
diag "--- 0. control: no client"
poke 198.51.100.77 "$OUT4" "$OUT6"
check "0: a poke at the LAN leaves veth-c (lan counter $(count lan))" eval '[ "$(count lan)" -gt 0 ]'
check "0: a poke at the outside leaves veth-c (out counter $(count out))" eval '[ "$(count out)" -gt 0 ]'

# ---- 1. up, full tunnel, kill switch ---------------------------------------
diag "--- 1. -r default --kill-switch"
client_run ks -r default --kill-switch -o ServerAliveInterval=1 -o ServerAliveCountMax=2
check "1: up" client_wait_up ks
is "$(json_get "$TMP/ks.status" kill_switch)" true "1: status --json kill_switch"
check "1: one table inet sshtun_guard_* in the client namespace" eval '[ "$(guard_tables)" = 1 ]'
peer=$(json_get "$TMP/ks.status" peer_addr)
check "1: the tunnel carries traffic (ping $peer)" in_c ping -c 1 -W 5 "$peer"
counters_reset
poke "$S_ADDR" 198.51.100.77 "$S_ADDR6"
is "$(count lan)" 0 "1: LAN pokes that left veth-c"
is "$(count out)" 0 "1: outside packets that left veth-c"

# ---- 2. the link blackholed: reconnecting --------------------------------
diag "--- 2. blackhole (server side): the tunnel is down"
check "2: blackhole on" blackhole_on
check "2: the client notices (state not up within 15 s)" wait_for 15 state_is_not ks up
counters_reset
poke "$S_ADDR" 198.51.100.77 "$OUT4" "$S_ADDR6" "$OUT6"
check "2: reconnect attempts reach port 22 (ssh counter)" wait_for 15 ssh_seen
is "$(count lan)" 0 "2: LAN packets that left while down"
is "$(count out)" 0 "2: outside packets that left while down"
is "$(json_get "$TMP/ks.status" kill_switch)" true "2: status --json kill_switch while down"

# ---- 3. SIGKILL: fail closed -------------------------------------------------
diag "--- 3. SIGKILL of both processes"
pids=$(ours_in_c)
check "3: the client's processes found ($(echo $pids))" test -n "$pids"
# shellcheck disable=SC2086 # a list of pids
kill -KILL $pids
check "3: all gone" wait_for 10 eval '[ -z "$(ours_in_c)" ]'
check "3: the TUN is gone" wait_for 10 no_tun
check "3: the table stays" eval '[ "$(guard_tables)" = 1 ]'
check "3: blackhole off" blackhole_off
counters_reset
poke "$S_ADDR" "$OUT4" "$OUT6"
is "$(count lan)" 0 "3: LAN packets that left after SIGKILL"
is "$(count out)" 0 "3: outside packets that left after SIGKILL"

# ---- 4. cleanup -------------------------------------------------------------
diag "--- 4. sshtun cleanup"
check "4: sshtun cleanup -S" in_c "$SSHTUN" cleanup -S "$TMP/ks.sock"
in_c nft list ruleset >"$TMP/ruleset.after"
check "4: the client namespace's nft ruleset is as before" diff -u "$TMP/ruleset.before" "$TMP/ruleset.after"
counters_reset
poke "$OUT4" "$S_ADDR"
check "4: the outside is reached again (out $(count out))" eval '[ "$(count out)" -gt 0 ]'
check "4: the LAN is reached again (lan $(count lan))" eval '[ "$(count lan)" -gt 0 ]'

# ---- 5. --allow-lan, clean quit ---------------------------------------------
diag "--- 5. --kill-switch --allow-lan"
client_run lan --kill-switch --allow-lan
check "5: up" client_wait_up lan
counters_reset
poke "$S_ADDR" "$S_ADDR6" "$OUT4" "$OUT6"
check "5: the LAN is reached (lan counter $(count lan))" eval '[ "$(count lan)" -gt 0 ]'
is "$(count out)" 0 "5: outside packets that left"
ctl lan quit >/dev/null 2>&1
check "5: quit ends the client" wait_exit "$(client_pid lan)" 15
is "$EXIT_RC" 0 "5: exit status"
in_c nft list ruleset >"$TMP/ruleset.after"
check "5: after a clean quit the ruleset is as before" diff -u "$TMP/ruleset.before" "$TMP/ruleset.after"

# ---- 6. the server by name, its resolver behind the kill switch ------------
diag "--- 6. --kill-switch, the server by a name"
NAME=sshd.ks.test
RESOLV=/etc/netns/$NS_C/resolv.conf
trap 'cleanup $?; rm -rf "/etc/netns/$NS_C"' EXIT
mkdir -p "/etc/netns/$NS_C" && echo "nameserver $OUT4" >"$RESOLV"
bg_run dnsmasq in_s dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
	--listen-address="$OUT4" --bind-interfaces --address=/$NAME/"$S_ADDR" \
	--pid-file="$TMP/dnsmasq.pid" --log-facility=- --log-queries
dns_listening() { in_s ss -Hlun "( sport = :53 )" | grep -q "$OUT4"; }
check "6: dnsmasq beyond the server ($OUT4)" wait_for 10 dns_listening
resolves() { [ "$(in_c timeout 10 getent ahostsv4 "$NAME" | awk 'NR == 1 { print $1 }')" = "$S_ADDR" ]; }
check "6: the client namespace resolves $NAME to $S_ADDR (nothing else knows it)" resolves
echo "$NAME $(cut -d' ' -f1,2 "$TMP/host_key.pub")" >"$TMP/known_hosts.name"
TARGET=root@$NAME KNOWN_HOSTS=$TMP/known_hosts.name \
	client_run nm --kill-switch -o ServerAliveInterval=1 -o ServerAliveCountMax=2
check "6: up" client_wait_up nm
check "6: the guard blocks the resolver now" eval '! resolves'
check "6: the connect used the addresses of the start" \
	grep -q "cannot resolve $NAME .*connecting to the addresses it had at the start" "$TMP/nm.log"
check "6: ctl reconnect" ctl nm reconnect
reconnected() { client_is_up nm && [ "$(json_get "$TMP/nm.status" reconnects)" -ge 1 ]; }
check "6: back up after the reconnect (reconnects >= 1)" wait_for 30 reconnected
peer=$(json_get "$TMP/nm.status" peer_addr)
check "6: the tunnel carries traffic (ping $peer)" in_c ping -c 1 -W 5 "$peer"
ctl nm quit >/dev/null 2>&1
check "6: quit ends the client" wait_exit "$(client_pid nm)" 15
in_c nft list ruleset >"$TMP/ruleset.after"
check "6: after a clean quit the ruleset is as before" diff -u "$TMP/ruleset.before" "$TMP/ruleset.after"

# ---- 7. the name now resolves to an address the guard blocks -----------------
diag "--- 7. --kill-switch, the name resolves elsewhere later"
NAME7=sshd7.ks.test
HOSTS=/etc/netns/$NS_C/hosts
echo "$S_ADDR $NAME7" >"$HOSTS"
resolves7() { [ "$(in_c timeout 10 getent ahostsv4 "$NAME7" | awk 'NR == 1 { print $1 }')" = "$1" ]; }
check "7: the client namespace's hosts file says $NAME7 is $S_ADDR" resolves7 "$S_ADDR"
echo "$NAME7 $(cut -d' ' -f1,2 "$TMP/host_key.pub")" >"$TMP/known_hosts.name7"
TARGET=root@$NAME7 KNOWN_HOSTS=$TMP/known_hosts.name7 CONNECT_TIMEOUT=2 \
	client_run n7 --kill-switch -o ServerAliveInterval=1 -o ServerAliveCountMax=2
check "7: up" client_wait_up n7
# Rewritten in place: the namespace's bind mount keeps the same file.
echo "198.51.100.77 $NAME7" >"$HOSTS"
check "7: $NAME7 resolves to 198.51.100.77 now (which the guard blocks)" resolves7 198.51.100.77
check "7: ctl reconnect" ctl n7 reconnect
reconnected7() { client_is_up n7 && [ "$(json_get "$TMP/n7.status" reconnects)" -ge 1 ]; }
check "7: back up after the reconnect, at the address of the start" wait_for 30 reconnected7
check "7: the log says why it did not go to 198.51.100.77" \
	grep -q "$NAME7 resolves to no address the kill switch lets out.*addresses it had at the start" "$TMP/n7.log"
ctl n7 quit >/dev/null 2>&1
check "7: quit ends the client" wait_exit "$(client_pid n7)" 15

done_testing
