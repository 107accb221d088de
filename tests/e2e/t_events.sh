#!/bin/bash
# t_events.sh: `sshtun ctl NAME events [--json]' (issue 18): a stream of
# state changes, reconnects, route changes and periodic counters, one JSON
# object a line, until the client closes it.
#
#   1. the stream starts with the current state (up)
#   2. route add / exclude / del, then reconnect: each shows, in order, with
#      the states the reconnect goes through back to up; counters come
#      (every 5 s) with the stats fields; every line is one JSON object
#   3. the watcher goes away (killed): the instance goes on answering
#   4. without --json: one readable line per event
. "$(dirname "$0")/lib.sh"

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

client_run ev
client_wait_up ev
check "the client is up" client_is_up ev
fail_fast "the client did not come up"

EV=$TMP/events.json
bg_run events ip netns exec "$NS_C" "$SSHTUN" ctl -S "$TMP/ev.sock" events --json
WATCHER=$(cat "$TMP/events.pid")
has() { grep -q "$1" "$TMP/events.log"; }
check "1: the stream starts with the current state" wait_for 10 has '"event":"state".*"state":"up"'

check "2: route add" ctl ev route add 203.0.113.0/24
check "2: route exclude" ctl ev route exclude 198.19.7.0/24
check "2: route del" ctl ev route del 203.0.113.0/24
check "2: reconnect" ctl ev reconnect
client_wait_up ev
check "2: up again" client_is_up ev
ncounters() { [ "$(grep -c '"event":"counters"' "$TMP/events.log")" -ge 2 ]; }
check "2: counters come again (every 5 s)" wait_for 12 ncounters
check "2: the up after the reconnect is in the stream" wait_for 5 eval \
	'[ "$(grep -c "\"state\":\"up\"" "$TMP/events.log")" -ge 2 ]'
cp "$TMP/events.log" "$EV"
check "2: every line one JSON object; route, reconnect and states in order; counters with stats fields" \
	"$PYTHON" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for e in ev:
    assert isinstance(e["time"], float) and e["event"], e
kinds = [(e["event"], e.get("action") or e.get("state") or "") for e in ev if e["event"] != "counters"]
want = [("state", "up"), ("route", "add"), ("route", "exclude"), ("route", "del"), ("state", "reconnecting"),
        ("reconnect", ""), ("state", "connecting"), ("state", "up")]
pos = 0
for k in kinds:
    if pos < len(want) and k == want[pos]:
        pos += 1
assert pos == len(want), (kinds, want[pos])
routes = [e["cidr"] for e in ev if e["event"] == "route"]
assert routes == ["203.0.113.0/24", "198.19.7.0/24", "203.0.113.0/24"], routes
rc = [e for e in ev if e["event"] == "reconnect"][0]
assert rc["reconnects"] == 1, rc
c = [e for e in ev if e["event"] == "counters"][-1]
for f in ("tx_packets", "rx_bytes", "tx_rate_bps", "reconnects", "uptime_s"):
    assert f in c, (f, c)
' "$EV"

kill "$WATCHER" 2>/dev/null
check "3: the watcher ends when killed" wait_exit "$WATCHER" 5
check "3: with the watcher gone, the instance still answers" ctl ev status --json

bg_run events_text ip netns exec "$NS_C" "$SSHTUN" ctl -S "$TMP/ev.sock" events
has_text() { grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2} state state=up detail=up$' "$TMP/events_text.log"; }
check "4: without --json: HH:MM:SS state state=up detail=up" wait_for 10 has_text
has_counters() { grep -qE '^[0-9:]{8} counters uptime=.* tx=.* rx=' "$TMP/events_text.log"; }
check "4: ... and HH:MM:SS counters uptime=... tx=... rx=..." wait_for 10 has_counters
kill "$(cat "$TMP/events_text.pid")" 2>/dev/null
check "quit" ctl ev quit
wait_exit "$(client_pid ev)" 10
is "$EXIT_RC" 0 "exits with status 0"
done_testing
