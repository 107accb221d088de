#!/bin/bash
# t_privsep_helper.sh: the server helper is split (issue 12, "root only where
# it is needed").  While a tunnel is up, /proc/PID/status shows the worker
# (the process that parses the client's bytes) with a non-root uid, no
# capabilities, NoNewPrivs 1 and Seccomp 2 (filter), and the monitor as the
# only privileged helper process.  Traffic flows with compression on, a
# CONTROL frame changes it, `ctl reconnect' takes over cleanly (also from a
# stale helper whose worker hangs), killing the
# worker makes the monitor release the lease and the TUN, and under sudo the
# worker runs as SUDO_UID; a helper with only CAP_NET_ADMIN gives it up in
# its worker.  (What the seccomp filter kills is in
# tests/unit/test_sandbox.c.)
. "$(dirname "$0")/lib.sh"

HELPER="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases"

cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"; }
field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
is_helper() { case $(cmdline "$1") in "$SSHTUN serve "*) return 0 ;; esac; return 1; }

# monitors / workers: helper processes in the server namespace whose parent
# is / is not a helper themselves.
monitors() {
	local p
	for p in $(ip netns pids "$NS_S" 2>/dev/null); do
		is_helper "$p" && ! is_helper "$(field "$p" PPid)" && echo "$p"
	done
}
workers() {
	local p
	for p in $(ip netns pids "$NS_S" 2>/dev/null); do
		is_helper "$p" && is_helper "$(field "$p" PPid)" && echo "$p"
	done
}
one_pair() { [ "$(monitors | wc -l)" = 1 ] && [ "$(workers | wc -l)" = 1 ]; }

# sandboxed PID UID: the worker's status as the issue asks for it.
sandboxed() {
	local p=$1 uid=$2
	is "$(field "$p" Uid)" "$uid" "worker $p: real uid $uid (status Uid)"
	is "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "/proc/$p/status")" "$uid$uid$uid$uid" \
		"worker $p: real, effective, saved and fs uid all $uid"
	is "$(field "$p" CapEff)" 0000000000000000 "worker $p: CapEff 0"
	is "$(field "$p" CapPrm)" 0000000000000000 "worker $p: CapPrm 0"
	is "$(field "$p" NoNewPrivs)" 1 "worker $p: NoNewPrivs 1"
	is "$(field "$p" Seccomp)" 2 "worker $p: Seccomp 2 (filter)"
}

# transfer PEER PORT: 4 MB, half compressible, server to client; sha256 equal.
transfer() {
	{ yes "sshtun privsep $2" | head -c 2M; head -c 2M /dev/urandom; } >"$TMP/sent.$2"
	bg_run "tcp-send-$2" tcp_send "$1" "$2" "$TMP/sent.$2"
	wait_for 10 tcp_listening "$2"
	check "4 MB over TCP from server to client (port $2)" tcp_recv "$1" "$2" "$TMP/recv.$2"
	is "$(sha256sum <"$TMP/recv.$2")" "$(sha256sum <"$TMP/sent.$2")" "what arrived matches what was sent (port $2)"
}

check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
# The helpers' stderr (monitor and worker) goes to a file we can read.
SSHD_SUBSYSTEM="exec $HELPER -v 2>>$TMP/serve.log" \
	check "sshd with the helper on port 22" sshd_start
SSHD_PORT=2222 SSHD_SUBSYSTEM="/usr/bin/env SUDO_UID=4242 SUDO_GID=4343 $HELPER" \
	check "sshd whose helper looks started by sudo (SUDO_UID=4242) on port 2222" sshd_start
# A helper that is not root but holds CAP_NET_ADMIN (ambient, as a service
# manager grants it): monitor and worker both nobody, only one capable.
# CAP_DAC_OVERRIDE too where /dev/net/tun is 0600 (as in some containers).
chmod o+x "$TMP"
mkdir "$TMP/nb" && chown nobody "$TMP/nb"
SSHD_PORT=2223 SSHD_SUBSYSTEM="$(command -v setpriv) --reuid=nobody --regid=nogroup --clear-groups \
--inh-caps=+net_admin,+dac_override --ambient-caps=+net_admin,+dac_override $SSHTUN serve --pool $POOL4 --pool6 $POOL6 \
--lease-file $TMP/nb/leases" \
	check "sshd whose helper is nobody with CAP_NET_ADMIN on port 2223" sshd_start
fail_fast "no sshtun binary, namespaces or sshd"

# ---- a tunnel with compression on: who runs as what ---------------------------
client_run c1 --compress 6
check "c1: the tunnel comes up" client_wait_up c1
fail_fast "the tunnel did not come up"
PEER=$(json_get "$TMP/c1.status" peer_addr)
PEER6=$(json_get "$TMP/c1.status" peer_addr6)
check "server: one monitor and one worker" wait_for 10 one_pair
MON=$(monitors)
WRK=$(workers)
diag "monitor $MON, worker $WRK"
sandboxed "$WRK" "$(id -u nobody)"
is "$(field "$MON" Uid)" 0 "monitor $MON: uid 0 (root login, no sudo: the worker is nobody)"
check "monitor $MON: holds CAP_NET_ADMIN" \
	eval '[ $((0x$(field "$MON" CapEff) >> 12 & 1)) = 1 ]'
privileged=0
for p in $(monitors) $(workers); do
	[ "$(field "$p" CapEff)" != 0000000000000000 ] && privileged=$((privileged + 1))
done
is "$privileged" 1 "exactly one helper process has capabilities (the monitor)"
check "lease file: the monitor $MON holds c1's lease" grep -q " $MON " "$TMP/leases"

# ---- everything the worker does in normal use, inside the filter -------------
check "c1: ping $PEER (1200 bytes)" eval 'wait_for 10 in_c ping -c 1 -W 1 "$PEER" && in_c ping -c 3 -i 0.2 -W 3 -s 1200 "$PEER"'
check "c1: ping $PEER6" in_c ping -c 2 -i 0.2 -W 3 "$PEER6"
transfer "$PEER" 5001
check "c1: 'ctl compress off' (a CONTROL frame to the worker)" ctl c1 compress off
transfer "$PEER" 5002
check "c1: 'ctl compress auto'" ctl c1 compress auto
check "c1: ping after the CONTROL frames" in_c ping -c 2 -i 0.2 -W 3 "$PEER"
check "worker $WRK: still alive after traffic, pings and CONTROL" alive "$WRK"

# ---- a worker that a hostile client owns: its TUN, not its source check ------
# tun_inject.py takes the worker's TUN descriptor and writes datagrams to the
# server itself: one from an address the client does not hold (the client
# machine's own LAN address, a neighbour of the server) must be dropped by
# the kernel (strict reverse path on the TUN), one from the client's own
# address arrives; the same in IPv6 (a rule in the nftables table
# inet sshtun_rpf, there while a helper is).
bg_run sink in_s "$PYTHON" "$REPO/tests/e2e/udp_sink.py" 5555 "$TMP/sink.out"
check "server: UDP sink listening" wait_for 5 test -e "$TMP/sink.out.ready"
LOCAL4=$(json_get "$TMP/c1.status" local_addr)
SIF=$(in_s ip -o route get "$LOCAL4" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
inject() { in_s "$PYTHON" "$REPO/tests/e2e/tun_inject.py" "$SIF" "$@" >>"$TMP/inject.log" 2>&1; }
check "worker's TUN ($SIF): a datagram from $C_ADDR (not the client's)" inject "$C_ADDR" "$PEER" 5555 spoof
check "worker's TUN ($SIF): a datagram from the client's own $LOCAL4" inject "$LOCAL4" "$PEER" 5555 own
LOCAL6=$(json_get "$TMP/c1.status" local_addr6)
check "worker's TUN ($SIF): a datagram from $C_ADDR6 (not the client's)" inject "$C_ADDR6" "$PEER6" 5555 spoof6
check "worker's TUN ($SIF): a datagram from the client's own $LOCAL6" inject "$LOCAL6" "$PEER6" 5555 own6
is "$(head -n 1 "$TMP/inject.log")" "$WRK" "the descriptor came from the worker $WRK"
check "server: the client's own datagrams arrive" \
	wait_for 5 eval 'grep -q " own$" "$TMP/sink.out" && grep -q " own6$" "$TMP/sink.out"'
if ! check "server: the spoofed ones do not" eval '! grep -q " spoof" "$TMP/sink.out"'; then
	sed 's/^/#   /' "$TMP/sink.out"
fi
kill_all "$(cat "$TMP/sink.pid")"

# ---- ctl reconnect: the new monitor takes over from the old -------------------
check "c1: 'ctl reconnect' answers" ctl c1 reconnect
check "c1: a new monitor and worker replaced $MON and $WRK" \
	wait_for 15 eval '! alive "$MON" && ! alive "$WRK" && one_pair && [ "$(monitors)" != "$MON" ]'
check "c1: up again" wait_for 15 client_is_up c1
is "$(json_get "$TMP/c1.status" peer_addr)" "$PEER" "c1: same pair after the take-over"
MON2=$(monitors)
WRK2=$(workers)
sandboxed "$WRK2" "$(id -u nobody)"
check "c1: ping after reconnecting" wait_for 10 in_c ping -c 1 -W 1 "$PEER"
transfer "$PEER" 5003

# ---- a stale helper: its worker hangs, the next session's monitor stops it --
# The stopped worker keeps the old session (and its lease) alive after the
# client leaves it; the new monitor signals the old one, which stops its
# worker, by SIGKILL once SIGTERM has gone unanswered.
kill -STOP "$WRK2"
check "c1: 'ctl reconnect' with the worker frozen" ctl c1 reconnect
check "c1: up again past the stale helper" wait_for 20 client_is_up c1
check "server log: the new monitor took over from $MON2" \
	wait_for 10 grep -q "taking over from stale helper $MON2" "$TMP/serve.log"
check "stale monitor $MON2 and worker $WRK2 are gone" wait_for 15 eval '! alive "$MON2" && ! alive "$WRK2"'
check "server log: $MON2 killed the worker that ignored SIGTERM" \
	grep -q "worker $WRK2 did not stop within 5 s" "$TMP/serve.log"
check "c1: ping after the take-over" wait_for 10 in_c ping -c 1 -W 1 "$PEER"
is "$(json_get "$TMP/c1.status" peer_addr)" "$PEER" "c1: still the same pair"
check "server: one monitor and one worker again" wait_for 10 one_pair

# ---- killing the worker: the monitor releases the lease and the TUN -----------
IFS_S=$(ip -n "$NS_S" -o addr show | awk -v a="$PEER" '$4 ~ "^"a"/" { print $2 }')
diag "server interface of c1: $IFS_S"
check "c1: quit" ctl c1 quit	# so that it does not come back while we look
wait_exit "$(client_pid c1)" 20
check "server: no helper left after c1 quit" wait_for 10 eval '[ -z "$(monitors)$(workers)" ]'

client_run c2
check "c2: the tunnel comes up" client_wait_up c2
check "server: c2 has one monitor and one worker" wait_for 10 one_pair
MON3=$(monitors)
WRK3=$(workers)
P2=$(json_get "$TMP/c2.status" peer_addr)
IF2=$(ip -n "$NS_S" -o addr show | awk -v a="$P2" '$4 ~ "^"a"/" { print $2 }')
check "lease file: monitor $MON3 holds c2's lease" grep -q " $MON3 " "$TMP/leases"
kill -STOP "$(client_pid c2)"	# no reconnect while we look
kill -KILL "$WRK3"
check "monitor $MON3 exits once its worker is killed" wait_for 10 eval '! alive "$MON3"'
check "lease file: $MON3 no longer holds a lease (released)" eval '! grep -q " $MON3 " "$TMP/leases"'
check "server: $IF2 is gone" wait_for 5 eval '! ip -n "$NS_S" link show "$IF2"'
kill -CONT "$(client_pid c2)"
ctl c2 quit >/dev/null 2>&1
wait_exit "$(client_pid c2)" 20

check "server log: the monitor saw the killed worker" grep -q "worker $WRK3 killed by signal 9" "$TMP/serve.log"
check "server log: no worker was stopped by its sandbox (SIGSYS)" eval '! grep -q SIGSYS "$TMP/serve.log"'
check "server log: no sanitizer report" eval '! grep -q Sanitizer "$TMP/serve.log"'
check "server log: the workers ran as nobody" grep -q "worker runs as uid $(id -u nobody)" "$TMP/serve.log"

# ---- started by sudo: the worker is the login user ----------------------------
client_run c3 -p 2222
check "c3 (SUDO_UID=4242): the tunnel comes up" client_wait_up c3
check "server: c3 has one monitor and one worker" wait_for 10 one_pair
sandboxed "$(workers)" 4242
is "$(awk '$1 == "Gid:" { print $2 $3 $4 $5 }' "/proc/$(workers)/status")" 4343434343434343 \
	"worker: real, effective, saved and fs gid 4343 (SUDO_GID)"
is "$(awk '$1 == "Groups:" { print $2 }' "/proc/$(workers)/status")" "" "worker: no supplementary groups"
P3=$(json_get "$TMP/c3.status" peer_addr)
check "c3: ping $P3" wait_for 10 in_c ping -c 1 -W 1 "$P3"
check "c3: quit" ctl c3 quit
wait_exit "$(client_pid c3)" 20

# ---- not root, CAP_NET_ADMIN only: the worker gives it up --------------------
client_run c4 -p 2223
check "c4 (helper: nobody + CAP_NET_ADMIN): the tunnel comes up" client_wait_up c4
check "server: c4 has one monitor and one worker" wait_for 10 one_pair
sandboxed "$(workers)" "$(id -u nobody)"
is "$(field "$(workers)" CapAmb)" 0000000000000000 "worker: CapAmb 0 (the ambient capability is gone)"
is "$(field "$(monitors)" Uid)" "$(id -u nobody)" "monitor: nobody too"
check "monitor: CAP_NET_ADMIN" eval '[ $((0x$(field "$(monitors)" CapEff) >> 12 & 1)) = 1 ]'
P4=$(json_get "$TMP/c4.status" peer_addr)
check "c4: ping $P4" wait_for 10 in_c ping -c 1 -W 1 "$P4"
check "c4: quit" ctl c4 quit
wait_exit "$(client_pid c4)" 20
# ---- a worker that made its TUN persistent leaves no device behind ----------
# Its filter kills the worker for any ioctl; without the filter (no seccomp
# in the kernel, valgrind), TUNSETOWNER and TUNSETPERSIST on its descriptor
# would keep the device, with the client's pair on it, for the worker's
# user to attach to later.  The monitor clears persistence when it is gone.
client_run c5
check "c5: the tunnel comes up" client_wait_up c5
L5=$(json_get "$TMP/c5.status" local_addr)
S5=$(in_s ip -o route get "$L5" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
check "c5: its worker's TUN $S5 made persistent (owner nobody)" \
	in_s "$PYTHON" "$REPO/tests/e2e/tun_inject.py" "$S5" --persist
check "c5: quit" ctl c5 quit
wait_exit "$(client_pid c5)" 20
if ! check "server: $S5 is gone with its helper" wait_for 10 eval '! in_s ip link show "$S5"'; then
	in_s ip link del "$S5"
fi
check "server: no helper left, no table inet sshtun_rpf left" \
	wait_for 10 eval '[ -z "$(monitors)" ] && ! in_s nft list tables | grep -qx "table inet sshtun_rpf"'

# ---- no filter to be had: the helper refuses (fails closed) -----------------
# no_seccomp.py runs it where the kernel has no seccomp (absent) or a policy
# forbids installing a filter (denied); the client would get the error frame
# that its standard output carries.  --sandbox-optional lets it run.
no_seccomp() {
	local mode=$1 name=$2
	shift 2
	in_s timeout 20 "$PYTHON" "$REPO/tests/e2e/no_seccomp.py" "$mode" $HELPER "$@" \
		</dev/null >"$TMP/$name.out" 2>"$TMP/$name.err"
}
for mode in absent denied; do
	no_seccomp "$mode" "nosec-$mode"
	is "$?" 6 "seccomp $mode: the helper refuses to run (exit 6)"
	check "seccomp $mode: one line says why, and how to allow it" \
		grep -q "seccomp.*refusing to run the worker without its system call filter (sshtun serve --sandbox-optional allows it)" \
		"$TMP/nosec-$mode.err"
	check "seccomp $mode: the client is told (error frame)" \
		grep -aq "refusing to run the worker without its system call filter" "$TMP/nosec-$mode.out"
done
no_seccomp absent nosec-us --userspace
is "$?" 6 "seccomp absent, user-space mode: the helper refuses to run (exit 6)"
no_seccomp absent nosec-opt --sandbox-optional
is "$?" 0 "seccomp absent, --sandbox-optional: the helper runs (exit 0 at end of input)"
check "seccomp absent, --sandbox-optional: with a warning" \
	grep -q "the worker runs without its system call filter" "$TMP/nosec-opt.err"

done_testing
