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

static int tun_open_flags(char name[IFNAMSIZ], int excl)
{
	const char *want = name[0] ? name : TUN_DEFAULT_NAME;
	struct ifreq ifr;
	size_t len = strnlen(want, IFNAMSIZ);
	int fd, err;

	if (len >= IFNAMSIZ)
		return fail(EXIT_LOCAL, "TUN device name `%.*s...' is too long (at most %d characters)",
			    IFNAMSIZ - 1, want, IFNAMSIZ - 1);

	fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			return fail(EXIT_LOCAL, TUN_PATH " missing: load the tun module (modprobe tun)");
		if (err == EPERM || err == EACCES)
			return fail(EXIT_LOCAL, "cannot open " TUN_PATH ": %s (" NEED_PRIV ")",
				    strerror(err));
		return fail(EXIT_LOCAL, "cannot open " TUN_PATH ": %s", strerror(err));
	}

	/* No IFF_TUN_EXCL: a persistent TUN that an admin made for this user
	 * (`ip tuntap add mode tun user U name N`) is attached, not refused,
	 * which lets sshtun run without root. */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | VNET_FLAG | excl);
	memcpy(ifr.ifr_name, want, len);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		/* A kernel without the header: plain packets, no offloads. */
		ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | excl);
		if (!VNET_FLAG || errno != EINVAL || ioctl(fd, TUNSETIFF, &ifr) < 0) {
			err = errno;
			close(fd);
			return tun_fail(want, err);
		}
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return fd;
}

int tun_open(char name[IFNAMSIZ])
{
	return tun_open_flags(name, 0);
}

/* IFF_TUN_EXCL: an existing device of that name (another user's persistent
 * TUN, one an instance left) is EBUSY, never attached as root. */
int tun_create(char name[IFNAMSIZ])
{
	return tun_open_flags(name, IFF_TUN_EXCL);
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
