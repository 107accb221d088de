#!/bin/bash
# t_list.sh: `sshtun list [--json]' and `sshtun ctl' without -n (issue 18).
# The test runs in a private mount namespace with a tmpfs on /run/sshtun,
# so other instances on this machine (other tests) are not seen and ours
# are not seen by them.
#
#   1. one instance (alpha): `ctl status' without -n picks it
#   2. two (alpha, beta) and a dead socket (ghost): `list' shows both up
#      with server, interface, addresses; --json has their status and
#      stats objects and ghost as dead; `ctl' without -n refuses (exit 2)
#      and names them; the dead socket is not counted
#   3. beta quits: `ctl' without -n picks alpha again
#   4. root with a user's XDG_RUNTIME_DIR lists none of that user's sockets
#   5. what an instance answers reaches neither the terminal as control
#      sequences nor list --json as members outside its own object
if [ -z "$T_LIST_MNTNS" ]; then
	T_LIST_MNTNS=1 exec unshare -m --propagation private "$0" "$@"
fi
# Our network namespaces live on a tmpfs of this mount namespace: a name
# under the machine's /run/netns without its mount would show as an invalid
# entry to every other test's `ip netns list'.
mkdir -p /run/netns && mount -t tmpfs -o mode=0755 sshtun-netns /run/netns ||
	{ echo "Bail out! cannot mount a tmpfs on /run/netns in a private mount namespace"; exit 1; }
. "$(dirname "$0")/lib.sh"
mkdir -p /run/sshtun && mount -t tmpfs -o mode=0755 sshtun-test /run/sshtun ||
	{ echo "Bail out! cannot mount a tmpfs on /run/sshtun in a private mount namespace"; exit 1; }

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

# up NAME: a client whose control socket is the default one, /run/sshtun/NAME.sock.
up() { client_run "$1" -S "/run/sshtun/$1.sock"; }
is_up() { in_c "$SSHTUN" ctl -n "$1" status --json 2>/dev/null | grep -q '"state":"up"'; }
ctl_bare() { in_c "$SSHTUN" ctl "$@"; }

up alpha
wait_for 20 is_up alpha
check "1: alpha is up" is_up alpha
fail_fast "alpha did not come up"
out=$(ctl_bare status --json 2>&1)
check "1: ctl without -n picks the only instance" grep -q '"state":"up"' <<<"$out"

up beta
wait_for 20 is_up beta
check "2: beta is up" is_up beta
"$PYTHON" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' /run/sshtun/ghost.sock
in_c "$SSHTUN" list >"$TMP/list.txt" 2>&1
diag "$(cat "$TMP/list.txt")"
for n in alpha beta; do
	check "2: list shows $n up, with the server and an interface" \
		grep -qE "^$n +up +$S_ADDR:22 +[a-z0-9]+ +198\.18\.0\." "$TMP/list.txt"
done
check "2: list shows ghost as dead, with what to do" grep -q "^ghost  *dead" "$TMP/list.txt"
check "2: ... and says sshtun cleanup" grep -q "sshtun cleanup -n ghost" "$TMP/list.txt"
in_c "$SSHTUN" list --json >"$TMP/list.json" 2>&1
check "2: list --json: both instances with status and stats, ghost dead" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
byname = {i["name"]: i for i in d["instances"]}
assert set(byname) == {"alpha", "beta", "ghost"}, byname.keys()
for n in ("alpha", "beta"):
    i = byname[n]
    assert i["socket"] == "/run/sshtun/%s.sock" % n, i
    assert i["status"]["state"] == "up" and i["status"]["server"] == sys.argv[2] + ":22", i
    assert i["status"]["local_addr"].startswith("198.18.0."), i
    assert "tx_rate_bps" in i["stats"] and "rx_bytes" in i["stats"], i
assert byname["ghost"]["state"] == "dead", byname["ghost"]
' "$TMP/list.json" "$S_ADDR"
out=$(ctl_bare status 2>&1)
RC=$?
is "$RC" 2 "2: ctl without -n and two instances: exit 2"
check "2: ... naming them and -n" grep -qE "2 instances are running \((alpha, beta|beta, alpha)\); pick one with -n NAME" <<<"$out"

check "3: beta quits" in_c "$SSHTUN" ctl -n beta quit
wait_exit "$(client_pid beta)" 10
out=$(ctl_bare status --json 2>&1)
check "3: ctl without -n picks alpha again (ghost's socket is dead)" grep -q '"state":"up"' <<<"$out"
check "3: alpha quits" in_c "$SSHTUN" ctl -n alpha quit
wait_exit "$(client_pid alpha)" 10

# 4. root whose XDG_RUNTIME_DIR is a user's (`su' keeps it): the sockets
#    there are that user's, not instances of root's to list.
mkdir -p "$TMP/xdg/sshtun"
"$PYTHON" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TMP/xdg/sshtun/mallory.sock"
chown -R 65534 "$TMP/xdg"
XDG_RUNTIME_DIR=$TMP/xdg in_c "$SSHTUN" list --json >"$TMP/list4.json" 2>&1
diag "$(cat "$TMP/list4.json")"
check "4: root's list skips a socket of another user in XDG_RUNTIME_DIR" eval '! grep -q mallory "$TMP/list4.json"'
check "4: ... and still lists /run/sshtun's" grep -q '"name":"ghost"' "$TMP/list4.json"

# 5. an instance's answers (another user's `sudo sshtun', a network side a
#    hostile server took over) reach neither the terminal as control
#    sequences nor list --json as members of ours.
bg_run evil "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"o {\"state\":\"up\x1b[2J\",\"server\":\"198.51.100.99:22\"},\"name\":\"forged\",\"z\":{}\nx 0\n")
    c.close()' /run/sshtun/evil.sock
check "5: a fake instance answers on /run/sshtun/evil.sock" wait_for 10 test -S /run/sshtun/evil.sock
in_c "$SSHTUN" list >"$TMP/list5.txt" 2>&1
diag "$(cat -v "$TMP/list5.txt")"
check "5: list shows evil" grep -q "^evil " "$TMP/list5.txt"
ESC=$'\x1b'
check "5: ... without the escape sequence it answered" eval '! grep -qF "$ESC" "$TMP/list5.txt"'
in_c "$SSHTUN" list --json >"$TMP/list5.json" 2>&1
check "5: list --json stays JSON, evil without the status that would end its object" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
byname = {i["name"]: i for i in d["instances"]}
assert "forged" not in byname and "evil" in byname, byname.keys()
assert "status" not in byname["evil"] and "stats" not in byname["evil"], byname["evil"]
' "$TMP/list5.json"
done_testing
