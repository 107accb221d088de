# tests/e2e/lib.sh: sourced by every end-to-end test (and by tests/demo.sh).
#
# A real OpenSSH sshd runs in one network namespace, the client in another,
# joined by a veth pair.  Everything lives in a temp dir and in namespaces
# whose names carry this shell's PID; the EXIT trap takes it all down again,
# on success, on failure and on a signal.  KEEP=1 keeps the temp dir.
#
#   server ns  sshtun-s-PID  veth-s  198.51.100.1/24  2001:db8:1::1/64
#   client ns  sshtun-c-PID  veth-c  198.51.100.2/24  2001:db8:1::2/64
#
# Output is TAP without a plan up front: ok / not_ok / check, done_testing.

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd "$TESTS_DIR/.." && pwd)

# The binary under test; made absolute because sshd runs it from elsewhere.
SSHTUN=${SSHTUN:-$REPO/sshtun}
case $SSHTUN in /*) ;; *) SSHTUN=$PWD/$SSHTUN ;; esac
SSHD=${SSHD:-/usr/sbin/sshd}
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3

NS_S=sshtun-s-$$
NS_C=sshtun-c-$$
S_ADDR=198.51.100.1
C_ADDR=198.51.100.2
S_ADDR6=2001:db8:1::1
C_ADDR6=2001:db8:1::2
POOL4=198.18.0.0/24
POOL6=2001:db8:77::/64

T_COUNT=0	# TAP lines so far
T_FAILED=0	# of which "not ok"
PIDS=()		# every background process we started; cleanup ends them
NETNS_UP=0
EXTRA_NS=()	# more namespaces a test made (a second server); cleanup removes them
CLEANED=0

# ---- TAP ------------------------------------------------------------------

ok()     { T_COUNT=$((T_COUNT + 1)); echo "ok $T_COUNT - $*"; }
not_ok() { T_COUNT=$((T_COUNT + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_COUNT - $*"; }
diag()   { printf '%s\n' "$@" | sed 's/^/# /'; }

# check "description" cmd...: ok when cmd succeeds; its output is shown
# (as TAP comments) only when it fails.
check() {
	local desc=$1 rc
	shift
	"$@" >"$TMP/check.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "command: $* (exit $rc)"
		tail -n 15 "$TMP/check.out" | sed 's/^/#   /'
	fi
	return $rc
}

# is GOT WANT "description"
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "got:  '$1'" "want: '$2'"
		return 1
	fi
}

# fail_fast [reason]: once something has failed, the rest would only pile
# up noise (e.g. no tunnel, so no ping): stop here.
fail_fast() {
	[ "$T_FAILED" -eq 0 ] && return 0
	echo "Bail out! ${1:-a test above failed}"
	exit 1
}

done_testing() {
	echo "1..$T_COUNT"
	[ "$T_FAILED" -eq 0 ] && exit 0
	exit 1
}

# ---- time and waiting -----------------------------------------------------

# Milliseconds on a monotonic-enough clock ($EPOCHREALTIME minus its dot).
now_ms() { local t=${EPOCHREALTIME/[^0-9]/}; echo $((t / 1000)); }

# wait_for TIMEOUT_S cmd...: poll every 0.1 s until cmd succeeds (0) or the
# deadline passes (1).  TIMEOUT_S may be fractional.
wait_for() {
	local limit deadline
	limit=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')
	shift
	deadline=$(($(now_ms) + limit))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -d "/proc/$1" ] || return 1
	! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# ---- namespaces -----------------------------------------------------------

in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

netns_setup() {
	ip netns add "$NS_S" || return 1
	NETNS_UP=1
	ip netns add "$NS_C" || return 1
	# Created inside the server namespace, the peer moved straight into the
	# client one: nothing ever appears in the root namespace.
	ip -n "$NS_S" link add veth-s type veth peer name veth-c netns "$NS_C" || return 1
	ip -n "$NS_S" link set lo up
	ip -n "$NS_C" link set lo up
	ip -n "$NS_S" addr add "$S_ADDR/24" dev veth-s
	ip -n "$NS_C" addr add "$C_ADDR/24" dev veth-c
	ip -n "$NS_S" addr add "$S_ADDR6/64" dev veth-s nodad
	ip -n "$NS_C" addr add "$C_ADDR6/64" dev veth-c nodad
	ip -n "$NS_S" link set veth-s up
	ip -n "$NS_C" link set veth-c up
}

# ---- bulk data through a tunnel -------------------------------------------

# tcp_send ADDR PORT FILE (server namespace): sends FILE to the first client
# that connects.  tcp_recv ADDR PORT FILE (client namespace): writes what
# comes to FILE.  Bounded: 120 s to be connected to, 180 s in all.
tcp_send() {
	in_s "$PYTHON" -c 'import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_server((a, p), family=socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(120)
c, _ = s.accept()
with open(path, "rb") as f:
    c.sendfile(f)
c.close()' "$1" "$2" "$3"
}
tcp_recv() {
	in_c timeout 180 "$PYTHON" -c 'import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.create_connection((a, p), timeout=60)
with open(path, "wb") as f:
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        f.write(d)' "$1" "$2" "$3"
}
tcp_listening() { in_s ss -Hltn "( sport = :$1 )" | grep -q .; }

# ---- flows: batches of downloads from $peer (the server's tunnel address),
# each of its own random data, checked whole by sha256.  The script sets
# PORT (the batch's ports are the next ones up) before the first batch.
sha() { sha256sum <"$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
# cpu_ticks PID...: utime + stime of the processes (all their threads).
cpu_ticks() {
	local p sum=0 t
	for p in "$@"; do
		# fields 14 and 15, counted after the ")" that ends comm
		t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}
FLOWS=()	# the batch's TAG:PORT
# start_flows TAG N KB: N downloads at once, each KB of its own random data.
start_flows() {
	local tag=$1 n=$2 kb=$3 i f
	FLOWS=()
	for i in $(seq 1 "$n"); do
		PORT=$((PORT + 1))
		FLOWS+=("$tag$i:$PORT")
		head -c $((kb * 1024)) /dev/urandom >"$TMP/$tag$i.data"
		bg_run "$tag$i.send" tcp_send "$peer" "$PORT" "$TMP/$tag$i.data"
	done
	for f in "${FLOWS[@]}"; do
		wait_for 10 tcp_listening "${f#*:}" || return 1
	done
	for f in "${FLOWS[@]}"; do
		bg_run "${f%:*}.recv" tcp_recv "$peer" "${f#*:}" "$TMP/${f%:*}.got"
	done
}
# flows_under_way KB: every download of the batch has at least KB in.
flows_under_way() {
	local f
	for f in "${FLOWS[@]}"; do
		[ "$(size_of "$TMP/${f%:*}.got")" -ge $(($1 * 1024)) ] || return 1
	done
}
flows_finish() {
	local f rc=0
	for f in "${FLOWS[@]}"; do
		wait_exit "$(cat "$TMP/${f%:*}.recv.pid")" 120 || rc=1
	done
	return $rc
}
flows_intact() {
	local f
	for f in "${FLOWS[@]}"; do
		[ "$(sha "$TMP/${f%:*}.got")" = "$(sha "$TMP/${f%:*}.data")" ] || {
			echo "${f%:*}: $(size_of "$TMP/${f%:*}.got") of $(size_of "$TMP/${f%:*}.data") bytes, sha256 differs"
			return 1
		}
	done
}

# ---- keys -----------------------------------------------------------------

# known_hosts_lines PUBKEY_FILE [PORT]: the lines ssh looks up for the
# server, over IPv4 and IPv6, in the form for that port.
known_hosts_lines() {
	local key port=${2:-22} h
	key=$(cut -d' ' -f1,2 "$1")
	for h in "$S_ADDR" "$S_ADDR6"; do
		if [ "$port" = 22 ]; then
			echo "$h $key"
		else
			echo "[$h]:$port $key"
		fi
	done
}

keys_setup() {
	ssh-keygen -q -t ed25519 -N '' -C sshtun-test-host -f "$TMP/host_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -C sshtun-test-client -f "$TMP/client_key" || return 1
	cp "$TMP/client_key.pub" "$TMP/authorized_keys"
	known_hosts_lines "$TMP/host_key.pub" >"$TMP/known_hosts"
	mkdir -p "$TMP/home"	# the client's $HOME: no ~/.ssh, no agent
}

# ---- sshd -----------------------------------------------------------------

# sshd_start [extra sshd_config lines...]: a real sshd in the server
# namespace on $SSHD_PORT (default 22).  SSHD_SUBSYSTEM replaces the sshtun
# Subsystem command; set but empty, there is no Subsystem line at all.
# Sets SSHD_PID; known_hosts gets the [host]:port form for other ports.
sshd_start() {
	local port=${SSHD_PORT:-22}
	local cfg=$TMP/sshd_config.$port log=$TMP/sshd.$port.log line
	local subsys=${SSHD_SUBSYSTEM-$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases}

	mkdir -p /run/sshd	# privilege separation directory
	{
		echo "Port $port"
		echo "HostKey $TMP/host_key"
		echo "PidFile $TMP/sshd.$port.pid"
		echo "AuthorizedKeysFile $TMP/authorized_keys"
		echo "StrictModes no"
		echo "PermitRootLogin prohibit-password"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "UsePAM no"
		echo "LogLevel VERBOSE"
		[ -n "$subsys" ] && echo "Subsystem sshtun $subsys"
		for line in "$@"; do echo "$line"; done
	} >"$cfg"
	"$SSHD" -t -f "$cfg" || return 1

	# ip netns exec execs sshd, so $! is sshd itself (-D: it stays in front).
	ip netns exec "$NS_S" "$SSHD" -D -e -f "$cfg" 2>>"$log" &
	SSHD_PID=$!
	PIDS+=("$SSHD_PID")
	if ! wait_for 10 sshd_listening "$port"; then
		echo "sshd did not listen on port $port within 10 s" >&2
		return 1
	fi
	[ "$port" = 22 ] || known_hosts_lines "$TMP/host_key.pub" "$port" >>"$TMP/known_hosts"
}

sshd_listening() { in_s ss -Hltn "( sport = :$1 )" | grep -q .; }

# ---- the sshtun client ----------------------------------------------------

# The command line every client gets; the defaults are variables rather
# than extra -o options because with ssh the first -o for a keyword wins:
#   CLIENT_KEY (empty: no -i)   KNOWN_HOSTS   STRICT   CONNECT_TIMEOUT
#   TARGET (user@host)          CLIENT_HOME   CLIENT_PREFIX (e.g. setpriv ...)
#   CLIENT_N (default -N; empty: the client reads commands from stdin)
client_argv() {
	local name=$1
	shift
	CLIENT_ARGV=(env -u SSH_AUTH_SOCK "HOME=${CLIENT_HOME:-$TMP/home}")
	# shellcheck disable=SC2206 # CLIENT_PREFIX is a word list on purpose
	[ -n "$CLIENT_PREFIX" ] && CLIENT_ARGV+=($CLIENT_PREFIX)
	CLIENT_ARGV+=("$SSHTUN" ${CLIENT_N--N} -n "$name" -S "$TMP/$name.sock")
	[ -n "${CLIENT_KEY-$TMP/client_key}" ] && CLIENT_ARGV+=(-i "${CLIENT_KEY-$TMP/client_key}")
	CLIENT_ARGV+=(-o "UserKnownHostsFile=${KNOWN_HOSTS:-$TMP/known_hosts}"
		-o "StrictHostKeyChecking=${STRICT:-yes}"
		-o "ConnectTimeout=${CONNECT_TIMEOUT:-5}"
		"$@" "${TARGET:-root@$S_ADDR}")
}

# client_run NAME [sshtun args...]: start a client in the client namespace in
# the background; log in $TMP/NAME.log, pid in $TMP/NAME.pid.
client_run() {
	local name=$1
	client_argv "$@"
	echo "$ ${CLIENT_ARGV[*]}" >"$TMP/$name.log"
	ip netns exec "$NS_C" "${CLIENT_ARGV[@]}" >>"$TMP/$name.log" 2>&1 </dev/null &
	PIDS+=($!)
	echo $! >"$TMP/$name.pid"
}

# client_try NAME [sshtun args...]: run a client to its end (bounded by
# TRY_TIMEOUT, default 20 s).  Sets RC, ELAPSED_MS, and MSG (its output).
client_try() {
	local name=$1 t0
	client_argv "$@"
	t0=$(now_ms)
	timeout -k 5 "${TRY_TIMEOUT:-20}" ip netns exec "$NS_C" "${CLIENT_ARGV[@]}" \
		>"$TMP/$name.log" 2>&1 </dev/null
	RC=$?
	ELAPSED_MS=$(($(now_ms) - t0))
	MSG=$(cat "$TMP/$name.log")
}

client_pid() { cat "$TMP/$1.pid"; }
ctl() { local name=$1; shift; in_c "$SSHTUN" ctl -S "$TMP/$name.sock" "$@"; }

# client_status NAME: `status --json` into $TMP/NAME.status.
client_status() { ctl "$1" status --json >"$TMP/$1.status" 2>/dev/null; }
client_is_up() { client_status "$1" && [ "$(json_get "$TMP/$1.status" state)" = up ]; }
client_up_or_gone() { client_is_up "$1" || ! alive "$(client_pid "$1")"; }

# client_wait_up NAME: until its status says "up" (20 s), or it died.
client_wait_up() {
	wait_for 20 client_up_or_gone "$1"
	client_is_up "$1"
}

# wait_exit PID TIMEOUT_S: until PID ends; sets EXIT_RC (255+ on timeout).
wait_exit() {
	if wait_for "$2" eval "! alive $1"; then
		wait "$1" 2>/dev/null
		EXIT_RC=$?
		return 0
	fi
	EXIT_RC=999
	return 1
}

# bg_run NAME cmd...: any other background helper; output to $TMP/NAME.log.
bg_run() {
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 </dev/null &
	PIDS+=($!)
	echo $! >"$TMP/$name.pid"
}

# json_get FILE_OR_STRING KEY: KEY may be a dotted path ("routes.0").
# Strings print raw, anything else as JSON.  A parse error or a missing key
# fails.
json_get() {
	"$PYTHON" -c '
import json, os, sys
src, key = sys.argv[1], sys.argv[2]
text = open(src).read() if os.path.isfile(src) else src
try:
    v = json.loads(text)
    for k in key.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
except (ValueError, KeyError, IndexError, TypeError) as e:
    sys.exit("json_get %s: %r" % (key, e))
print(v if isinstance(v, str) else json.dumps(v))
' "$1" "$2"
}

# ---- cleanup --------------------------------------------------------------

all_gone() { local p; for p in "$@"; do alive "$p" && return 1; done; return 0; }

# kill_all PID...: TERM, up to 5 s for them to go, then KILL.
kill_all() {
	local p left
	[ $# -eq 0 ] && return 0
	kill -TERM "$@" 2>/dev/null
	if ! wait_for 5 all_gone "$@"; then
		left=
		for p in "$@"; do alive "$p" && left="$left $p"; done
		[ -n "$left" ] && kill -KILL $left 2>/dev/null
		wait_for 5 all_gone $left
	fi
	# Reap our own children (harmless for others: they are not waited on).
	for p in "$@"; do alive "$p" || wait "$p" 2>/dev/null; done
	return 0
}

# In a private mount namespace (t_list, t_resolvconf, t_resolved) other
# tests' namespaces made since show as invalid entries: not ours, not noise.
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

cleanup() {
	local rc=$1 ns f
	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	if [ "$rc" -ne 0 ] || [ "$T_FAILED" -gt 0 ]; then
		for f in "$TMP"/*.log; do
			[ -s "$f" ] || continue
			echo "# --- tail of $(basename "$f")"
			tail -n 20 "$f" | sed 's/^/#   /'
		done
	fi
	kill_all "${PIDS[@]}"
	if [ "$NETNS_UP" = 1 ]; then
		# What sshd started for the clients (sessions, helpers) and anything
		# else left inside our own namespaces.
		for ns in "$NS_S" "$NS_C" "${EXTRA_NS[@]}"; do
			ns_exists "$ns" && kill_all $(ip netns pids "$ns" 2>/dev/null)
			ns_exists "$ns" && ip netns del "$ns"
		done
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# KEEP=1: test files left in $TMP"
	else
		rm -rf "$TMP"
	fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "Bail out! end-to-end tests need root (network namespaces, TUN, sshd)"
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sshtun-test.XXXXXX") || exit 1
trap 'cleanup $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
keys_setup || { echo "Bail out! cannot make test keys"; exit 1; }
