#!/usr/bin/env python3
"""notify_listen.py SOCKET LOG CTL_CMD...: a stand-in for systemd's
NOTIFY_SOCKET.  Each datagram goes to LOG as one line (newlines shown as
'|'); when one says READY=1, CTL_CMD (e.g. sshtun ctl -S ... status --json)
runs at once and its output goes to LOG as "AT_READY <output>", so the test
can tell that the instance was up when it said so.  Runs until killed."""
import os
import socket
import subprocess
import sys

path, log, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a", buffering=1) as out:
    out.write("LISTENING\n")
    while True:
        data = s.recv(4096).decode("ascii", "replace")
        out.write("DGRAM " + data.replace("\n", "|") + "\n")
        if "READY=1" in data.split("\n"):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            out.write("AT_READY " + r.stdout.strip() + "\n")
