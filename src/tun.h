/* The TUN device.  One header; tun-linux.c uses /dev/net/tun (macOS utun and
 * the BSDs' tun(4) follow with a 4-byte address-family header hidden behind
 * tun_read/tun_write). */
#ifndef SSHTUN_TUN_H
#define SSHTUN_TUN_H

#include <net/if.h>
#include <stdbool.h>
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

/* --connections: one TUN with a queue per connection (IFF_MULTI_QUEUE);
 * the kernel's flow hash spreads the flows over the attached queues. */
#define TUN_MAX_QUEUES 8
/* tun_open / tun_create with queues: multi true creates the device with
 * IFF_MULTI_QUEUE (the fd returned is its first queue).  The kernel will
 * not open an existing device as the other kind (EINVAL). */
int tun_open_mq(char name[IFNAMSIZ], bool multi);
int tun_create_mq(char name[IFNAMSIZ], bool multi);
/* Another queue of the existing multi-queue TUN `name' (same flags as the
 * device: IFF_TUN|IFF_NO_PI|IFF_MULTI_QUEUE and IFF_VNET_HDR when it has
 * it).  Non-blocking, close-on-exec, same vnet header length as the first
 * queue.  Needs CAP_NET_ADMIN (or the device's owner).  Never creates a
 * device: a name that is missing, or that went and came back as another
 * device meanwhile, is refused.  -1 with fail() set (exit 7). */
int tun_attach_queue(const char name[IFNAMSIZ]);
/* TUNSETQUEUE: on=false detaches this queue (the kernel stops steering
 * flows to it and drops what waited in it), on=true attaches it back.  No
 * capability needed.  0 or -errno (-EINVAL: detaching a single-queue
 * device's queue).  Idempotent (detaching a detached queue is 0).  A
 * detached queue polls nothing and reads EAGAIN, while what is written into
 * it still reaches the stack; tun_vnet_len and tun_set_offload work on it.
 * The kernel drops every packet routed into a device whose queues are all
 * detached, and keeps its carrier and routes: never detach the last. */
int tun_queue_enable(int fd, bool on);

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
