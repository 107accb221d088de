#!/bin/bash
# t_repath.sh: `route exclude' and the full tunnel's pin follow a new
# gateway after a reconnect, and `route del' removes an exclude (issue 18).
#
# The server's SSH address sits behind a gateway: on its loopback, reached
# through the client's default route.  Two links join the namespaces:
#
#   client veth-c  198.51.100.2 --- 198.51.100.1 veth-s   gateway A
#   client veth-c2 203.0.113.2  --- 203.0.113.1  veth-s2  gateway B
#   server lo 198.19.0.1/32: the SSH server's address
#
#   1. up through A with -r default: the pin and an exclude go via A
#   2. the default route moves to B and A's link goes down (a laptop that
#      changed networks); the client sees it (rtnetlink: the path to the
#      server changed) and comes back up through B by itself, with the pin
#      and the exclude via B, recorded so in the state file
#   3. `route del' of the exclude removes it from the kernel and the state
#      file; a second del fails; quit leaves no route of sshtun's behind
. "$(dirname "$0")/lib.sh"

SRV=198.19.0.1
GW_A=$S_ADDR
GW_B=203.0.113.1
EXCL=198.19.7.0/24
NAME=repath-$$
STATE=$TMP/$NAME.state	# beside the control socket

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
ip -n "$NS_S" link add veth-s2 type veth peer name veth-c2 netns "$NS_C"
ip -n "$NS_S" addr add "$GW_B/24" dev veth-s2
ip -n "$NS_C" addr add 203.0.113.2/24 dev veth-c2
ip -n "$NS_S" link set veth-s2 up
ip -n "$NS_C" link set veth-c2 up
ip -n "$NS_S" addr add "$SRV/32" dev lo
ip -n "$NS_C" route add default via "$GW_A" dev veth-c
echo "$SRV $(cut -d' ' -f1,2 "$TMP/host_key.pub")" >>"$TMP/known_hosts"
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

# route_via PREFIX GW DEV: sshtun's route (protocol 77) for PREFIX goes via GW on DEV.
route_via() { ip -n "$NS_C" route show "$1" proto 77 | grep -q "via $2 dev $3"; }
# recorded PREFIX GW: the state file has the record with that gateway.
recorded() { grep -q "^pin $1 [0-9]* $2\$" "$STATE"; }

# ---- 1. up through gateway A -------------------------------------------------
TARGET=root@$SRV client_run "$NAME" -r default
client_wait_up "$NAME"
check "1: up through gateway A with -r default" client_is_up "$NAME"
fail_fast "the client did not come up"
check "1: route exclude $EXCL" ctl "$NAME" route exclude "$EXCL"
check "1: the pin of $SRV goes via A" route_via "$SRV" "$GW_A" veth-c
check "1: $EXCL goes via A" route_via "$EXCL" "$GW_A" veth-c

# ---- 2. a new gateway, the old link gone, reconnect --------------------------
ip -n "$NS_C" route replace default via "$GW_B" dev veth-c2
ip -n "$NS_C" link set veth-c down
check "2: the client reconnects by itself" \
	wait_for 20 eval 'client_status "$NAME" && [ "$(json_get "$TMP/$NAME.status" reconnects)" -ge 1 ]'
client_wait_up "$NAME"
check "2: up again through gateway B" client_is_up "$NAME"
is "$(json_get "$TMP/$NAME.status" reconnects)" 1 "2: one reconnect"
check "2: the pin of $SRV goes via B" route_via "$SRV" "$GW_B" veth-c2
check "2: $EXCL goes via B" route_via "$EXCL" "$GW_B" veth-c2
check "2: the state file records the pin via B" recorded "$SRV/32" "$GW_B"
check "2: the state file records the exclude via B" recorded "$EXCL" "$GW_B"
check "2: the log names the new path" grep -q "path to the server changed: now via $GW_B" "$TMP/$NAME.log"
peer=$(json_get "$TMP/$NAME.status" peer_addr)
check "2: a ping through the tunnel" in_c ping -c 1 -W 5 "$peer"

# ---- 3. route del of the exclude ---------------------------------------------
check "3: route del $EXCL" ctl "$NAME" route del "$EXCL"
check "3: $EXCL has no route of sshtun's any more" \
	eval '[ -z "$(ip -n "$NS_C" route show "$EXCL" proto 77)" ]'
check "3: and no record in the state file" eval '! grep -q "^pin $EXCL " "$STATE"'
if out=$(ctl "$NAME" route del "$EXCL" 2>&1); then
	not_ok "3: a second route del $EXCL fails"
else
	ok "3: a second route del $EXCL fails ($out)"
fi
check "3: quit" ctl "$NAME" quit
wait_exit "$(client_pid "$NAME")" 10
is "$EXIT_RC" 0 "3: exits with status 0"
check "3: no route of sshtun's protocol 77 left" \
	eval '[ -z "$(ip -n "$NS_C" route show proto 77)$(ip -n "$NS_C" -6 route show proto 77)" ]'
done_testing
