#!/bin/bash
# t_join.sh: the helper's side of --connections (issue 17), without the
# real client: join_client.py speaks the protocol over ssh to `sshtun serve'
# (as root, the account named by SUDO_UID as sudo would: t_accounts.sh),
# with --nat.
#
#   1. conns=2 gets join=TOKEN; a second session with join=TOKEN gets the
#      same pair and the token again; the server has ONE sshtun device, with
#      2 queues; the group record holds no token.
#   2. A wrong token, another account, and a join to a group that is gone are
#      refused with an ERROR frame with the NOJOIN flag (0x08) and one line
#      naming what did not match; the group is unharmed.
#   3. The first session ends: the others' queues still carry packets (echo
#      replies), the lease stays live (held by another's helper), NAT stays;
#      then that helper is killed (-9, no release): the last one's queue
#      still carries packets.
#   4. A fresh request (no join=) of the client stops the group's helpers
#      and gets the pair with a new token; when it ends, the pair is
#      released, NAT and the device go.
#   5. --userspace: no join= for conns=2, a join refused with NOJOIN.
#   6. conn=K: a join of connection 1 while the group's old helper of
#      connection 1 lives stops that helper first (same queue count); CONTROL
#      lost=1 over connection 0 stops connection 1's helper (its queue
#      leaves the device), connection 0 goes on; lost=0 (itself), lost=9,
#      lost=x are ignored with a log line; another client's group (same
#      account) is never touched.
. "$(dirname "$0")/lib.sh"

SERVE="$SSHTUN serve --pool 198.18.0.0/28 --pool6 2001:db8:77::/64 --lease-file $TMP/leases --nat --nat-out veth-s"
ALICE=4242001 BOB=4242002
ID=0123456789abcdef0123456789abcdef
as() { echo "env SUDO_UID=$1 SUDO_USER=$2 $SERVE ${*:3}"; }

# fake NAME SUDO_UID USER [KEY=VALUE...]: a join_client.py in the client
# namespace; its files are $TMP/NAME.{hello,error,replies,log}.
fake() {
	local name=$1 uid=$2 user=$3
	shift 3
	bg_run "$name" ip netns exec "$NS_C" env HOME="$TMP/home" "$PYTHON" \
		"$TESTS_DIR/e2e/join_client.py" "$TMP/$name" id=$ID "$@" -- \
		ssh -F /dev/null -T -i "$TMP/client_key" -o BatchMode=yes \
		-o UserKnownHostsFile="$TMP/known_hosts" -o StrictHostKeyChecking=yes \
		root@"$S_ADDR" "$(as "$uid" "$user" "${SERVE_EXTRA:-}")"
}
key() { sed -n "s/^$2=//p" "$TMP/$1.hello" 2>/dev/null; }
has_hello() { [ -s "$TMP/$1.hello" ]; }
has_error() { [ -s "$TMP/$1.error" ]; }
replies() { [ -f "$TMP/$1.replies" ] && wc -l <"$TMP/$1.replies" || echo 0; }
more_replies() { [ "$(replies "$1")" -gt "$2" ]; }
tun_devs() { ip -n "$NS_S" -o link show | awk -F': ' '$2 ~ /^sshtun/ { sub(/@.*/, "", $2); print $2 }'; }
numqueues() { ip -n "$NS_S" -d link show dev "$1" | sed -n 's/.*numqueues \([0-9]*\).*/\1/p'; }
queues_are() { [ "$(numqueues "$1")" = "$2" ]; }
nat_table() { in_s nft list tables 2>/dev/null | grep -qx "table inet sshtun"; }
lease_field() { awk -v i="$1" -v f="$2" '$1 == i { print $f }' "$TMP/leases"; }
refused_nojoin() {	# NAME WANT: NOJOIN and one line that says WANT
	local e
	e=$(cat "$TMP/$1.error" 2>/dev/null)
	if [[ $e == "flags=0x08 "* ]] && grep -qF -- "$2" <<<"$e" && [ "$(wc -l <<<"$e")" = 1 ] &&
	   ! grep -qF -- "$TOKEN" <<<"$e"; then
		ok "$1 refused with NOJOIN: ${e#flags=0x08 }"
	else
		not_ok "$1 refused with NOJOIN and \`$2'"
		diag "got: ${e:-nothing}" "log:" "$(cat "$TMP/$1.log")"
	fi
}

check "network namespaces" netns_setup
SSHD_SUBSYSTEM='' check "sshd" sshd_start
fail_fast

# ---- 1. a group of two -----------------------------------------------------

fake a "$ALICE" alice conns=2
check "first session: the server's hello" wait_for 20 has_hello a
TOKEN=$(key a join)
if [[ $TOKEN =~ ^[0-9a-f]{32}$ ]]; then ok "conns=2 answered with join=<32 hex>"; else
	not_ok "conns=2 answered with join=<32 hex> (got \`$TOKEN')"; diag "$(cat "$TMP/a.hello" "$TMP/a.log" 2>/dev/null)"; fi
fail_fast
PAIR=$(key a client4)
fake b "$ALICE" alice join="$TOKEN"
check "second session (join=): the server's hello" wait_for 20 has_hello b
is "$(key b client4) $(key b server4) $(key b client6)" "$PAIR $(key a server4) $(key a client6)" \
	"the join gets the same pair"
is "$(key b join)" "$TOKEN" "and join= again"
fake h "$ALICE" alice join="$TOKEN"
check "third session (join=): the server's hello" wait_for 20 has_hello h
is "$(key h client4)" "$PAIR" "the third gets the same pair"
devs=$(tun_devs)
is "$(wc -w <<<"$devs")" 1 "one sshtun device on the server ($devs)"
DEV=$(head -1 <<<"$devs")
check "$DEV has 3 queues" wait_for 5 queues_are "$DEV" 3
check "the group record has the token's hash, not the token" \
	eval "[ -s '$TMP/leases.groups' ] && ! grep -q '$TOKEN' '$TMP/leases.groups'"
is "$(stat -c %a "$TMP/leases.groups")" 600 "the group record is root's alone (0600)"
check "the queues carry packets (echo replies on a, b or h)" \
	wait_for 10 eval '[ $(( $(replies a) + $(replies b) + $(replies h) )) -gt 0 ]'
fail_fast

# ---- 2. joins that are refused ------------------------------------------------

BAD=${TOKEN:0:31}$(tr 0-9a-f 1-9a-f0 <<<"${TOKEN:31}")
fake c "$ALICE" alice join="$BAD"
check "wrong token: an ERROR" wait_for 20 has_error c
refused_nojoin c "the join token does not match client $ID's group"
fake d "$BOB" bob join="$TOKEN"
check "another account: an ERROR" wait_for 20 has_error d
refused_nojoin d "no connection group of client $ID for account bob"
fake e "$ALICE" alice join="$TOKEN" id=fedcba9876543210fedcba9876543210
check "another client id: an ERROR" wait_for 20 has_error e
refused_nojoin e "no connection group of client fedcba9876543210fedcba9876543210 for account alice"
is "$(numqueues "$DEV")" 3 "the group is unharmed: still 3 queues"

# ---- 3. the first session ends ----------------------------------------------

holder=$(lease_field 0 3)
kill_all "$(cat "$TMP/a.pid")"
check "a's helper $holder is gone" wait_for 10 eval "! alive $holder"
check "$DEV is down to 2 queues" wait_for 10 queues_are "$DEV" 2
check "the lease passed to another helper, live" \
	eval '[ "$(lease_field 0 3)" != 0 ] && [ "$(lease_field 0 3)" != "$holder" ] && alive "$(lease_field 0 3)"'
check "NAT stays while others are up" nat_table
# The new holder dies without a word (its session with it).
holder=$(lease_field 0 3)
kill -KILL "$holder"
check "that helper $holder is gone" wait_for 10 eval "! alive $holder"
check "$DEV is down to 1 queue" wait_for 10 queues_are "$DEV" 1
check "its session ended" wait_for 10 eval '! alive $(cat "$TMP/b.pid") || ! alive $(cat "$TMP/h.pid")'
for last in b h; do alive "$(cat "$TMP/$last.pid")" && break; done
n=$(replies $last)
check "the last session's ($last) queue still carries packets" wait_for 10 more_replies $last "$n"
check "NAT stays" nat_table

# ---- 4. a fresh request takes over -------------------------------------------

bpid=$(cat "$TMP/$last.pid")
member=
for p in $(awk '{ print $8 }' "$TMP/leases.groups" | tr , '\n' | cut -d: -f1); do
	alive "$p" && member=$p
done
fake f "$ALICE" alice conns=2
check "a fresh request: the server's hello" wait_for 20 has_hello f
is "$(key f client4)" "$PAIR" "the fresh request gets the pair back"
check "with a new token" eval '[ -n "$(key f join)" ] && [ "$(key f join)" != "$TOKEN" ]'
check "the group's last helper ($member) was stopped" wait_for 10 eval "[ -n '$member' ] && ! alive $member"
check "$last's session ended" wait_for 10 eval "! alive $bpid"
fake g "$ALICE" alice join="$TOKEN"
check "the old token: an ERROR" wait_for 20 has_error g
refused_nojoin g "the join token does not match"
fpid=$(lease_field 0 3)
kill_all "$(cat "$TMP/f.pid")"
check "f's helper is gone" wait_for 10 eval "! alive $fpid"
check "the pair is released" wait_for 10 eval '[ "$(lease_field 0 3)" = 0 ]'
check "NAT is gone with the last session" wait_for 10 eval '! nat_table'
check "no sshtun device left" wait_for 10 eval '[ -z "$(tun_devs)" ]'
check "no group left" eval "[ ! -e '$TMP/leases.groups' ]"

# ---- 5. user-space mode takes one connection -----------------------------------

SERVE_EXTRA=--userspace fake u "$ALICE" alice conns=2
check "--userspace: the server's hello" wait_for 20 has_hello u
is "$(key u stack) join=$(key u join)" "userspace join=" "--userspace answers conns=2 without join="
SERVE_EXTRA=--userspace fake v "$ALICE" alice join="$TOKEN"
check "--userspace join: an ERROR" wait_for 20 has_error v
refused_nojoin v "user-space mode takes one connection per client"
kill_all "$(cat "$TMP/u.pid")"

# ---- 6. conn=K: a connection that comes back, and lost=K ------------------------

IDP=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa IDQ=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
group_field() { awk -v id="$1" -v f="$2" '$3 == id { print $f }' "$TMP/leases.groups" 2>/dev/null; }
members() { group_field "$1" 8 | tr , '\n' | cut -d: -f1; }
# new_member ID BEFORE: the member of ID's group that is not in BEFORE
new_member() { comm -13 <(sort <<<"$2") <(members "$1" | sort) | head -1; }
has_new_member() { [ -n "$(new_member "$1" "$2")" ]; }
control() { echo "$2" >"$TMP/$1.control.tmp" && mv "$TMP/$1.control.tmp" "$TMP/$1.control"; }
sent() { [ -e "$TMP/$1.control.sent" ] && [ ! -e "$TMP/$1.control" ]; }
logged() { grep -qF -- "$2" "$TMP/$1.log"; }

fake p0 "$ALICE" alice id=$IDP conns=2 conn=0
check "P's first connection (conn=0): the server's hello" wait_for 20 has_hello p0
TOKP=$(key p0 join)
PDEV=$(group_field $IDP 5)
before=$(members $IDP)
fake p1 "$ALICE" alice id=$IDP join="$TOKP" conn=1
check "P's connection 1 joins" wait_for 20 has_hello p1
check "... and is a member" wait_for 5 has_new_member $IDP "$before"
M1=$(new_member $IDP "$before")
check "$PDEV has 2 queues" wait_for 5 queues_are "$PDEV" 2
# Connection 1 comes back (its old link half-open: the old helper lives).
before=$(members $IDP)
fake p1b "$ALICE" alice id=$IDP join="$TOKP" conn=1
check "P's connection 1 joins again" wait_for 20 has_hello p1b
check "the old helper of connection 1 ($M1) is stopped" wait_for 10 eval "! alive $M1"
check "its session ended" wait_for 10 eval "! alive $(cat "$TMP/p1.pid")"
check "$PDEV has 2 queues still" wait_for 10 queues_are "$PDEV" 2
is "$(key p1b client4)" "$(key p0 client4)" "the rejoin has the same pair"
M1=$(new_member $IDP "$before")
check "the new helper of connection 1 is a member ($M1)" eval "[ -n '$M1' ] && alive $M1"
n=$(replies p1b)
check "the new connection 1 carries packets" wait_for 10 more_replies p1b "$n"

# Another client of the same account, with a connection 1 of its own.
fake q0 "$ALICE" alice id=$IDQ conns=2 conn=0
check "Q's first connection: the server's hello" wait_for 20 has_hello q0
QDEV=$(group_field $IDQ 5)
before=$(members $IDQ)
fake q1 "$ALICE" alice id=$IDQ join="$(key q0 join)" conn=1
check "Q's connection 1 joins" wait_for 20 has_hello q1
check "... and is a member" wait_for 5 has_new_member $IDQ "$before"
Q1=$(new_member $IDQ "$before")
check "$QDEV has 2 queues" wait_for 5 queues_are "$QDEV" 2

P0=$(lease_field "$(awk -v id=$IDP '$2 == id { print $1 }' "$TMP/leases")" 3)
control p0 "lost=0"
check "lost=0 sent over P's connection 0" wait_for 10 sent p0
check "lost=0 (itself) ignored with a log line" wait_for 10 logged p0 "lost=0 ignored: that is this connection"
rm -f "$TMP/p0.control.sent"
control p0 $'lost=9\nlost=x'
check "lost=9, lost=x sent" wait_for 10 sent p0
check "lost=9 ignored with a log line" wait_for 10 logged p0 "lost=9 ignored: not a connection (0..7)"
check "lost=x ignored with a log line" wait_for 10 logged p0 "lost=x ignored: not a connection"
check "P's connection 0 ($P0) and 1 ($M1) live on" eval "alive $P0 && alive $M1"
is "$(numqueues "$PDEV")" 2 "$PDEV still has 2 queues"
rm -f "$TMP/p0.control.sent"
control p0 "lost=1"
check "lost=1 sent over P's connection 0" wait_for 10 sent p0
check "P's connection 1's helper ($M1) is stopped" wait_for 10 eval "! alive $M1"
check "its queue left $PDEV (1 queue)" wait_for 10 queues_are "$PDEV" 1
check "one log line says so" wait_for 10 logged p0 "client $IDP lost its connection 1: stopping its helper $M1"
check "its session ended" wait_for 10 eval "! alive $(cat "$TMP/p1b.pid")"
n=$(replies p0)
check "P's connection 0 goes on (echo replies)" wait_for 10 more_replies p0 "$n"
check "Q's connection 1 ($Q1) is untouched" alive "$Q1"
is "$(numqueues "$QDEV")" 2 "$QDEV still has 2 queues"
kill_all "$(cat "$TMP/p0.pid")" "$(cat "$TMP/q0.pid")" "$(cat "$TMP/q1.pid")"

done_testing
