#!/bin/bash
# t_accounts.sh: leases belong to the SSH account (issue 12, finding 4).
#
# The helper runs as root here, started the way sudo starts it: SUDO_UID and
# SUDO_USER name the account (account.h).  Two accounts, alice and bob, share
# a pool of two pairs.
#
#   1. alice's helper dies while her client is stopped; the pool is full.
#      bob's new client is refused with "pool is full" and does not get her
#      pair; alice's client comes back to the same pair.
#   2. --max-sessions-per-user 1 (from serve.conf): alice's second client is
#      refused with its own message, bob is not held back by it.
#   3. The real thing: alice and bob log in as themselves and run the helper
#      with `sudo -n'.  The accounts exist only for a second sshd, in a
#      private mount namespace where /etc/passwd, shadow, group and sudoers
#      are bind-mounted copies; the real /etc is never touched.  sudo's own
#      SUDO_UID names each account; alice cannot set it to bob's.
. "$(dirname "$0")/lib.sh"

SERVE="$SSHTUN serve --pool 198.18.0.0/30 --pool6 2001:db8:77::/125 --lease-file $TMP/leases"
as() { echo "env SUDO_UID=$1 SUDO_USER=$2 $SERVE ${*:3}"; }
ALICE=4242001 BOB=4242002

exits() {
	if [ "$RC" = "$1" ]; then
		ok "$2: exit $RC"
	else
		not_ok "$2: exit $RC, want $1"
		diag "$MSG"
	fi
}
says() {
	if grep -qF -- "$1" <<<"$MSG"; then
		ok "$2"
	else
		not_ok "$2"
		diag "want: $1" "got:" "$MSG"
	fi
}
local_addr() { client_status "$1" && json_get "$TMP/$1.status" local_addr; }
# lease_field INDEX FIELD: a field (1-based) of the lease line of a pair.
lease_field() { awk -v i="$1" -v f="$2" '$1 == i { print $f }' "$TMP/leases"; }
lease_released() { [ "$(lease_field "$1" 3)" = 0 ]; }

check "network namespaces" netns_setup
SSHD_SUBSYSTEM='' check "sshd (no Subsystem line: the clients name the helper)" sshd_start
fail_fast

# ---- 1. a full pool keeps alice's pair for her ---------------------------

client_run a1 --remote-command "$(as $ALICE alice)" -o ServerAliveInterval=1 -o ServerAliveCountMax=2
check "alice's client comes up" client_wait_up a1
is "$(local_addr a1)" 198.18.0.1 "alice has pair 0"
client_run b1 --remote-command "$(as $BOB bob)"
check "bob's first client comes up" client_wait_up b1
is "$(local_addr b1)" 198.18.0.3 "bob has pair 1"
fail_fast

# Alice's link goes away while her client cannot notice: her helper dies
# without releasing (as after a kill -9 or a crash).
helper=$(lease_field 0 3)
kill -STOP "$(client_pid a1)"
kill -KILL "$helper"
check "alice's helper $helper is gone" wait_for 10 eval "! alive $helper"

TRY_TIMEOUT=15 client_try b2 --remote-command "$(as $BOB bob)"
exits 6 "bob's second client, pool full"
says "address pool 198.18.0.0/30 + 2001:db8:77::/125 is full: 2 pairs, 1 in use, 1 reserved" \
	"bob is told the pool is full, and why"
is "$(lease_field 0 5)" "$ALICE" "pair 0 is still alice's (her uid in the lease file)"
check "alice's grace time runs from when her helper was found dead" lease_released 0

kill -CONT "$(client_pid a1)"
check "alice's client comes back" wait_for 30 eval '[ "$(local_addr a1)" = 198.18.0.1 ]'
is "$(local_addr a1)" 198.18.0.1 "alice is back on pair 0"
is "$(local_addr b1)" 198.18.0.3 "bob still has pair 1"
kill_all "$(client_pid a1)" "$(client_pid b1)"
check "both leases released" wait_for 10 eval 'lease_released 0 && lease_released 1'

# ---- 2. sessions per account ---------------------------------------------

printf '# serve.conf\nmax-sessions-per-user 1\n' >"$TMP/serve.conf"
SERVE="$SSHTUN serve --config $TMP/serve.conf --pool 198.18.1.0/29 --pool6 none --lease-file $TMP/leases2"
client_run c1 --remote-command "$(as $ALICE alice)"
check "alice's first session comes up" client_wait_up c1
TRY_TIMEOUT=15 client_try c2 --remote-command "$(as $ALICE alice)"
exits 6 "alice's second session"
says "account alice already has 1 session, the most allowed (serve --max-sessions-per-user 1)" \
	"alice is told about the cap, not about the pool"
client_run c3 --remote-command "$(as $BOB bob)"
check "bob's session still comes up" client_wait_up c3
client_run c4 --remote-command "$(as $ALICE alice) --max-sessions-per-user 2"
check "--max-sessions-per-user 2 on the command line beats serve.conf" client_wait_up c4
kill_all "$(client_pid c1)" "$(client_pid c3)" "$(client_pid c4)"

# ---- 3. through sudo, as real logins --------------------------------------

ETC=$TMP/etc
mkdir -p "$ETC" "$TMP/h-alice" "$TMP/h-bob"
chmod 711 "$TMP"	# sshd reads authorized_keys as the user
chown $ALICE:$ALICE "$TMP/h-alice"
chown $BOB:$BOB "$TMP/h-bob"
{ cat /etc/passwd
  echo "alice:x:$ALICE:$ALICE::$TMP/h-alice:/bin/sh"
  echo "bob:x:$BOB:$BOB::$TMP/h-bob:/bin/sh"; } >"$ETC/passwd"
{ cat /etc/shadow; echo "alice:*:19000:0:99999:7:::"; echo "bob:*:19000:0:99999:7:::"; } >"$ETC/shadow"
{ cat /etc/group; echo "alice:x:$ALICE:"; echo "bob:x:$BOB:"; } >"$ETC/group"
chmod 644 "$ETC/passwd" "$ETC/group"
chmod 640 "$ETC/shadow"
SERVE3="$SSHTUN serve --pool 198.18.2.0/29 --pool6 none --lease-file $TMP/leases3"
cat >"$ETC/sudoers" <<EOS
Defaults env_reset
Defaults !use_pty
root ALL=(ALL:ALL) ALL
alice,bob ALL=(root) NOPASSWD: $SERVE3
EOS
chmod 440 "$ETC/sudoers"
cat >"$TMP/sshd-private.sh" <<'EOS'
#!/bin/sh
# sshd in a mount namespace of its own, with the test's accounts.
exec unshare -m --propagation private sh -c '
	for f in passwd shadow group sudoers; do
		mount --bind "$0/$f" "/etc/$f" || exit 1
	done
	exec /usr/sbin/sshd "$@"' "$ETC" "$@"
EOS
sed -i "s|\$ETC|$ETC|" "$TMP/sshd-private.sh"
chmod 755 "$TMP/sshd-private.sh"
SSHD=$TMP/sshd-private.sh SSHD_PORT=2222 SSHD_SUBSYSTEM='' \
	check "sshd with alice and bob (private mount namespace)" sshd_start
check "alice is unknown outside it" eval '! getent passwd alice | grep -q ":$ALICE:"'
fail_fast

TARGET=alice@$S_ADDR client_run s1 -p 2222 --remote-command "sudo -n $SERVE3"
check "alice logs in as herself and her helper runs through sudo" client_wait_up s1
TARGET=bob@$S_ADDR client_run s2 -p 2222 --remote-command "sudo -n $SERVE3"
check "bob too" client_wait_up s2
is "$(awk '{ print $5 }' "$TMP/leases3" | sort | tr '\n' ' ')" "$ALICE $BOB " \
	"the lease file holds one lease of each account (SUDO_UID, as sudo set it)"
check "sshd logged alice in as alice" grep -q "Accepted publickey for alice " "$TMP/sshd.2222.log"
TARGET=alice@$S_ADDR TRY_TIMEOUT=15 client_try s3 -p 2222 \
	--remote-command "sudo -n SUDO_UID=$BOB $SERVE3"
exits 6 "alice setting SUDO_UID to bob's"
says "not allowed to set" "sudo refuses it"
kill_all "$(client_pid s1)" "$(client_pid s2)"

done_testing
