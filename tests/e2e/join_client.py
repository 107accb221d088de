#!/usr/bin/python3
# tests/e2e/join_client.py OUT KEY=VALUE... -- SSH-COMMAND...: a bare sshtun
# client for t_join.sh that speaks the protocol itself, to test the
# helper's side of --connections without the real client.
#
# It runs SSH-COMMAND (ssh ... HOST 'sshtun serve ...'), sends the magic
# line and a hello of proto=1, mtu=1400, software and the KEY=VALUE lines
# (id=, conns=, join=; KEY= with nothing drops a key), and then:
#   - the server's hello goes to OUT.hello, its lines as they came;
#   - an ERROR frame goes to OUT.error as "flags=0xNN TEXT", and it exits 3;
#   - after the hello, every 0.2 s an ICMP echo request from client4 to
#     server4 goes in a DATA frame; each echo reply that comes back adds a
#     line to OUT.replies;
#   - PING frames are answered with PONG;
#   - when a file OUT.control appears, its text goes in a CONTROL frame and
#     the file is renamed OUT.control.sent (t_join.sh's lost=K).
# It exits when the channel closes (0 after a hello, 2 before), or on
# SIGTERM (ending its ssh first).  Frames are man/sshtun-protocol.7's: u8
# type, u8 flags, u32 big-endian length, payload.
import os, select, signal, socket, struct, subprocess, sys, time

HELLO, DATA, PING, PONG, ERROR, CONTROL = 1, 2, 3, 4, 5, 6


def frame(t, payload, flags=0):
    return struct.pack("!BBI", t, flags, len(payload)) + payload


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def echo_request(src, dst, seq):
    body = b"sshtun-join-test"
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x5354, seq & 0xffff) + body
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq & 0xffff, 0, 64, 1, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + icmp


def is_echo_reply(pkt, me):
    return (len(pkt) >= 28 and pkt[0] >> 4 == 4 and pkt[9] == 1 and
            pkt[16:20] == socket.inet_aton(me) and pkt[(pkt[0] & 15) * 4] == 0)


def main():
    sep = sys.argv.index("--")
    out, keys, cmd = sys.argv[1], sys.argv[2:sep], sys.argv[sep + 1:]
    lines = {"proto": "1", "software": "sshtun-join-test", "mtu": "1400"}
    for kv in keys:
        k, v = kv.split("=", 1)
        if v:
            lines[k] = v
        else:
            lines.pop(k, None)
    hello = "".join("%s=%s\n" % kv for kv in lines.items()).encode()

    ssh = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def stop(*_):
        ssh.terminate()
        try:
            ssh.wait(5)
        except subprocess.TimeoutExpired:
            ssh.kill()
        sys.exit(1)
    signal.signal(signal.SIGTERM, stop)

    def send(b):
        ssh.stdin.write(b)
        ssh.stdin.flush()

    send(b"SSHTUN/1 sshtun-join-test\n" + frame(HELLO, hello))
    buf, magic, peer, seq, next_ping = b"", False, None, 0, 0.0
    fd = ssh.stdout.fileno()
    while True:
        now = time.monotonic()
        if peer and now >= next_ping:
            seq += 1
            try:
                send(frame(DATA, echo_request(peer["client4"], peer["server4"], seq)))
            except BrokenPipeError:
                break
            next_ping = now + 0.2
        if peer and os.path.exists(out + ".control"):
            with open(out + ".control", "rb") as f:
                text = f.read()
            try:
                send(frame(CONTROL, text))
            except BrokenPipeError:
                break
            os.rename(out + ".control", out + ".control.sent")
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        if not magic:
            i = buf.find(b"SSHTUN/")
            nl = buf.find(b"\n", i) if i >= 0 else -1
            if nl < 0:
                continue
            buf, magic = buf[nl + 1:], True
        while len(buf) >= 6:
            t, flags, n = struct.unpack("!BBI", buf[:6])
            if len(buf) < 6 + n:
                break
            payload, buf = buf[6:6 + n], buf[6 + n:]
            if t == HELLO:
                with open(out + ".hello", "wb") as f:
                    f.write(payload)
                kv = dict(l.split("=", 1) for l in payload.decode().splitlines())
                peer = {k: kv[k].split("/")[0] for k in ("client4", "server4")}
            elif t == ERROR:
                with open(out + ".error", "w") as f:
                    f.write("flags=0x%02x %s" % (flags, payload.decode(errors="replace")))
                stop_quietly(ssh)
                sys.exit(3)
            elif t == PING:
                send(frame(PONG, payload))
            elif t == DATA and peer and is_echo_reply(payload, peer["client4"]):
                with open(out + ".replies", "a") as f:
                    f.write("reply\n")
    ssh.wait()
    sys.exit(0 if peer else 2)


def stop_quietly(ssh):
    ssh.stdin.close()
    try:
        ssh.wait(5)
    except subprocess.TimeoutExpired:
        ssh.kill()


if __name__ == "__main__":
    main()
