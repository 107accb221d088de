/* See nat.h.  nft reads its script on stdin (nft.c); no shell is involved. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "forwarding.h"
#include "log.h"
#include "nat.h"
#include "netlink.h"
#include "nft.h"
#include "safefile.h"

#define SCRIPT_MAX 4096

/* One lock for every helper's NAT changes, beside the lease file. */
static int lock(const struct pool *pool, char *path, size_t cap, char *err, size_t errlen)
{
	int fd;

	snprintf(path, cap, "%s.natlock", pool->lease_path);
	fd = safe_open(path, O_RDWR | O_CREAT, 0600, err, errlen);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		errorf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct default_route {
	int family, ifindex;
};

static void find_default(const struct inet_prefix *dst, int ifindex, void *ctx)
{
	struct default_route *d = ctx;

	if (dst->plen == 0 && ifindex > 0 && (!d->ifindex || (d->family == AF_INET6 && dst->family == AF_INET))) {
		d->family = dst->family;
		d->ifindex = ifindex;
	}
}

/* --nat-out, or the interface of the default route (IPv4's first). */
static int uplink_of(const struct nat_config *cfg, char *out, char *err, size_t errlen)
{
	struct default_route d = { 0, 0 };
	size_t n;

	if (cfg->out && cfg->out[0]) {
		n = strlen(cfg->out);
		/* The name goes into an nft script and a /proc path. */
		if (n >= IFNAMSIZ || strcspn(cfg->out, "\"/\\ \t\n*") != n || !strcmp(cfg->out, ".") ||
		    !strcmp(cfg->out, ".."))
			return errorf(err, errlen, "bad --nat-out interface name `%s'", cfg->out);
		if (net_link_index(cfg->out) < 0)
			return errorf(err, errlen, "--nat-out %s: no such interface", cfg->out);
		memcpy(out, cfg->out, n + 1);
		return 0;
	}
	if (net_route_dump(find_default, &d) < 0 || !d.ifindex || !if_indextoname((unsigned)d.ifindex, out))
		return errorf(err, errlen, "no default route to pick the uplink from; name it with --nat-out IFACE");
	return 0;
}

static int script(char *s, size_t cap, const struct pool *pool, const struct nat_config *cfg,
		  const char *up, const struct fwd_before *before)
{
	char n4[64] = "", n6[64] = "";
	size_t len = 0;

#define ADD(...) \
	do { \
		int w_ = snprintf(s + len, cap - len, __VA_ARGS__); \
		if (w_ < 0 || (size_t)w_ >= cap - len) \
			return -1; \
		len += (size_t)w_; \
	} while (0)

	inet_prefix_str(&pool->net4, true, n4, sizeof(n4));
	inet_prefix_str(&pool->net6, true, n6, sizeof(n6));
	/* Declare, delete and re-create in one transaction: idempotent. */
	ADD("table inet " NAT_TABLE "\ndelete table inet " NAT_TABLE "\n"
	    "table inet " NAT_TABLE " {\n"
	    "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
	    "\t\tiifname \"sshtun*\" oifname \"%s\" accept\n", up);
	if (cfg->client_to_client)
		ADD("\t\tiifname \"sshtun*\" oifname \"sshtun*\" accept\n");
	ADD("\t\tiifname \"sshtun*\" drop\n"
	    "\t\toifname \"sshtun*\" ct state established,related accept\n");
	if (*n4)
		ADD("\t\toifname \"sshtun*\" iifname \"%s\" ip daddr %s accept\n", up, n4);
	if (*n6)
		ADD("\t\toifname \"sshtun*\" iifname \"%s\" ip6 daddr %s accept\n", up, n6);
	ADD("\t\toifname \"sshtun*\" drop\n");
	/* Turning forwarding on must not start routing between the server's
	 * other interfaces. */
	if (*n4 && !before->v4)
		ADD("\t\tmeta nfproto ipv4 drop\n");
	if (*n6 && !before->v6)
		ADD("\t\tmeta nfproto ipv6 drop\n");
	ADD("\t}\n");
	/* (What a tunnel may send from: the table inet sshtun_rpf, there with
	 * or without NAT, nat_rpf_enable.) */
	ADD("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	if (*n4)
		ADD("\t\tip saddr %s oifname \"%s\" masquerade\n", n4, up);
	if (*n6)
		ADD("\t\tip6 saddr %s oifname \"%s\" masquerade\n", n6, up);
	ADD("\t}\n}\n");
#undef ADD
	return 0;
}

int nat_enable(const struct pool *pool, const struct nat_config *cfg, char *err, size_t errlen)
{
	char lockpath[300], saved[300], s[SCRIPT_MAX], up[IFNAMSIZ];
	struct fwd_before before;
	int fd, rc = -1;

	fd = lock(pool, lockpath, sizeof(lockpath), err, errlen);
	if (fd < 0)
		return -1;
	if (uplink_of(cfg, up, err, errlen) < 0)
		goto out;
	snprintf(saved, sizeof(saved), "%s.nat", pool->lease_path);
	if (fwd_enable(saved, pool->net4.family != 0, pool->net6.family != 0, up, &before, err, errlen) < 0)
		goto out;
	if (script(s, sizeof(s), pool, cfg, up, &before) < 0) {
		errorf(err, errlen, "nft script too long");
		goto undo;
	}
	if (nft_run(s) < 0) {
		errorf(err, errlen, "nft could not add the table inet " NAT_TABLE "%s",
		       errno == ENOENT ? " (nft is not installed)" : "");
		goto undo;
	}
	log_verbose("NAT: clients go out through %s%s", up, cfg->client_to_client ? "; client-to-client allowed" : "");
	rc = 0;
	goto out;
undo:
	/* Forwarding without the forward chain is what must not happen. */
	if (pool_live(pool, getpid()) == 0)
		fwd_restore(saved);
out:
	close(fd);
	return rc;
}

void nat_release(const struct pool *pool)
{
	char lockpath[300], saved[300], err[300];
	int fd = lock(pool, lockpath, sizeof(lockpath), err, sizeof(err));

	if (fd < 0) {
		log_warn("NAT left in place: %s", err);
		return;
	}
	if (pool_live(pool, getpid()) > 0)
		goto out;	/* another client still needs it */
	if (nft_run("table inet " NAT_TABLE "\ndelete table inet " NAT_TABLE "\n") < 0)
		log_warn("could not remove the nftables table inet " NAT_TABLE);
	snprintf(saved, sizeof(saved), "%s.nat", pool->lease_path);
	fwd_restore(saved);
	log_verbose("last client gone: NAT removed");
out:
	close(fd);
}

/* Under the NAT lock, like the NAT table: a helper leaving sees every
 * lease taken before it looks, and one arriving adds the table after. */
int nat_rpf_enable(const struct pool *pool, char *err, size_t errlen)
{
	char lockpath[300];
	int fd = lock(pool, lockpath, sizeof(lockpath), err, errlen), rc = 0;

	if (fd < 0)
		return -1;
	/* Declare, delete and re-create: the rule is there once. */
	if (nft_run("table inet " RPF_TABLE "\ndelete table inet " RPF_TABLE "\n"
		"table inet " RPF_TABLE " {\n"
		"\tchain prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
		"\t\tiifname \"sshtun*\" fib saddr . iif oif missing drop\n"
		"\t}\n}\n") < 0)
		rc = errorf(err, errlen, "nft could not add the table inet " RPF_TABLE "%s",
			    errno == ENOENT ? " (nft is not installed)" : "");
	close(fd);
	return rc;
}

void nat_rpf_release(const struct pool *pool)
{
	char lockpath[300], err[300];
	int fd = lock(pool, lockpath, sizeof(lockpath), err, sizeof(err));

	if (fd < 0) {
		log_warn("table inet " RPF_TABLE " left in place: %s", err);
		return;
	}
	if (pool_live(pool, getpid()) == 0 &&
	    nft_run("table inet " RPF_TABLE "\ndelete table inet " RPF_TABLE "\n") < 0)
		log_warn("could not remove the nftables table inet " RPF_TABLE);
	close(fd);
}
