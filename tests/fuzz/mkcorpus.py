#!/usr/bin/env python3
"""tests/fuzz/mkcorpus.py: writes the seed corpus in tests/fuzz/corpus/.

The seeds are committed; run this only to change them.  Each is a small,
valid (or nearly valid) input for one target, in the layout its harness
reads (see the comment at the top of each tests/fuzz/fuzz_*.c): a frame
stream after a magic line, compressed DATA frames as the real compressor
makes them (raw deflate, Z_SYNC_FLUSH, one history per direction), hellos,
command lines, ssh_config snippets and control-socket requests.
"""
import os
import socket
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = b"SSHTUN/1 sshtun-0.1.0\n"
HELLO, DATA, PING, PONG, ERROR, CONTROL = 1, 2, 3, 4, 5, 6
COMPRESSED, GSO = 1, 2


def frame(ftype, payload, flags=0):
    return struct.pack(">BBI", ftype, flags, len(payload)) + payload


def ipv4(payload, proto=17):
    total = 20 + len(payload)
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, proto, 0,
                       bytes([198, 18, 0, 2]), bytes([198, 18, 0, 1])) + payload


def ipv6(payload, nh=17):
    return struct.pack(">IHBB16s16s", 6 << 28, len(payload), nh, 64,
                       bytes.fromhex("20010db8007700000000000000000002"),
                       bytes.fromhex("20010db8007700000000000000000001")) + payload


def udp(data, sport=5353, dport=53):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(data, flags=0x18):
    return struct.pack(">HHIIBBHHH", 40000, 5001, 1, 0, 5 << 4, flags, 65535, 0, 0) + data


def vnet(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    """The virtio-net header (vnet.h): little-endian fields."""
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


class Deflater:
    """One direction's stream: every frame ends with Z_SYNC_FLUSH."""

    def __init__(self, level=6):
        self.z = zlib.compressobj(level, zlib.DEFLATED, -15, 8)

    def frame(self, packets, flags=0):
        out = self.z.compress(b"".join(packets)) + self.z.flush(zlib.Z_SYNC_FLUSH)
        return frame(DATA, out, COMPRESSED | flags)


class LayoutDeflater(Deflater):
    """The same in the header layout (zlib-hdr, src/zlayout.h): a table,
    the heads as differences from the one before, then the bodies."""

    def frame(self, packets):
        heads = [min(len(p), 28) for p in packets]  # IPv4 + UDP
        table = bytes([len(packets)]) + b"".join(struct.pack(">BI", h, len(p))
                                                 for h, p in zip(heads, packets))
        out, prev = b"", None
        for h, p in zip(heads, packets):
            both = min(h, len(prev)) if prev is not None else 0
            out += bytes((p[k] - prev[k]) & 255 if k < both else p[k] for k in range(h))
            prev = p[:h]
        body = b"".join(p[h:] for h, p in zip(heads, packets))
        z = self.z.compress(table + out + body) + self.z.flush(zlib.Z_SYNC_FLUSH)
        return frame(DATA, z, COMPRESSED)


CLIENT_HELLO = (b"proto=1\nsoftware=sshtun 0.1.0\nmtu=1400\ncompress=zlib\n"
                b"compress_mode=auto\nid=0123456789abcdef0123456789abcdef\n"
                b"client4=198.18.0.2/31\n")
SERVER_HELLO = (b"proto=1\nsoftware=sshtun 0.1.0\nmtu=1400\ncompress=zlib\n"
                b"client4=198.18.0.2/31\nserver4=198.18.0.1/31\n"
                b"client6=2001:db8:77::2/127\nserver6=2001:db8:77::1/127\n")


def frame_seeds():
    log = b"Jan  1 00:00:00 host sshd[1]: Accepted publickey for root\n" * 3
    return {
        "magic-only": MAGIC,
        "banner-then-magic": b"Welcome to host\r\nLast login: never\n" + MAGIC,
        "hello": MAGIC + frame(HELLO, SERVER_HELLO),
        "session": MAGIC + frame(HELLO, SERVER_HELLO) + frame(DATA, ipv4(udp(b"hi")))
        + frame(PING, b"\x00\x00\x00\x01") + frame(PONG, b"x") + frame(CONTROL, b"compress_mode=off\n")
        + frame(0x80, b"ignored") + frame(ERROR, b"bye"),
        "compressed": MAGIC + Deflater().frame([ipv4(udp(log))]),
        "truncated": MAGIC + frame(DATA, ipv4(udp(b"cut")))[:-5],
        "huge-length": MAGIC + b"\x01\x00\xff\xff\xff\xff",
        "unknown-type": MAGIC + frame(0x42, b""),
        "bad-magic": b"SSHTUN/01 x\n",
    }


def inflate_seeds():
    # knobs: bit 0 magic sent by the harness, bit 1 up from the start,
    # bits 2-4 read size, bit 5 end of stream, bit 6 the header layout,
    # bit 7 a TUN with a virtio-net header (gso=)
    log = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl\r\n\r\n"
    d = Deflater()
    batch = [ipv4(udp(log * 4)), ipv6(udp(log * 3)), ipv4(udp(b"x" * 100))]
    stream = d.frame(batch) + d.frame([ipv4(udp(log * 4))]) + frame(PING, b"1234")
    d2 = Deflater(1)
    raw = frame(DATA, ipv4(udp(b"plain")))
    ld, l2 = LayoutDeflater(), LayoutDeflater(1)
    layout_stream = (ld.frame(batch) + ld.frame([ipv4(udp(log * 4))]) + frame(PING, b"1234")
                     + ld.frame([ipv4(udp(log * 2)), ipv4(udp(log * 2)), ipv4(udp(log))]))
    return {
        "up-compressed": bytes([0b000011]) + stream,
        "up-compressed-bytewise": bytes([0b100011 | 0 << 2]) + stream,
        "up-compressed-split7": bytes([0b000011 | 2 << 2]) + stream,
        "hello-then-data": bytes([0b100001 | 7 << 2]) + frame(HELLO, CLIENT_HELLO) + raw
        + d2.frame([ipv6(udp(log))]) + d2.frame([ipv4(udp(log)), ipv4(udp(log))]),
        "own-magic": bytes([0b100010 | 7 << 2]) + MAGIC + Deflater().frame([ipv4(udp(log))]),
        "uncompressed": bytes([0b000011 | 7 << 2]) + raw + raw + frame(0x90, b"?"),
        "data-before-hello": bytes([0b000001 | 7 << 2]) + raw,
        # bit 6: up in the header layout; or a hello that lists zlib-hdr
        "up-layout": bytes([0b1000011]) + layout_stream,
        "up-layout-split7": bytes([0b1000011 | 2 << 2]) + layout_stream,
        "hello-layout": bytes([0b100001 | 7 << 2])
        + frame(HELLO, CLIENT_HELLO.replace(b"compress=zlib", b"compress=zlib,zlib-hdr"))
        + raw + l2.frame([ipv6(udp(log))]) + l2.frame([ipv4(udp(log)), ipv4(udp(log))]),
        # bit 7: the TUN has a virtio-net header and takes every offload
        "gso": bytes([0b10000011 | 7 << 2]) + frame(DATA, vnet(1, 1, 40, 1000, 20, 16)
                                                   + ipv4(tcp(b"t" * 3000), 6), GSO)
        + frame(DATA, vnet(1, 5, 28, 100, 20, 6) + ipv4(udp(b"u" * 300)), GSO)
        + frame(DATA, vnet(1, 0, 0, 0, 20, 6) + ipv4(udp(b"c")), GSO)
        + frame(DATA, vnet(4) + ipv4(udp(b"bad")), GSO) + frame(DATA, b"\x01", GSO) + raw,
        "gso-compressed": bytes([0b10000011 | 3 << 2]) + Deflater().frame(
            [vnet(1, 4, 60, 1200, 40, 16) + ipv6(tcp(b"s" * 5000), 6), vnet() + ipv4(udp(log))], GSO),
    }


def vnet_seeds():
    # u16 MTU, the header, the packet
    def mtu(m):
        return struct.pack(">H", m)
    return {
        "plain": mtu(1500) + vnet() + ipv4(udp(b"plain")),
        "csum-udp": mtu(1500) + vnet(1, 0, 0, 0, 20, 6) + ipv4(udp(b"x" * 50)),
        "csum-tcp6": mtu(1500) + vnet(1, 0, 0, 0, 40, 16) + ipv6(tcp(b"y" * 50), 6),
        "tso4": mtu(1500) + vnet(1, 1, 40, 1448, 20, 16) + ipv4(tcp(b"z" * 9000), 6),
        "tso6-ecn": mtu(1280) + vnet(1, 0x84, 60, 1220, 40, 16) + ipv6(tcp(b"w" * 5000, 0x99), 6),
        "uso4": mtu(1400) + vnet(1, 5, 28, 1000, 20, 6) + ipv4(udp(b"v" * 2500)),
        "uso6-tiny": mtu(1400) + vnet(1, 5, 48, 8, 40, 6) + ipv6(udp(b"q" * 8000)),
        "bad-ufo": mtu(1400) + vnet(1, 3, 28, 100, 20, 6) + ipv4(udp(b"r" * 300)),
    }


def hello_seeds():
    return {
        "client": CLIENT_HELLO,
        "server": SERVER_HELLO,
        "minimal": b"proto=1\n",
        "unknown-key": b"proto=1\nfuture=yes\ncompress=lz4,zlib\n",
        "ipv6": b"proto=1\nclient6=::ffff:198.51.100.3/128\nserver6=::/0\n",
        "prefix": b"198.51.100.0/24",
        "connections": b"proto=1\nid=" + b"ab" * 16 + b"\nconns=4\n",
        "join": b"proto=1\nid=" + b"ab" * 16 + b"\njoin=" + b"0f" * 16 + b"\nconns=4\n",
        "conn": b"proto=1\nid=" + b"ab" * 16 + b"\njoin=" + b"0f" * 16 + b"\nconn=7\n",
        "conn-bad": b"proto=1\nconn=8\nconn=0\n",
    }


def peer_check_seeds():
    # knobs: bit 0 --dns, bits 1-3 facts; a fact: kind (0 network,
    # 1 gateway, 2 resolver, 3 server), family (0 IPv4, 1 IPv6), plen, 16
    # address bytes; then the packet source (family, 16 bytes); the hello.
    def fact(kind, addr, plen=0):
        fam = 1 if ":" in addr else 0
        raw = socket.inet_pton(socket.AF_INET6 if fam else socket.AF_INET, addr)
        return bytes([kind, fam, plen]) + raw.ljust(16, b"\0")

    def src(addr):
        fam = 1 if ":" in addr else 0
        raw = socket.inet_pton(socket.AF_INET6 if fam else socket.AF_INET, addr)
        return bytes([fam]) + raw.ljust(16, b"\0")

    facts = (fact(0, "192.0.2.0", 24) + fact(0, "2001:db8:1::", 64) + fact(1, "192.0.2.1")
             + fact(2, "203.0.113.53") + fact(3, "198.51.100.10"))
    pair = b"proto=1\nclient4=10.77.0.1/31\nserver4=10.77.0.0/31\nclient6=fd77::3/127\nserver6=fd77::2/127\n"
    return {
        "good": bytes([1 | 5 << 1]) + facts + src("10.77.0.0") + pair + b"dns=10.77.0.0,fd77::2\n",
        "lan-pair": bytes([5 << 1]) + facts + src("203.0.113.66")
        + b"proto=1\nclient4=192.0.2.6/31\nserver4=192.0.2.7/31\n",
        "server-pair": bytes([5 << 1]) + facts + src("fd77::2")
        + b"proto=1\nclient4=198.51.100.11/31\nserver4=198.51.100.10/31\n",
        "dns-wide": bytes([1 | 5 << 1]) + facts + src("192.0.2.9") + pair + b"dns=0.0.0.0/1,128.0.0.0/1,::/0\n",
        "dns-lan": bytes([1 | 5 << 1]) + facts + src("192.0.2.9") + pair + b"dns=192.0.2.53\n",
        "no-facts": bytes([0]) + src("2001:db8:66::66") + pair,
    }


def shell_seeds():
    # knobs: bit 0 engine fails, bit 1 stop (not cancel), bit 2 ping timeout
    lines = [
        b"status\nstatus --json\nstats\nstats --json\nroute list --json",
        b"route add 198.51.100.0/24\nroute del '2001:db8::/32'\nroute add default\nroute",
        b"ping 2 --json\nstats --watch --json\nping",
        b"compress auto\ncompress 9\ncompress off\nlog debug\nlog\nhelp\nhelp route\nquit",
        b"a'b c'\"d\\\"e\" \\# # comment\n\"unterminated\n'also\ntrailing\\",
        b"status --json\0h\"o\\st\x01\xff:22\0tun\x7f0\0up\0" + b"10.0.0.1\0" * 4
        + b"zlib\0" + b"198.51.100.0/24\0bad\xc3\x28route\0",
    ]
    knobs = [0, 0, 2, 1, 0, 0]
    return {"lines-%d" % i: bytes([k]) + l for i, (k, l) in enumerate(zip(knobs, lines))}


def sshconfig_seeds():
    # knobs: bits 0-1 host, bit 2 user, bit 3 hostname, bit 4 callback
    # fails, bits 5-7 expansion buffer
    cfgs = [
        b"Host example.com\n  HostName %h.real\n  User alice\n  Port 2222\n"
        b"  IdentityFile ~/.ssh/id_%r@%h\nHost *\n  ServerAliveInterval 30\n",
        b"# comment\nUser=bob\nProxyCommand ssh -W %h:%p \"jump host\"\n"
        b"Match host a,!b* user bob\n  Compression yes\nMatch exec \"true\"\n  User x\n"
        b"Match all\n  LocalForward 1 'a b'\n",
        b"Include a b ~/.ssh/loop dir /etc/ssh/ssh_config\nHost alias.internal !h\n"
        b"  Include b\n  UserKnownHostsFile \"~/my hosts\" %d/x\n",
        b"Host \"unterminated\n",
        b"Match originalhost h localuser root,!nobody\n  HostName %%h %u %p\n",
    ]
    knobs = [0 | 7 << 5, 5 | 6 << 5, 3 | 7 << 5, 0, 1 | 8 | 16 | 3 << 5]
    return {"config-%d" % i: bytes([k]) + c for i, (k, c) in enumerate(zip(knobs, cfgs))}


def control_seeds():
    # knobs: bits 0-2 write size, bit 3 shut down at the end, bit 4 engine
    # fails, bit 5 stop pending commands
    reqs = [
        b"run status --json\nrun stats\ncomplete ro\ncomplete route d\n",
        b"run ping 2\nrun status\r\nrun\nhello\ncomplete\n",
        b"run stats --watch\nrun route list\n",
        b"run " + b"x" * 4200 + b"\nrun status\n",
        b"run route add 10.0.0.0/8\nrun compress 3\nrun log\nrun quit\n",
    ]
    knobs = [7 | 8, 2 | 8 | 32, 7 | 32, 4, 1 | 16 | 8]
    return {"requests-%d" % i: bytes([k]) + r for i, (k, r) in enumerate(zip(knobs, reqs))}


def state_seeds():
    path = b"/run/sshtun/fuzz.state"
    return {
        "pin-dns-file": b"pid 4242\npin 198.51.100.1/32 2 198.51.100.254\ndns file " + path +
        b".resolv.conf\n",
        "resolved": b"pid 17\npin 2001:db8::1/128 3\ndns resolvectl sshtun0\n",
        "resolvconf": b"pid 17\ndns resolvconf tun.sshtun1\npin 0.0.0.0/0 1\n",
        "hostile": b"pid -1\ndns file /etc/shadow\ndns resolvectl --help\npin 10.0.0.0/8 0\n"
        b"bogus x\nnoargs\n" + b"pin " + b"9" * 700 + b"\n",
        "many": b"".join(b"pin 198.18.%d.0/24 %d\n" % (i, i + 1) for i in range(12)),
        "guard": b"pid 99\nnft sshtun_guard_99\nunreach ::/1\nunreach 8000::/1\n"
        b"rule 203.0.113.0/24 4242 1936982017\nrule 2001:db8::/32 0 1936982018\n",
        "guard-hostile": b"nft sshtun_guard_\nnft sshtun_rpf\nnft sshtun_guard_1;flush ruleset\n"
        b"unreach ::/0\nrule 0.0.0.0/0 1 1936982017\nrule 10.0.0.0/8 4294967295 1936982017\n"
        b"rule 10.0.0.0/8 1 254\n",
    }


# fuzz_tx operations (see its header): op % 8 is inject (0), read (2),
# flush (3), deflate fails (4), congestion (5), ping (6), window (7); the
# generic link's answer byte % 6: all, part, hold, EAGAIN, ENOBUFS, 0.
TX_INJECT, TX_READ, TX_FLUSH, TX_DEFLATE, TX_PING, TX_WINDOW = 0, 2, 3, 4, 6, 7
ANS_ALL, ANS_PART, ANS_HOLD, ANS_AGAIN, ANS_NOBUFS = 0, 1, 2, 3, 4


def ans(act, k=0):
    """An answer byte: act = byte % 6; part and hold take 1 + (byte >> 3) * 331."""
    return act + 6 * k


def tx_inject(length, kind):
    return bytes([TX_INJECT, length >> 8, length & 0xff, kind])


def tx_seeds():
    full = b""
    # Fill the buffer while the link blocks...
    for _ in range(200):
        full += tx_inject(1400, 2) + bytes([TX_READ, TX_FLUSH, ANS_AGAIN])
    # ...then part of it goes and the window shuts: the finding-1 stall.
    stall = full + bytes([TX_FLUSH, ans(ANS_PART, 11), ans(ANS_NOBUFS)])
    stall += (tx_inject(1400, 2) + bytes([TX_READ])) * 8
    mixed = b""
    for i in range(120):
        mixed += tx_inject(40 + i * 37 % 1400, (i % 3) | (0x80 if i % 5 == 0 else 0))
        mixed += bytes([TX_READ, TX_FLUSH, [ans(ANS_PART, 11), ans(ANS_HOLD, 5), ANS_AGAIN,
                                            ANS_NOBUFS, ANS_ALL][i % 5]])
        if i % 17 == 0:
            mixed += bytes([TX_PING, 12, TX_DEFLATE])
    # sshd's window shut from the start; it opens for two datagrams.
    ossh_stall = bytes([TX_WINDOW]) + full + bytes([TX_WINDOW | 0x80, 12, TX_FLUSH, 1, 1, 1])
    ossh_stall += (tx_inject(1400, 2) + bytes([TX_READ])) * 8
    window = b""
    for i in range(100):
        window += tx_inject(100 + i * 13, 0x40 * (i % 2)) + bytes([TX_READ, TX_FLUSH, i & 1])
        if i % 10 == 0:
            window += bytes([TX_WINDOW | 0x80, 4 + i % 7])
        elif i % 10 == 5:
            window += bytes([TX_WINDOW])
    # knobs: bit 0 stock-sshd link, bits 1-4 compression, bits 5-6 MTU,
    # bit 7 the header layout.
    return {
        "stall-raw": bytes([1 << 5]) + stall,
        "stall-level6": bytes([(8 << 1) | (1 << 5)]) + stall,
        "mixed-auto": bytes([(2 << 1) | (2 << 5)]) + mixed,
        "mixed-level1-mtu9000": bytes([(3 << 1) | (3 << 5)]) + mixed,
        "openssh-window": bytes([1 | (1 << 5)]) + window,
        "openssh-stall": bytes([1 | (1 << 5)]) + ossh_stall,
        # bit 7: the header layout
        "stall-level6-layout": bytes([0x80 | (8 << 1) | (1 << 5)]) + stall,
        "mixed-auto-layout": bytes([0x80 | (2 << 1) | (2 << 5)]) + mixed,
    }


def datagram(packet):
    return struct.pack(">I", 24 if packet[0] >> 4 == 6 else 2) + packet


def ossh_seeds():
    grams = [datagram(ipv4(udp(b"x" * n))) for n in (0, 100, 1372)]
    grams += [datagram(ipv6(udp(b"y" * n))) for n in (0, 1300)]
    stream = b"".join(grams) * 3
    big = datagram(ipv4(udp(b"z" * 16000)))
    # knobs: bits 0-3 libssh2 read size, bits 4-6 room, bit 7 end of channel.
    return {
        "datagrams-whole": bytes([15 | 0x70]) + stream,
        "datagrams-split": bytes([3 | 0x10 | 0x80]) + stream,
        "datagrams-tight-room": bytes([15]) + stream,
        "big-then-cut": bytes([5 | 0x40 | 0x80]) + big + stream[:-7],
        "bad-family": bytes([15 | 0x70]) + grams[0] + struct.pack(">I", 7) + grams[1][4:],
    }


def serve_seeds():
    # steps split by 0xff; a step's first byte: bits 0-1 hello (0), CONTROL
    # (2), release (3); bits 2-3 account; bit 4 a dead helper; the first
    # step's bits 5-7: grace 0, one session per account, pair 1 in use
    def hello(ident, extra=b""):
        return (b"proto=1\nsoftware=sshtun 0.1.0\nmtu=1380\ncompress=zlib\n"
                b"compress_mode=auto\nid=" + ident + b"\n" + extra)
    a, b, c = b"a" * 32, b"b" * 32, b"0123456789abcdef" * 2
    ALICE, BOB, CAROL = 0 << 2, 1 << 2, 2 << 2
    DEAD, GRACE0, ONE, INUSE = 16, 32, 64, 128

    def steps(*s):
        return b"\xff".join(s)
    return {
        "one": steps(bytes([ALICE]) + hello(a)),
        "full": steps(bytes([ALICE]) + hello(a), bytes([ALICE]) + hello(c),
                      bytes([BOB]) + hello(b), bytes([BOB]) + hello(c),
                      bytes([CAROL]) + hello(a), bytes([3]),
                      bytes([CAROL]) + hello(c), bytes([ALICE]) + hello(a)),
        "dead": steps(bytes([ALICE | DEAD | GRACE0]) + hello(a), bytes([BOB]) + hello(b),
                      bytes([BOB]) + hello(c), bytes([CAROL]) + hello(c),
                      bytes([BOB]) + hello(a)),
        "cap": steps(bytes([ALICE | ONE]) + hello(a), bytes([ALICE]) + hello(b), bytes([3]),
                     bytes([ALICE]) + hello(b), bytes([BOB]) + hello(b)),
        "want": steps(bytes([ALICE | INUSE]) + hello(a, b"client4=198.18.0.3/31\n"),
                      bytes([BOB]) + hello(b, b"client6=2001:db8:77::3/127\n"),
                      bytes([BOB]) + hello(c, b"avoid=198.18.0.0/30\n"),
                      bytes([ALICE]) + hello(a, b"client4=198.18.0.5\n")),
        "control": steps(bytes([ALICE]) + hello(a), bytes([2]) + b"compress_mode=6\n",
                         bytes([2]) + b"foo=bar\ncompress_mode=auto\n",
                         bytes([2]) + b"compress_mode=11\n"),
        "lost": steps(bytes([ALICE]) + hello(a, b"conns=2\nconn=0\n"), bytes([2]) + b"lost=1\n",
                      bytes([2]) + b"lost=9\nlost=x\nlost=3\nlost=\nlost=01\n",
                      bytes([ALICE]) + hello(c, b"join=" + b"0f" * 16 + b"\nconn=7\n")),
        "refused": steps(bytes([0]) + b"proto=2\nid=" + a + b"\n",
                         bytes([0]) + b"proto=1\nmtu=100\n", bytes([0]) + b"proto=1\n"),
    }


def leases_seeds():
    # knobs: bit 0 account 1000 (else 0), bit 1 grace 0, bits 2-3 cap 1..4,
    # bit 4 a groups file after the first 0xff
    ident = b"0123456789abcdef0123456789abcdef"
    group = b"0 1000 " + ident + b" " + b"ab" * 32 + b" sshtun0 3 1400 1:1,2:99999999999\n"
    conns = b"0 1000 " + ident + b" " + b"ab" * 32 + b" sshtun0 3 1400 1:1:0,2:5:7,3:4,4:4:8\n"
    return {
        "group": b"\x11" + b"0 " + ident + b" 1 5 1000\n\xff" + group,
        "group-conns": b"\x11" + b"0 " + ident + b" 1 5 1000\n\xff" + conns,
        "groups-junk": b"\x10" + b"0 " + ident + b" 1 5 0\n\xff" + group.replace(b" 1000 ", b" 0 ")
                       + b"1 0 x 00 sshtun1 3 1400 1:1\n" + group + b"2 0 " + ident + b" " + b"0" * 64
                       + b" a 1 1 " + b",".join(b"%d:%d" % (i, i) for i in range(1, 10)) + b"\n",
        "empty": b"\x00",
        "mine": b"\x01" + b"0 " + ident + b" 0 5 1000\n1 " + ident + b" 0 5 0\n",
        "old": b"\x00" + b"0 " + ident + b" 1 100\n1 bbbb 0 200\n2 cccc 99999 300\n",
        "full": b"\x06" + b"".join(b"%d id%d 1 5 %d\n" % (i, i, 1000 if i % 3 else 7)
                                   for i in range(32)),
        "grace": b"\x01" + b"".join(b"%d id%d 0 %d 1000\n" % (i, i, 2000000000 + i)
                                    for i in range(32)),
        "junk": b"\x0d" + b"0 a 0 5 1000 7\n1 b 0 5 4294967295\n01 c 0 1\n3  d 0 1\n"
                          b"4 e\x00 0 1\n" + b"7" * 120 + b"\n31 " + ident + b" 1 9 1000",
    }


def serveconf_seeds():
    return {
        "all": b"# serve.conf\npool 10.77.0.0/16\npool6 fd77:7373:6874::/64\n"
               b"lease-file /run/sshtun/leases\nmtu 1400\nroute 203.0.113.0/24\n"
               b"dns 203.0.113.53\ndns-domain lan.test\nnat yes\n"
               b"max-sessions-per-user 2\nlease-grace 600\n",
        "tabs": b"\tmtu\t1280   # comment\r\nmax-sessions-per-user 65536\nlease-grace 0\n",
        "bad": b"mtu 99999\n",
        "cap0": b"max-sessions-per-user 0\n",
        "grace": b"lease-grace 604801\n",
        "novalue": b"nat\n",
        "pool": b"pool 10.0.0.1/24\npool6 none\n",
        "long": b"route " + b"1" * 1100 + b"\n",
    }


def chanlink_seeds():
    # Pairs (op, arg): 0 peer sends, 1 read, 2 write, 3 rtt, 4 time, 5 stall;
    # an odd arg cuts the next send (EAGAIN, half sent).
    def ops(*pairs):
        return bytes(b for p in pairs for b in p)
    bulk = ops((3, 40), (0, 0xfe), (1, 10), (4, 201), (1, 10), (0, 0xfe), (1, 10), (4, 201), (1, 10)) * 6
    return {
        "bulk": bulk,
        # A read whose adjust the socket cuts, then a write (refused), then
        # the read that finishes it.
        "cut-adjust": ops((0, 0xfe), (1, 11), (1, 10), (0, 0xfe), (1, 11), (2, 20), (1, 10), (2, 20)),
        "cut-write": ops((2, 41), (1, 10), (2, 40), (0, 0x20), (1, 10)),
        "stall": bulk + ops((0, 0xfe), (5, 0), (0, 0xfe), (5, 0), (4, 255), (0, 0xfe)),
        "tiny-reads": ops((0, 0xfe), (1, 0), (1, 0), (1, 1), (1, 0), (0, 0x7e), (1, 2)) * 4,
    }


def steer_seeds():
    # records [op][arg][len][packet]: 0 pick among arg's bits, 1 forget,
    # 2 clock + arg * 97 ms, 3 pick and check the reply
    def rec(op, arg, pkt=b""):
        return bytes([op, arg, len(pkt)]) + pkt

    def tcp4(sport, dport=5201):
        return ipv4(struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 2, 65535, 0, 0), 6)

    def tcp6_hbh(sport):
        # a hop-by-hop header (8 bytes) before TCP
        body = bytes([6, 0, 0, 0, 0, 0, 0, 0]) + struct.pack(">HHIIBBHHH", sport, 22, 1, 0, 5 << 4, 2,
                                                             65535, 0, 0)
        return ipv6(body, 0)

    frag4 = bytearray(ipv4(udp(b"f" * 40)))
    frag4[6] = 0x20
    frag6 = ipv6(bytes([17, 0, 0, 9, 0, 0, 0, 1]) + udp(b"g" * 16), 44)
    return {
        "four-flows": b"".join(rec(0, 3, tcp4(40000 + i)) for i in range(4)) * 3,
        "reply": b"".join(rec(3, 0, tcp4(1000 + i)) + rec(3, 0, ipv6(udp(b"r" * i), 17))
                          for i in range(4)),
        "dead-conn": b"".join(rec(0, 0xff, tcp4(2000 + i)) for i in range(8)) + rec(1, 3)
        + b"".join(rec(0, 0xf7, tcp4(2000 + i)) for i in range(8)),
        "expiry": rec(0, 3, tcp4(1)) + rec(2, 255) * 60 + rec(0, 3, tcp4(2)) + rec(0, 3, tcp4(1)),
        "ipv6": rec(0, 3, tcp6_hbh(7)) + rec(0, 3, bytes(frag6)) + rec(3, 0, tcp6_hbh(8)),
        "fragments": rec(0, 3, bytes(frag4)) + rec(0, 3, bytes(frag4)) + rec(0, 1, b"\x45\x00"),
    }


def main():
    seeds = {
        "frame": frame_seeds(), "inflate": inflate_seeds(), "hello": hello_seeds(),
        "shell": shell_seeds(), "sshconfig": sshconfig_seeds(), "control": control_seeds(),
        "state": state_seeds(),
        "tx": tx_seeds(), "ossh": ossh_seeds(), "peer_check": peer_check_seeds(),
        "serve": serve_seeds(), "leases": leases_seeds(), "serveconf": serveconf_seeds(),
        "vnet": vnet_seeds(),
        "chanlink": chanlink_seeds(), "steer": steer_seeds(),
    }
    only = sys.argv[1:]
    for target, files in seeds.items():
        if only and target not in only:
            continue
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (target, len(files)))


if __name__ == "__main__":
    main()
