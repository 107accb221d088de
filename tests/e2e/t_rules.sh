#!/bin/bash
# t_rules.sh: per-user routes (issue 19), `-r CIDR --uid UID' and
# `route add CIDR --uid UID': `ip rule ... uidrange' to a table of the
# instance's own.  The "outside" 203.0.113.9 is an address of the server's,
# reachable from the client both through the tunnel and straight over the
# veth (the client namespace routes by default through the server).  The
# server counts which way each packet came:
#
#   counter tun    to 203.0.113.9 from a tunnel interface
#   counter veth   to 203.0.113.9 from veth-s
#
#   1. -r 203.0.113.0/24 --uid 4242: uid 4242's packets take the tunnel,
#      uid 4343's and root's do not; the rule is in `ip rule'
#   2. route add/del 203.0.113.0/24 --uid 4343 at run time; route list
#   3. quit: `ip rule' as before
#   4. SIGKILL of both processes: the rule stays; sshtun cleanup removes it
. "$(dirname "$0")/lib.sh"

OUT4=203.0.113.9

poke_as() {	# poke_as UID: three UDP datagrams to OUT4:9 as that uid
	in_c setpriv --reuid="$1" --regid="$1" --clear-groups "$PYTHON" -c 'import socket, sys
for _ in range(3):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"which way?", (sys.argv[1], 9))
        s.close()
    except OSError:
        pass' "$OUT4"
}
counters_setup() {
	in_s nft -f - <<-EOF
	table inet uidcount {
		counter tun {}
		counter veth {}
		chain pre {
			type filter hook prerouting priority -400; policy accept;
			iifname "sshtun*" ip daddr $OUT4 counter name "tun"
			iifname "veth-s" ip daddr $OUT4 counter name "veth"
		}
	}
	EOF
}
count() { in_s nft list counter inet uidcount "$1" | awk '/packets/ { print $2 }'; }
counters_reset() { in_s nft reset counters table inet uidcount >/dev/null; }
# all_arrived: the three pokes were counted, one way or the other.
all_arrived() { [ $(($(count tun) + $(count veth))) -ge 3 ]; }
# way UID: "tun" or "veth", where that uid's pokes arrived (both: "both").
# The tunnel's path takes a while (client, SSH, helper): the counters are
# read once all three arrived (bounded; after that, with what did), so
# none is still on its way when the next way() resets them.
way() {
	local t v
	counters_reset
	poke_as "$1"
	wait_for 10 all_arrived
	t=$(count tun) v=$(count veth)
	if [ "$t" -gt 0 ] && [ "$v" -eq 0 ]; then echo tun
	elif [ "$v" -gt 0 ] && [ "$t" -eq 0 ]; then echo veth
	else echo "tun=$t veth=$v"; fi
}
rules() { in_c ip rule show; in_c ip -6 rule show; }
ours_in_c() {
	local p
	for p in $(ip netns pids "$NS_C" 2>/dev/null); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$SSHTUN" ] && echo "$p"
	done
}

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }
in_s ip addr add "$OUT4/24" dev lo
in_c ip route add default via "$S_ADDR"
counters_setup || { echo "Bail out! nft counters"; exit 1; }
rules >"$TMP/rules.before"

# ---- 1. -r CIDR --uid UID ------------------------------------------------------
diag "--- 1. -r 203.0.113.0/24 --uid 4242"
is "$(way 4242)" veth "1: before the tunnel, uid 4242 goes straight"
client_run u1 -r 203.0.113.0/24 --uid 4242
check "1: up" client_wait_up u1
is "$(way 4242)" tun "1: uid 4242 to 203.0.113.9 takes the tunnel"
is "$(way 4343)" veth "1: uid 4343 does not"
is "$(way 0)" veth "1: root does not"
check "1: ip rule has 'to 203.0.113.0/24 uidrange 4242-4242'" \
	eval 'in_c ip rule show | grep -q "to 203.0.113.0/24 uidrange 4242-4242 lookup"'
is "$(json_get "$TMP/u1.status" uid_routes)" '[{"cidr": "203.0.113.0/24", "uid": 4242}]' "1: status --json uid_routes"
is "$(json_get "$TMP/u1.status" routes)" '[]' "1: no route for everyone"

# ---- 2. at run time ------------------------------------------------------------
diag "--- 2. route add/del --uid at run time"
check "2: route add 203.0.113.0/24 --uid 4343" ctl u1 route add 203.0.113.0/24 --uid 4343
is "$(way 4343)" tun "2: now uid 4343 takes the tunnel"
ctl u1 route list --json >"$TMP/u1.routes"
is "$(json_get "$TMP/u1.routes" uid_routes.1.uid)" 4343 "2: route list --json shows it"
check "2: route del 203.0.113.0/24 --uid 4343" ctl u1 route del 203.0.113.0/24 --uid 4343
is "$(way 4343)" veth "2: and after del, not"
is "$(way 4242)" tun "2: uid 4242 still does"
check "2: route del of a route that is not there fails" eval '! ctl u1 route del 203.0.113.0/24 --uid 4343'
check "2: a --uid route that would capture the SSH server is refused" \
	eval '! ctl u1 route add 198.51.100.0/24 --uid 4343'

# ---- 3. quit ------------------------------------------------------------------
diag "--- 3. quit"
ctl u1 quit >/dev/null 2>&1
check "3: quit" wait_exit "$(client_pid u1)" 15
rules >"$TMP/rules.after"
check "3: ip rule as before" diff -u "$TMP/rules.before" "$TMP/rules.after"
is "$(way 4242)" veth "3: uid 4242 goes straight again"

# ---- 4. SIGKILL, cleanup --------------------------------------------------------
diag "--- 4. SIGKILL, then sshtun cleanup"
client_run u4 -r 203.0.113.0/24 --uid 4242
check "4: up" client_wait_up u4
pids=$(ours_in_c)
# shellcheck disable=SC2086 # a list of pids
kill -KILL $pids
check "4: all gone" wait_for 10 eval '[ -z "$(ours_in_c)" ]'
check "4: the rule stays after SIGKILL" eval 'in_c ip rule show | grep -q "uidrange 4242-4242"'
check "4: sshtun cleanup -S" in_c "$SSHTUN" cleanup -S "$TMP/u4.sock"
rules >"$TMP/rules.after"
check "4: ip rule as before" diff -u "$TMP/rules.before" "$TMP/rules.after"

done_testing
