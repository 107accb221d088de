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

from udp_packet import udp_packet

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

TUNSETPERSIST = 0x400454cb
TUNSETOWNER = 0x400454cc
TUNGETIFF = 0x800454d2
IFF_VNET_HDR = 0x4000

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
        import fcntl
        src, dst, port, tag = sys.argv[2:6]
        # A TUN with a virtio-net header (offloads) wants one before each
        # packet: all zero is a plain packet.
        ifr = fcntl.ioctl(tun, TUNGETIFF, bytes(40))
        hdr = bytes(10) if struct.unpack("H", ifr[16:18])[0] & IFF_VNET_HDR else b""
        os.write(tun, hdr + udp_packet(src, dst, int(port), tag.encode()))
    print(pid)

main()
