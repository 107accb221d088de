/* The TUN device on Linux: /dev/net/tun, layer 3, no packet-info header. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "common.h"
#include "fail.h"
#include "tun.h"

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
	ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | excl);
	memcpy(ifr.ifr_name, want, len);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		close(fd);
		return tun_fail(want, err);
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

/* Thin on Linux; macOS utun and the BSDs add the 4-byte family header here. */
ssize_t tun_read(int fd, void *buf, size_t len)
{
	return read(fd, buf, len);
}

ssize_t tun_write(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len);
}
