#!/usr/bin/python3
# tests/e2e/udp_sink.py PORT OUT: receives UDP on PORT (IPv4 and IPv6) and
# appends "SOURCE PAYLOAD" per datagram to OUT; OUT.ready appears once it
# listens.  Runs until killed.
import os, select, socket, sys

port, out = int(sys.argv[1]), sys.argv[2]
socks = []
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    socks.append(s)
open(out + ".ready", "w").close()
while True:
    for s in select.select(socks, [], [])[0]:
        data, src = s.recvfrom(2048)
        with open(out, "a") as f:
            f.write("%s %s\n" % (src[0], data.decode(errors="replace")))
