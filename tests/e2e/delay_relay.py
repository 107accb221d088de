#!/usr/bin/python3
# tests/e2e/delay_relay.py LISTEN_ADDR PORT TARGET_ADDR TARGET_PORT DELAY_MS READY:
# a TCP relay that holds every byte DELAY_MS before passing it on, each way:
# a long path in user space (this kernel has no netem).  It reads as fast as
# it can and buffers without bound, so across it the only flow control is
# the SSH channel's window (what t_window.sh and the bench's longpath part
# measure).  Connections until killed; the file READY appears once it listens.
import collections, socket, sys, threading, time

laddr, lport, taddr, tport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
delay = float(sys.argv[5]) / 1000.0


def pump(src, dst):
    q, cv = collections.deque(), threading.Condition()

    def reader():
        while True:
            try:
                b = src.recv(1 << 18)
            except OSError:
                b = b""
            with cv:
                q.append((time.monotonic() + delay, b))
                cv.notify()
            if not b:
                return

    threading.Thread(target=reader, daemon=True).start()
    while True:
        with cv:
            while not q:
                cv.wait()
            due = q[0][0]
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        # Everything due now goes out in one send.
        out, now, end = [], time.monotonic(), False
        with cv:
            while q and q[0][0] <= now:
                b = q.popleft()[1]
                if not b:
                    end = True
                    break
                out.append(b)
        try:
            if out:
                dst.sendall(b"".join(out))
            if end:
                dst.shutdown(socket.SHUT_WR)
                return
        except OSError:
            return


def serve(c):
    try:
        t = socket.create_connection((taddr, tport))
    except OSError:
        c.close()
        return
    for s in (c, t):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=pump, args=(c, t), daemon=True).start()
    threading.Thread(target=pump, args=(t, c), daemon=True).start()


ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((laddr, lport))
ls.listen(8)
open(sys.argv[6], "w").close()
while True:
    c, _ = ls.accept()
    serve(c)
