#!/usr/bin/python3
# tests/e2e/fake_helper.py MODEFILE: a hostile sshtun helper for
# t_hostile_server.sh, started by the real sshd as the sshtun subsystem.
#
# MODEFILE holds one mode per line: connection N (counted in MODEFILE.n)
# plays line N, the last line again after the list.  A mode is a name from
# HELLOS (what the hello says) or "forge" (a good hello, then DATA frames
# whose sources are forged, each round followed by one from the server's
# own inner address).  "vnet_bad" offers gso= and sends, round after round,
# DATA frames with FRAME_F_GSO whose virtio-net headers break one rule each
# (man/sshtun-protocol.7), then good ones: a checksum left to the client's
# kernel, and a UDP super-packet of three segments.  Frames are
# man/sshtun-protocol.7's: u8 type, u8 flags, u32 big-endian length, payload.
import os, select, socket, struct, sys, time

from udp_packet import udp_packet

GOOD = {"client4": "198.18.0.101/31", "server4": "198.18.0.100/31",
        "client6": "2001:db8:77::3/127", "server6": "2001:db8:77::2/127"}

JOIN = "5a" * 16

def hello(**kv):
    lines = {"proto": "1", "mtu": "1400", "software": "sshtun-fake"}
    lines.update(GOOD)
    lines.update(kv)
    return "".join("%s=%s\n" % (k, v) for k, v in lines.items() if v is not None).encode()

HELLOS = {
    "good": hello(),
    "forge": hello(),
    # the pair on the client's LAN (198.51.100.0/24)
    "pair_lan": hello(client4="198.51.100.6/31", server4="198.51.100.7/31"),
    # the pair holding the SSH server's address 198.51.100.1
    "pair_server": hello(client4="198.51.100.0/31", server4="198.51.100.1/31"),
    # the pair holding the client's (on-link) gateway 198.18.9.1
    "pair_gateway": hello(client4="198.18.9.0/31", server4="198.18.9.1/31"),
    # the pair holding the client's resolver 203.0.113.53
    "pair_resolver": hello(client4="203.0.113.52/31", server4="203.0.113.53/31"),
    # an IPv6 pair on the client's LAN (2001:db8:1::/64)
    "pair_lan6": hello(client6="2001:db8:1::4/127", server6="2001:db8:1::5/127"),
    # resolvers that are whole halves of the address space
    "dns_wide": hello(dns="0.0.0.0/1,128.0.0.0/1,::/0"),
    # a resolver on the client's LAN (its router, say)
    "dns_lan": hello(dns="198.51.100.53"),
    # a resolver that is the SSH server itself
    "dns_server": hello(dns="198.51.100.1"),
    "vnet_bad": hello(gso="csum,tcp4,tcp6,udp"),
    # --connections: a group's token to the first connection (or to one
    # that did not ask), and joins answered with another pair, or with
    # routes and resolvers the first connection did not get
    "join": hello(join=JOIN),
    "join_otherpair": hello(join=JOIN, client4="198.18.0.105/31", server4="198.18.0.104/31"),
    "join_routes": hello(join=JOIN, routes="203.0.113.0/24", dns="198.18.0.100"),
}

F_GSO = 0x02

def vnet(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)

def partial(pkt):
    """pkt (IPv4 UDP) with its checksum left to the receiver: the field holds
    the pseudo-header's sum, as the kernel's CHECKSUM_PARTIAL does."""
    ulen = len(pkt) - 20
    s = sum(struct.unpack("!4H", pkt[12:20])) + 17 + ulen
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return pkt[:26] + struct.pack("!H", s) + pkt[28:]

def vnet_round(n):
    src, dst, port = "198.18.0.100", "198.18.0.101", 9999
    def u(tag):
        return udp_packet(src, dst, port, b"%s %d" % (tag, n))
    csum_ok = dict(flags=1, csum_start=20, csum_offset=6)
    bad = [
        vnet(flags=4) + u(b"bad-flags"),                      # RSC_INFO
        vnet(gso_type=3, gso_size=100, **csum_ok) + u(b"bad-ufo"),
        vnet(gso_type=1, gso_size=100, **csum_ok) + u(b"bad-tcp-on-udp"),
        vnet(flags=1, csum_start=60000, csum_offset=6) + u(b"bad-csum-start"),
        vnet(flags=1, csum_start=20, csum_offset=200) + u(b"bad-csum-offset"),
        vnet(gso_type=5, gso_size=1, **csum_ok) + u(b"bad-gso-size-1"),
        vnet(gso_type=5, gso_size=60000, **csum_ok) + u(b"bad-gso-over-mtu"),
        vnet(gso_type=5, **csum_ok) + u(b"bad-gso-size-0"),
        vnet(gso_size=100) + u(b"bad-size-without-gso"),
        vnet(gso_type=0x85, gso_size=100, **csum_ok) + u(b"bad-ecn-on-udp"),
        b"\x01\x05\x00",                                      # shorter than a header
    ]
    # A UDP super-packet: three 100-byte segments behind one header.
    payload = b"".join(b"%-100s" % (b"gso-legit %d.%d" % (n, i)) for i in range(3))
    good = [
        vnet(hdr_len=65535, **csum_ok) + partial(u(b"csum-legit")),
        vnet(gso_type=5, gso_size=100, **csum_ok) + partial(udp_packet(src, dst, port, payload)),
    ]
    return b"".join(frame(2, p, F_GSO) for p in bad + good)

def frame(t, payload, flags=0):
    return struct.pack(">BBI", t, flags, len(payload)) + payload

def main():
    modefile = sys.argv[1]
    modes = open(modefile).read().split()
    try:
        n = int(open(modefile + ".n").read()) + 1
    except (OSError, ValueError):
        n = 1
    with open(modefile + ".n", "w") as f:
        f.write(str(n))
    mode = modes[min(n, len(modes)) - 1]
    out = sys.stdout.buffer
    out.write(b"SSHTUN/1 sshtun-fake\n" + frame(1, HELLOS[mode]))
    out.flush()
    deadline = time.time() + 60
    rounds = 0
    while time.time() < deadline:
        # The client's bytes are read and dropped; EOF: it has gone.
        r, _, _ = select.select([0], [], [], 0.2)
        if r and not os.read(0, 65536):
            return
        if mode == "vnet_bad":
            rounds += 1
            out.write(vnet_round(rounds))
            out.flush()
            continue
        if mode != "forge":
            continue
        rounds += 1
        port = 9999
        pkts = [udp_packet("203.0.113.66", "198.18.0.101", port, b"forged4 %d" % rounds),
                udp_packet("2001:db8:66::66", "2001:db8:77::3", port, b"forged6 %d" % rounds),
                udp_packet("198.18.0.100", "198.18.0.101", port, b"legit4 %d" % rounds),
                udp_packet("2001:db8:77::2", "2001:db8:77::3", port, b"legit6 %d" % rounds)]
        out.write(b"".join(frame(2, p) for p in pkts))
        out.flush()

main()
