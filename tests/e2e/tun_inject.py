#!/usr/bin/python3
# tests/e2e/tun_inject.py IFNAME SRC DST PORT TAG: plays a compromised
# helper worker.  (tun_inject.py IFNAME --persist: it makes the device
# persistent, owned by nobody, with the worker's descriptor instead, as a
# worker without its seccomp filter could.)  It takes (pidfd_getfd, as root) the TUN descriptor that a
# running process holds for IFNAME, and writes one UDP datagram SRC -> DST
# (IPv4 or IPv6) to port PORT whose payload is TAG: what a worker can write
# once a hostile client owns it, whatever its own source check says.
# Run it in the helper's network namespace.  Prints the pid it took the
# descriptor from.
import ctypes, os, socket, struct, sys

SYS_PIDFD_GETFD = 438   # the same on every Linux architecture

def sandboxed(pid):
    with open("/proc/%s/status" % pid) as f:
        return "\nSeccomp:\t2\n" in f.read()

# The worker's descriptor: the monitor keeps a copy too, but only the worker
# runs in the seccomp filter.
def holder(ifname):
    # Interface names repeat across namespaces: only processes in ours.
    me = os.readlink("/proc/self/ns/net")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink("/proc/%s/ns/net" % pid) != me:
                continue
            for fd in os.listdir("/proc/%s/fd" % pid):
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) != "/dev/net/tun":
                    continue
                with open("/proc/%s/fdinfo/%s" % (pid, fd)) as f:
                    if ("iff:\t%s\n" % ifname) in f.read() and sandboxed(pid):
                        return int(pid), int(fd)
        except OSError:
            continue
    sys.exit("no sandboxed process holds a TUN for %s" % ifname)

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def packet(src, dst, port, payload):
    v6 = ":" in src
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    s, d = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
    ulen = 8 + len(payload)
    if v6:
        pseudo = s + d + struct.pack("!I3xB", ulen, 17)
    else:
        pseudo = s + d + struct.pack("!xBH", 17, ulen)
    udp = struct.pack("!HHHH", 40000, port, ulen, 0) + payload
    c = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    if v6:
        return struct.pack("!IHBB", 6 << 28, ulen, 17, 64) + s + d + udp
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 1, 0, 64, 17, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp

TUNSETPERSIST = 0x400454cb
TUNSETOWNER = 0x400454cc

def main():
    ifname = sys.argv[1]
    pid, fd = holder(ifname)
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    tun = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
    if tun < 0:
        sys.exit("pidfd_getfd %d/%d: %s" % (pid, fd, os.strerror(ctypes.get_errno())))
    if sys.argv[2] == "--persist":
        import fcntl, pwd
        fcntl.ioctl(tun, TUNSETOWNER, pwd.getpwnam("nobody").pw_uid)
        fcntl.ioctl(tun, TUNSETPERSIST, 1)
    else:
        src, dst, port, tag = sys.argv[2:6]
        os.write(tun, packet(src, dst, int(port), tag.encode()))
    print(pid)

main()
