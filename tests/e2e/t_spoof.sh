#!/bin/bash
# t_spoof.sh: the helper's anti-spoofing check (README: a client can only
# send from its own addresses).  A client writes raw IPv4 and IPv6 packets
# into its TUN with a forged source; the helper drops them (and says so at
# debug level: run as a remote command, not a subsystem, its stderr reaches
# the client's -v log), while the same datagram
# from the client's real address arrives.  Sent forged first, real second:
# the tunnel keeps order, so once the real one is in, the forged one had
# its chance.
. "$(dirname "$0")/lib.sh"

PORT=7777
FORGED4=203.0.113.77
FORGED6=2001:db8:dead::77
DROPPED="dropping a packet whose source is not the client's address"

# udp_sink ADDR: prints "SOURCE PAYLOAD" for each datagram, until killed.
udp_sink() {
	in_s timeout 60 "$PYTHON" -u -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((a, int(sys.argv[2])))
while True:
    d, src = s.recvfrom(2048)
    print(src[0], d.decode(errors="replace"), flush=True)' "$1" "$PORT"
}
sink_ready() { in_s ss -Hlun "( sport = :$PORT )" | grep -q "$1"; }

# raw_udp SRC DST PAYLOAD: one UDP datagram with the IP header written by
# hand, so that the source can be anything; routed by DST (into the TUN).
raw_udp() {
	in_c "$PYTHON" -c 'import socket, struct, sys
src, dst, port, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
udp_len = 8 + len(data)
if ":" in dst:
    fam = socket.AF_INET6
    s6, d6 = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
    pseudo = s6 + d6 + struct.pack("!IxxxB", udp_len, 17)
else:
    fam = socket.AF_INET
    s4, d4 = socket.inet_aton(src), socket.inet_aton(dst)
    pseudo = s4 + d4 + struct.pack("!xBH", 17, udp_len)
udp = struct.pack("!HHHH", 40000, port, udp_len, 0) + data
blob = pseudo + udp + (b"\0" if len(udp) % 2 else b"")
c = sum(struct.unpack("!%dH" % (len(blob) // 2), blob))
while c >> 16:
    c = (c & 0xffff) + (c >> 16)
c = (~c & 0xffff) or 0xffff
udp = udp[:6] + struct.pack("!H", c) + udp[8:]
if fam == socket.AF_INET6:
    ip = struct.pack("!IHBB", 6 << 28, udp_len, 17, 64) + s6 + d6
else:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0, s4, d4)
s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))' "$1" "$2" "$PORT" "$3"
}

# got LOG WHAT: the sink logged WHAT (a "SOURCE PAYLOAD" line).
got() { grep -qx -- "$2" "$1"; }

export SSHD_SUBSYSTEM=	# sshd drops a subsystem's stderr
check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
check "sshd" sshd_start
fail_fast "no sshtun binary, namespaces or sshd"
# The kernel's own IPv6 chatter on a new TUN (router solicitations, MLD)
# comes from a link-local source and would be dropped and counted too.
in_c sysctl -qw net.ipv6.conf.default.addr_gen_mode=1 net.ipv6.conf.default.router_solicitations=0

client_run s1 -v --remote-command "$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases -v -v"
check "s1: tunnel comes up" client_wait_up s1
fail_fast "the tunnel did not come up"
LOCAL=$(json_get "$TMP/s1.status" local_addr)
PEER=$(json_get "$TMP/s1.status" peer_addr)
LOCAL6=$(json_get "$TMP/s1.status" local_addr6)
PEER6=$(json_get "$TMP/s1.status" peer_addr6)
diag "client $LOCAL $LOCAL6, server $PEER $PEER6"

n=0
for fam in 4 6; do
	if [ "$fam" = 4 ]; then
		real=$LOCAL dst=$PEER forged=$FORGED4
	else
		real=$LOCAL6 dst=$PEER6 forged=$FORGED6
	fi
	bg_run "sink$fam" udp_sink "$dst"
	check "IPv$fam: a UDP sink on the server's tunnel address $dst" wait_for 10 sink_ready "$dst"
	n=$((n + 1))
	check "IPv$fam: the client writes a datagram from $forged into its TUN" \
		raw_udp "$forged" "$dst" "forged$fam"
	check "IPv$fam: the client writes the same from its own $real" raw_udp "$real" "$dst" "real$fam"
	check "IPv$fam: the datagram from $real arrives" wait_for 10 got "$TMP/sink$fam.log" "$real real$fam"
	check "IPv$fam: the one from $forged does not" eval '! grep -q "forged$fam" "$TMP/sink$fam.log"'
	check "IPv$fam: the helper counted $n forged packet(s) as dropped" \
		wait_for 10 eval '[ "$(grep -c "$DROPPED" "$TMP/s1.log")" -ge '"$n"' ]'
	is "$(grep -c "$DROPPED" "$TMP/s1.log")" "$n" "IPv$fam: and nothing else"
	diag "IPv$fam sink: $(tr '\n' ';' <"$TMP/sink$fam.log")"
done
check "s1: still up" client_is_up s1
check "s1: 'ctl quit' answers" ctl s1 quit
wait_exit "$(client_pid s1)" 10
is "$EXIT_RC" 0 "s1: exits with status 0 after quit"

done_testing
