#!/bin/bash
# t_exec.sh: `sshtun exec' (issue 19): a command in a network namespace of
# the instance's own whose only way out is the tunnel.  The server has
# 203.0.113.9 (a "LAN host" behind it, on its lo); the client namespace has
# no route there, and the instance has no -r for it.  The instance runs with
# --user nobody; the commands run as nobody too.
#
#   1. the command reaches 203.0.113.9 (TCP: the server's kernel answers,
#      and a counter on the server sees it come in through the tunnel);
#      the same connect from the client's own namespace finds no route
#   2. it runs as the invoking uid, with no capabilities and no_new_privs
#   3. its exit status is exec's
#   4. the namespace (veth, rule, NAT table) is gone after it exits
#   5. another uid is refused; the instance's rules are as before at the end
#   6. SIGKILL of the instance during a command: cleanup removes the rule
#      and the NAT table
#   7. two instances whose TUN ifindexes are 128 apart (the /31 of an exec
#      namespace was 169.254.77.(2 x (ifindex mod 128))) and a routing table
#      someone else uses where the second's exec table would be: both run
#      commands at once, each through its own tunnel, and the other table
#      is left alone
. "$(dirname "$0")/lib.sh"

OUT4=203.0.113.9
NOBODY=$(id -u nobody)
chmod 755 "$TMP"

# reach: connect to OUT4:7777 (nothing listens: a RST is an answer); 0 when
# the server's kernel answered.
reach_py='import socket, sys
s = socket.socket()
s.settimeout(5)
try:
    s.connect((sys.argv[1], 7777))
except ConnectionRefusedError:
    sys.exit(0)
except OSError as e:
    print("connect:", e, file=sys.stderr)
    sys.exit(1)
sys.exit(0)'
as_nobody() { in_c setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups "$@"; }
xexec() { as_nobody "$SSHTUN" exec -S "$TMP/x1.sock" -- "$@"; }
count() { in_s nft list counter inet execcount tun | awk '/packets/ { print $2 }'; }
links() { in_c ip -o link show | grep -c 'stx' || true; }
state() { in_c ip rule show; in_c nft list tables; }

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }
in_s ip addr add "$OUT4/24" dev lo
in_s nft -f - <<EOF || { echo "Bail out! nft counters"; exit 1; }
table inet execcount {
	counter tun {}
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		iifname "sshtun*" ip daddr $OUT4 tcp dport 7777 counter name "tun"
	}
}
EOF
state >"$TMP/state.before"
cp "$TMP/client_key" "$TMP/nobody_key"
chown "$NOBODY" "$TMP/nobody_key"
chmod 644 "$TMP/known_hosts"

CLIENT_KEY=$TMP/nobody_key client_run x1 --user nobody
check "up" client_wait_up x1

# ---- 1. the tunnel, and only for the command -----------------------------------
diag "--- 1. reach $OUT4"
check "1: from the client's own namespace there is no way to $OUT4" \
	eval '! as_nobody "$PYTHON" -c "$reach_py" "$OUT4" 2>/dev/null'
is "$(count)" 0 "1: nothing came through the tunnel"
check "1: sshtun exec reaches $OUT4" xexec "$PYTHON" -c "$reach_py" "$OUT4"
check "1: through the tunnel (server's counter)" eval '[ "$(count)" -gt 0 ]'

# ---- 1b. the server may not speak for other sources ------------------------------
# The namespace's replies come from anywhere, so once a command has run the
# client takes IPv4 from any source off the tunnel; the kernel's guard in the
# exec table must drop what is not such a reply and not from a route of ours.
diag "--- 1b. spoofed sources from the server"
in_c "$SSHTUN" ctl -S "$TMP/x1.sock" status --json >"$TMP/x1.status"
LOCAL=$(json_get "$TMP/x1.status" local_addr)
PEER=$(json_get "$TMP/x1.status" peer_addr)
in_c "$PYTHON" "$(dirname "$0")/udp_sink.py" 9999 "$TMP/sink" &
PIDS+=($!)
check "1b: a UDP sink on the client" wait_for 10 test -e "$TMP/sink.ready"
# send FROM WORD: a datagram from the server's FROM to the client's address.
send() { in_s "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.sendto(sys.argv[3].encode(), (sys.argv[2], 9999))' "$1" "$LOCAL" "$2"; }
# spoof_dropped TAG: a datagram from OUT4 (no route of the client's), then one
# from the server's tunnel address; once the second is in, the first (sent
# before it, the same way) would be too.
spoof_dropped() {
	send "$OUT4" "spoofed-$1" && send "$PEER" "control-$1" &&
		wait_for 10 grep -q "control-$1" "$TMP/sink" && ! grep -q "spoofed-$1" "$TMP/sink"
}
check "1b: from $OUT4 dropped, from $PEER delivered (after exec)" spoof_dropped 1

# ---- 2. who it runs as -----------------------------------------------------------
diag "--- 2. uid, capabilities, no_new_privs"
is "$(xexec id -u)" "$NOBODY" "2: the command's uid is the caller's"
is "$(xexec awk '/^CapEff/ { print $2 }' /proc/self/status)" 0000000000000000 "2: no capabilities"
is "$(xexec awk '/^NoNewPrivs/ { print $2 }' /proc/self/status)" 1 "2: no_new_privs"
is "$(echo piped | xexec cat)" piped "2: standard input and output are the caller's"

# ---- 3. exit status ----------------------------------------------------------------
diag "--- 3. exit status"
xexec sh -c 'exit 42'
is "$?" 42 "3: exit 42 passes through"
xexec /nonexistent/cmd 2>/dev/null
is "$?" 127 "3: a missing command is 127"

# ---- 4. the namespace goes with the last command ----------------------------------
diag "--- 4. gone afterwards"
check "4: no veth left" wait_for 10 eval '[ "$(links)" = 0 ]'
# The exec table stays with the spoof guard alone until the instance ends.
state_but_guard() { in_c ip rule show; in_c nft list tables | grep -v ' sshtun_exec_'; }
check "4: no exec rule left, no other table" eval 'state_but_guard | diff -u "$TMP/state.before" -'
check "4: no NAT left" eval '! in_c nft list ruleset | grep -q masquerade'
check "4: spoofed sources still dropped (the guard stays)" spoof_dropped 2

# ---- 5. another uid -----------------------------------------------------------------
diag "--- 5. another uid is refused"
check "5: uid 4242 may not exec in nobody's instance" \
	eval '! in_c setpriv --reuid=4242 --regid=4242 --clear-groups "$SSHTUN" exec -S "$TMP/x1.sock" -- true 2>/dev/null'

# ---- 6. SIGKILL during a command -------------------------------------------------------
diag "--- 6. SIGKILL, then cleanup"
as_nobody "$SSHTUN" exec -S "$TMP/x1.sock" -- sleep 60 &
SLEEPER=$!
PIDS+=("$SLEEPER")
check "6: the namespace is up" wait_for 10 eval '[ "$(links)" = 1 ]'
for p in $(ip netns pids "$NS_C"); do
	[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$SSHTUN" ] && [ "$p" != "$SLEEPER" ] && kill -KILL "$p"
done
kill -KILL "$SLEEPER" 2>/dev/null
pkill_sleep() { local p; for p in $(ip netns pids "$NS_C"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ] && kill "$p"; done; }
pkill_sleep
check "6: sshtun cleanup -S" in_c "$SSHTUN" cleanup -S "$TMP/x1.sock"
check "6: no exec rule or table left" eval 'state | diff -u "$TMP/state.before" -'

# ---- 7. two instances whose numbers would collide ---------------------------------
diag "--- 7. two instances, ifindexes 128 apart, a table in use"
tun_index() { client_status "$1" && in_c cat "/sys/class/net/$(json_get "$TMP/$1.status" ifname)/ifindex"; }
CLIENT_KEY=$TMP/nobody_key client_run y1 --user nobody
check "7: y1 up" client_wait_up y1
I1=$(tun_index y1)
# The next ifindex is one past the last given out: use up the numbers up to
# I1 + 127 (mod 128) with bridges, so that y2's TUN gets I1's residue.
in_c ip link add fill0 type bridge && N=$(in_c cat /sys/class/net/fill0/ifindex) && in_c ip link del fill0
C=$(( ((I1 - N - 1) % 128 + 128) % 128 ))
if [ "$C" -gt 0 ]; then
	for i in $(seq 1 "$C"); do echo "link add fill$i type bridge"; done | in_c ip -batch -
	for i in $(seq 1 "$C"); do echo "link del fill$i"; done | in_c ip -batch -
fi
CLIENT_KEY=$TMP/nobody_key client_run y2 --user nobody
check "7: y2 up" client_wait_up y2
I2=$(tun_index y2)
check "7: the TUNs' ifindexes $I1 and $I2 are 128 apart (mod 128)" eval '[ $((I1 % 128)) = $((I2 % 128)) ] && [ "$I1" != "$I2" ]'
# Someone else's route in the table y2's exec would have taken (0x73750000 +
# its ifindex): with it, y2's namespace would leave by veth-c.
T2=$((0x73750000 + I2))
check "7: a route of someone else's in table $T2" in_c ip route add default dev veth-c table "$T2"
as_nobody "$SSHTUN" exec -S "$TMP/y1.sock" -- sh -c "while [ ! -e '$TMP/y1.stop' ]; do sleep 0.1; done" &
Y1EXEC=$!
PIDS+=("$Y1EXEC")
check "7: y1's exec namespace is up (stx${I1}h)" wait_for 10 in_c ip link show "stx${I1}h"
before=$(count)
check "7: y2's exec reaches $OUT4 while y1's runs" \
	as_nobody "$SSHTUN" exec -S "$TMP/y2.sock" -- "$PYTHON" -c "$reach_py" "$OUT4"
check "7: through the tunnel (server's counter)" eval '[ "$(count)" -gt "$before" ]'
check "7: no rule uses table $T2" eval '! in_c ip rule show | grep -qw "lookup $T2"'
check "7: the other route in table $T2 is still there" eval 'in_c ip route show table "$T2" | grep -q "default dev veth-c"'
touch "$TMP/y1.stop"
check "7: y1's command ends" wait_exit "$Y1EXEC" 10
is "$EXIT_RC" 0 "7: y1's command exits 0"
in_c ip route del default dev veth-c table "$T2"
for n in y1 y2; do
	ctl "$n" quit >/dev/null 2>&1
	check "7: $n quits" wait_exit "$(client_pid "$n")" 15
done
check "7: no exec rule or table left" eval 'state | diff -u "$TMP/state.before" -'

done_testing
