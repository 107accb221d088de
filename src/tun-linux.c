/* The TUN device on Linux: /dev/net/tun, layer 3, no packet-info header,
 * and a virtio-net header before each packet (IFF_VNET_HDR) so that the
 * kernel's offloads can be turned on per session (vnet.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "common.h"
#include "fail.h"
#include "tun.h"
#include "vnet.h"

/* Newer than some installed headers (Linux 6.2). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* Always with the header, also toward a peer without offloads (then every
 * header is all zero, GSO_NONE, and TUNSETOFFLOAD 0 has the kernel segment
 * and checksum itself): the device is opened once, by the client's root
 * side or the helper's monitor, before any peer is known, and outlives
 * reconnections to peers that may differ, while IFF_VNET_HDR cannot be
 * taken off an attached descriptor.  Ten bytes more per read and write
 * (readv/writev, no copy) cost nothing measurable.
 *
 * The header's 16-bit fields are little-endian on a little-endian host
 * (virtio legacy is native-endian); a big-endian host would need
 * TUNSETVNETLE, and goes without offloads until someone can test it. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define VNET_FLAG IFF_VNET_HDR
#else
#define VNET_FLAG 0
#endif

#define TUN_PATH "/dev/net/tun"
#define TUN_DEFAULT_NAME "sshtun%d"
#define NEED_PRIV "run as root or give the binary CAP_NET_ADMIN"

/* One line that says what went wrong with which name and what to do. */
static int tun_fail(const char *name, int err)
{
	const char *hint;

	switch (err) {
	case EPERM:
	case EACCES:
		hint = NEED_PRIV;
		break;
	case EBUSY:
		hint = "the name is in use by another TUN device; choose another";
		break;
	case EINVAL:
		/* The kernel says EINVAL both for a bad name and for a name
		 * held by an interface that is not a TUN. */
		hint = "the name is invalid or taken by a non-TUN interface";
		break;
	default:
		return fail(EXIT_LOCAL, "cannot create TUN device `%s': %s", name, strerror(err));
	}
	return fail(EXIT_LOCAL, "cannot create TUN device `%s': %s (%s)", name, strerror(err), hint);
}

int tun_clear_persist(int fd)
{
	return ioctl(fd, TUNSETPERSIST, 0) < 0 ? -errno : 0;
}

static int tun_dev_open(void)
{
	int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	int err;

	if (fd >= 0)
		return fd;
	err = errno;
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		return fail(EXIT_LOCAL, TUN_PATH " missing: load the tun module (modprobe tun)");
	if (err == EPERM || err == EACCES)
		return fail(EXIT_LOCAL, "cannot open " TUN_PATH ": %s (" NEED_PRIV ")", strerror(err));
	return fail(EXIT_LOCAL, "cannot open " TUN_PATH ": %s", strerror(err));
}

/* TUNSETIFF with the header, or without it on a kernel that has none.  The
 * kernel accepts the header or not whatever the device, so every queue of
 * one device ends up with the same choice: an attach with other feature
 * flags would change them under the queues already open.  0 or -errno. */
static int tun_set_iff(int fd, struct ifreq *ifr, int flags)
{
	ifr->ifr_flags = (short)(IFF_TUN | IFF_NO_PI | VNET_FLAG | flags);
	if (ioctl(fd, TUNSETIFF, ifr) == 0)
		return 0;
	if (!VNET_FLAG || errno != EINVAL)
		return -errno;
	ifr->ifr_flags = (short)(IFF_TUN | IFF_NO_PI | flags);
	return ioctl(fd, TUNSETIFF, ifr) < 0 ? -errno : 0;
}

static int tun_open_flags(char name[IFNAMSIZ], int flags)
{
	const char *want = name[0] ? name : TUN_DEFAULT_NAME;
	struct ifreq ifr;
	size_t len = strnlen(want, IFNAMSIZ);
	int fd, err;

	if (len >= IFNAMSIZ)
		return fail(EXIT_LOCAL, "TUN device name `%.*s...' is too long (at most %d characters)",
			    IFNAMSIZ - 1, want, IFNAMSIZ - 1);
	fd = tun_dev_open();
	if (fd < 0)
		return -1;

	/* No IFF_TUN_EXCL: a persistent TUN that an admin made for this user
	 * (`ip tuntap add mode tun user U name N`) is attached, not refused,
	 * which lets sshtun run without root. */
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, want, len);
	err = tun_set_iff(fd, &ifr, flags);
	if (err < 0) {
		close(fd);
		return tun_fail(want, -err);
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return fd;
}

int tun_open_mq(char name[IFNAMSIZ], bool multi)
{
	return tun_open_flags(name, multi ? IFF_MULTI_QUEUE : 0);
}

/* IFF_TUN_EXCL: an existing device of that name (another user's persistent
 * TUN, one an instance left) is EBUSY, never attached as root. */
int tun_create_mq(char name[IFNAMSIZ], bool multi)
{
	return tun_open_flags(name, IFF_TUN_EXCL | (multi ? IFF_MULTI_QUEUE : 0));
}

int tun_open(char name[IFNAMSIZ])
{
	return tun_open_mq(name, false);
}

int tun_create(char name[IFNAMSIZ])
{
	return tun_create_mq(name, false);
}

/* TUNSETIFF creates what it does not find, so the device's index is taken
 * before and after: a missing name, or one that went and came back as a
 * new device in between (whose only queue we would now hold), is refused
 * rather than made. */
int tun_attach_queue(const char name[IFNAMSIZ])
{
	size_t len = strnlen(name, IFNAMSIZ);
	unsigned idx;
	struct ifreq ifr;
	int fd, err;

	if (len == 0 || len >= IFNAMSIZ || memchr(name, '%', len))
		return fail(EXIT_LOCAL, "cannot add a queue to TUN device `%.*s': not a device name",
			    (int)(len < IFNAMSIZ ? len : IFNAMSIZ - 1), name);
	idx = if_nametoindex(name);
	if (idx == 0)
		return fail(EXIT_LOCAL, "cannot add a queue to TUN device `%s': %s", name, strerror(errno));
	fd = tun_dev_open();
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len);
	err = tun_set_iff(fd, &ifr, IFF_MULTI_QUEUE);
	if (err == 0 && if_nametoindex(name) != idx)
		err = -ENODEV;
	if (err < 0) {
		close(fd);
		switch (-err) {
		case EINVAL:
			return fail(EXIT_LOCAL, "cannot add a queue to TUN device `%s': not a multi-queue TUN",
				    name);
		case E2BIG:
			return fail(EXIT_LOCAL, "cannot add a queue to TUN device `%s': it has all the queues the kernel allows",
				    name);
		case EPERM:
		case EACCES:
			return fail(EXIT_LOCAL, "cannot add a queue to TUN device `%s': %s (" NEED_PRIV ")",
				    name, strerror(-err));
		default:
			return fail(EXIT_LOCAL, "cannot add a queue to TUN device `%s': %s", name, strerror(-err));
		}
	}
	return fd;
}

/* The kernel's TUNSETQUEUE says EINVAL both for a device without queues
 * and for a queue already in the state asked for; TUNGETIFF tells them
 * apart (IFF_DETACH_QUEUE on a detached one). */
int tun_queue_enable(int fd, bool on)
{
	struct ifreq ifr;
	bool detached;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(fd, TUNSETQUEUE, &ifr) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_MULTI_QUEUE))
		return on ? 0 : -EINVAL;	/* a single queue is always attached */
	detached = ifr.ifr_flags & IFF_DETACH_QUEUE;
	return detached != on ? 0 : -EINVAL;
}

size_t tun_vnet_len(int fd)
{
	struct ifreq ifr;
	int sz;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & VNET_FLAG))
		return 0;
	/* Someone else's persistent device may have another size set. */
	if (ioctl(fd, TUNGETVNETHDRSZ, &sz) < 0 ||
	    (sz != VNET_HDR_LEN && (sz = VNET_HDR_LEN, ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)))
		return 0;
	return VNET_HDR_LEN;
}

static unsigned offload_flags(unsigned caps)
{
	unsigned f = 0;

	/* Every offload hands over packets with the checksum left to us. */
	if (!(caps & VNET_CAP_CSUM))
		return 0;
	f |= TUN_F_CSUM;
	if (caps & VNET_CAP_TCP4)
		f |= TUN_F_TSO4;
	if (caps & VNET_CAP_TCP6)
		f |= TUN_F_TSO6;
	if (caps & (VNET_CAP_TCP4 | VNET_CAP_TCP6))
		f |= TUN_F_TSO_ECN;
	if (caps & VNET_CAP_UDP)
		f |= TUN_F_USO4 | TUN_F_USO6;
	return f;
}

/* The kernel refuses a set with a flag it does not know (EINVAL): USO
 * first (before 6.2), then TSO, then the checksum. */
unsigned tun_set_offload(int fd, unsigned caps)
{
	static const unsigned drop[] = { 0, VNET_CAP_UDP, VNET_CAP_TCP4 | VNET_CAP_TCP6, ~0u };

	for (size_t i = 0; i < ARRAY_SIZE(drop); i++) {
		caps &= ~drop[i];
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)offload_flags(caps)) == 0)
			return caps & (VNET_CAP_CSUM | VNET_CAP_TCP4 | VNET_CAP_TCP6 | VNET_CAP_UDP);
		if (errno != EINVAL)
			break;
	}
	ioctl(fd, TUNSETOFFLOAD, 0ul);
	return 0;
}

ssize_t tun_readv(int fd, const struct iovec *iov, int n)
{
	return readv(fd, iov, n);
}

ssize_t tun_writev(int fd, const struct iovec *iov, int n)
{
	return writev(fd, iov, n);
}

/* Thin on Linux; macOS utun and the BSDs add the 4-byte family header here. */
ssize_t tun_read(int fd, void *buf, size_t len)
{
	return read(fd, buf, len);
}

ssize_t tun_write(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len);
}
