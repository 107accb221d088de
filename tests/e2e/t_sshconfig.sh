#!/bin/bash
# t_sshconfig.sh: ~/.ssh/config as ssh reads it (issue 8).  A Host alias
# with HostName, User, IdentityFile, UserKnownHostsFile, StrictHostKeyChecking,
# ConnectTimeout and ServerAlive* from a -F file and from ~/.ssh/config; the
# permission check on ~/.ssh/config; first value wins (command line before
# file), IdentityFile accumulates; a syntax error names FILE:LINE; ssh's
# other keywords are skipped; ProxyCommand as the transport and
# `-o ProxyCommand=none'; and ProxyJump through a jump host in a third
# namespace, with no direct route from the client to the server.
#
# The jump case has namespaces of its own (names carry $$):
#
#   client  sshtun-jc-PID  veth-c 203.0.113.2/24
#   jump    sshtun-j-PID   veth-c 203.0.113.1/24   veth-s 198.18.100.1/24
#   server  sshtun-js-PID  veth-s 198.18.100.2/24
#
# The jump namespace does not forward, and the client has no route to
# 198.18.100.0/24: the tunnel can only come through the jump host's sshd.
. "$(dirname "$0")/lib.sh"

NS_JC=sshtun-jc-$$
NS_J=sshtun-j-$$
NS_JS=sshtun-js-$$
JC_ADDR=203.0.113.2
J_ADDR=203.0.113.1
J_ADDR_S=198.18.100.1
JS_ADDR=198.18.100.2
JUMP_UP=0

# Our namespaces go after lib.sh's cleanup (which has ended every PID we
# started, including the two sshds of the jump case).
jump_cleanup() {
	local ns
	[ "$JUMP_UP" = 1 ] || return 0
	for ns in "$NS_JC" "$NS_J" "$NS_JS"; do
		# shellcheck disable=SC2046 # one PID a word
		ns_exists "$ns" && kill_all $(ip netns pids "$ns" 2>/dev/null)
		ns_exists "$ns" && ip netns del "$ns"
	done
	return 0
}
trap 'cleanup $?; jump_cleanup' EXIT

# ---- helpers --------------------------------------------------------------

# says REGEX DESC: the last client's output matches REGEX (grep -Ei).
says() {
	if grep -Eqi -- "$1" <<<"$MSG"; then
		ok "$2"
	else
		not_ok "$2"
		diag "output does not match /$1/:" "$MSG"
	fi
}

# exits CODE DESC: the last client_try ended with CODE.
exits() {
	if [ "$RC" = "$1" ]; then
		ok "$2: exit $RC (${ELAPSED_MS} ms)"
		return 0
	fi
	not_ok "$2: exit $RC, want $1 (${ELAPSED_MS} ms)"
	diag "$MSG"
	return 1
}

# pings FROM_NS ADDR: wait for one answer, then three in a row.
pings() {
	wait_for 10 ip netns exec "$1" ping -c 1 -W 1 "$2"
	ip netns exec "$1" ping -c 3 -i 0.2 -W 2 "$2"
}

# write_cfg FILE LINE...: a config file, mode 0600.
write_cfg() {
	local f=$1
	shift
	printf '%s\n' "$@" >"$f" && chmod 600 "$f"
}

# box_cfg FILE [LINE...]: `Host box' for the lib.sh server, every setting
# from the file.  The extra lines come first in the block, so that they win
# over the standard ones (or, for IdentityFile, are tried first).
box_cfg() {
	local f=$1
	shift
	write_cfg "$f" \
		"# written by t_sshconfig.sh" \
		"Host box" \
		"$@" \
		"    HostName $S_ADDR" \
		"    User root" \
		"    IdentityFile $TMP/client_key" \
		"    IdentitiesOnly yes" \
		"    UserKnownHostsFile $TMP/known_hosts" \
		"    StrictHostKeyChecking yes" \
		"    ConnectTimeout 5" \
		"    ServerAliveInterval 2" \
		"    ServerAliveCountMax 3"
}

# The client with nothing but the given arguments (no -i, no -o from
# lib.sh: everything else must come from the config):
#   sshtun -N -n NAME -S $TMP/NAME.sock ARGS...
# in CFG_NS (default the lib.sh client namespace), with HOME=CFG_HOME, and
# the command words in the array CFG_PREFIX in front.
CFG_PREFIX=()
cfg_argv() {
	local name=$1
	shift
	CLIENT_ARGV=(env -u SSH_AUTH_SOCK "HOME=${CFG_HOME:-$TMP/home}" "${CFG_PREFIX[@]}"
		"$SSHTUN" -N -n "$name" -S "$TMP/$name.sock" "$@")
}

# cfg_run NAME ARGS...: in the background, as lib.sh's client_run.
cfg_run() {
	local name=$1
	cfg_argv "$@"
	echo "$ ${CLIENT_ARGV[*]}" >"$TMP/$name.log"
	ip netns exec "${CFG_NS:-$NS_C}" "${CLIENT_ARGV[@]}" >>"$TMP/$name.log" 2>&1 </dev/null &
	PIDS+=($!)
	echo $! >"$TMP/$name.pid"
}

# cfg_try NAME ARGS...: to its end (20 s at most); sets RC, ELAPSED_MS, MSG.
cfg_try() {
	local name=$1 t0
	cfg_argv "$@"
	t0=$(now_ms)
	timeout -k 5 20 ip netns exec "${CFG_NS:-$NS_C}" "${CLIENT_ARGV[@]}" \
		>"$TMP/$name.log" 2>&1 </dev/null
	RC=$?
	ELAPSED_MS=$(($(now_ms) - t0))
	MSG=$(cat "$TMP/$name.log")
}

# up NAME SERVER ARGS...: start the client, check that it comes up, that
# status names SERVER (host:port) and that it pings the server's inner
# address.  Leaves it running; sets PEER.  Fails (1) when it did not come up.
up() {
	local name=$1 server=$2
	shift 2
	cfg_run "$name" "$@"
	if ! check "$name: tunnel comes up (status says up)" client_wait_up "$name"; then
		PEER=
		return 1
	fi
	PEER=$(json_get "$TMP/$name.status" peer_addr)
	is "$(json_get "$TMP/$name.status" server)" "$server" "$name: status says server $server"
	check "$name: client pings the server's inner address $PEER" pings "${CFG_NS:-$NS_C}" "$PEER"
}

# down NAME: quit through the control socket; exit 0 within 10 s.
down() {
	ctl "$1" quit >/dev/null 2>&1
	wait_exit "$(client_pid "$1")" 10
	is "$EXIT_RC" 0 "$1: exits 0 after quit"
}

# up_down NAME SERVER ARGS...: up, then down.
up_down() {
	local name=$1
	up "$@"
	down "$name"
}

# proxy_socat PID: the socat that PID or a process below it runs.
proxy_socat() {
	local c
	pgrep -x -P "$1" socat && return 0
	# Below the network side (the client's root side forks it), maybe
	# under a /bin/sh.
	for c in $(pgrep -P "$1"); do proxy_socat "$c" && return 0; done
	return 1
}

# sshd_log_count REGEX: matching lines in the lib.sh sshd's log so far.
sshd_log_count() { grep -Ec -- "$1" "$TMP/sshd.22.log"; }

# ---- the jump topology ----------------------------------------------------

in_jc() { ip netns exec "$NS_JC" "$@"; }

jump_netns() {
	JUMP_UP=1
	ip netns add "$NS_JC" || return 1
	ip netns add "$NS_J" || return 1
	ip netns add "$NS_JS" || return 1
	ip -n "$NS_J" link add veth-c type veth peer name veth-j netns "$NS_JC" || return 1
	ip -n "$NS_J" link add veth-s type veth peer name veth-j netns "$NS_JS" || return 1
	ip -n "$NS_JC" addr add "$JC_ADDR/24" dev veth-j
	ip -n "$NS_J" addr add "$J_ADDR/24" dev veth-c
	ip -n "$NS_J" addr add "$J_ADDR_S/24" dev veth-s
	ip -n "$NS_JS" addr add "$JS_ADDR/24" dev veth-j
	local ns
	for ns in "$NS_JC" "$NS_J" "$NS_JS"; do ip -n "$ns" link set lo up; done
	ip -n "$NS_JC" link set veth-j up
	ip -n "$NS_J" link set veth-c up
	ip -n "$NS_J" link set veth-s up
	ip -n "$NS_JS" link set veth-j up
	# A fresh namespace does not forward; say so rather than rely on it.
	ip netns exec "$NS_J" sysctl -qw net.ipv4.ip_forward=0
}

ns_listening() { ip netns exec "$1" ss -Hltn "( sport = :22 )" | grep -q .; }

# ns_sshd NS TAG HOST_KEY [sshd_config lines...]: an sshd on port 22 in NS
# (lib.sh's sshd_start knows only its own namespace); files $TMP/TAG.*.
ns_sshd() {
	local ns=$1 tag=$2 key=$3 cfg=$TMP/$2.sshd_config line
	shift 3
	{
		echo "Port 22"
		echo "HostKey $key"
		echo "PidFile $TMP/$tag.sshd.pid"
		echo "AuthorizedKeysFile $TMP/authorized_keys"
		echo "StrictModes no"
		echo "PermitRootLogin prohibit-password"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "UsePAM no"
		echo "LogLevel VERBOSE"
		for line in "$@"; do echo "$line"; done
	} >"$cfg"
	"$SSHD" -t -f "$cfg" || return 1
	ip netns exec "$ns" "$SSHD" -D -e -f "$cfg" 2>>"$TMP/$tag.sshd.log" &
	PIDS+=($!)
	wait_for 10 ns_listening "$ns"
}

# ---------------------------------------------------------------------------
check "$SSHTUN is built" test -x "$SSHTUN"
check "socat is installed (for ProxyCommand)" command -v socat
check "namespaces" netns_setup
check "sshd" sshd_start
fail_fast "no sshtun binary, socat, namespaces or sshd"

# -- 1. a -F file -------------------------------------------------------------
box_cfg "$TMP/box.cfg"
up_down f1 "$S_ADDR:22" -F "$TMP/box.cfg" box
fail_fast "a tunnel from a -F config file did not come up"

# -- 2. ~/.ssh/config, and its permissions -----------------------------------
HOME2=$TMP/cfghome
mkdir -p "$HOME2/.ssh" && chmod 700 "$HOME2/.ssh"
box_cfg "$HOME2/.ssh/config"
CFG_HOME=$HOME2 up_down home1 "$S_ADDR:22" box

for mode in 0620 0602; do
	chmod "$mode" "$HOME2/.ssh/config"
	CFG_HOME=$HOME2 cfg_try "perm$mode" box
	exits 2 "\$HOME/.ssh/config mode $mode is refused"
	says "$HOME2/\.ssh/config.*(owner|permission)" \
		"\$HOME/.ssh/config mode $mode: the message names the file and its permissions"
	check "\$HOME/.ssh/config mode $mode: no control socket was made" test ! -e "$TMP/perm$mode.sock"
done
chmod 0600 "$HOME2/.ssh/config"

# -- 3. first value wins; IdentityFile accumulates -----------------------------
# Nothing listens on 2222: the config's Port alone cannot reach the server.
box_cfg "$TMP/port.cfg" "    Port 2222"
cfg_try port2222 -F "$TMP/port.cfg" box
exits 3 "Port 2222 from the config is used (nothing listens there)"
says "2222" "Port 2222: the message names the port"
up_down portp "$S_ADDR:22" -F "$TMP/port.cfg" -p 22 box
up_down porto "$S_ADDR:22" -F "$TMP/port.cfg" -o Port=22 box

# User nobody from the config; `-o User=root' on the command line wins.
box_cfg "$TMP/user.cfg" "    User nobody"
n_nobody=$(sshd_log_count 'for nobody from')
cfg_try usernobody -F "$TMP/user.cfg" box
check "User nobody from the config is used: the client fails (exit $RC)" test "$RC" -ne 0
check "User nobody from the config: sshd saw user nobody" \
	test "$(sshd_log_count 'for nobody from')" -gt "$n_nobody"
n_nobody=$(sshd_log_count 'for nobody from')
up_down usero "$S_ADDR:22" -F "$TMP/user.cfg" -o User=root box
check "-o User=root: sshd saw no login as nobody" \
	test "$(sshd_log_count 'for nobody from')" -eq "$n_nobody"

# A wrong key first, the right one second: both are offered, in order (the
# client stops at the first key that works, so the wrong one in sshd's log
# means it came first).
ssh-keygen -q -t ed25519 -N '' -C sshtun-test-wrong -f "$TMP/wrong_key"
WRONG_FPR=$(ssh-keygen -lf "$TMP/wrong_key.pub" | awk '{ print $2 }')
box_cfg "$TMP/ident.cfg" "    IdentityFile $TMP/wrong_key"
up_down ident "$S_ADDR:22" -F "$TMP/ident.cfg" box
check "IdentityFile: the wrong key was offered first (sshd logged $WRONG_FPR)" \
	grep -qF -- "$WRONG_FPR" "$TMP/sshd.22.log"

# -- 4. a syntax error -----------------------------------------------------------
write_cfg "$TMP/syntax.cfg" \
	"Host box" \
	"    HostName $S_ADDR" \
	"    User root" \
	"    IdentityFile \"$TMP/client_key" \
	"    StrictHostKeyChecking yes"
cfg_try syntax -F "$TMP/syntax.cfg" box
exits 2 "unterminated quote in the config"
says "$TMP/syntax\.cfg:4:" "unterminated quote: the message names $TMP/syntax.cfg:4"
says "quote" "unterminated quote: the message says what is wrong"
check "unterminated quote: ended within 5 s (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -lt 5000

# -- 5. ssh's other keywords are skipped ------------------------------------------
box_cfg "$TMP/other.body" "    SendEnv LANG LC_*" "    HashKnownHosts yes" "    ForwardAgent yes"
write_cfg "$TMP/other.cfg" "ForwardAgent no" "HashKnownHosts no" "SendEnv TERM" "$(cat "$TMP/other.body")"
up_down other "$S_ADDR:22" -F "$TMP/other.cfg" box

# -- 6. ProxyCommand --------------------------------------------------------------
box_cfg "$TMP/proxy.cfg" "    ProxyCommand socat - TCP:%h:%p"
SOCAT_PID=
if up proxy "$S_ADDR:22" -v -F "$TMP/proxy.cfg" box; then
	SOCAT_PID=$(proxy_socat "$(client_pid proxy)")
	check "proxy: socat runs under the client (pid ${SOCAT_PID:-none})" test -n "$SOCAT_PID"
	check "proxy: %h and %p were expanded (socat - TCP:$S_ADDR:22)" \
		grep -qF "socat - TCP:$S_ADDR:22" "$TMP/proxy.log"
fi
down proxy
[ -n "$SOCAT_PID" ] && check "proxy: socat is gone after quit" eval '! alive "$SOCAT_PID"'

# -- 8. -o ProxyCommand=none over a config ProxyCommand ------------------------
box_cfg "$TMP/noproxy.cfg" "    ProxyCommand false"
cfg_try badproxy -F "$TMP/noproxy.cfg" box
check "a ProxyCommand that fails (false) is used: the client fails (exit $RC)" test "$RC" -ne 0
up_down noproxy "$S_ADDR:22" -v -F "$TMP/noproxy.cfg" -o ProxyCommand=none box
check "-o ProxyCommand=none: connected directly, no ProxyCommand" \
	eval 'grep -q "connecting to $S_ADDR port 22" "$TMP/noproxy.log" &&
		! grep -q "connecting through ProxyCommand" "$TMP/noproxy.log"'

# -- 7. ProxyJump through a jump host in a third namespace ----------------------
check "jump: namespaces client $NS_JC, jump $NS_J, server $NS_JS" jump_netns
ssh-keygen -q -t ed25519 -N '' -C sshtun-test-jump-host -f "$TMP/jump_host_key"
check "jump: stock sshd (AllowTcpForwarding yes) in $NS_J" \
	ns_sshd "$NS_J" jump "$TMP/jump_host_key" "AllowTcpForwarding yes"
check "jump: sshd with the sshtun helper in $NS_JS" \
	ns_sshd "$NS_JS" jtarget "$TMP/host_key" \
	"Subsystem sshtun $SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases.jump"
check "jump: the client has no route to the server $JS_ADDR" \
	eval '! in_jc ip route get "$JS_ADDR" >/dev/null 2>&1'
check "jump: the client reaches the jump host $J_ADDR" in_jc ping -c 1 -W 2 "$J_ADDR"
check "jump: the jump host reaches the server $JS_ADDR" \
	ip netns exec "$NS_J" ping -c 1 -W 2 "$JS_ADDR"
fail_fast "no jump topology"

# One ~/.ssh/config for both: sshtun reads it for `target', and the
# `ssh -W' it runs for ProxyJump reads it for the jump host.  ssh takes its
# home from the passwd entry, not $HOME, so the client runs in a private
# mount namespace with our home bound over root's (nothing outside sees it).
JHOME=$TMP/jhome
mkdir -p "$JHOME/.ssh" && chmod 700 "$JHOME/.ssh"
echo "$J_ADDR $(cut -d' ' -f1,2 "$TMP/jump_host_key.pub")" >"$TMP/jump_known_hosts"
echo "$JS_ADDR $(cut -d' ' -f1,2 "$TMP/host_key.pub")" >"$TMP/jtarget_known_hosts"
write_cfg "$JHOME/.ssh/config" \
	"Host target" \
	"    HostName $JS_ADDR" \
	"    User root" \
	"    ProxyJump root@$J_ADDR" \
	"    IdentityFile $TMP/client_key" \
	"    UserKnownHostsFile $TMP/jtarget_known_hosts" \
	"    StrictHostKeyChecking yes" \
	"    ConnectTimeout 10" \
	"Host $J_ADDR" \
	"    IdentityFile $TMP/client_key" \
	"    IdentitiesOnly yes" \
	"    UserKnownHostsFile $TMP/jump_known_hosts" \
	"    StrictHostKeyChecking yes" \
	"    BatchMode yes" \
	"    ConnectTimeout 5"
PW_HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
CFG_PREFIX=(unshare -m --propagation private
	sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' "$JHOME" "$PW_HOME")
check "jump: the private mount namespace shows our config as $PW_HOME/.ssh/config" \
	in_jc "${CFG_PREFIX[@]}" cmp "$JHOME/.ssh/config" "$PW_HOME/.ssh/config"
check "jump: $PW_HOME itself is untouched" eval '! cmp -s "$JHOME/.ssh/config" "$PW_HOME/.ssh/config"'

n_jump=$(grep -c "Accepted publickey for root from $J_ADDR_S " "$TMP/jtarget.sshd.log")
CFG_NS=$NS_JC CFG_HOME=$JHOME up jump "$JS_ADDR:22" target
check "jump: the jump host's sshd let the client in ($JC_ADDR)" \
	grep -q "Accepted publickey for root from $JC_ADDR " "$TMP/jump.sshd.log"
check "jump: the server's sshd saw the connection come from the jump host $J_ADDR_S" \
	test "$(grep -c "Accepted publickey for root from $J_ADDR_S " "$TMP/jtarget.sshd.log")" -gt "$n_jump"
check "jump: the server's sshd saw nothing from the client's own address" \
	eval '! grep -q "$JC_ADDR" "$TMP/jtarget.sshd.log"'
down jump
CFG_PREFIX=()

done_testing
