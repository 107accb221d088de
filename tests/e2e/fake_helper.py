#!/usr/bin/python3
# tests/e2e/fake_helper.py MODEFILE: a hostile sshtun helper for
# t_hostile_server.sh, started by the real sshd as the sshtun subsystem.
#
# MODEFILE holds one mode per line: connection N (counted in MODEFILE.n)
# plays line N, the last line again after the list.  A mode is a name from
# HELLOS (what the hello says) or "forge" (a good hello, then DATA frames
# whose sources are forged, each round followed by one from the server's
# own inner address).  Frames are man/sshtun-protocol.7's: u8 type, u8
# flags, u32 big-endian length, payload.
import os, select, socket, struct, sys, time

from udp_packet import udp_packet

GOOD = {"client4": "198.18.0.101/31", "server4": "198.18.0.100/31",
        "client6": "2001:db8:77::3/127", "server6": "2001:db8:77::2/127"}

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
}

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
