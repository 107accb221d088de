#!/bin/bash
# t_certs.sh: OpenSSH user certificates (issue 18).  sshd trusts a throwaway
# CA (TrustedUserCAKeys); none of the keys below is in authorized_keys, so
# only a certificate lets the client in.
#
#   A. -i KEY finds KEY-cert.pub beside it (ECDSA)
#   B. CertificateFile in an ssh_config (-F), the certificate elsewhere
#   C. the agent (started here, killed by PID) holds the key and its cert
#   D. an ED25519 certificate: with libssh2 1.10 (Debian 12) it cannot work
#      (libssh2 names the signature by the certificate's type; 1.11 fixed
#      it): one line that says so, by -i and from the agent; with libssh2
#      1.11 or later it must come up
#   E. an expired certificate: exit 5, the message gives the date
#   F. a certificate for another principal: exit 5, the message names it
#   G. host certificates (sshd has one, signed by the CA): libssh2 1.10 offers
#      no certificate host-key algorithm.  known_hosts with only a
#      @cert-authority line for the server: exit 4, one line that says so and
#      what to add; the same line followed by the server's own key: up (the
#      lines after a marker line are read); its key @revoked: exit 4
. "$(dirname "$0")/lib.sh"

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
ssh-keygen -q -t ed25519 -N '' -C test-ca -f "$TMP/ca" || exit 1
ssh-keygen -q -s "$TMP/ca" -h -I test-host -n "$S_ADDR" -V -5m:+1h "$TMP/host_key.pub" || exit 1
sshd_start "TrustedUserCAKeys $TMP/ca.pub" "HostCertificate $TMP/host_key-cert.pub" ||
	{ echo "Bail out! sshd did not start"; exit 1; }
SSHD_LOG=$TMP/sshd.22.log

# newkey NAME TYPE: a key pair $TMP/NAME (not authorized on its own).
newkey() { ssh-keygen -q -t "$2" -N '' -C "$1" -f "$TMP/$1"; }
# sign NAME ID PRINCIPAL VALIDITY [OUT]: the CA certifies $TMP/NAME.pub.
sign() {
	ssh-keygen -q -s "$TMP/ca" -I "$2" -n "$3" -V "$4" "$TMP/$1.pub" || return 1
	[ -z "$5" ] || mv "$TMP/$1-cert.pub" "$5"
}
# comes_up NAME [args]: the client comes up and quits by itself (-c quit).
comes_up() {
	client_try "$@" -c quit
	[ "$RC" = 0 ] || { echo "exit $RC: $MSG"; return 1; }
}
# refused NAME PATTERN [args]: exit 5 and the message matches PATTERN.
refused() {
	local name=$1 pat=$2
	shift 2
	client_try "$name" "$@"
	[ "$RC" = 5 ] && grep -qE -- "$pat" <<<"$MSG" || { echo "exit $RC: $MSG"; return 1; }
}
# refused_hk NAME PATTERN [args]: exit 4 (host key) and the message matches.
refused_hk() {
	local name=$1 pat=$2
	shift 2
	client_try "$name" "$@"
	[ "$RC" = 4 ] && grep -qE -- "$pat" <<<"$MSG" || { echo "exit $RC: $MSG"; return 1; }
}
accepted_id() { grep -q "Accepted certificate ID \"$1\"" "$SSHD_LOG"; }

LIBSSH2=$(pkg-config --modversion libssh2)
new_libssh2() { [ "$(printf '%s\n1.11.0\n' "$LIBSSH2" | sort -V | head -1)" = 1.11.0 ]; }

# ---- A. -i KEY + KEY-cert.pub -------------------------------------------------
newkey ka ecdsa && sign ka cert-a root -5m:+1h
CLIENT_KEY=$TMP/ka check "A: -i KEY with KEY-cert.pub (ECDSA) comes up" comes_up a
check "A: sshd accepted certificate ID cert-a" accepted_id cert-a

# ---- B. CertificateFile in ssh_config ------------------------------------------
newkey kb ecdsa && mkdir -p "$TMP/certs" && sign kb cert-b root -5m:+1h "$TMP/certs/b.pub"
cat >"$TMP/b_config" <<CFG
Host $S_ADDR
    IdentityFile $TMP/kb
    CertificateFile $TMP/certs/b.pub
CFG
CLIENT_KEY= check "B: CertificateFile in the -F config comes up" comes_up b -F "$TMP/b_config"
check "B: sshd accepted certificate ID cert-b" accepted_id cert-b

# ---- C. the agent -------------------------------------------------------------
newkey kc ecdsa && sign kc cert-c root -5m:+1h
ssh-agent -D -a "$TMP/agent.sock" >"$TMP/agent.log" 2>&1 </dev/null &
AGENT=$!
PIDS+=("$AGENT")
wait_for 10 test -S "$TMP/agent.sock"
check "C: ssh-add the key and its certificate" env SSH_AUTH_SOCK="$TMP/agent.sock" ssh-add "$TMP/kc"
CLIENT_KEY= CLIENT_PREFIX="env SSH_AUTH_SOCK=$TMP/agent.sock" check "C: the agent's certificate comes up" comes_up c
check "C: sshd accepted certificate ID cert-c" accepted_id cert-c

# ---- D. ED25519 certificates ----------------------------------------------------
newkey kd ed25519 && sign kd cert-d root -5m:+1h
if new_libssh2; then
	CLIENT_KEY=$TMP/kd check "D: libssh2 $LIBSSH2: an ED25519 certificate comes up" comes_up d
else
	CLIENT_KEY=$TMP/kd check "D: libssh2 $LIBSSH2: -i with an ED25519 certificate says it needs libssh2 1.11" \
		refused d "certificate $TMP/kd-cert.pub: ssh-ed25519 certificates need libssh2 1.11"
	env SSH_AUTH_SOCK="$TMP/agent.sock" ssh-add -D >/dev/null 2>&1
	env SSH_AUTH_SOCK="$TMP/agent.sock" ssh-add "$TMP/kd" >/dev/null 2>&1
	CLIENT_KEY= CLIENT_PREFIX="env SSH_AUTH_SOCK=$TMP/agent.sock" \
		check "D: the same from the agent" refused d2 "agent certificate .*ssh-ed25519 certificates need libssh2 1.11"
fi
kill "$AGENT" 2>/dev/null

# ---- E. expired ------------------------------------------------------------------
newkey ke ecdsa && sign ke cert-e root 20200101:20200102
CLIENT_KEY=$TMP/ke check "E: an expired certificate: exit 5, expired on 2020-01-02" \
	refused e "certificate .cert-e. expired on 2020-01-02"

# ---- F. another principal -------------------------------------------------------
newkey kf ecdsa && sign kf cert-f alice -5m:+1h
CLIENT_KEY=$TMP/kf check "F: a certificate for alice, logging in as root: exit 5, names alice" \
	refused f "names principal alice, not root"

# ---- G. host certificates ---------------------------------------------------------
CA_LINE="@cert-authority $S_ADDR,$S_ADDR6 $(cut -d' ' -f1,2 "$TMP/ca.pub")"
echo "$CA_LINE" >"$TMP/kh_ca_only"
KNOWN_HOSTS=$TMP/kh_ca_only check "G: only a @cert-authority line: exit 4, says libssh2 cannot check host certificates" \
	refused_hk g1 "known only through the @cert-authority line $TMP/kh_ca_only:1, and libssh2 [0-9.]+ cannot check host certificates: add the server's own key"
{ echo "$CA_LINE"; cat "$TMP/known_hosts"; } >"$TMP/kh_ca_then_key"
KNOWN_HOSTS=$TMP/kh_ca_then_key check "G: a @cert-authority line, then the server's key: up" comes_up g2
{ cat "$TMP/known_hosts"; echo "@revoked * $(cut -d' ' -f1,2 "$TMP/host_key.pub")"; } >"$TMP/kh_revoked"
KNOWN_HOSTS=$TMP/kh_revoked check "G: the server's key @revoked: exit 4" \
	refused_hk g3 "host key of $S_ADDR .* is marked @revoked in $TMP/kh_revoked"
done_testing
