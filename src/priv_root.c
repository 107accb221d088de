/* The root side: a table of handlers, one per request in priv.h.  Nothing
 * in a request is trusted: its size, every prefix and string is checked,
 * and each request must name this instance's own interface. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "execns.h"
#include "fdpass.h"
#include "fail.h"
#include "log.h"
#include "netlink.h"
#include "paths.h"
#include "priv.h"
#include "state_undo.h"
#include "tun.h"

#define RUN_DIR "/run/sshtun"

typedef int (*priv_handler)(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out);

/* A refusal: the reason goes back and into our log. */
static int refuse(struct priv_resp *a, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(struct priv_resp *a, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
	va_end(ap);
	a->exit_code = EXIT_LOCAL;
	return rc;
}

/* A module reported through fail(): its message and code go back. */
static int from_fail(struct priv_resp *a, int rc)
{
	snprintf(a->msg, sizeof(a->msg), "%s", fail_msg()[0] ? fail_msg() : strerror(-rc));
	a->exit_code = fail_code() ? fail_code() : EXIT_LOCAL;
	fail_clear();
	return rc;
}

static bool str_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* A known family, a length that fits it, no bits past the length. */
static bool prefix_ok(const struct inet_prefix *p)
{
	unsigned total = p->family == AF_INET ? 32 : 128;
	const uint8_t *x = (const uint8_t *)&p->addr;

	if ((p->family != AF_INET && p->family != AF_INET6) || p->plen > total)
		return false;
	for (unsigned bit = p->plen; bit < total; bit++)
		if (x[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static bool host_ok(const struct inet_prefix *p)
{
	return prefix_ok(p) && p->plen == (p->family == AF_INET ? 32u : 128u);
}

static const char *str(const struct inet_prefix *p, char *buf, size_t cap)
{
	return inet_prefix_str(p, true, buf, cap);
}

/* ---- the handlers ---- */

static int h_open(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	char sock[256];
	int fd, n;

	if (r->tun_fd >= 0)
		return refuse(a, -EALREADY, "the interface is open already (%s)", r->ifname);
	if (!str_ok(q->name, sizeof(q->name)) || !str_ok(q->ifname, sizeof(q->ifname)))
		return refuse(a, -EINVAL, "malformed open request (unterminated name)");
	if (q->arg > TUN_MAX_QUEUES)
		return refuse(a, -EINVAL, "a TUN with %u queues refused (1..%d)", q->arg, TUN_MAX_QUEUES);
	if (!r->state_path[0]) {
		/* Named from the instance, under root's own directory: never
		 * a path the other side chose. */
		if (paths_socket(q->name, sock, sizeof(sock)) < 0 ||
		    paths_state(sock, r->state_path, sizeof(r->state_path)) < 0)
			return from_fail(a, -EINVAL);
		if (mkdir(RUN_DIR, 0755) < 0 && errno != EEXIST)
			return refuse(a, -errno, "cannot create %s: %s", RUN_DIR, strerror(errno));
	}
	n = state_undo(r->state_path, false);
	if (n < 0) {
		r->state_path[0] = '\0';
		return from_fail(a, -EBUSY);
	}
	if (n > 0)
		log_info("cleaned up after an earlier instance of `%s'", q->name);
	state_init(&r->st, r->state_path);
	snprintf(r->ifname, sizeof(r->ifname), "%s", q->ifname);
	/* A new device only: as root, TUNSETIFF would attach to any
	 * persistent TUN of that name, whoever's it is. */
	fd = tun_create_mq(r->ifname, q->arg > 1);
	if (fd < 0)
		return from_fail(a, -EPERM);
	r->multi = q->arg > 1;
	r->ifindex = net_link_index(r->ifname);
	if (r->ifindex < 0) {
		close(fd);
		return refuse(a, -ENODEV, "cannot find the new interface %s", r->ifname);
	}
	r->tun_fd = fd;
	a->ifindex = r->ifindex;
	snprintf(a->ifname, sizeof(a->ifname), "%s", r->ifname);
	*fd_out = fd;
	return 0;
}

static int h_link_up(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	int rc;

	if (q->arg < MTU_MIN || q->arg > MTU_MAX)
		return refuse(a, -EINVAL, "MTU %u out of range (%d..%d)", q->arg, MTU_MIN, MTU_MAX);
	rc = net_link_set(r->ifindex, q->arg, true);
	return rc < 0 ? refuse(a, rc, "cannot configure %s: %s", r->ifname, strerror(-rc)) : 0;
}

/* Our end of the pair: a /31 or a /127, on our interface. */
static int h_addr(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	const struct inet_prefix *p = &q->a;
	char s[INET6_ADDRSTRLEN + 8];
	int rc;

	if ((p->family != AF_INET || p->plen != 31) && (p->family != AF_INET6 || p->plen != 127))
		return refuse(a, -EINVAL, "an address on %s must be a /31 or /127 pair", r->ifname);
	rc = q->op == PRIV_ADDR_ADD ? net_addr_add(r->ifindex, p) : net_addr_del(r->ifindex, p);
	return rc < 0 ? refuse(a, rc, "cannot %s %s on %s: %s", q->op == PRIV_ADDR_ADD ? "add" : "remove",
			       str(p, s, sizeof(s)), r->ifname, strerror(-rc))
		      : 0;
}

static int h_route(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	char s[INET6_ADDRSTRLEN + 8];
	int rc;

	if (!prefix_ok(&q->a) || q->a.plen == 0)
		return refuse(a, -EINVAL, "bad route prefix (host bits set, or /0: use the two halves)");
	if (q->arg > PRIV_METRIC_MAX)
		return refuse(a, -EINVAL, "route metric %u out of range (max %u)", q->arg, PRIV_METRIC_MAX);
	if (q->op == PRIV_ROUTE_DEL)
		rc = net_route_del(&q->a, r->ifindex);
	else if (q->arg)
		rc = net_route_add_metric(&q->a, r->ifindex, NULL, q->arg);
	else
		rc = net_route_add(&q->a, r->ifindex, NULL);
	if (rc < 0)
		snprintf(a->msg, sizeof(a->msg), "%s route %s via %s: %s",
			 q->op == PRIV_ROUTE_DEL ? "cannot remove" : "cannot add", str(&q->a, s, sizeof(s)),
			 r->ifname, strerror(-rc));
	return rc;
}

/* 0, or -1 when adding finds no room in the state file (or cannot write
 * it): then nothing may be left that cleanup would not know of. */
static int record_pin(struct priv_root *r, bool add, const struct inet_prefix *p, int ifindex,
		      const struct inet_prefix *gw)
{
	char s[INET6_ADDRSTRLEN + 8], g[INET6_ADDRSTRLEN + 8] = "", rec[STATE_LINE_MAX];

	if (gw->family)
		inet_prefix_str(gw, false, g, sizeof(g));
	snprintf(rec, sizeof(rec), "pin %s %d %s", str(p, s, sizeof(s)), ifindex, g);
	if (add)
		return state_add(&r->st, "%s", rec);
	state_remove(&r->st, rec);
	return 0;
}

/* Another server of the client's list: the pin moves to it, on the path
 * the machine's own routes give it (a lookup would find the tunnel's
 * routes of a full tunnel), before the client connects there. */
static int move_pin(struct priv_root *r, const struct priv_req *q, struct priv_resp *a)
{
	struct inet_prefix old = r->pin, gw;
	char s[INET6_ADDRSTRLEN + 8];
	int ifindex, rc;

	rc = net_route_path(&q->a, r->ifindex, &ifindex, &gw);
	if (rc < 0)
		return refuse(a, rc, "no path to the SSH server %s outside the tunnel: %s",
			      inet_prefix_str(&q->a, false, s, sizeof(s)), strerror(-rc));
	rc = net_route_add(&q->a, ifindex, gw.family ? &gw : NULL);
	if (rc < 0 && rc != -EEXIST)
		return refuse(a, rc, "cannot keep the SSH server %s on its own path: %s",
			      inet_prefix_str(&q->a, false, s, sizeof(s)), strerror(-rc));
	if (rc == 0 && record_pin(r, true, &q->a, ifindex, &gw) < 0) {
		net_route_del_ours(&q->a, ifindex);
		return refuse(a, -ENOSPC, "cannot record the pin of %s in %s; not pinned",
			      inet_prefix_str(&q->a, false, s, sizeof(s)), r->st.path);
	}
	net_route_del_ours(&old, r->pin_ifindex);
	record_pin(r, false, &old, r->pin_ifindex, &r->pin_gw);
	memset(&r->pin, 0, sizeof(r->pin));
	if (rc == 0) {	/* -EEXIST: someone's route already does it; not ours */
		r->pin = q->a;
		r->pin_gw = gw;
		r->pin_ifindex = ifindex;
	}
	a->ifindex = ifindex;
	a->gw = gw;
	return rc;
}

/* The SSH server stays on the path the kernel uses for it now. */
static int h_pin(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	struct inet_prefix gw;
	char s[INET6_ADDRSTRLEN + 8];
	int ifindex, rc;

	if (!host_ok(&q->a))
		return refuse(a, -EINVAL, "the server to pin must be one address");
	if (r->pin.family && memcmp(&r->pin, &q->a, sizeof(q->a)))
		return move_pin(r, q, a);
	if (r->pin.family) {
		a->ifindex = r->pin_ifindex;
		a->gw = r->pin_gw;
		return 0;
	}
	rc = net_route_get(&q->a, &ifindex, &gw);
	if (rc == 0 && ifindex == r->ifindex)
		rc = -ELOOP;
	if (rc == 0)
		rc = net_route_add(&q->a, ifindex, gw.family ? &gw : NULL);
	if (rc < 0 && rc != -EEXIST)
		return refuse(a, rc, "cannot keep the SSH server %s on its own path: %s",
			      inet_prefix_str(&q->a, false, s, sizeof(s)), strerror(-rc));
	a->ifindex = ifindex;
	a->gw = gw;
	if (rc == 0 && record_pin(r, true, &q->a, ifindex, &gw) < 0) {
		net_route_del_ours(&q->a, ifindex);
		return refuse(a, -ENOSPC, "cannot record the pin of %s in %s; not pinned",
			      inet_prefix_str(&q->a, false, s, sizeof(s)), r->st.path);
	}
	if (rc == 0) {	/* -EEXIST: someone's route already does it; not ours */
		r->pin = q->a;
		r->pin_gw = gw;
		r->pin_ifindex = ifindex;
	}
	return rc;
}

static int h_unpin(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	if (!r->pin.family)
		return 0;
	net_route_del_ours(&r->pin, r->pin_ifindex);
	record_pin(r, false, &r->pin, r->pin_ifindex, &r->pin_gw);
	memset(&r->pin, 0, sizeof(r->pin));
	return 0;
}

/* A prefix kept on the original path: the pin's, or the kernel's path to
 * the server now; never this tunnel. */
static int h_exclude(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	const struct inet_prefix *p = &q->a;
	struct inet_prefix gw;
	char s[INET6_ADDRSTRLEN + 8];
	int ifindex, rc;

	if (!prefix_ok(p) || p->plen == 0)
		return refuse(a, -EINVAL, "bad prefix to exclude (host bits set, or /0)");
	if (r->nexcludes == PRIV_MAX_EXCLUDES)
		return refuse(a, -ENOSPC, "too many excluded prefixes (max %d)", PRIV_MAX_EXCLUDES);
	if (r->pin.family) {
		ifindex = r->pin_ifindex;
		gw = r->pin_gw;
	} else if (!host_ok(&q->b) || net_route_get(&q->b, &ifindex, &gw) < 0) {
		return refuse(a, -EHOSTUNREACH, "cannot find the original path (not connected?)");
	}
	if (ifindex == r->ifindex)
		return refuse(a, -ELOOP, "the path to the server goes through %s itself", r->ifname);
	if (gw.family && gw.family != p->family)
		return refuse(a, -EAFNOSUPPORT, "the original path is %s only: cannot exclude %s",
			      gw.family == AF_INET ? "IPv4" : "IPv6", str(p, s, sizeof(s)));
	rc = net_route_add(p, ifindex, gw.family ? &gw : NULL);
	if (rc < 0)
		return refuse(a, rc, "cannot exclude %s: %s", str(p, s, sizeof(s)),
			      rc == -EEXIST ? "a route for it exists already" : strerror(-rc));
	if (record_pin(r, true, p, ifindex, &gw) < 0) {
		net_route_del_ours(p, ifindex);
		return refuse(a, -ENOSPC, "cannot exclude %s: no room for it in the state file %s",
			      str(p, s, sizeof(s)), r->st.path);
	}
	r->exclude_ifindex[r->nexcludes] = ifindex;
	r->exclude_gw[r->nexcludes] = gw;
	r->excludes[r->nexcludes++] = *p;
	a->ifindex = ifindex;
	a->gw = gw;
	return 0;
}

/* Takes excludes[i] out of the kernel, the state file and the list. */
static void unexclude_at(struct priv_root *r, int i)
{
	/* The route we added only: through the interface we added it on, of
	 * our protocol.  By prefix alone, the kernel deleted an admin's route
	 * for the same prefix with a lower metric. */
	net_route_del_ours(&r->excludes[i], r->exclude_ifindex[i]);
	record_pin(r, false, &r->excludes[i], r->exclude_ifindex[i], &r->exclude_gw[i]);
	r->nexcludes--;
	r->excludes[i] = r->excludes[r->nexcludes];
	r->exclude_ifindex[i] = r->exclude_ifindex[r->nexcludes];
	r->exclude_gw[i] = r->exclude_gw[r->nexcludes];
}

static int h_unexclude_all(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	while (r->nexcludes)
		unexclude_at(r, r->nexcludes - 1);
	return 0;
}

static int h_unexclude(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	char s[INET6_ADDRSTRLEN + 8];

	for (int i = 0; i < r->nexcludes; i++) {
		if (!memcmp(&r->excludes[i], &q->a, sizeof(q->a))) {
			unexclude_at(r, i);
			return 0;
		}
	}
	return refuse(a, -ESRCH, "%s is not excluded", str(&q->a, s, sizeof(s)));
}

/* Puts p (ours, recorded, on *ifindex via *gw) on the path ifindex/gw:
 * re-added where it is when the path is the same (a link that went down
 * and up took it), moved otherwise.  On failure it is gone and unrecorded. */
static int move_route(struct priv_root *r, const struct inet_prefix *p, int *cur_ifindex,
		      struct inet_prefix *cur_gw, int ifindex, const struct inet_prefix *gw)
{
	int rc;

	if (*cur_ifindex != ifindex || memcmp(cur_gw, gw, sizeof(*gw))) {
		net_route_del_ours(p, *cur_ifindex);	/* gone already when its link went */
		record_pin(r, false, p, *cur_ifindex, cur_gw);
		*cur_ifindex = ifindex;
		*cur_gw = *gw;
		if (record_pin(r, true, p, ifindex, gw) < 0)
			return -ENOSPC;
	}
	rc = net_route_add(p, ifindex, gw->family ? gw : NULL);
	if (rc < 0 && rc != -EEXIST) {
		record_pin(r, false, p, ifindex, gw);
		return rc;
	}
	return 0;
}

/* Before a reconnect.  The kernel's lookup would find our own pin (the old
 * gateway) or the tunnel's routes (full tunnel, the pin's link gone): the
 * path is what the machine's own routes give, without ours. */
static int h_repath(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	struct inet_prefix gw;
	char s[INET6_ADDRSTRLEN + 8];
	int ifindex, rc, failed = 0;

	if (!host_ok(&q->a))
		return refuse(a, -EINVAL, "the server to pin must be one address");
	rc = net_route_path(&q->a, r->ifindex, &ifindex, &gw);
	if (rc < 0)
		return refuse(a, rc, "no path to the SSH server %s outside the tunnel: %s",
			      inet_prefix_str(&q->a, false, s, sizeof(s)), strerror(-rc));
	a->ifindex = ifindex;
	a->gw = gw;
	/* Another server (a failover): the old one's pin goes. */
	if (r->pin.family && memcmp(&r->pin, &q->a, sizeof(q->a)))
		h_unpin(r, q, a, fd_out);
	if (r->pin.family && move_route(r, &r->pin, &r->pin_ifindex, &r->pin_gw, ifindex, &gw) < 0) {
		memset(&r->pin, 0, sizeof(r->pin));
		failed = snprintf(a->msg, sizeof(a->msg), "cannot pin the SSH server %s on its new path",
				  inet_prefix_str(&q->a, false, s, sizeof(s)));
	}
	for (int i = r->nexcludes - 1; i >= 0; i--) {
		if (gw.family && gw.family != r->excludes[i].family) {
			rc = -EAFNOSUPPORT;
		} else {
			rc = move_route(r, &r->excludes[i], &r->exclude_ifindex[i], &r->exclude_gw[i],
					ifindex, &gw);
		}
		if (rc < 0) {
			if (!failed)
				failed = snprintf(a->msg, sizeof(a->msg), "%s no longer excluded: %s",
						  str(&r->excludes[i], s, sizeof(s)), strerror(-rc));
			unexclude_at(r, i);
		}
	}
	return failed ? -EHOSTUNREACH : 0;
}

/* The resolvers must be host addresses, the domains names; the interface
 * is ours whatever the request says. */
static int h_dns_apply(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	struct dns_config cfg;
	unsigned char split;
	char backup[sizeof(r->st.path) + 16];

	memcpy(&split, (const char *)&q->dns + offsetof(struct dns_config, split), 1);
	if (q->dns.nservers < 1 || q->dns.nservers > DNS_MAX_SERVERS || q->dns.ndomains < 0 ||
	    q->dns.ndomains > DNS_MAX_DOMAINS || split > 1)
		return refuse(a, -EINVAL, "malformed DNS request (%d servers, %d domains)", q->dns.nservers,
			      q->dns.ndomains);
	memset(&cfg, 0, sizeof(cfg));
	for (int i = 0; i < q->dns.nservers; i++) {
		if (!host_ok(&q->dns.servers[i]))
			return refuse(a, -EINVAL, "resolver %d is not one address", i + 1);
		cfg.servers[cfg.nservers++] = q->dns.servers[i];
	}
	for (int i = 0; i < q->dns.ndomains; i++) {
		if (!str_ok(q->dns.domains[i], DNS_DOMAIN_MAX) || dns_domain_check(q->dns.domains[i]) < 0)
			return refuse(a, -EINVAL, "DNS domain %d is not a domain name", i + 1);
		memcpy(cfg.domains[cfg.ndomains++], q->dns.domains[i], DNS_DOMAIN_MAX);
	}
	cfg.split = split;
	if (!r->dns_on) {
		snprintf(backup, sizeof(backup), "%s.resolv.conf", r->st.path);
		if (dns_apply(r->ifname, backup, &cfg, &r->st) < 0)
			return from_fail(a, -EIO);
		r->dns_on = true;
		r->dns_method = dns_method();
		r->dns1 = cfg.servers[0];
	}
	snprintf(a->msg, sizeof(a->msg), "%s", r->dns_method);
	return 0;
}

static int h_dns_revert(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	if (r->dns_on)
		dns_revert(&r->st);
	r->dns_on = false;
	return 0;
}

/* -f: the instance left the terminal, and so do we. */
static int h_detach(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (r->detached)
		return 0;
	r->detached = true;
	setsid();
	if (null >= 0) {
		for (int fd = 0; fd <= 2; fd++)
			if (fd != r->fd)
				dup2(null, fd);
		close(null);
	}
	return 0;
}

static bool same_server(const struct ks_server *s, const struct inet_prefix *a, unsigned port)
{
	return s->port == port && s->addr.family == a->family &&
	       !memcmp(&s->addr.addr, &a->addr, a->family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr));
}

/* The guard table: recorded in the state file before it exists, so that
 * nothing is ever in place that cleanup would not know of.  Turned off
 * (flags 0) only by the instance's clean exit. */
static int h_guard(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	struct killswitch k = r->ks;
	unsigned flags = q->arg & 0xffff, port = q->arg >> 16;
	char rec[STATE_LINE_MAX], err[300];
	bool had = r->ks.table[0] != '\0';
	int i;

	if ((flags & ~(unsigned)KS_FLAGS) || ((flags & KS_ALLOW_LAN) && !(flags & KS_KILL)))
		return refuse(a, -EINVAL, "bad kill switch flags %#x", flags);
	if (q->a.family) {
		if (!host_ok(&q->a) || port == 0)
			return refuse(a, -EINVAL, "a server the kill switch allows must be one address and a port (port %u)",
				      port);
		for (i = 0; i < k.nservers && !same_server(&k.servers[i], &q->a, port); i++)
			;
		if (i == k.nservers && k.nservers == KS_MAX_SERVERS)
			return refuse(a, -ENOSPC, "the kill switch allows at most %d server addresses", KS_MAX_SERVERS);
		if (i == k.nservers)
			k.servers[k.nservers++] = (struct ks_server){ q->a, (uint16_t)port };
	}
	if (!had && !flags)
		return 0;
	k.flags = flags;
	snprintf(k.ifname, sizeof(k.ifname), "%s", r->ifname);
	if (!had)
		snprintf(k.table, sizeof(k.table), KS_TABLE_PREFIX "%d", (int)getpid());
	snprintf(rec, sizeof(rec), "nft %s", k.table);
	if (!had && state_add(&r->st, "%s", rec) < 0)
		return refuse(a, -ENOSPC, "cannot record the kill switch in the state file %s; not installed", r->st.path);
	if (ks_apply(&k, err, sizeof(err)) < 0) {
		if (!had)
			state_remove(&r->st, rec);
		return refuse(a, -EIO, "%s", err);
	}
	if (!flags) {
		state_remove(&r->st, rec);
		memset(&k, 0, sizeof(k));
	}
	r->ks = k;
	return 0;
}

static int find_unreach(const struct priv_root *r, const struct inet_prefix *p)
{
	for (int i = 0; i < r->nunreach; i++)
		if (r->unreach[i].family == p->family && r->unreach[i].plen == p->plen &&
		    !memcmp(&r->unreach[i].addr, &p->addr, sizeof(p->addr)))
			return i;
	return -1;
}

/* A half of a family the tunnel does not carry, in a full tunnel: it
 * fails at once rather than leave by the physical link.  Not tied to the
 * TUN, so recorded (and undone) like the pin. */
static int h_unreach(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	char s[INET6_ADDRSTRLEN + 8], rec[STATE_LINE_MAX];
	int i = find_unreach(r, &q->a), rc;

	if (!prefix_ok(&q->a) || q->a.plen != 1 || q->arg > 1)
		return refuse(a, -EINVAL, "only a half (/1) of a family can be made unreachable");
	snprintf(rec, sizeof(rec), "unreach %s", str(&q->a, s, sizeof(s)));
	if (!q->arg) {
		if (i < 0)
			return 0;
		net_route_unreachable(false, &q->a);
		state_remove(&r->st, rec);
		r->unreach[i] = r->unreach[--r->nunreach];
		return 0;
	}
	if (i >= 0)
		return 0;
	if (r->nunreach == (int)ARRAY_SIZE(r->unreach) || state_add(&r->st, "%s", rec) < 0)
		return refuse(a, -ENOSPC, "cannot record the unreachable route %s; not added", s);
	rc = net_route_unreachable(true, &q->a);
	if (rc < 0) {
		state_remove(&r->st, rec);
		return refuse(a, rc, "cannot make %s unreachable: %s", s, strerror(-rc));
	}
	r->unreach[r->nunreach++] = q->a;
	return 0;
}

static int find_uid_route(const struct priv_root *r, const struct inet_prefix *p, uint32_t uid)
{
	for (int i = 0; i < r->nuid_routes; i++)
		if (r->uid_routes[i].uid == uid && r->uid_routes[i].dst.family == p->family &&
		    r->uid_routes[i].dst.plen == p->plen && !memcmp(&r->uid_routes[i].dst.addr, &p->addr, sizeof(p->addr)))
			return i;
	return -1;
}

/* The table's route for p, unless another uid's rule still needs it. */
static void uid_table_route_del(struct priv_root *r, const struct inet_prefix *p, uint32_t table)
{
	for (int i = 0; i < r->nuid_routes; i++)
		if (r->uid_routes[i].dst.family == p->family && r->uid_routes[i].dst.plen == p->plen &&
		    !memcmp(&r->uid_routes[i].dst.addr, &p->addr, sizeof(p->addr)))
			return;
	net_route_table(false, p, r->ifindex, table);
}

/* One uid's traffic to a prefix, through our interface: a route in the
 * instance's own table and a rule (recorded: it outlives the TUN) that
 * sends that uid there.  A user's instance routes its own uid only: any
 * other would hand another user's traffic to this one. */
static int h_uid_route(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	uint32_t table, uid = q->arg;
	char s[INET6_ADDRSTRLEN + 8], rec[STATE_LINE_MAX];
	int i, rc;

	/* Picked once, free: another instance's table would mix routes. */
	if (!r->uid_table && q->op != PRIV_UID_ROUTE_DEL &&
	    !(r->uid_table = net_table_pick(NET_UID_TABLE_BASE, r->ifindex)))
		return refuse(a, -ENOSPC, "no free routing table for per-uid routes near %u",
			      NET_UID_TABLE_BASE + (uint32_t)r->ifindex);
	table = r->uid_table;

	if (!prefix_ok(&q->a) || q->a.plen == 0)
		return refuse(a, -EINVAL, "bad route prefix (host bits set, or /0: use the two halves)");
	if (uid == UINT32_MAX)
		return refuse(a, -EINVAL, "bad uid %u", uid);
	if (r->peer_uid != 0 && uid != (uint32_t)r->peer_uid)
		return refuse(a, -EPERM, "a route for uid %u refused: this instance is uid %u's and routes only its traffic",
			      uid, (unsigned)r->peer_uid);
	str(&q->a, s, sizeof(s));
	snprintf(rec, sizeof(rec), "rule %s %u %u", s, uid, table);
	i = find_uid_route(r, &q->a, uid);
	if (q->op == PRIV_UID_ROUTE_DEL) {
		if (i < 0)
			return refuse(a, -ENOENT, "no route %s for uid %u", s, uid);
		net_rule_uid(false, &q->a, uid, table, NET_UID_RULE_PRIORITY);
		state_remove(&r->st, rec);
		r->uid_routes[i] = r->uid_routes[--r->nuid_routes];
		uid_table_route_del(r, &q->a, table);
		return 0;
	}
	if (i >= 0)
		return refuse(a, -EEXIST, "route %s for uid %u exists already", s, uid);
	if (r->nuid_routes == PRIV_MAX_UID_ROUTES)
		return refuse(a, -ENOSPC, "too many per-uid routes (max %d)", PRIV_MAX_UID_ROUTES);
	rc = net_route_table(true, &q->a, r->ifindex, table);
	if (rc < 0 && rc != -EEXIST)
		return refuse(a, rc, "cannot add route %s via %s to table %u: %s", s, r->ifname, table, strerror(-rc));
	if (state_add(&r->st, "%s", rec) < 0) {
		uid_table_route_del(r, &q->a, table);
		return refuse(a, -ENOSPC, "cannot record the rule for %s uid %u in %s; not added", s, uid, r->st.path);
	}
	rc = net_rule_uid(true, &q->a, uid, table, NET_UID_RULE_PRIORITY);
	if (rc < 0) {
		state_remove(&r->st, rec);
		uid_table_route_del(r, &q->a, table);
		return refuse(a, rc, "cannot add the rule for %s uid %u: %s", s, uid, strerror(-rc));
	}
	r->uid_routes[r->nuid_routes++] = (struct priv_uid_route){ q->a, uid };
	return 0;
}

/* `sshtun exec': the connection the control socket accepted came with the
 * request; execns.c checks who is on it and runs the command. */
static int h_exec(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	int conn = r->in_fd, rc;

	(void)q;
	(void)fd_out;
	r->in_fd = -1;
	if (conn < 0)
		return refuse(a, -EINVAL, "exec: no connection came with the request");
	rc = execns_start(r, conn, a->msg, sizeof(a->msg));
	if (rc < 0)
		a->exit_code = EXIT_LOCAL;
	return rc;
}

/* --connections: one more queue of the device we made multi-queue, never
 * of another (the name is checked to be our index on both sides of the
 * attach).  The kernel counts what is open, attached or detached, our copy
 * of the first queue included: a queue the network side closed may be had
 * again, an instance never holds more than TUN_MAX_QUEUES.  The fd goes
 * back and our copy is closed (priv_root_step): only the first queue is
 * kept here. */
static int h_queue(struct priv_root *r, const struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	unsigned n;
	int fd, rc;

	(void)q;
	if (!r->multi)
		return refuse(a, -EOPNOTSUPP, "another queue of %s refused: this instance opened it with one queue",
			      r->ifname);
	rc = net_tun_queues(r->ifindex, &n);
	if (rc < 0)
		return refuse(a, rc, "cannot count the queues of %s: %s", r->ifname, strerror(-rc));
	if (n >= TUN_MAX_QUEUES)
		return refuse(a, -ENOSPC, "another queue of %s refused: it has %u queues open (at most %d)",
			      r->ifname, n, TUN_MAX_QUEUES);
	if (net_link_index(r->ifname) != r->ifindex)
		return refuse(a, -ENODEV, "another queue of %s refused: the name is no longer index %d",
			      r->ifname, r->ifindex);
	fd = tun_attach_queue(r->ifname);
	if (fd < 0)
		return from_fail(a, -EIO);
	if (net_link_index(r->ifname) != r->ifindex) {
		close(fd);
		return refuse(a, -ENODEV, "another queue of %s refused: the name is no longer index %d",
			      r->ifname, r->ifindex);
	}
	a->ifindex = r->ifindex;
	snprintf(a->ifname, sizeof(a->ifname), "%s", r->ifname);
	*fd_out = fd;
	return 0;
}

static const struct {
	const char *name;
	priv_handler fn;
} handlers[PRIV_OP_END] = {
	[PRIV_OPEN] = { "open", h_open },
	[PRIV_LINK_UP] = { "link up", h_link_up },
	[PRIV_ADDR_ADD] = { "address add", h_addr },
	[PRIV_ADDR_DEL] = { "address del", h_addr },
	[PRIV_ROUTE_ADD] = { "route add", h_route },
	[PRIV_ROUTE_DEL] = { "route del", h_route },
	[PRIV_PIN] = { "pin", h_pin },
	[PRIV_UNPIN] = { "unpin", h_unpin },
	[PRIV_EXCLUDE] = { "exclude", h_exclude },
	[PRIV_UNEXCLUDE_ALL] = { "unexclude all", h_unexclude_all },
	[PRIV_UNEXCLUDE] = { "unexclude", h_unexclude },
	[PRIV_REPATH] = { "repath", h_repath },
	[PRIV_DNS_APPLY] = { "dns apply", h_dns_apply },
	[PRIV_DNS_REVERT] = { "dns revert", h_dns_revert },
	[PRIV_DETACH] = { "detach", h_detach },
	[PRIV_GUARD] = { "kill switch", h_guard },
	[PRIV_UNREACH] = { "unreachable", h_unreach },
	[PRIV_UID_ROUTE_ADD] = { "uid route add", h_uid_route },
	[PRIV_UID_ROUTE_DEL] = { "uid route del", h_uid_route },
	[PRIV_EXEC] = { "exec", h_exec },
	[PRIV_QUEUE] = { "queue", h_queue },
};

/* ---- the loop ---- */

static void answer(struct priv_root *r, const struct priv_resp *a, int fd)
{
	if (fdpass_send(r->fd, a, sizeof(*a), fd) < 0)
		log_verbose("root side: cannot answer: %s", strerror(errno));
}

/* Who made the socketpair: the user's side (sudo's path), or root before
 * the fork (`sudo sshtun', who may route any uid). */
static uid_t peer_uid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : (uid_t)-1;
}

void priv_root_init(struct priv_root *r, int fd, const char *state_path)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->tun_fd = -1;
	r->dns_method = "";
	r->in_fd = -1;
	r->ex.ns_fd = -1;
	r->peer_uid = peer_uid(fd);
	if (state_path)
		snprintf(r->state_path, sizeof(r->state_path), "%s", state_path);
}

int priv_root_step(struct priv_root *r)
{
	union {
		struct priv_req q;
		char raw[sizeof(struct priv_req) + 1];
	} in;
	struct priv_resp a;
	ssize_t n;
	int fd = -1;

	n = fdpass_recv(r->fd, &in, sizeof(in), &r->in_fd);
	if (n < 0 && errno == EINTR)
		return -1;
	if (n < 0 && errno == EMSGSIZE)
		n = (ssize_t)sizeof(in);	/* longer than a request: refused below */
	if (n <= 0)
		return 0;
	memset(&a, 0, sizeof(a));
	if ((size_t)n != sizeof(in.q)) {
		a.rc = refuse(&a, -EINVAL, "malformed request: %zd bytes (a request is %zu)", n, sizeof(in.q));
	} else if (in.q.op == 0 || in.q.op >= PRIV_OP_END) {
		a.rc = refuse(&a, -EINVAL, "unknown request %u", in.q.op);
	} else if (in.q.op != PRIV_OPEN && r->ifindex <= 0) {
		a.rc = refuse(&a, -EBADFD, "%s: no interface is open yet", handlers[in.q.op].name);
	} else if (in.q.op != PRIV_OPEN && in.q.ifindex != r->ifindex) {
		a.rc = refuse(&a, -EPERM, "%s for interface index %d refused: this instance has %s (index %d) only",
			      handlers[in.q.op].name, in.q.ifindex, r->ifname, r->ifindex);
	} else {
		a.rc = handlers[in.q.op].fn(r, &in.q, &a, &fd);
	}
	if (a.rc < 0 && a.rc != -EEXIST && a.msg[0])
		log_warn("root side: %s", a.msg);
	if (r->in_fd >= 0) {	/* only PRIV_EXEC takes one */
		close(r->in_fd);
		r->in_fd = -1;
	}
	answer(r, &a, a.rc < 0 ? -1 : fd);
	/* A queue went to the network side; only the first is kept here. */
	if (fd >= 0 && fd != r->tun_fd)
		close(fd);
	return 1;
}

void priv_root_undo(struct priv_root *r)
{
	struct priv_req q;
	struct priv_resp a;

	memset(&q, 0, sizeof(q));
	memset(&a, 0, sizeof(a));
	execns_stop(r, true);
	h_dns_revert(r, &q, &a, NULL);
	h_unexclude_all(r, &q, &a, NULL);
	h_unpin(r, &q, &a, NULL);
	while (r->nunreach > 0) {
		q.a = r->unreach[0];
		h_unreach(r, &q, &a, NULL);
	}
	q.op = PRIV_UID_ROUTE_DEL;
	while (r->nuid_routes > 0) {
		q.a = r->uid_routes[0].dst;
		q.arg = r->uid_routes[0].uid;
		h_uid_route(r, &q, &a, NULL);
	}
	/* The DNS block goes with the DNS settings it guarded. */
	if (r->ks.table[0] && !(r->ks.flags & KS_KILL)) {
		q.op = PRIV_GUARD;
		q.arg = 0;
		memset(&q.a, 0, sizeof(q.a));
		h_guard(r, &q, &a, NULL);
	}
	/* Fail closed: only the instance's clean exit turns the kill switch
	 * off; otherwise it stays, with its record, for `sshtun cleanup'. */
	if (r->ks.table[0])
		log_warn("the kill switch stays (table inet %s): the instance did not end cleanly; "
			 "`sshtun cleanup' removes it", r->ks.table);
	else if (r->st.path[0])
		state_discard(&r->st);
	if (r->tun_fd >= 0) {
		/* The interface lives exactly as long as the instance: the
		 * network side's copy of the fd (it may have set persist, no
		 * capability needed) must not keep it, its addresses and its
		 * routes. */
		tun_clear_persist(r->tun_fd);
		if (r->ifindex > 0)
			net_link_del(r->ifindex);
		close(r->tun_fd);
	}
	r->tun_fd = -1;
}

void priv_root_serve(struct priv_root *r, volatile sig_atomic_t *stop)
{
	while (!(stop && *stop)) {
		struct pollfd pf[1 + EXECNS_MAX];
		int n = 0;

		pf[n++] = (struct pollfd){ .fd = r->fd, .events = POLLIN };
		for (int i = 0; i < r->ex.n; i++)
			pf[n++] = (struct pollfd){ .fd = r->ex.pidfd[i], .events = POLLIN };
		/* An exec command's manager ending (its pidfd) wakes us too. */
		if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (r->ex.n > 0)
			execns_reap(r);
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && priv_root_step(r) == 0)
			break;
	}
	priv_root_undo(r);
}
