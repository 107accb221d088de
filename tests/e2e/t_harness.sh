#!/bin/bash
# t_harness.sh: the harness itself, proven with the stock OpenSSH client:
# namespaces, sshd with our config and keys, known_hosts, Subsystem lines,
# the small helpers, and that cleanup leaves nothing behind.
. "$(dirname "$0")/lib.sh"

# ssh_c [ssh args...]: stock ssh from the client namespace, nothing from
# ~/.ssh, /etc/ssh/ssh_config or an agent.
ssh_c() {
	in_c env -u SSH_AUTH_SOCK ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
		-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5 "$@"
}

# fails_with WORDS cmd...: cmd fails and its output contains WORDS.
fails_with() {
	local want=$1 out
	shift
	out=$("$@" 2>&1) && { echo "unexpected success: $out"; return 1; }
	echo "$out"
	grep -qi -- "$want" <<<"$out"
}

not_in_root_ns() { ! ip link show "$1" >/dev/null 2>&1; }

# -- helpers ----------------------------------------------------------------
t0=$(now_ms)
wait_for 0.5 false
dt=$(($(now_ms) - t0))
check "wait_for gives up at its deadline (${dt} ms)" test "$dt" -ge 450 -a "$dt" -lt 2000
t0=$(now_ms)
wait_for 5 true
dt=$(($(now_ms) - t0))
check "wait_for returns as soon as the condition holds (${dt} ms)" test "$dt" -lt 1000
is "$(json_get '{"a": {"b": [1, "x"]}, "s": "up"}' a.b.1)" x "json_get follows a dotted path"
is "$(json_get '{"n": 3, "l": ["198.18.0.0/24"]}' l)" '["198.18.0.0/24"]' "json_get prints non-strings as JSON"
check "json_get fails on a missing key" fails_with "json_get" json_get '{"a": 1}' b
check "json_get fails on invalid JSON" fails_with "json_get" json_get '{"a": 1' a

# -- namespaces ---------------------------------------------------------------
check "namespaces $NS_S and $NS_C with a veth pair" netns_setup
fail_fast "no namespaces"
check "the veth ends are not in the root namespace" not_in_root_ns veth-s
check "client pings server over the veth (IPv4)" in_c ping -c 1 -W 2 "$S_ADDR"
check "client pings server over the veth (IPv6)" in_c ping -6 -c 1 -W 2 "$S_ADDR6"

# -- sshd ---------------------------------------------------------------------
check "sshd starts and listens on port 22" sshd_start
fail_fast "no sshd"
is "$(ip netns identify "$SSHD_PID")" "$NS_S" "sshd runs in the server namespace"
is "$(cat "$TMP/sshd.22.pid" 2>/dev/null)" "$SSHD_PID" "the recorded pid is sshd's own"
check "the sshtun Subsystem line points at $SSHTUN" \
	grep -qx "Subsystem sshtun $SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases" \
	"$TMP/sshd_config.22"

check "ssh logs in with the client key, host key checked (IPv4)" \
	ssh_c -i "$TMP/client_key" -o UserKnownHostsFile="$TMP/known_hosts" \
	-o StrictHostKeyChecking=yes root@"$S_ADDR" true
check "ssh logs in with the client key, host key checked (IPv6)" \
	ssh_c -i "$TMP/client_key" -o UserKnownHostsFile="$TMP/known_hosts" \
	-o StrictHostKeyChecking=yes root@"$S_ADDR6" true

ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_host_key"
known_hosts_lines "$TMP/other_host_key.pub" >"$TMP/known_hosts_changed"
check "a changed host key makes ssh fail" \
	fails_with "HOST IDENTIFICATION HAS CHANGED" \
	ssh_c -i "$TMP/client_key" -o UserKnownHostsFile="$TMP/known_hosts_changed" \
	-o StrictHostKeyChecking=yes root@"$S_ADDR" true
: >"$TMP/known_hosts_empty"
check "an unknown host key makes ssh fail" \
	fails_with "Host key verification failed" \
	ssh_c -i "$TMP/client_key" -o UserKnownHostsFile="$TMP/known_hosts_empty" \
	-o StrictHostKeyChecking=yes root@"$S_ADDR" true
ssh-keygen -q -t ed25519 -N '' -f "$TMP/stranger_key"
check "a key not in authorized_keys is refused" \
	fails_with "Permission denied" \
	ssh_c -i "$TMP/stranger_key" -o UserKnownHostsFile="$TMP/known_hosts" \
	-o StrictHostKeyChecking=yes root@"$S_ADDR" true

# A second sshd on another port, with a Subsystem of our choosing: what the
# tests of bad servers build on.  Its [host]:port known_hosts line must work.
printf '#!/bin/sh\necho hello-from-subsystem\n' >"$TMP/fake_subsys.sh"
SSHD_PORT=2201 SSHD_SUBSYSTEM="/bin/sh $TMP/fake_subsys.sh" \
	check "a second sshd on port 2201 with a fake Subsystem" sshd_start
out=$(ssh_c -i "$TMP/client_key" -o UserKnownHostsFile="$TMP/known_hosts" \
	-o StrictHostKeyChecking=yes -p 2201 -s root@"$S_ADDR" sshtun 2>&1)
is "$out" "hello-from-subsystem" "ssh -s sshtun on port 2201 reaches the fake helper"
SSHD_PORT=2202 SSHD_SUBSYSTEM='' \
	check "a third sshd on port 2202 without a Subsystem line" sshd_start
check "the sshtun subsystem request is refused there" \
	fails_with "subsystem request failed" \
	ssh_c -i "$TMP/client_key" -o UserKnownHostsFile="$TMP/known_hosts" \
	-o StrictHostKeyChecking=yes -p 2202 -s root@"$S_ADDR" sshtun

# -- cleanup --------------------------------------------------------------------
# A nested test sets up namespaces and an sshd, then ends one of three ways;
# each time, nothing of it may remain.
INNER='. "$1"; netns_setup && sshd_start || exit 3
	echo "$NS_S $NS_C $SSHD_PID $TMP" >"$2"
	case $3 in fail) exit 1 ;; term) wait_for 60 false ;; esac'
inner() { bash -c "$INNER" inner "$TESTS_DIR/e2e/lib.sh" "$TMP/inner.$1" "$1"; }
left_nothing() {
	local ns_s ns_c pid dir
	read -r ns_s ns_c pid dir <"$TMP/inner.$1" || return 1
	! ns_exists "$ns_s" && ! ns_exists "$ns_c" && ! alive "$pid" &&
		[ ! -e "$dir" ] && ! pgrep -f "$dir" >/dev/null
}
for how in pass fail term; do
	if [ $how = term ]; then
		bg_run "inner.$how" bash -c "$INNER" inner "$TESTS_DIR/e2e/lib.sh" "$TMP/inner.$how" $how
		pid=$(cat "$TMP/inner.$how.pid")
		wait_for 20 test -s "$TMP/inner.$how"
		kill -TERM "$pid"
		wait_exit "$pid" 20
	else
		inner $how >"$TMP/inner.$how.log" 2>&1
	fi
	check "cleanup after a test that ends by $how: no namespaces, no sshd, no files" \
		left_nothing $how
done

done_testing
