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
check "4: no exec rule or table left" eval 'state | diff -u "$TMP/state.before" -'

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

done_testing
