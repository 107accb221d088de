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
#include "group.h"
#include "inuse.h"
#include "loop.h"
#include "log.h"
#include "nat.h"
#include "netlink.h"
#include "pidexe.h"
#include "serve_lease.h"
#include "tun.h"

_Static_assert(GROUP_MAX_MEMBERS == TUN_MAX_QUEUES, "a group member per queue");

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
	if (q->conn < -1 || q->conn > HELLO_CONN_LAST)
		return errorf(err, errlen, "bad conn %d (0..%d, or -1)", q->conn, HELLO_CONN_LAST);
	n = strnlen(q->join, sizeof(q->join));
	if (n && (n != HELLO_ID_LEN || strspn(q->join, "0123456789abcdef") != HELLO_ID_LEN))
		return errorf(err, errlen, "bad join token (%zu characters)", n);
	return 0;
}

/* Only a process running our own binary is signalled (the pid may have
 * been reused), and never ourselves.  With privilege separation it is an
 * old session's monitor, which stops its worker and exits. */
static bool stop_helper(pid_t pid)
{
	return pid > 0 && pid != getpid() && pid_runs_our_binary(pid) == 1 && kill(pid, SIGTERM) == 0;
}

/* At most 3 s: a monitor gives its worker 5 s before SIGKILL, and we
 * would rather go on than hold up our client's hello. */
static void wait_gone(pid_t pid)
{
	for (int k = 0; k < 30 && kill(pid, 0) == 0; k++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* Helpers still holding this client's lease belong to a half-open session
 * (the client reconnected after a blackout), or are the other connections
 * of a group it starts afresh: stop them so we can take over.  All are
 * told first, then waited for. */
static void take_over(const pid_t *pids, unsigned n)
{
	bool told[1 + GROUP_MAX_MEMBERS] = { false };

	for (unsigned i = 0; i < n; i++) {
		if (!pids[i] || pid_runs_our_binary(pids[i]) != 1)
			continue;
		log_info("taking over from stale helper %d", (int)pids[i]);
		told[i] = stop_helper(pids[i]);
	}
	for (unsigned i = 0; i < n; i++)
		if (told[i])
			wait_gone(pids[i]);
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

/* The pair's TUN, multi-queue when the client means to open several
 * connections (*multi; false when the kernel would not: one connection
 * then); *ifindex its index. */
static int setup_tun(struct lease_reply *r, bool *multi, int *ifindex)
{
	const struct inet_prefix *addrs[] = { &r->lease.server4, &r->lease.server6 };
	int fd, rc;

	snprintf(r->ifname, sizeof(r->ifname), "sshtun%%d");
	fd = tun_open_mq(r->ifname, *multi);
	if (fd < 0 && *multi) {
		log_warn("%s: one connection for this client", fail_msg());
		*multi = false;
		snprintf(r->ifname, sizeof(r->ifname), "sshtun%%d");
		fd = tun_open_mq(r->ifname, false);
	}
	if (fd < 0) {
		snprintf(r->why, sizeof(r->why), "server: %s", fail_msg());
		return -1;
	}
	*ifindex = net_link_index(r->ifname);
	rc = *ifindex < 0 ? *ifindex : net_link_set(*ifindex, r->mtu, true);
	if (rc == 0 && r->lease.server4.family)
		strict_rp_filter(r->ifname);
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(addrs); i++)
		if (addrs[i]->family)
			rc = net_addr_add(*ifindex, addrs[i]);
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "server: cannot configure %s: %s", r->ifname, strerror(-rc));
		close(fd);
		return -1;
	}
	return fd;
}

/* What a lease and a join refuse alike: r starts as a refusal (a NOJOIN
 * one for a join), then a second lease or a bad request is refused.
 * Returns 0, or -1 with r->why. */
static int request_refused(const struct serve_priv *p, const struct lease_request *q,
			   struct lease_reply *r, bool nojoin)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->status = EXIT_REFUSED;
	r->nojoin = nojoin;
	if (p->leased) {
		snprintf(r->why, sizeof(r->why), "server: a second lease asked for");
		return -1;
	}
	if (lease_request_check(q, err, sizeof(err)) < 0) {
		snprintf(r->why, sizeof(r->why), "server: bad lease request: %s", err);
		return -1;
	}
	return 0;
}

int serve_lease_pick(struct serve_priv *p, const struct lease_request *q,
		     const struct prefix_list *inuse, struct lease_reply *r)
{
	struct lease_holder who = { .id = q->id, .account = &p->account, .pid = p->holder };
	struct prefix_list avoid = { 0 };
	char err[256];
	int rc;

	if (request_refused(p, q, r, false) < 0)
		return -1;
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

/* The kernel's checks and NAT, as every helper of the pool turns them on
 * (the last one to leave turns them off).  Returns 0, or -1 with r->why. */
static int nat_on(struct serve_priv *p, struct lease_reply *r)
{
	char err[256];

	/* Without it the worker's own check is all there is for IPv6. */
	if (nat_rpf_enable(&p->pool, err, sizeof(err)) < 0)
		log_warn("%s: the kernel will not check the IPv6 sources of %s", err, r->ifname);
	else
		p->rpf_on = true;
	if (p->cfg->nat) {
		struct nat_config nc = { p->cfg->nat_out, p->cfg->client_to_client };

		if (nat_enable(&p->pool, &nc, err, sizeof(err)) < 0) {
			snprintf(r->why, sizeof(r->why), "server: --nat: %s", err);
			return -1;
		}
		p->nat_on = true;
	}
	return 0;
}

/* A further connection of a client's group: the group's pair, another
 * queue of its device.  Every refusal is a NOJOIN (the client then
 * connects afresh, or retries while it has another connection up). */
static int lease_join(struct serve_priv *p, const struct lease_request *q, struct lease_reply *r)
{
	struct lease_holder who = { .id = q->id, .account = &p->account, .pid = p->holder };
	struct pool_join j;
	char err[256];
	int fd, rc;

	if (request_refused(p, q, r, true) < 0)
		return -1;
	rc = pool_group_join(&p->pool, &who, q->join, q->conn, &j, err, sizeof(err));
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "server: cannot join: %s", err);
		return -1;
	}
	snprintf(p->client_id, sizeof(p->client_id), "%s", q->id);
	p->conn = q->conn;
	p->leased = true;	/* a member now: serve_lease_release takes it off */
	/* Gone before our queue comes: the group keeps one per connection,
	 * and the old one's flows move to the live queues. */
	if (j.replaces) {
		log_info("client %s's connection %d joins again: stopping its old helper %d",
			 q->id, q->conn, (int)j.replaces);
		if (stop_helper(j.replaces))
			wait_gone(j.replaces);
	}
	fd = tun_attach_queue(j.ifname);
	if (fd >= 0 && net_link_index(j.ifname) != j.ifindex) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		snprintf(r->why, sizeof(r->why), "server: cannot join: client %s's device %s is gone",
			 q->id, j.ifname);
		serve_lease_release(p);
		return -1;
	}
	r->lease = j.lease;
	r->mtu = j.mtu;
	snprintf(r->ifname, sizeof(r->ifname), "%s", j.ifname);
	if (nat_on(p, r) < 0) {
		close(fd);
		return -1;
	}
	snprintf(r->join, sizeof(r->join), "%s", q->join);
	log_info("%s: another queue for client %s (pair %u)", r->ifname, p->client_id, r->lease.index);
	r->nojoin = false;
	r->status = 0;
	return fd;
}

/* conns>1: the token further connections join with, and the group record.
 * On failure the client gets no join= and runs one connection. */
static void group_start(struct serve_priv *p, struct lease_reply *r, int ifindex)
{
	struct lease_holder who = { .id = p->client_id, .account = &p->account, .pid = p->holder };
	char token[HELLO_ID_LEN + 1], err[256];

	if (group_token_new(token, err, sizeof(err)) < 0 ||
	    pool_group_create(&p->pool, &who, token, r->ifname, ifindex, r->mtu, p->conn, err,
			      sizeof(err)) < 0) {
		log_warn("client %s gets one connection: %s", p->client_id, err);
		return;
	}
	memcpy(r->join, token, sizeof(r->join));
	log_verbose("%s takes up to %d connections of client %s", r->ifname, GROUP_MAX_MEMBERS,
		    p->client_id);
}

int serve_lease_take(struct serve_priv *p, const struct lease_request *q, struct lease_reply *r)
{
	struct prefix_list inuse = { 0 };
	pid_t stale[1 + GROUP_MAX_MEMBERS];
	bool multi = q->conns > 1;
	int fd = -1, ifindex = -1;

	if (q->join[0])
		return lease_join(p, q, r);
	inuse_prefixes(&inuse, 0);
	if (serve_lease_pick(p, q, &inuse, r) < 0)
		return -1;
	p->conn = q->conn;
	r->status = EXIT_REFUSED;
	stale[0] = r->lease.previous_pid;
	memcpy(stale + 1, r->lease.stale, r->lease.nstale * sizeof(stale[0]));
	take_over(stale, 1 + r->lease.nstale);
	fd = setup_tun(r, &multi, &ifindex);
	if (fd < 0)
		return -1;
	if (nat_on(p, r) < 0) {
		close(fd);
		return -1;
	}
	if (multi)
		group_start(p, r, ifindex);
	log_info("%s up for client %s", r->ifname, p->client_id);
	r->status = 0;
	return fd;
}

void serve_lease_lost(struct serve_priv *p, unsigned conn)
{
	struct lease_holder who = { .id = p->client_id, .account = &p->account, .pid = p->holder };
	unsigned slot = conn > HELLO_CONN_LAST ? HELLO_CONNS_MAX : conn;
	uint64_t now = now_ms();
	char err[256];
	pid_t pid;

	/* Once a second per connection (and for all bad values together): a
	 * client that repeats itself, or a worker it owns, costs a look at the
	 * lease file (or a log line) at most 9 times a second. */
	if (p->lost_at[slot] && now - p->lost_at[slot] < 1000)
		return;
	p->lost_at[slot] = now;
	if (conn > HELLO_CONN_LAST) {
		log_warn("client %s: lost=%u ignored: not a connection (0..%d)", p->client_id, conn,
			 HELLO_CONN_LAST);
		return;
	}
	if (!p->leased) {
		log_warn("lost=%u ignored: no session yet", conn);
		return;
	}
	if ((int)conn == p->conn) {
		log_warn("client %s: lost=%u ignored: that is this connection", p->client_id, conn);
		return;
	}
	if (pool_group_lost(&p->pool, &who, (int)conn, &pid, err, sizeof(err)) < 0) {
		log_warn("client %s: lost=%u ignored: %s", p->client_id, conn, err);
		return;
	}
	if (!pid) {
		log_info("client %s lost its connection %u: no helper of it here", p->client_id, conn);
		return;
	}
	log_info("client %s lost its connection %u: stopping its helper %d", p->client_id, conn,
		 (int)pid);
	if (!stop_helper(pid))
		log_warn("helper %d was not stopped: it has gone, or is not sshtun's", (int)pid);
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
