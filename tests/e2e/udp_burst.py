#!/usr/bin/python3
# tests/e2e/udp_burst.py: many small UDP datagrams of different sizes, in
# bursts, through a tunnel and back, each checked for its bytes and its
# place in the order.
#
#   udp_burst.py echo ADDR PORT OUT   echoes every datagram; on "END" writes
#                                     "got N bad B order O" to OUT and exits
#   udp_burst.py send ADDR PORT COUNT BURST
#                                     sends COUNT datagrams, BURST back to back,
#                                     then waits for that burst's echoes (5 s
#                                     at most each); prints
#                                     "sent N echoed E bad B order O"
# Datagram SEQ is 4 bytes of SEQ and then 4 + SEQ * 37 % 1200 bytes that
# follow from SEQ: a merged, cut or reordered datagram shows.
import socket, struct, sys


def body(seq):
    n = 4 + seq * 37 % 1200
    return struct.pack("!I", seq) + bytes((seq + i) & 0xFF for i in range(n))


class Checker:
    def __init__(self):
        self.n = self.bad = self.order = 0
        self.last = -1

    def see(self, d):
        self.n += 1
        if len(d) < 4:
            self.bad += 1
            return
        seq = struct.unpack("!I", d[:4])[0]
        if d != body(seq):
            self.bad += 1
        if seq != self.last + 1:
            self.order += 1
        self.last = seq


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def echo(addr, port, out):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((addr, port))
    s.settimeout(120)
    c = Checker()
    while True:
        d, peer = s.recvfrom(4096)
        if d == b"END":
            break
        c.see(d)
        s.sendto(d, peer)
    with open(out, "w") as f:
        f.write("got %d bad %d order %d\n" % (c.n, c.bad, c.order))


def send(addr, port, count, burst):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect((addr, port))
    s.settimeout(5)
    c = Checker()
    for first in range(0, count, burst):
        n = min(burst, count - first)
        for seq in range(first, first + n):
            s.send(body(seq))
        for _ in range(n):
            try:
                c.see(s.recv(4096))
            except socket.timeout:
                break
    for _ in range(3):
        s.send(b"END")
    print("sent %d echoed %d bad %d order %d" % (count, c.n, c.bad, c.order))


if sys.argv[1] == "echo":
    echo(sys.argv[2], int(sys.argv[3]), sys.argv[4])
else:
    send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
