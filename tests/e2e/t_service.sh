#!/bin/bash
# t_service.sh: running as a service (issue 18).  `sshtun @NAME' reads
# $SSHTUN_CONF_DIR/NAME.conf (here a temp dir: /etc is never touched), the
# sd_notify protocol goes to a NOTIFY_SOCKET of the test's own
# (notify_listen.py), and JOURNAL_STREAM names the client's stderr, as
# systemd would for sshtun@NAME.service.
#
#   1. @svc comes up with the file's destination and options (a route)
#   2. READY=1 arrives once, and the instance was up when it did; STATUS= says up
#   3. log lines carry a journal priority (<6>), no "sshtun:" prefix
#   4. reconnect: STATUS=reconnecting, then up again without a second READY
#   5. SIGTERM (systemctl stop): STOPPING=1, exit 0, route and interface gone
#   6. bad instance files: missing, writable by others, no destination, a
#      name with a slash: exit 2, one line naming the file or the name
. "$(dirname "$0")/lib.sh"

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

CONF=$TMP/conf
mkdir -p "$CONF" && chmod 755 "$CONF"
cat >"$CONF/svc.conf" <<CFG
# the test's instance: one destination, options one per line
root@$S_ADDR
-i $TMP/client_key
-o UserKnownHostsFile=$TMP/known_hosts
-o StrictHostKeyChecking=yes
-S $TMP/svc.sock
-r 203.0.113.0/24
CFG
chmod 644 "$CONF/svc.conf"

NLOG=$TMP/notify.log
bg_run notify "$PYTHON" "$(dirname "$0")/notify_listen.py" "$TMP/notify.sock" "$NLOG" \
	ip netns exec "$NS_C" "$SSHTUN" ctl -S "$TMP/svc.sock" status --json
check "the notify listener is there" wait_for 10 test -S "$TMP/notify.sock"

: >"$TMP/svc.log"
JS=$(stat -c %d:%i "$TMP/svc.log")
bg_run svc ip netns exec "$NS_C" env -u SSH_AUTH_SOCK HOME="$TMP/home" SSHTUN_CONF_DIR="$CONF" \
	NOTIFY_SOCKET="$TMP/notify.sock" JOURNAL_STREAM="$JS" "$SSHTUN" @svc -N
SVC=$(cat "$TMP/svc.pid")
svc_up() { ctl svc status --json 2>/dev/null | grep -q '"state":"up"'; }
check "1: sshtun @svc comes up" wait_for 20 svc_up
fail_fast "@svc did not come up"
check "1: the file's route is in place" eval 'ip -n "$NS_C" route show 203.0.113.0/24 | grep -q "dev sshtun"'

ready() { grep -q "^AT_READY" "$NLOG"; }
check "2: READY=1 arrived" wait_for 10 ready
check "2: the instance was up when READY=1 came" grep -q '^AT_READY .*"state":"up"' "$NLOG"
check "2: with STATUS=up" grep -q '^DGRAM READY=1|STATUS=up' "$NLOG"
check "3: log lines carry a journal priority and no prefix" grep -q '^<6>tunnel up: sshtun' "$TMP/svc.log"
check "3: no line starts with sshtun:" eval '! grep -q "^sshtun:" "$TMP/svc.log"'

check "4: reconnect" ctl svc reconnect
check "4: STATUS=reconnecting" wait_for 10 grep -q '^DGRAM STATUS=reconnecting' "$NLOG"
check "4: up again" wait_for 20 svc_up
check "4: STATUS=up again" wait_for 5 eval '[ "$(grep -c "STATUS=up" "$NLOG")" -ge 2 ]'
is "$(grep -c 'READY=1' "$NLOG")" 1 "4: READY=1 was sent once"

kill -TERM "$SVC"
wait_exit "$SVC" 15
is "$EXIT_RC" 0 "5: SIGTERM: exit 0"
check "5: STOPPING=1" wait_for 5 grep -q '^DGRAM STOPPING=1' "$NLOG"
check "5: the route is gone" eval '[ -z "$(ip -n "$NS_C" route show 203.0.113.0/24)" ]'
check "5: no sshtun interface left" wait_for 5 eval '! ip -n "$NS_C" -o link show | grep -q ": sshtun"'

# bad NAME MESSAGE_PATTERN: sshtun @NAME fails with exit 2 and says so.
bad() {
	local out rc
	out=$(in_c timeout -k 5 20 env SSHTUN_CONF_DIR="$CONF" HOME="$TMP/home" "$SSHTUN" "@$1" -N 2>&1)
	rc=$?
	[ "$rc" = 2 ] && grep -qE -- "$2" <<<"$out" || { echo "exit $rc: $out"; return 1; }
}
check "6: a missing instance file" bad nope "no instance .nope.: cannot open $CONF/nope.conf"
cp "$CONF/svc.conf" "$CONF/open.conf" && chmod 666 "$CONF/open.conf"
check "6: a file others may write is refused" bad open "instance file $CONF/open.conf must belong to root or to you and be writable by nobody else"
grep -v "^root@" "$CONF/svc.conf" >"$CONF/nodest.conf"
check "6: a file without a destination" bad nodest "instance file $CONF/nodest.conf names no destination"
check "6: a name with a slash" bad ../etc "bad instance name"
# A file fine in itself, in a directory others may write to, or below one:
# they could put another file there.
mkdir -p "$TMP/shared/conf" && chmod 777 "$TMP/shared" && chmod 755 "$TMP/shared/conf"
cp -p "$CONF/svc.conf" "$TMP/shared/conf/svc.conf"
check "6: a directory above the file that others may write to is refused" \
	eval 'CONF=$TMP/shared/conf bad svc "instance file .*refusing $TMP/shared/conf: directory $TMP/shared above it has mode 0777"'
chmod 755 "$TMP/shared" && chmod 775 "$TMP/shared/conf"
check "6: a group-writable directory of the file is refused" \
	eval 'CONF=$TMP/shared/conf bad svc "refusing directory $TMP/shared/conf: mode 0775"'
done_testing
