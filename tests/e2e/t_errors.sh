#!/bin/bash
# t_errors.sh: every bad input of issue 2 ends with the SPEC's exit code and
# one line naming the cause, in bounded time:
#   2 usage, 3 cannot reach, 4 host key, 5 authentication, 6 server refused
#   the tunnel (also protocol errors while negotiating; 1 is accepted there),
#   7 local device or privilege.
. "$(dirname "$0")/lib.sh"

# says REGEX DESC: the last client's output matches REGEX (grep -Ei).
says() {
	if grep -Eqi -- "$1" <<<"$MSG"; then
		ok "$2"
	else
		not_ok "$2"
		diag "output does not match /$1/:" "$MSG"
	fi
}

# exits CODE DESC: the last client ended with CODE (one of CODE when it is a
# list like "1 6").
exits() {
	local c
	for c in $1; do
		[ "$RC" = "$c" ] && { ok "$2: exit $RC (${ELAPSED_MS} ms)"; return 0; }
	done
	not_ok "$2: exit $RC, want ${1// / or } (${ELAPSED_MS} ms)"
	diag "$MSG"
	return 1
}

# within MS DESC: the last client took less than MS milliseconds.
within() { check "$2: ended within $(($1 / 1000)) s (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -lt "$1"; }

# fake_helper PORT 'sh code': an sshd on PORT whose sshtun Subsystem is the
# given shell code instead of the real helper.
fake_helper() {
	printf '%s\n' "$2" >"$TMP/fake.$1.sh"
	SSHD_PORT=$1 SSHD_SUBSYSTEM="/bin/sh $TMP/fake.$1.sh" sshd_start
}

WITHOUT_NET_ADMIN="$(command -v setpriv) --bounding-set=-net_admin --inh-caps=-net_admin"
HELPER="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases"
FPR=$(ssh-keygen -lf "$TMP/host_key.pub" | awk '{ print $2 }')

check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
check "sshd with the real helper on port 22" sshd_start
SSHD_PORT=2201 SSHD_SUBSYSTEM='' check "sshd without a Subsystem line on port 2201" sshd_start
SSHD_PORT=2202 SSHD_SUBSYSTEM="$WITHOUT_NET_ADMIN $HELPER" \
	check "sshd whose helper lacks CAP_NET_ADMIN on port 2202" sshd_start
check "fake helper: version mismatch (2203)" fake_helper 2203 \
	"printf 'SSHTUN/2 sshtun-9.9\\n'; exec sleep 30"
check "fake helper: random bytes (2204)" fake_helper 2204 \
	"head -c 131072 /dev/urandom; exec sleep 30"
check "fake helper: magic line, then random bytes (2205)" fake_helper 2205 \
	"printf 'SSHTUN/1 sshtun-fake\\n'; head -c 65536 /dev/urandom; exec sleep 30"
check "fake helper: an endless stream (2206)" fake_helper 2206 "exec cat /dev/zero"
check "fake helper: magic line, then silence (2207)" fake_helper 2207 \
	"printf 'SSHTUN/1 sshtun-fake\\n'; exec sleep 60"
check "fake helper: a hello frame 4 GiB long (2208)" fake_helper 2208 \
	"printf 'SSHTUN/1 sshtun-fake\\n\\001\\000\\377\\377\\377\\377'; exec sleep 30"
check "fake helper: silence, not even the magic line (2209)" fake_helper 2209 "exec sleep 60"
fail_fast "no sshtun binary, namespaces or sshd"

# -- usage --------------------------------------------------------------------
# run_bare ARGS...: the client with just these arguments; sets RC, MSG.
run_bare() {
	local t0
	t0=$(now_ms)
	MSG=$(timeout 10 ip netns exec "$NS_C" "$SSHTUN" "$@" 2>&1 </dev/null)
	RC=$?
	ELAPSED_MS=$(($(now_ms) - t0))
}
run_bare -N
exits 2 "no host"
says "usage" "no host: the message shows the usage"
run_bare --no-such-option root@"$S_ADDR"
exits 2 "unknown option"
says "no-such-option|unknown|unrecognized|invalid" "unknown option: the message names it"

# -- cannot reach the server (3) ---------------------------------------------
# 203.0.113.99 is routed into the veth; the server namespace does not forward,
# so the SYN is dropped there and nothing ever answers.
ip -n "$NS_C" route add 203.0.113.99/32 via "$S_ADDR"
TARGET=root@203.0.113.99 CONNECT_TIMEOUT=2 client_try unreachable
exits 3 "unreachable host, ConnectTimeout=2"
within 7000 "unreachable host"
says "time|reach" "unreachable host: the message says it timed out"

TARGET=root@203.0.113.98 client_try noroute	# no route at all in the client ns
exits 3 "no route to the host"
says "unreachable|route" "no route: the message says the network is unreachable"

client_try refused -p 2222
exits 3 "connection refused (no sshd on port 2222)"
says "refused" "connection refused: the message says refused"

# -- host keys (4) ----------------------------------------------------------
: >"$TMP/known_hosts.empty"
KNOWN_HOSTS=$TMP/known_hosts.empty client_try unknown
exits 4 "unknown host key, StrictHostKeyChecking=yes"
says "host key|known" "unknown host key: the message says so"

ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_host_key"
known_hosts_lines "$TMP/other_host_key.pub" >"$TMP/known_hosts.other"
KNOWN_HOSTS=$TMP/known_hosts.other client_try changed
exits 4 "changed host key"
says "changed" "changed host key: the message says changed"
# A fingerprint is base64: '+' and '/' are not regex-safe, so match it as is.
if grep -qF -- "$FPR" <<<"$MSG"; then
	ok "changed host key: the message shows the server's SHA256 fingerprint"
else
	not_ok "changed host key: the message shows the server's SHA256 fingerprint"
	diag "output does not contain $FPR:" "$MSG"
fi

cp "$TMP/known_hosts.empty" "$TMP/known_hosts.new"
KNOWN_HOSTS=$TMP/known_hosts.new STRICT=accept-new client_run acceptnew
check "accept-new: the tunnel comes up with an unknown host key" client_wait_up acceptnew
key_learned() { ssh-keygen -F "$S_ADDR" -f "$1" | grep -qF "$(cut -d' ' -f2 "$TMP/host_key.pub")"; }
check "accept-new: the server's key was added to known_hosts" key_learned "$TMP/known_hosts.new"
ctl acceptnew quit >/dev/null 2>&1
wait_exit "$(client_pid acceptnew)" 10
is "$EXIT_RC" 0 "accept-new: quit exits 0"

# -- authentication (5) -------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$TMP/stranger_key"
CLIENT_KEY=$TMP/stranger_key client_try stranger
exits 5 "a key not in authorized_keys"
says "auth|denied|refused|accept" "refused key: the message says authentication failed"

ssh-keygen -q -t rsa -b 2048 -N '' -f "$TMP/legacy_key"
cat "$TMP/legacy_key.pub" >>"$TMP/authorized_keys"
CLIENT_KEY=$TMP/legacy_key client_try rsa
exits 5 "an RSA key (libssh2 1.10 signs only ssh-rsa, which OpenSSH 9 refuses)"
says "RSA" "RSA key: the message names RSA"

mkdir -p "$TMP/empty_home"
CLIENT_KEY='' CLIENT_HOME=$TMP/empty_home client_try nokey
exits 5 "no usable key (no -i, empty HOME, no agent)"
says "key|identit|auth" "no key: the message says there is no usable key"

# -- the server refuses the tunnel (6) ----------------------------------------
client_try nohelper -p 2201 --remote-command /nonexistent/sshtun
exits 6 "helper not installed (no Subsystem, --remote-command missing)"
says "helper|install" "helper not installed: the message says so"

client_try nopriv -p 2202
exits 6 "helper without CAP_NET_ADMIN"
says "permission|privilege|CAP_NET_ADMIN|\btun\b" "helper without permission: the message says why"

client_try version -p 2203
exits 6 "helper speaks protocol 2"
says "(^|[^0-9.])2([^0-9.]|$)" "version mismatch: the message names version 2"
says "(^|[^0-9.])1([^0-9.]|$)" "version mismatch: the message names version 1"
says "version|protocol" "version mismatch: the message says version"

# Protocol errors during negotiation: 6 (or 1), a clear line, bounded time.
CONNECT_TIMEOUT=3 TRY_TIMEOUT=20 client_try garbage -p 2204
exits "6 1" "random bytes instead of the magic line"
within 8000 "random bytes"
says "magic|protocol|garbage|unexpected|invalid|helper" "random bytes: the message says what was wrong"

CONNECT_TIMEOUT=3 TRY_TIMEOUT=20 client_try garbage2 -p 2205
exits "6 1" "random bytes after the magic line"
within 8000 "random bytes after the magic line"
says "frame|protocol|hello|unexpected|invalid|limit|type" "random frames: the message says what was wrong"

CONNECT_TIMEOUT=3 TRY_TIMEOUT=20 client_try endless -p 2206
exits "6 1" "an endless stream of zeros"
within 8000 "endless stream"

CONNECT_TIMEOUT=3 TRY_TIMEOUT=20 client_try silent -p 2207
exits "6 1" "no hello after the magic line, ConnectTimeout=3"
within 8000 "no hello"
says "hello|time" "no hello: the message says the hello timed out"

CONNECT_TIMEOUT=3 TRY_TIMEOUT=20 client_try mute -p 2209
exits "6 1" "no magic line at all, ConnectTimeout=3"
within 8000 "no magic line"
says "time|magic|hello" "no magic line: the message says it timed out"

CONNECT_TIMEOUT=3 TRY_TIMEOUT=20 client_try overlong -p 2208
exits "6 1" "a frame 4 GiB long"
within 8000 "over-long frame"
says "limit|too (long|large|big)|exceed|max" "over-long frame: the message mentions the limit"

# -- local device or privilege (7) -------------------------------------------
CLIENT_PREFIX=$WITHOUT_NET_ADMIN client_try nocap
exits 7 "client without CAP_NET_ADMIN"
says "permission|privilege|CAP_NET_ADMIN|root|\btun\b" "no CAP_NET_ADMIN: the message says why"

# -- nothing left behind --------------------------------------------------------
only_veth() { [ -z "$(ip -n "$1" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
	grep -vx -e lo -e "$2")" ]; }
check "no interface left in the client namespace" only_veth "$NS_C" veth-c
check "no interface left in the server namespace" wait_for 10 only_veth "$NS_S" veth-s
check "no process left in the client namespace" test -z "$(ip netns pids "$NS_C")"

done_testing
