#!/bin/bash
# t_userspace.sh: no root and nothing installed on the server (issue 16).
#
#   client ns --veth-c/veth-s-- server ns --veth-sl/veth-l-- LAN ns
#   198.51.100.2                198.51.100.1                 203.0.113.10
#                               203.0.113.1/24               2001:db8:203::10
#
# The login user carol exists only for a second sshd, in a private mount
# namespace (bind-mounted passwd, shadow, group and a resolv.conf naming the
# LAN's dnsmasq); she is not root, has no sudo and no capability, sshd says
# PermitTunnel no, and no sshtun is on her PATH.  Her helper has no TUN to
# make: it runs its user-space stack (libslirp), its sockets are hers.
#
#   0. without --push the client fails and says --push would help
#   1. --push copies the binary to ~/.cache/sshtun (0700, carol's) and the
#      tunnel comes up in user-space mode (status, status --json), the
#      helper is carol's, sandboxed (seccomp, no_new_privs), no TUN appears
#   2. -r 203.0.113.0/24 (and its IPv6 twin): a TCP download from the LAN host matches its
#      sha256; a UDP DNS query to its dnsmasq is answered; ping reaches it
#      (ping_group_range opened in the server ns); --dns resolves a LAN name
#      through the stack's resolver (the pool's first address)
#   3. the server's own loopback stays out of reach (a service on
#      127.0.0.1 in the server ns, through the peer address and directly),
#      and so do the server's own addresses (a service on its LAN-side
#      address, IPv4 and IPv6: slirp's connection would come over lo)
#   4. a reconnect, and a new client, reuse the pushed copy (no upload, the
#      same inode)
#   5. with ping_group_range closed: the helper says why ping gets no answer
#   6. a copy that is not this binary is left alone and refused; a server of
#      another machine type (a fake uname first on PATH) is refused and
#      nothing is sent
. "$(dirname "$0")/lib.sh"

NS_L=sshtun-l-$$
LAN=203.0.113.10
LAN_GW=203.0.113.1
LAN6=2001:db8:203::10
LAN_GW6=2001:db8:203::1
LAN_NET=203.0.113.0/24
RESOLV=/etc/netns/$NS_C/resolv.conf
CAROL=4242301
LAN_UP=0
SERVE_ARGS="serve --pool $POOL4 --pool6 $POOL6"

in_l() { ip netns exec "$NS_L" "$@"; }

lan_cleanup() {
	if [ "$LAN_UP" = 1 ] && ns_exists "$NS_L"; then
		# shellcheck disable=SC2046 # a list of pids
		kill_all $(ip netns pids "$NS_L" 2>/dev/null)
		ip netns del "$NS_L"
	fi
	rm -rf "/etc/netns/$NS_C"
}
trap 'cleanup $?; lan_cleanup' EXIT

lan_setup() {
	ip netns add "$NS_L" || return 1
	LAN_UP=1
	ip -n "$NS_S" link add veth-sl type veth peer name veth-l netns "$NS_L" || return 1
	ip -n "$NS_L" link set lo up
	ip -n "$NS_S" addr add "$LAN_GW/24" dev veth-sl
	ip -n "$NS_L" addr add "$LAN/24" dev veth-l
	ip -n "$NS_S" addr add "$LAN_GW6/64" dev veth-sl nodad
	ip -n "$NS_L" addr add "$LAN6/64" dev veth-l nodad
	ip -n "$NS_S" link set veth-sl up
	ip -n "$NS_L" link set veth-l up
}

# serve_file NS ADDR PORT FILE: sends FILE to the first caller (60 s).
serve_file() {
	ip netns exec "$1" timeout 120 "$PYTHON" -c 'import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_server((a, p), family=socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(60)
c, _ = s.accept()
with open(path, "rb") as f:
    c.sendfile(f)
c.close()' "$2" "$3" "$4"
}
listening() { ip netns exec "$1" ss -Hltn "( sport = :$2 )" | grep -q .; }

# download ADDR PORT OUT (client ns): what the server of ADDR:PORT sends.
download() {
	in_c timeout 60 "$PYTHON" -c 'import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
with open(sys.argv[3], "wb") as f:
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        f.write(d)' "$1" "$2" "$3"
}
# connects ADDR PORT (client ns): a TCP connection is accepted within 3 s.
connects() {
	in_c timeout 5 "$PYTHON" -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()' "$1" "$2" 2>/dev/null
}

# dns_query SERVER NAME (client ns): one UDP A query; prints the address.
dns_query() {
	in_c timeout 10 "$PYTHON" -c 'import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x5353, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for _ in range(3):
    s.sendto(q, (server, 53))
    try:
        r = s.recv(512)
        break
    except socket.timeout:
        pass
else:
    sys.exit("no answer")
if r[:2] != q[:2] or struct.unpack(">H", r[6:8])[0] < 1:
    sys.exit("no address in the answer")
print(socket.inet_ntoa(r[-4:]))' "$1" "$2"
}
dns_listening() { in_l ss -Hlun "( sport = :53 )" | grep -q "$LAN"; }

pings() {
	wait_for 10 in_c ping -c 1 -W 1 "$1"
	in_c ping -c 3 -i 0.2 -W 2 "$1"
}

cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"; }
field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
# The helper: the process in the server ns running "... serve ...".
helper_pid() {
	local p
	for p in $(ip netns pids "$NS_S" 2>/dev/null); do
		case $(cmdline "$p") in *" serve "*) echo "$p"; return 0 ;; esac
	done
	return 1
}
server_links() { ip -n "$NS_S" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' '; }

# up NAME [args]: carol's client, waits for "up"; sets PEER.
up() {
	local name=$1
	TARGET=carol@$S_ADDR client_run "$@"
	if ! check "$name: tunnel up" client_wait_up "$name"; then
		PEER=''
		return 1
	fi
	PEER=$(json_get "$TMP/$name.status" peer_addr)
	diag "$name: $(json_get "$TMP/$name.status" local_addr) <-> $PEER"
}
quit() {
	check "$1: ctl quit" ctl "$1" quit
	wait_exit "$(client_pid "$1")" 10
	is "$EXIT_RC" 0 "$1: exits 0 after quit"
}

# ---------------------------------------------------------------------------
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces (client, server)" netns_setup
check "LAN namespace $NS_L behind the server" lan_setup
mkdir -p "/etc/netns/$NS_C"
echo "nameserver 198.51.100.99" >"$RESOLV"

# carol: a plain login with nothing installed.
ETC=$TMP/etc
H=$TMP/h-carol
mkdir -p "$ETC" "$H"
chmod 711 "$TMP"
chown -R $CAROL:$CAROL "$H"
{ cat /etc/passwd; echo "carol:x:$CAROL:$CAROL::$H:/bin/sh"; } >"$ETC/passwd"
{ cat /etc/shadow; echo "carol:*:19000:0:99999:7:::"; } >"$ETC/shadow"
{ cat /etc/group; echo "carol:x:$CAROL:"; } >"$ETC/group"
echo "nameserver $LAN" >"$ETC/resolv.conf"
chmod 644 "$ETC/passwd" "$ETC/group" "$ETC/resolv.conf"
chmod 640 "$ETC/shadow"
cat >"$TMP/sshd-private.sh" <<EOS
#!/bin/sh
# sshd in a mount namespace of its own, with carol and the LAN's resolver.
exec unshare -m --propagation private sh -c '
	for f in passwd shadow group resolv.conf; do
		mount --bind "\$0/\$f" "/etc/\$f" || exit 1
	done
	exec /usr/sbin/sshd "\$@"' "$ETC" "\$@"
EOS
chmod 755 "$TMP/sshd-private.sh"
SSHD=$TMP/sshd-private.sh SSHD_SUBSYSTEM='' \
	check "sshd with carol, PermitTunnel no (private mount namespace)" sshd_start "PermitTunnel no"
check "carol is unknown outside it" eval '! getent passwd carol | grep -q ":$CAROL:"'
check "no sshtun on sshd's PATH for users" \
	eval '! in_s env PATH=/usr/local/bin:/usr/bin:/bin:/usr/games sh -c "command -v sshtun"'
# Another sshd for carol whose sessions find a uname that says aarch64.
mkdir -p "$TMP/fakebin"
printf '#!/bin/sh\necho aarch64\n' >"$TMP/fakebin/uname"
chmod 755 "$TMP/fakebin" "$TMP/fakebin/uname"
SSHD=$TMP/sshd-private.sh SSHD_SUBSYSTEM='' SSHD_PORT=2223 \
	check "sshd on 2223 whose users find a fake uname -m (aarch64) first" \
	sshd_start "PermitTunnel no" "SetEnv PATH=$TMP/fakebin:/usr/bin:/bin"

head -c 3M /dev/urandom >"$TMP/lan-file"
echo "over ipv6" >"$TMP/secret6"
bg_run dnsmasq ip netns exec "$NS_L" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv \
	--no-hosts --listen-address="$LAN" --bind-interfaces --address=/host.lan.test/"$LAN" \
	--pid-file="$TMP/dnsmasq.pid" --log-facility=- --log-queries
check "dnsmasq on the LAN host" wait_for 10 dns_listening
in_s sysctl -qw net.ipv4.ping_group_range="0 2147483647"
fail_fast "setup failed"

LINKS0=$(server_links)
: >"$H/serve.log"
chown $CAROL "$H/serve.log"
HELPER="sshtun $SERVE_ARGS -v 2>>$H/serve.log"
copies() { ls "$H/.cache/sshtun" 2>/dev/null; }
sent() { grep -c -- "--push: sending" "$TMP/$1.log"; }

# ---- 0. no helper, no --push -----------------------------------------------------
TARGET=carol@$S_ADDR client_try nopush --remote-command "$HELPER"
is "$RC" 6 "without --push: exit 6"
check "without --push: the message says --push would help" grep -q -- "--push would copy" "$TMP/nopush.log"
is "$(copies)" "" "without --push: nothing copied"

# ---- 1. --push, user-space mode ----------------------------------------------------
up u1 --push -r "$LAN_NET" -r 2001:db8:203::/64 --dns --remote-command "$HELPER"
fail_fast "the tunnel did not come up"
COPY=$H/.cache/sshtun/$(copies)
diag "pushed copy: $COPY"
is "$(sent u1)" 1 "u1: the binary was sent once"
# --push sends the self-contained build when it lies next to the binary.
SENT=$SSHTUN
[ -x "$SSHTUN-static" ] && SENT=$SSHTUN-static
check "u1: the copy is $(basename "$SENT") (the one --push sends)" cmp -s "$COPY" "$SENT"
is "$(stat -c '%a %u' "$COPY")" "700 $CAROL" "u1: the copy is mode 700, carol's"
is "$(stat -c '%a' "$H/.cache/sshtun")" 700 "u1: ~/.cache/sshtun is 0700"
INODE=$(stat -c %i "$COPY")
is "$(json_get "$TMP/u1.status" server_stack)" userspace "u1: status --json server_stack userspace"
check "u1: status says userspace" eval 'ctl u1 status | grep -q userspace'
HP=$(helper_pid)
diag "helper $HP: $(cmdline "$HP")"
is "$(field "$HP" Uid)" "$CAROL" "the helper runs as carol"
is "$(field "$HP" CapEff)" 0000000000000000 "the helper has no capability"
is "$(field "$HP" NoNewPrivs)" 1 "the helper: NoNewPrivs 1"
is "$(field "$HP" Seccomp)" 2 "the helper: Seccomp 2 (filter)"
is "$(server_links)" "$LINKS0" "no TUN (no new link) in the server namespace"
check "the helper said it runs its user-space stack" grep -q "user-space" "$H/serve.log"

# ---- 2. the LAN behind the server -----------------------------------------------
bg_run lan-send serve_file "$NS_L" "$LAN" 7001 "$TMP/lan-file"
check "LAN host: file server listening" wait_for 10 listening "$NS_L" 7001
check "u1: 3 MB TCP download from the LAN host $LAN" download "$LAN" 7001 "$TMP/got"
is "$(sha256sum <"$TMP/got")" "$(sha256sum <"$TMP/lan-file")" "u1: the download matches its sha256"
bg_run lan-send6 serve_file "$NS_L" "$LAN6" 7003 "$TMP/secret6"
check "LAN host: file server on $LAN6 listening" wait_for 10 listening "$NS_L" 7003
check "u1: TCP download from the LAN host over IPv6" download "$LAN6" 7003 "$TMP/got6"
is "$(cat "$TMP/got6")" "over ipv6" "u1: the IPv6 download is what was sent"
is "$(dns_query "$LAN" host.lan.test)" "$LAN" "u1: a UDP DNS query to the LAN's dnsmasq is answered"
check "u1: ping reaches the LAN host $LAN (ping_group_range open)" pings "$LAN"
RESOLVER=$(awk '$1 == "nameserver" && $2 !~ /:/ { print $2; exit }' "$RESOLV")
check "u1: --dns put the stack's resolver ${RESOLVER:-?} (inside the pool) in resolv.conf" \
	eval 'case $RESOLVER in 198.18.0.*) true ;; *) false ;; esac'
is "$(dns_query "$RESOLVER" host.lan.test)" "$LAN" "u1: the stack's resolver $RESOLVER forwards to the server's resolver"
is "$(in_c getent hosts host.lan.test | awk '{ print $1 }')" "$LAN" "u1: --dns resolves host.lan.test"
check "u1: the helper is still alive (nothing outside its filter)" alive "$HP"

# ---- 3. the server's loopback stays out ----------------------------------------
echo secret >"$TMP/secret"
bg_run lo-send serve_file "$NS_S" 127.0.0.1 7002 "$TMP/secret"
check "server: a service on 127.0.0.1:7002" wait_for 10 listening "$NS_S" 7002
check "u1: the peer address $PEER does not lead to the server's loopback" eval '! connects "$PEER" 7002'
bg_run own-send serve_file "$NS_S" "$LAN_GW" 7004 "$TMP/secret"
bg_run own-send6 serve_file "$NS_S" "$LAN_GW6" 7005 "$TMP/secret"
check "server: services on its own addresses $LAN_GW:7004 and [$LAN_GW6]:7005" \
	wait_for 10 eval 'listening "$NS_S" 7004 && listening "$NS_S" 7005'
check "u1: the server's own address $LAN_GW is out of reach" eval '! connects "$LAN_GW" 7004'
check "u1: the server's own address $LAN_GW6 is out of reach" eval '! connects "$LAN_GW6" 7005'
check "u1: the helper is still alive (the own-address check is inside its filter)" alive "$HP"

# ---- 4. the copy is reused ----------------------------------------------------------
check "u1: ctl reconnect" ctl u1 reconnect
check "u1: up again after the reconnect" eval 'wait_for 20 eval "grep -q \"using ~/.cache/sshtun\" \"$TMP/u1.log\"" && client_wait_up u1'
is "$(sent u1)" 1 "u1: no second upload on reconnect"
is "$(stat -c %i "$COPY")" "$INODE" "u1: the same file (inode) after the reconnect"
quit u1

# ---- 5. ping_group_range closed -------------------------------------------------
in_s sysctl -qw net.ipv4.ping_group_range="1 0"
cat "$H/serve.log" >>"$TMP/serve-all.log"; : >"$H/serve.log"
up u2 --push --remote-command "$HELPER"
is "$(sent u2)" 0 "u2: a new client uses the copy that is there (no upload)"
check "u2: the helper says why ping gets no answer" grep -q "ping_group_range" "$H/serve.log"
quit u2
is "$(stat -c %i "$COPY")" "$INODE" "the same copy all along"

# ---- 6. refusals ----------------------------------------------------------------
cp "$COPY" "$TMP/copy.saved"
printf 'not sshtun\n' >>"$COPY"
TARGET=carol@$S_ADDR client_try other --push --remote-command "$HELPER"
is "$RC" 6 "a copy that is not this binary: exit 6"
check "a copy that is not this binary: refused, named" grep -q "is not this binary" "$TMP/other.log"
check "a copy that is not this binary: left as it was" eval 'tail -n 1 "$COPY" | grep -qx "not sshtun"'
cp "$TMP/copy.saved" "$COPY"
# A directory another login may write: the copy could be swapped between the
# hash check and the exec, so nothing is stored or run there.
chmod 0777 "$H/.cache/sshtun"
TARGET=carol@$S_ADDR client_try opendir --push --remote-command "$HELPER"
is "$RC" 6 "~/.cache/sshtun writable by others: exit 6"
check "~/.cache/sshtun writable by others: refused, says why" grep -q "writable by others" "$TMP/opendir.log"
is "$(stat -c %i "$COPY")" "$INODE" "~/.cache/sshtun writable by others: the copy untouched"
chmod 0700 "$H/.cache/sshtun"
rm -rf "$H/.cache/sshtun"
# The helper's stderr stays on the channel here: "not found" there tells the
# client the helper is missing even when sshd's exit status comes late.
TARGET=carol@$S_ADDR client_try arch -p 2223 --push --remote-command "sshtun $SERVE_ARGS"
is "$RC" 6 "a server of another machine type: exit 6"
check "another machine type: the message names both" grep -q "server is aarch64, this sshtun is built for $(uname -m)" "$TMP/arch.log"
is "$(copies)" "" "another machine type: nothing sent"

done_testing
