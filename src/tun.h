/* The TUN device.  One header; tun-linux.c uses /dev/net/tun (macOS utun and
 * the BSDs' tun(4) follow with a 4-byte address-family header hidden behind
 * tun_read/tun_write). */
#ifndef SSHTUN_TUN_H
#define SSHTUN_TUN_H

#include <net/if.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates a TUN device (layer 3, no packet-info header), non-blocking and
 * close-on-exec.  name: wanted name or "" / a pattern such as "sshtun%d";
 * on return holds the kernel's name.  Returns the fd, or -1 with fail() set
 * (exit 7: "cannot create TUN device: Operation not permitted (needs root or
 * CAP_NET_ADMIN)").  The device disappears when the fd is closed. */
int tun_open(char name[IFNAMSIZ]);
/* The same, but a new device only: a name held by any existing TUN is
 * refused (EBUSY).  What root does on another's behalf (the client's root
 * side): attaching would hand over someone else's interface. */
int tun_create(char name[IFNAMSIZ]);

/* Makes the device non-persistent again (TUNSETPERSIST 0), so that it goes
 * when its last descriptor closes, whatever another holder of it set.
 * Returns 0 or -errno. */
int tun_clear_persist(int fd);

/* The bytes of virtio-net header (vnet.h) before each packet that tun_read
 * returns and tun_write wants: VNET_HDR_LEN, or 0 where there is none
 * (a kernel without IFF_VNET_HDR; macOS and the BSDs: no offloads). */
size_t tun_vnet_len(int fd);
/* Turns on the kernel's offloads for the VNET_CAP_* kinds in caps (0: all
 * off): reads then return super-packets and packets whose checksum is left
 * to us (CHECKSUM_PARTIAL) of those kinds.  Returns the kinds the kernel
 * took (USO needs Linux 6.2); 0 without a vnet header. */
unsigned tun_set_offload(int fd, unsigned caps);

/* One IP packet (after the vnet header, when there is one).  Return the byte count, or -1 with errno (EAGAIN when none
 * is waiting / the queue is full). */
ssize_t tun_read(int fd, void *buf, size_t len);
ssize_t tun_write(int fd, const void *buf, size_t len);
/* The same with the packet in pieces (the header apart). */
struct iovec;
ssize_t tun_readv(int fd, const struct iovec *iov, int n);
ssize_t tun_writev(int fd, const struct iovec *iov, int n);

#endif
