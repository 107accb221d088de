#!/bin/bash
# t_openssh.sh: zero-install mode (issue 7): sshtun over stock sshd's own
# tun@openssh.com channel, with no sshtun on the server at all (no Subsystem
# line, and a remote command that does not exist).
#
#   1. --openssh: up, mode "openssh", the server's tunN configured, ping both
#      ways over IPv4 and IPv6, 20 MB each way with matching sha256
#   2. without --openssh and no helper: falls back to it by itself
#   3. the sshd session killed: reconnects by itself, same addresses, same
#      ifindex, the server's tunN back, traffic flows
#   4. -o Compression=yes: reported as zlib@openssh.com, a transfer matches,
#      `ctl compress` refused
#   5. PermitTunnel no: exit 6 with sshd's reason
#   6. sshd without CAP_NET_ADMIN: exit 6 naming the failure
#   7. tun0 and tun1 taken on the server: the tunnel lands on tun2
#   8. ctl quit: exit 0, the interface gone on both sides
#
# Addresses are from documentation ranges only (-a on every client).
. "$(dirname "$0")/lib.sh"

# ---- helpers ----------------------------------------------------------------

has_addr() { ip -n "$1" -o addr show dev "$2" | grep -qw -- "$3"; }
ifindex_of() { ip -n "$1" -o link show dev "$2" 2>/dev/null | cut -d: -f1; }
link_gone() { ! ip -n "$1" link show dev "$2" >/dev/null 2>&1; }
cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"; }

# server_dev_of ADDR: the server-namespace device that has ADDR (any prefix).
server_dev_of() {
	ip -n "$NS_S" -o addr show | awk -v a="$1" '{ split($4, p, "/") } p[1] == a { print $2; exit }'
}
# server_tun_has ADDR: ADDR is on a tunN device in the server namespace.
server_tun_has() { server_dev_of "$1" | grep -Eqx 'tun[0-9]+'; }
server_tun_gone() { ! server_tun_has "$1"; }

# pings FROM_NS ADDR: wait for one answer (the first may race the server's
# configuration), then three in a row.
pings() {
	wait_for 10 ip netns exec "$1" ping -c 1 -W 1 "$2"
	ip netns exec "$1" ping -c 3 -i 0.2 -W 2 "$2"
}

# server_sessions: the per-connection sshd processes in the server namespace
# (not the listeners).
server_sessions() {
	local p c
	for p in $(ip netns pids "$NS_S" 2>/dev/null); do
		c=$(cmdline "$p")
		case $c in
		*"[listener]"*) ;;
		"sshd: "*) echo "$p" ;;
		esac
	done
}
kill_sessions() {
	local pids
	pids=$(server_sessions)
	[ -n "$pids" ] || { echo "no sshd session processes in $NS_S"; return 1; }
	# shellcheck disable=SC2086 # a list of pids
	kill -TERM $pids
	# shellcheck disable=SC2086
	wait_for 10 all_gone $pids
}

state_of() { client_status "$1" && json_get "$TMP/$1.status" state; }
client_not_up() { local s; s=$(state_of "$1") && [ "$s" != up ]; }

# TCP, one direction each: the server sends a file to the first client that
# connects, or takes one from it.
tcp_serve() {	# MODE(send|recv) ADDR PORT PATH
	in_s timeout 120 "$PYTHON" -c 'import socket, sys
mode, a, p, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.create_server((a, p), family=socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(30)
if mode == "send":
    with open(path, "rb") as f:
        c.sendfile(f)
else:
    with open(path, "wb") as f:
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            f.write(d)
c.close()' "$@"
}
tcp_client() {	# MODE(send|recv) ADDR PORT PATH
	in_c timeout 120 "$PYTHON" -c 'import socket, sys
mode, a, p, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = socket.create_connection((a, p), timeout=30)
if mode == "send":
    with open(path, "rb") as f:
        c.sendfile(f)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
else:
    with open(path, "wb") as f:
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            f.write(d)
c.close()' "$@"
}

# transfer NAME DIR(down|up) ADDR PORT: 20 MB of random data through the
# tunnel, server to client (down) or client to server (up); sha256 compared.
transfer() {
	local name=$1 dir=$2 addr=$3 port=$4 t0 ms srv_pid
	local sent=$TMP/$name.$dir.sent recv=$TMP/$name.$dir.recv
	head -c 20M /dev/urandom >"$sent"
	rm -f "$recv"
	if [ "$dir" = down ]; then
		bg_run "tcp-$port" tcp_serve send "$addr" "$port" "$sent"
	else
		bg_run "tcp-$port" tcp_serve recv "$addr" "$port" "$recv"
	fi
	srv_pid=$(cat "$TMP/tcp-$port.pid")
	wait_for 10 tcp_listening "$port"
	t0=$(now_ms)
	if [ "$dir" = down ]; then
		check "$name: 20 MB over TCP from server to client ($addr)" tcp_client recv "$addr" "$port" "$recv"
	else
		check "$name: 20 MB over TCP from client to server ($addr)" tcp_client send "$addr" "$port" "$sent"
	fi
	wait_exit "$srv_pid" 30
	ms=$(($(now_ms) - t0))
	diag "$name: 20 MB $dir in $ms ms ($((20 * 8 * 1000 / (ms > 0 ? ms : 1))) Mbit/s)"
	is "$(sha "$recv" 2>/dev/null)" "$(sha "$sent")" "$name: sha256 of what arrived ($dir) matches what was sent"
	rm -f "$sent" "$recv"
}

# both_ways NAME: ping over IPv4 and IPv6, client to server and back.
both_ways() {
	check "$1: client pings server $PEER" pings "$NS_C" "$PEER"
	check "$1: client pings server $PEER6" pings "$NS_C" "$PEER6"
	check "$1: server pings client $LOCAL" pings "$NS_S" "$LOCAL"
	check "$1: server pings client $LOCAL6" pings "$NS_S" "$LOCAL6"
}

# up_openssh NAME LOCAL PEER LOCAL6 PEER6 [sshtun args...]: start a client,
# check it comes up in openssh mode with the given pair on both sides.
# Sets IF_NAME, SRV_TUN.
up_openssh() {
	local name=$1 st
	LOCAL=$2 PEER=$3 LOCAL6=$4 PEER6=$5
	shift 5
	client_run "$name" -a "$LOCAL" -a "$LOCAL6" "$@"
	check "$name: tunnel comes up (status says up)" client_wait_up "$name" || return 1
	st=$TMP/$name.status
	diag "$name: $(cat "$st")"
	IF_NAME=$(json_get "$st" ifname)
	is "$(json_get "$st" mode)" openssh "$name: status mode is openssh"
	is "$(json_get "$st" local_addr)/$(json_get "$st" local_addr6)" "$LOCAL/$LOCAL6" \
		"$name: local addresses are the ones given with -a"
	is "$(json_get "$st" peer_addr)/$(json_get "$st" peer_addr6)" "$PEER/$PEER6" \
		"$name: peer addresses are the other end of the /31 and /127"
	check "$name: the kernel has $LOCAL and $LOCAL6 on $IF_NAME in the client namespace" \
		eval 'has_addr "$NS_C" "$IF_NAME" "$LOCAL" && has_addr "$NS_C" "$IF_NAME" "$LOCAL6"'
	check "$name: the server namespace has a tunN with $PEER" wait_for 10 server_tun_has "$PEER"
	SRV_TUN=$(server_dev_of "$PEER")
	check "$name: the server's $SRV_TUN also has $PEER6" has_addr "$NS_S" "$SRV_TUN" "$PEER6"
	check "$name: the server's $SRV_TUN is up" eval \
		'ip -n "$NS_S" -o link show dev "$SRV_TUN" | grep -q "[<,]UP[,>]"'
	is "$(ip -n "$NS_S" -o link show dev "$SRV_TUN" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')" \
		"$(json_get "$st" mtu)" "$name: the server's $SRV_TUN has the MTU status reports"
}

# quit_client NAME IFNAME SERVER_PEER: ctl quit, exit 0, both ends gone.
quit_client() {
	check "$1: 'sshtun ctl quit' answers" ctl "$1" quit
	wait_exit "$(client_pid "$1")" 10
	is "$EXIT_RC" 0 "$1: exits with status 0 after quit"
	check "$1: interface $2 is gone from the client namespace" wait_for 5 link_gone "$NS_C" "$2"
	check "$1: the server's tun with $3 is gone" wait_for 10 server_tun_gone "$3"
}

# ---------------------------------------------------------------------------
SSHD_ORIG=$SSHD
export SSHD_SUBSYSTEM=	# no Subsystem line: nothing of sshtun on the server
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
check "sshd (PermitTunnel yes, no sshtun Subsystem)" sshd_start "PermitTunnel yes"
check "sshd_config has no Subsystem line" eval '! grep -q "^Subsystem" "$TMP/sshd_config.22"'
fail_fast "no sshtun binary, namespaces or sshd"

# 1. --openssh -----------------------------------------------------------------
up_openssh o1 198.18.7.3 198.18.7.2 2001:db8:7::3 2001:db8:7::2 --openssh
fail_fast "the --openssh tunnel did not come up"
IF1=$IF_NAME TUN1=$SRV_TUN
is "$(json_get "$TMP/o1.status" compression)" off "o1: compression is off without -o Compression=yes"
both_ways o1
transfer o1 down "$PEER" 5001
transfer o1 up "$PEER" 5002

# 2. many small datagrams in bursts: whole, in order, and batched -------------
# Each burst's datagrams leave in a few sends on the SSH socket, not one
# (and a recv or two) each: strace counts the client's sendto calls.  The
# old code made one per datagram (2000 and more).
udp_burst_run() {
	local net spid out sends
	rm -f "$TMP/o1.udp"
	bg_run udp-echo in_s "$PYTHON" "$REPO/tests/e2e/udp_burst.py" echo "$PEER" 5003 "$TMP/o1.udp"
	wait_for 5 eval 'in_s ss -Hlun "( sport = :5003 )" | grep -q .'
	net=$(pgrep -P "$(client_pid o1)" -x sshtun | head -n 1)
	strace -f -c -e trace=sendto -o "$TMP/o1.strace" -p "${net:-0}" 2>"$TMP/o1.strace.err" &
	spid=$!
	PIDS+=("$spid")
	check "o1: strace attached to the client's network side ($net)" \
		wait_for 5 grep -q attached "$TMP/o1.strace.err"
	out=$(in_c timeout 120 "$PYTHON" "$REPO/tests/e2e/udp_burst.py" send "$PEER" 5003 2000 40 2>&1)
	kill -INT "$spid" 2>/dev/null
	wait_exit "$spid" 10
	is "$out" "sent 2000 echoed 2000 bad 0 order 0" \
		"o1: 2000 UDP datagrams of 8-1207 bytes, 40 at a time, come back whole and in order"
	wait_for 10 test -s "$TMP/o1.udp"
	is "$(cat "$TMP/o1.udp" 2>/dev/null)" "got 2000 bad 0 order 0" "o1: the server got each one whole, in order"
	sends=$(awk '$NF == "sendto" { print $4 }' "$TMP/o1.strace" 2>/dev/null)
	diag "o1: the client made ${sends:-no} sendto calls for 2000 datagrams"
	check "o1: the bursts left in batches (${sends:-no} sendto calls, fewer than 1000)" \
		test "${sends:-99999}" -lt 1000
}
udp_burst_run

# 3. reconnect after the sshd session is killed ----------------------------------
IDX1=$(ifindex_of "$NS_C" "$IF1")
R0=$(json_get "$TMP/o1.status" reconnects)
check "o3: the per-session sshd processes killed (listener left)" kill_sessions
check "o3: the sshd listener is still there" alive "$SSHD_PID"
check "o3: the client leaves up (reconnecting)" wait_for 10 client_not_up o1
diag "o3: state then: $(json_get "$TMP/o1.status" state) ($(json_get "$TMP/o1.status" state_detail))"
check "o3: comes back up by itself within 30 s" wait_for 30 client_is_up o1
st=$TMP/o1.status
check "o3: reconnects went up (was $R0, now $(json_get "$st" reconnects))" \
	test "$(json_get "$st" reconnects)" -gt "$R0"
is "$(json_get "$st" mode)" openssh "o3: still mode openssh"
is "$(json_get "$st" local_addr)/$(json_get "$st" local_addr6)" "$LOCAL/$LOCAL6" \
	"o3: same local addresses after the reconnect"
is "$(json_get "$st" ifname)" "$IF1" "o3: same interface name"
is "$(ifindex_of "$NS_C" "$IF1")" "$IDX1" "o3: same ifindex ($IDX1)"
check "o3: the kernel still has $LOCAL and $LOCAL6 on $IF1" \
	eval 'has_addr "$NS_C" "$IF1" "$LOCAL" && has_addr "$NS_C" "$IF1" "$LOCAL6"'
check "o3: the server has a tunN with $PEER again" wait_for 10 server_tun_has "$PEER"
TUN1=$(server_dev_of "$PEER")
check "o3: the server's $TUN1 has $PEER6 again" has_addr "$NS_S" "$TUN1" "$PEER6"
both_ways o3
check "o3: the log says the connection was lost and it reconnected" \
	grep -q "connection lost; reconnecting" "$TMP/o1.log"

# 8. ctl quit ------------------------------------------------------------------
quit_client o1 "$IF1" "$PEER"

# 2. fallback without --openssh ----------------------------------------------------
up_openssh o2 198.18.7.5 198.18.7.4 2001:db8:7::5 2001:db8:7::4 --remote-command /nonexistent/sshtun
IF2=$IF_NAME
check "o2: the log says it fell back to sshd's own tunnel channel" \
	grep -Eq "no sshtun helper on the server; trying its own tunnel channel" "$TMP/o2.log"
check "o2: client pings server $PEER" pings "$NS_C" "$PEER"
check "o2: server pings client $LOCAL6" pings "$NS_S" "$LOCAL6"
quit_client o2 "$IF2" "$PEER"

# 4. -o Compression=yes ------------------------------------------------------------
up_openssh o4 198.18.7.7 198.18.7.6 2001:db8:7::7 2001:db8:7::6 --openssh -o Compression=yes
IF4=$IF_NAME
is "$(json_get "$TMP/o4.status" compression)" zlib@openssh.com "o4: status shows compression zlib@openssh.com"
transfer o4 down "$PEER" 5003
out=$(ctl o4 compress 6 2>&1)
rc=$?
check "o4: 'ctl compress 6' is refused (exit $rc)" test "$rc" -ne 0
check "o4: the refusal says compression is ssh's own in this mode" \
	eval 'grep -qi "compression is ssh.s own" <<<"$out"'
diag "o4: ctl compress 6: $out"
client_status o4
is "$(json_get "$TMP/o4.status" compression)" zlib@openssh.com "o4: compression unchanged after the refusal"
quit_client o4 "$IF4" "$PEER"

# 7. tun0 and tun1 already present on the server ------------------------------------
check "o7: tun0 and tun1 created in the server namespace" \
	eval 'in_s ip tuntap add tun0 mode tun && in_s ip tuntap add tun1 mode tun'
up_openssh o7 198.18.7.9 198.18.7.8 2001:db8:7::9 2001:db8:7::8 --openssh
IF7=$IF_NAME
is "$SRV_TUN" tun2 "o7: the server-side address lands on tun2"
check "o7: tun0 and tun1 got none of its addresses" \
	eval '! has_addr "$NS_S" tun0 "$PEER" && ! has_addr "$NS_S" tun1 "$PEER"'
check "o7: client pings server $PEER" pings "$NS_C" "$PEER"
quit_client o7 "$IF7" "$PEER"
check "o7: the pre-existing tun0 and tun1 are still there" \
	eval 'ip -n "$NS_S" link show dev tun0 && ip -n "$NS_S" link show dev tun1'
in_s ip tuntap del tun0 mode tun
in_s ip tuntap del tun1 mode tun

# 5. PermitTunnel no --------------------------------------------------------------
SSHD_PORT=2222 check "sshd on port 2222 with PermitTunnel no" sshd_start "PermitTunnel no"
client_try o5 --openssh -p 2222 -a 198.18.7.11 -a 2001:db8:7::11
diag "o5: exit $RC after $ELAPSED_MS ms: $MSG"
is "$RC" 6 "o5: PermitTunnel no gives exit 6"
check "o5: within 10 s ($ELAPSED_MS ms)" test "$ELAPSED_MS" -lt 10000
check "o5: the message carries sshd's reason (tunnel forwarding rejected)" \
	eval 'grep -Eqi "rejected tunnel device forwarding|tunnel (device )?forwarding.*(rejected|disabled)" <<<"$MSG"'
check "o5: the message mentions PermitTunnel" eval 'grep -q PermitTunnel <<<"$MSG"'
check "o5: no tunnel interface left in the client namespace" \
	eval '! ip -n "$NS_C" -o addr show | grep -qw 198.18.7.11'

# The same refusal on the fallback path (no helper, no --openssh).
client_try o5b -p 2222 --remote-command /nonexistent/sshtun -a 198.18.7.13 -a 2001:db8:7::13
diag "o5b: exit $RC after $ELAPSED_MS ms: $MSG"
is "$RC" 6 "o5b: no helper and PermitTunnel no gives exit 6"
check "o5b: the message carries sshd's reason and mentions PermitTunnel" \
	eval 'grep -Eqi "rejected tunnel device forwarding|tunnel (device )?forwarding.*(rejected|disabled)" <<<"$MSG" &&
		grep -q PermitTunnel <<<"$MSG"'

# 6. sshd may not create the device (no CAP_NET_ADMIN) ---------------------------
cat >"$TMP/sshd-nonetadmin" <<EOF
#!/bin/sh
exec setpriv --bounding-set=-net_admin --inh-caps=-net_admin $SSHD_ORIG "\$@"
EOF
chmod +x "$TMP/sshd-nonetadmin"
SSHD=$TMP/sshd-nonetadmin SSHD_PORT=2223 check "sshd on port 2223 without CAP_NET_ADMIN" \
	sshd_start "PermitTunnel yes"
# CAP_NET_ADMIN is bit 12.
check "o6: that sshd really lacks CAP_NET_ADMIN in its bounding set" eval \
	'b=$(awk "/^CapBnd:/ { print \$2 }" /proc/$SSHD_PID/status) && [ $(( 0x$b >> 12 & 1 )) -eq 0 ]'
client_try o6 --openssh -p 2223 -a 198.18.7.15 -a 2001:db8:7::15
diag "o6: exit $RC after $ELAPSED_MS ms: $MSG"
is "$RC" 6 "o6: no permission to create the device gives exit 6"
check "o6: within 10 s ($ELAPSED_MS ms)" test "$ELAPSED_MS" -lt 10000
check "o6: the message names the failure (sshd could not open the tunnel device)" \
	eval 'grep -Eqi "failed to open the tunnel device" <<<"$MSG"'
SSHD=$SSHD_ORIG

done_testing
