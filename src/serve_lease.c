/* See serve_lease.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fail.h"
#include "inuse.h"
#include "log.h"
#include "nat.h"
#include "netlink.h"
#include "pidexe.h"
#include "serve_lease.h"
#include "tun.h"

static int prefix_check(const struct inet_prefix *p, const char *what, char *err, size_t errlen)
{
	if (p->family == 0 || (p->family == AF_INET && p->plen <= 32) ||
	    (p->family == AF_INET6 && p->plen <= 128))
		return 0;
	return errorf(err, errlen, "bad %s (family %d, length %u)", what, p->family, p->plen);
}

int lease_request_check(const struct lease_request *q, char *err, size_t errlen)
{
	size_t n = strnlen(q->id, sizeof(q->id));

	if (n != HELLO_ID_LEN || strspn(q->id, "0123456789abcdef") != HELLO_ID_LEN)
		return errorf(err, errlen, "bad client id (%zu characters)", n);
	if (prefix_check(&q->want4, "IPv4 address", err, errlen) < 0 ||
	    prefix_check(&q->want6, "IPv6 address", err, errlen) < 0)
		return -1;
	if (q->want4.family == AF_INET6 || q->want6.family == AF_INET)
		return errorf(err, errlen, "address of the wrong family");
	if (q->avoid.n < 0 || q->avoid.n > HELLO_MAX_PREFIXES)
		return errorf(err, errlen, "bad avoid count %d (0..%d)", q->avoid.n, HELLO_MAX_PREFIXES);
	for (int i = 0; i < q->avoid.n; i++)
		if (prefix_check(&q->avoid.p[i], "avoid prefix", err, errlen) < 0)
			return -1;
	if (q->mtu && (q->mtu < MTU_MIN || q->mtu > MTU_MAX))
		return errorf(err, errlen, "bad mtu %u (%d..%d)", q->mtu, MTU_MIN, MTU_MAX);
	if (q->conns > HELLO_CONNS_MAX)
		return errorf(err, errlen, "bad conns %u (0..%d)", q->conns, HELLO_CONNS_MAX);
	n = strnlen(q->join, sizeof(q->join));
	if (n && (n != HELLO_ID_LEN || strspn(q->join, "0123456789abcdef") != HELLO_ID_LEN))
		return errorf(err, errlen, "bad join token (%zu characters)", n);
	return 0;
}

/* A helper still holding this client's lease belongs to a half-open session
 * (the client reconnected after a blackout): stop it so we can take over.
 * Only a process running our own binary is signalled (the pid may have been
 * reused).  With privilege separation it is the old session's monitor,
 * which stops its worker and exits. */
static void take_over(pid_t pid)
{
	if (pid_runs_our_binary(pid) != 1)
		return;
	log_info("taking over from stale helper %d", (int)pid);
	kill(pid, SIGTERM);
	for (int i = 0; i < 30 && kill(pid, 0) == 0; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* Strict reverse-path filtering on the TUN: the kernel drops an IPv4 packet
 * from it whose source is not routed back through it, so a worker that a
 * hostile client owns cannot spoof with what it writes there (its own
 * check is in code it may no longer run).  The device takes the setting
 * with it when it goes.  IPv6 has no such sysctl: nat_rpf_enable() adds
 * an nftables rule for both families. */
static void strict_rp_filter(const char *ifname)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		log_warn("cannot set %s: %s; the kernel will not check the sources of %s",
			 path, strerror(errno), ifname);
	if (fd >= 0)
		close(fd);
}

static int setup_tun(struct lease_reply *r)
{
	const struct inet_prefix *addrs[] = { &r->lease.server4, &r->lease.server6 };
	int fd, ifindex, rc;

	snprintf(r->ifname, sizeof(r->ifname), "sshtun%%d");
	fd = tun_open(r->ifname);
	if (fd < 0) {
		snprintf(r->why, sizeof(r->why), "server: %s", fail_msg());
		return -1;
	}
	ifindex = net_link_index(r->ifname);
	rc = ifindex < 0 ? ifindex : net_link_set(ifindex, r->mtu, true);
	if (rc == 0 && r->lease.server4.family)
		strict_rp_filter(r->ifname);
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(addrs); i++)
		if (addrs[i]->family)
			rc = net_addr_add(ifindex, addrs[i]);
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "server: cannot configure %s: %s", r->ifname, strerror(-rc));
		close(fd);
		return -1;
	}
	return fd;
}

int serve_lease_pick(struct serve_priv *p, const struct lease_request *q,
		     const struct prefix_list *inuse, struct lease_reply *r)
{
	struct lease_holder who = { .id = q->id, .account = &p->account, .pid = p->holder };
	struct prefix_list avoid = { 0 };
	char err[256];
	int rc;

	memset(r, 0, sizeof(*r));
	r->status = EXIT_REFUSED;
	if (p->leased) {
		snprintf(r->why, sizeof(r->why), "server: a second lease asked for");
		return -1;
	}
	if (lease_request_check(q, err, sizeof(err)) < 0) {
		snprintf(r->why, sizeof(r->why), "server: bad lease request: %s", err);
		return -1;
	}
	/* Neither side's networks: ours first (a client's long list must not
	 * crowd them out), then the client's as far as room goes. */
	if (inuse)
		avoid = *inuse;
	for (int i = 0; i < q->avoid.n && avoid.n < HELLO_MAX_PREFIXES; i++)
		avoid.p[avoid.n++] = q->avoid.p[i];
	r->mtu = q->mtu && q->mtu < p->cfg->mtu ? q->mtu : p->cfg->mtu;
	rc = pool_acquire(&p->pool, &who, &q->want4, &q->want6, &avoid, &r->lease, err, sizeof(err));
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "server: no address for this client: %s", err);
		r->busy = rc == POOL_FULL || rc == POOL_ACCOUNT_CAP;
		return -1;
	}
	snprintf(p->client_id, sizeof(p->client_id), "%s", q->id);
	p->leased = true;
	log_verbose("client %s of account %s: pair %u", q->id, p->account.name, r->lease.index);
	r->status = 0;
	return 0;
}

int serve_lease_take(struct serve_priv *p, const struct lease_request *q, struct lease_reply *r)
{
	struct prefix_list inuse = { 0 };
	char err[256];
	int fd = -1;

	inuse_prefixes(&inuse, 0);
	if (serve_lease_pick(p, q, &inuse, r) < 0)
		return -1;
	r->status = EXIT_REFUSED;
	if (r->lease.previous_pid)
		take_over(r->lease.previous_pid);
	fd = setup_tun(r);
	if (fd < 0)
		return -1;
	/* Without it the worker's own check is all there is for IPv6. */
	if (nat_rpf_enable(&p->pool, err, sizeof(err)) < 0)
		log_warn("%s: the kernel will not check the IPv6 sources of %s", err, r->ifname);
	else
		p->rpf_on = true;
	if (p->cfg->nat) {
		struct nat_config nc = { p->cfg->nat_out, p->cfg->client_to_client };

		if (nat_enable(&p->pool, &nc, err, sizeof(err)) < 0) {
			snprintf(r->why, sizeof(r->why), "server: --nat: %s", err);
			close(fd);
			return -1;
		}
		p->nat_on = true;
	}
	log_info("%s up for client %s", r->ifname, p->client_id);
	r->status = 0;
	return fd;
}

void serve_lease_release(struct serve_priv *p)
{
	if (p->leased) {
		struct lease_holder who = { .id = p->client_id, .account = &p->account,
					    .pid = p->holder };

		pool_release(&p->pool, &who);
	}
	if (p->nat_on)
		nat_release(&p->pool);
	if (p->rpf_on)
		nat_rpf_release(&p->pool);
	p->leased = p->nat_on = p->rpf_on = false;
}
