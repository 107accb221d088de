#!/bin/bash
# t_nat.sh: what `serve --nat` lets through (issue 12, finding 5), and the
# helper's own files (finding 7).  Two clients, each in its own namespace,
# an uplink with a host behind it, and a second server-side network that is
# not the uplink:
#
#   client ns  --veth-c/veth-s--    server ns  --veth-su/veth-u--  uplink ns
#   198.51.100.2    198.51.100.1                203.0.113.1  .10  (default route)
#   client2 ns --veth-c2/veth-s2--              2001:db8:203::1 ::10
#   198.19.0.2      198.19.0.1                 --veth-sp/veth-p--  private ns
#                                               198.18.200.1 .10  (not the uplink)
#
# The uplink and private hosts both route the pool back to the server, so
# only the forward chain decides what passes.
#
#   1. default: clients reach the uplink host (masqueraded), not the private
#      host, not each other; the private host cannot reach a client, the
#      uplink host can; accept_ra on the uplink is 2 while up
#   2. every forwarding and accept_ra sysctl restored exactly, table gone
#   3. client-to-client (in serve.conf): the clients reach each other
#   4. lease directory open to others, planted symlinks: refused by name
#   5. (in 1) a compromised worker: datagrams written straight into its TUN
#      with a source not its client's (another client's, an uplink
#      neighbour's) never leave the server; its client's own do
. "$(dirname "$0")/lib.sh"

NS_C2=sshtun-c2-$$
NS_U=sshtun-u-$$
NS_P=sshtun-p-$$
S2_ADDR=198.19.0.1
C2_ADDR=198.19.0.2
UP=203.0.113.10
UP_GW=203.0.113.1
UP6=2001:db8:203::10
UP_GW6=2001:db8:203::1
PRIV=198.18.200.10
PRIV_GW=198.18.200.1
EXTRA_UP=0
SERVE="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases --nat"

extra_cleanup() {
	local ns
	[ "$EXTRA_UP" = 1 ] || return 0
	for ns in "$NS_C2" "$NS_U" "$NS_P"; do
		if ns_exists "$ns"; then
			# shellcheck disable=SC2046 # a list of pids
			kill_all $(ip netns pids "$ns" 2>/dev/null)
			ip netns del "$ns"
		fi
	done
}
trap 'cleanup $?; extra_cleanup' EXIT

# veth_to NS SERVER_IF PEER_IF SERVER_ADDR/PLEN PEER_ADDR/PLEN
veth_to() {
	ip netns add "$1" || return 1
	EXTRA_UP=1
	ip -n "$NS_S" link add "$2" type veth peer name "$3" netns "$1" || return 1
	ip -n "$1" link set lo up
	ip -n "$NS_S" addr add "$4" dev "$2"
	ip -n "$1" addr add "$5" dev "$3"
	ip -n "$NS_S" link set "$2" up
	ip -n "$1" link set "$3" up
}

extra_setup() {
	veth_to "$NS_C2" veth-s2 veth-c2 "$S2_ADDR/24" "$C2_ADDR/24" || return 1
	veth_to "$NS_U" veth-su veth-u "$UP_GW/24" "$UP/24" || return 1
	veth_to "$NS_P" veth-sp veth-p "$PRIV_GW/24" "$PRIV/24" || return 1
	ip -n "$NS_S" addr add "$UP_GW6/64" dev veth-su nodad
	ip -n "$NS_U" addr add "$UP6/64" dev veth-u nodad
	ip -n "$NS_S" route add default via "$UP" dev veth-su
	ip -n "$NS_S" -6 route add default via "$UP6" dev veth-su
	ip -n "$NS_U" route add "$POOL4" via "$UP_GW"
	ip -n "$NS_P" route add "$POOL4" via "$PRIV_GW"
	# Forwarding settings that differ per interface, to be restored exactly.
	in_s sysctl -qw net.ipv4.conf.veth-sp.forwarding=1 net.ipv6.conf.veth-sp.forwarding=1
}

in_c2() { ip netns exec "$NS_C2" "$@"; }

# client2_run NAME [args]: like client_run, in the second client namespace.
client2_run() {
	local name=$1
	TARGET=root@$S2_ADDR client_argv "$@"
	echo "$ ${CLIENT_ARGV[*]}" >"$TMP/$name.log"
	in_c2 "${CLIENT_ARGV[@]}" >>"$TMP/$name.log" 2>&1 </dev/null &
	PIDS+=($!)
	echo $! >"$TMP/$name.pid"
}

# up RUN NAME [args]: start a client (RUN: client_run or client2_run), wait
# for "up"; sets LOCAL and IF.
up() {
	local run=$1 name=$2
	shift
	"$run" "$@"
	LOCAL='' IF=''
	check "$name: tunnel up" client_wait_up "$name" || return 1
	LOCAL=$(json_get "$TMP/$name.status" local_addr)
	IF=$(json_get "$TMP/$name.status" ifname)
	diag "$name: $IF $LOCAL"
}

quit() {
	check "$1: ctl quit" ctl "$1" quit
	wait_exit "$(client_pid "$1")" 10
	is "$EXIT_RC" 0 "$1: exits 0 after quit"
}

# ping_ok NS ADDR / ping_no NS ADDR: one answer within 5 s / none in 2 s.
ping_ok() { wait_for 5 ip netns exec "$1" ping -c 1 -W 1 "$2"; }
ping_no() { ! ip netns exec "$1" ping -c 2 -i 0.5 -W 1 "$2"; }

# Every forwarding and accept_ra setting of the server namespace but those
# of the helpers' own TUNs.
sysctls() {
	in_s sh -c 'for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/forwarding \
		/proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv6/conf/*/accept_ra; do
		case $f in */sshtun*) continue ;; esac
		echo "$f $(cat "$f")"
	done'
}
sysctls_same() { sysctls >"$TMP/sysctl.after" && cmp -s "$TMP/sysctl.before" "$TMP/sysctl.after"; }
accept_ra() { in_s cat /proc/sys/net/ipv6/conf/veth-su/accept_ra; }
nat_table() { in_s nft list tables 2>/dev/null | grep -qx "table inet sshtun"; }
no_nat_table() { ! nat_table; }

# ---------------------------------------------------------------------------
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces (client, server)" netns_setup
check "second client, uplink and private namespaces" extra_setup
known_hosts_lines "$TMP/host_key.pub" | sed "s/^$S_ADDR /$S2_ADDR /" >>"$TMP/known_hosts"
known_hosts_lines "$TMP/host_key.pub" 2222 | sed "s/^\[$S_ADDR\]/[$S2_ADDR]/" >>"$TMP/known_hosts"
SSHD_SUBSYSTEM=$SERVE check "sshd (serve --nat)" sshd_start
# The same options as serve.conf keys.
printf '%s\n' "client-to-client yes" "nat-out veth-su" >"$TMP/serve.conf"
SSHD_PORT=2222 SSHD_SUBSYSTEM="$SERVE --config $TMP/serve.conf" \
	check "sshd on 2222 (serve --nat, serve.conf: client-to-client yes, nat-out veth-su)" sshd_start
sysctls >"$TMP/sysctl.before"
is "$(accept_ra)" 1 "server ns: accept_ra on the uplink veth-su is 1 before"
is "$(in_s cat /proc/sys/net/ipv4/ip_forward)" 0 "server ns: ip_forward is 0 before"
check "server ns: no nft table inet sshtun before" no_nat_table
fail_fast "setup failed"

# ---- 1. what passes by default ---------------------------------------------
up client_run n1 -r 203.0.113.0/24 -r 198.18.200.0/24
C1=$LOCAL
up client2_run n2 -r 203.0.113.0/24
C2=$LOCAL
fail_fast "the tunnels did not come up"
check "table inet sshtun has a forward chain" eval 'in_s nft list table inet sshtun | grep -q "hook forward"'
check "n1 reaches the uplink host $UP" ping_ok "$NS_C" "$UP"
check "n2 reaches the uplink host $UP" ping_ok "$NS_C2" "$UP"
check "n1 cannot reach the private host $PRIV (not the uplink)" ping_no "$NS_C" "$PRIV"
check "n1: ctl route add $C2/32" ctl n1 route add "$C2/32"
check "n2: ctl route add $C1/32" ctl n2 route add "$C1/32"
check "client to client: n1 cannot ping n2 ($C2)" ping_no "$NS_C" "$C2"
check "client to client: n2 cannot ping n1 ($C1)" ping_no "$NS_C2" "$C1"
check "the private host cannot reach n1 ($C1)" ping_no "$NS_P" "$C1"
check "the uplink host reaches n1 ($C1): routed to it" ping_ok "$NS_U" "$C1"
is "$(accept_ra)" 2 "server ns: accept_ra on the uplink is 2 while IPv6 forwarding is on"

# A worker that a hostile client owns writes what it likes into its TUN; its
# source check in code is then gone, and only the kernel's can stop it.
# tun_inject.py takes n1's worker's TUN descriptor and writes through it.
bg_run sink ip netns exec "$NS_U" "$PYTHON" "$REPO/tests/e2e/udp_sink.py" 5555 "$TMP/sink.out"
check "uplink host: UDP sink listening" wait_for 5 test -e "$TMP/sink.out.ready"
C1_6=$(json_get "$TMP/n1.status" local_addr6)
SIF=$(in_s ip -o route get "$C1" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
diag "n1's server-side TUN: $SIF; its client addresses $C1 $C1_6"
inject() { in_s "$PYTHON" "$REPO/tests/e2e/tun_inject.py" "$SIF" "$@" >>"$TMP/inject.log" 2>&1; }
check "worker's TUN: a datagram from n2's address $C2" inject "$C2" "$UP" 5555 spoof-client
check "worker's TUN: a datagram from an uplink neighbour" inject 2001:db8:203::99 "$UP6" 5555 spoof-uplink6
check "worker's TUN: a datagram from the private host" inject "$PRIV" "$UP" 5555 spoof-private
check "worker's TUN: a datagram from n1's own $C1" inject "$C1" "$UP" 5555 own4
check "worker's TUN: a datagram from n1's own $C1_6" inject "$C1_6" "$UP6" 5555 own6
WPID=$(head -n 1 "$TMP/inject.log")
is "$(awk '/^Uid:/ { print $2 }' "/proc/$WPID/status" 2>/dev/null)" "$(id -u nobody)" \
	"the descriptor came from n1's worker (pid $WPID, uid nobody)"
check "uplink host: n1's own datagrams arrive" wait_for 5 eval 'grep -q " own4$" "$TMP/sink.out" && grep -q " own6$" "$TMP/sink.out"'
# Sent first, on the same path: had they passed, they would be there by now.
if ! check "uplink host: no spoofed datagram arrived" eval '! grep -q " spoof" "$TMP/sink.out"'; then
	sed 's/^/#   /' "$TMP/sink.out"
fi
kill_all "$(cat "$TMP/sink.pid")"
is "$(in_s cat /proc/sys/net/ipv6/conf/all/forwarding)" 1 "server ns: IPv6 forwarding on while up"
quit n1
check "n1 gone: the table stays while n2 is up" nat_table
quit n2

# ---- 2. everything back ------------------------------------------------------
check "all gone: table inet sshtun removed" wait_for 10 no_nat_table
if ! check "all gone: every forwarding and accept_ra sysctl as before" wait_for 5 sysctls_same; then
	diff "$TMP/sysctl.before" "$TMP/sysctl.after" | sed 's/^/#   /'
fi

# ---- 3. client-to-client --------------------------------------------------
up client_run m1 -p 2222
C1=$LOCAL
up client2_run m2 -p 2222
C2=$LOCAL
check "m1: ctl route add $C2/32" ctl m1 route add "$C2/32"
check "m2: ctl route add $C1/32" ctl m2 route add "$C1/32"
check "client-to-client: m1 pings m2 ($C2)" ping_ok "$NS_C" "$C2"
check "client-to-client: the private host still cannot reach m1" ping_no "$NS_P" "$C1"
quit m1
quit m2
check "all gone: table removed" wait_for 10 no_nat_table
check "all gone: sysctls as before" wait_for 5 sysctls_same

# ---- 4. the helper's files -----------------------------------------------------
# refused NAME PORT WHAT: the client is refused (exit 6) with a message naming WHAT.
refused() {
	SSHD_PORT=$2 client_try "$1" -p "$2"
	is "$RC" 6 "$1: refused (exit 6)"
	check "$1: the message names $3" grep -qF -- "$3" "$TMP/$1.log"
}
mkdir -m 1777 "$TMP/ww"
SSHD_PORT=2223 SSHD_SUBSYSTEM="$SSHTUN serve --pool $POOL4 --lease-file $TMP/ww/leases --nat" \
	check "sshd on 2223 (lease file in a world-writable directory)" sshd_start
refused ww 2223 "$TMP/ww"
check "ww: nothing written there" test -z "$(ls -A "$TMP/ww")"

mkdir -m 700 "$TMP/sym"
ln -s "$TMP/victim-lock" "$TMP/sym/leases.natlock"
SSHD_PORT=2224 SSHD_SUBSYSTEM="$SSHTUN serve --pool $POOL4 --lease-file $TMP/sym/leases --nat" \
	check "sshd on 2224 (NAT lock file is a planted symlink)" sshd_start
refused symlock 2224 "$TMP/sym/leases.natlock"
check "symlock: the symlink's target was not created" test ! -e "$TMP/victim-lock"

echo precious >"$TMP/victim-leases"
rm -f "$TMP/sym/leases.natlock" "$TMP/sym/leases"
ln -s "$TMP/victim-leases" "$TMP/sym/leases"
refused symleases 2224 "$TMP/sym/leases"
is "$(cat "$TMP/victim-leases")" precious "symleases: the symlink's target is untouched"
SSHD_PORT=2225 SSHD_SUBSYSTEM="$SERVE --client-to-client --nat-out nosuch0" \
	check "sshd on 2225 (serve --nat --client-to-client --nat-out nosuch0)" sshd_start
refused nosuch 2225 "--nat-out nosuch0: no such interface"
check "no table left behind" no_nat_table
check "sysctls as before" sysctls_same

done_testing
