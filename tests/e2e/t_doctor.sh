#!/bin/bash
# t_doctor.sh: `sshtun doctor HOST' (issue 18) checks a server's set-up
# without a tunnel: one line per check, with what to change.
#
#   1. the test's sshd (helper as its sshtun Subsystem, root login): login,
#      helper and its version, CAP_NET_ADMIN, forwarding, pool, PermitTunnel
#      (no); exit 0; no interface or lease was made on the server
#   2. no Subsystem, the helper by --remote-command; PermitTunnel yes
#   3. no helper at all: FAIL with the Subsystem line to add, exit 6
#   4. a key the server refuses: FAIL login, exit 5
. "$(dirname "$0")/lib.sh"

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

# doctor NAME [args]: runs doctor in the client namespace; RC, output in $TMP/NAME.out.
doctor() {
	local name=$1
	shift
	timeout 60 ip netns exec "$NS_C" env -u SSH_AUTH_SOCK HOME="$TMP/home" "$SSHTUN" doctor \
		-i "$TMP/client_key" -o "UserKnownHostsFile=$TMP/known_hosts" -o StrictHostKeyChecking=yes \
		"$@" >"$TMP/$name.out" 2>&1
	RC=$?
	diag "$(cat "$TMP/$name.out")"
}
says() { grep -qE -- "$2" "$TMP/$1.out"; }
server_tuns() { ip -n "$NS_S" -o link show | grep -c ': sshtun'; }

doctor d1 "root@$S_ADDR"
is "$RC" 0 "1: exit 0"
check "1: login ok" says d1 "^ok +login: root@$S_ADDR port 22"
check "1: helper via the subsystem, with its version" says d1 "^ok +helper: sshtun-0\.2\.0.* via subsystem sshtun, protocol 1"
check "1: CAP_NET_ADMIN (root)" says d1 "^ok +CAP_NET_ADMIN: the login user \(uid 0\) has it"
check "1: forwarding, with what to change" says d1 "^(ok|warn) +forwarding: "
check "1: pool" says d1 "^ok +pool: "
check "1: PermitTunnel no, with what to set" says d1 "^warn +PermitTunnel: sshd refused tun@openssh.com .*PermitTunnel point-to-point"
is "$(server_tuns)" 0 "1: no interface was made on the server"
check "1: no lease was taken" eval '[ ! -s "$TMP/leases" ] || ! grep -q . "$TMP/leases"'

kill "$SSHD_PID"; wait_for 5 eval '! alive "$SSHD_PID"'
SSHD_SUBSYSTEM='' sshd_start "PermitTunnel point-to-point" || { echo "Bail out! sshd did not restart"; exit 1; }
doctor d2 --remote-command "$SSHTUN serve --pool $POOL4 --lease-file $TMP/leases" "root@$S_ADDR"
is "$RC" 0 "2: exit 0"
check "2: helper via the remote command" says d2 "^ok +helper: sshtun-0\.2\.0.* via $SSHTUN serve"
check "2: PermitTunnel yes" says d2 "^ok +PermitTunnel: sshd opens its own tunnel channel"

doctor d3 --remote-command /nonexistent/sshtun "root@$S_ADDR"
is "$RC" 6 "3: no helper: exit 6"
check "3: FAIL helper, with the Subsystem line to add" says d3 "^FAIL +helper: .*Subsystem sshtun /usr/local/bin/sshtun serve"

ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_key"
timeout 60 ip netns exec "$NS_C" env -u SSH_AUTH_SOCK HOME="$TMP/home" "$SSHTUN" doctor -i "$TMP/other_key" \
	-o "UserKnownHostsFile=$TMP/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes "root@$S_ADDR" >"$TMP/d4.out" 2>&1
RC=$?
is "$RC" 5 "4: a refused key: exit 5"
check "4: FAIL login, saying why" says d4 "^FAIL +login: permission denied"
done_testing
