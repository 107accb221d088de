/* See userspace.h: libslirp on a thread, behind a socketpair. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "common.h"
#include "fail.h"
#include "log.h"
#include "slirp_load.h"
#include "userspace.h"

#define ETH_HDR 14
#define ETH_IP4 0x0800
#define ETH_ARP 0x0806
#define ETH_IP6 0x86dd
#define STACK_BATCH 64		/* packets taken from the client per wakeup */
#define STACK_SOCKBUF (1 << 20)	/* what the kernel grants of it, between the two threads */

/* The client's end on the virtual Ethernet (a locally administered
 * address); slirp answers to any destination address. */
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x73, 0x73, 0x68 };
static const uint8_t stack_mac[6] = { 0x52, 0x55, 0x00, 0x73, 0x73, 0x68 };

struct stack_timer {
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms;	/* -1: not armed */
	struct stack_timer *next;
};

#define OWN_CACHE 64
#define OWN_TTL_NS 2000000000	/* addresses come and go (DHCP), not per packet */

struct uspace {
	pthread_t thread;
	bool thread_on;
	int fd_main, fd_stack;	/* the socketpair: serve.c's "TUN", the stack's end */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool go, quit;		/* under mu */
	SlirpConfig cfg;
	struct lease lease;
	Slirp *slirp;
	struct pollfd *pfd;
	int npfd, pfd_cap;
	struct stack_timer *timers;
	bool announce;		/* slirp asked who the client is: tell it again */
	struct own_entry {	/* own_address()'s answers, by address */
		int64_t at_ns;	/* 0: empty */
		uint8_t family, addr[16];
		bool own;
	} own[OWN_CACHE];
	uint8_t in[ETH_HDR + 65536];
};

static int64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cb_clock_get_ns(void *opaque)
{
	return clock_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct uspace *u = opaque;
	struct stack_timer *t = calloc(1, sizeof(*t));

	if (!t)
		abort();	/* slirp has no way to hear of it; glib aborts too */
	t->cb = cb;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = u->timers;
	u->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct uspace *u = opaque;

	for (struct stack_timer **p = &u->timers; *p; p = &(*p)->next)
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((struct stack_timer *)timer)->expire_ms = expire_ms;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	log_verbose("user-space stack: the client sent: %s", msg);
}

static void cb_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
}

/* What slirp sends toward the client: IP goes down the socketpair without
 * its Ethernet header; ARP and neighbour solicitations are slirp asking
 * for the client's address, answered from the loop (announce()). */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct uspace *u = opaque;
	const uint8_t *p = buf;
	unsigned type;

	if (len < ETH_HDR)
		return (ssize_t)len;
	type = (unsigned)p[12] << 8 | p[13];
	if (type == ETH_ARP) {
		u->announce = true;
		return (ssize_t)len;
	}
	if (type == ETH_IP6 && len >= ETH_HDR + 41 && p[ETH_HDR + 6] == IPPROTO_ICMPV6 &&
	    p[ETH_HDR + 40] == 135) {
		u->announce = true;
		return (ssize_t)len;
	}
	if (type != ETH_IP4 && type != ETH_IP6)
		return (ssize_t)len;
	/* A full socketpair drops the packet, as a full TUN queue would. */
	send(u->fd_stack, p + ETH_HDR, len - ETH_HDR, MSG_DONTWAIT | MSG_NOSIGNAL);
	return (ssize_t)len;
}

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_poll_fd,
	.unregister_poll_fd = cb_poll_fd,
	.notify = cb_notify,
};

static void eth_header(uint8_t *f, unsigned type)
{
	memcpy(f, stack_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Tells slirp the client's Ethernet address for its IPv4 address (a
 * gratuitous ARP) and for its IPv6 one (an unsolicited neighbour
 * advertisement): slirp sends nothing to an address it cannot resolve. */
static void announce(struct uspace *u)
{
	uint8_t f[ETH_HDR + 40 + 32];

	u->announce = false;
	if (u->lease.client4.family == AF_INET) {
		uint8_t *a = f + ETH_HDR;

		memset(f, 0, sizeof(f));
		eth_header(f, ETH_ARP);
		memset(f, 0xff, 6);
		a[1] = 1;			/* Ethernet */
		a[2] = 0x08;			/* IPv4 */
		a[4] = 6;
		a[5] = 4;
		a[7] = 1;			/* request */
		memcpy(a + 8, guest_mac, 6);
		memcpy(a + 14, &u->lease.client4.addr.v4, 4);
		memcpy(a + 24, &u->lease.client4.addr.v4, 4);
		slirp_input(u->slirp, f, ETH_HDR + 28);
	}
	if (u->lease.client6.family == AF_INET6) {
		uint8_t *ip = f + ETH_HDR, *icmp = ip + 40;
		uint32_t sum;

		memset(f, 0, sizeof(f));
		eth_header(f, ETH_IP6);
		ip[0] = 0x60;
		ip[5] = 32;			/* payload length */
		ip[6] = IPPROTO_ICMPV6;
		ip[7] = 255;			/* hop limit: neighbour discovery's */
		memcpy(ip + 8, &u->lease.client6.addr.v6, 16);
		memcpy(ip + 24, &u->lease.server6.addr.v6, 16);
		icmp[0] = 136;			/* neighbour advertisement */
		icmp[4] = 0x20;			/* override */
		memcpy(icmp + 8, &u->lease.client6.addr.v6, 16);
		icmp[24] = 2;			/* target link-layer address */
		icmp[25] = 1;
		memcpy(icmp + 26, guest_mac, 6);
		sum = sum16(0, ip + 8, 32) + 32 + IPPROTO_ICMPV6;
		sum = sum16(sum, icmp, 32);
		icmp[2] = (uint8_t)(fold(sum) >> 8);
		icmp[3] = (uint8_t)fold(sum);
		slirp_input(u->slirp, f, ETH_HDR + 72);
	}
}

static bool v6_in(const uint8_t *a, const char *net, unsigned plen)
{
	struct inet_prefix p, x = { .family = AF_INET6, .plen = 128 };

	memcpy(&x.addr.v6, a, 16);
	if (inet_prefix_parse(net, &p) < 0)
		return false;
	p.plen = plen;
	return inet_prefix_overlaps(&x, &p);
}

bool uspace_packet_ok(const unsigned char *pkt, size_t len, const struct lease *l)
{
	if (len >= 20 && pkt[0] >> 4 == 4) {
		/* 0/8 and 127/8 are this host; 224/3 multicast, reserved and
		 * the broadcast address, which slirp sends to loopback. */
		uint8_t first = pkt[16];

		return first != 0 && first != 127 && first < 224;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		const uint8_t *dst = pkt + 24;

		if (v6_in(dst, "::", 127) || v6_in(dst, "::ffff:0:0", 96) || dst[0] == 0xff)
			return false;
		/* The client's neighbour discovery has no business here, and
		 * slirp logs a critical line per echo it cannot forward. */
		if (pkt[6] == IPPROTO_ICMPV6 && len >= 41) {
			if (pkt[40] >= 133 && pkt[40] <= 137)
				return false;
			if (pkt[40] == 128 && (l->server6.family != AF_INET6 ||
					       memcmp(dst, &l->server6.addr.v6, 16)))
				return false;
		}
		return true;
	}
	return false;
}

bool uspace_own_address(int family, const void *addr)
{
	struct sockaddr_storage ss, me;
	socklen_t len, mlen = sizeof(me);
	size_t alen = family == AF_INET ? 4 : 16;
	const void *src;
	bool own = false;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		memcpy(&sin->sin_addr, addr, 4);
		len = sizeof(*sin);
		src = &((struct sockaddr_in *)&me)->sin_addr;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof(*sin6);
		src = &((struct sockaddr_in6 *)&me)->sin6_addr;
	}
	/* Unsure is no: a packet we cannot judge is not let through. */
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0 && getsockname(fd, (struct sockaddr *)&me, &mlen) == 0)
		own = !memcmp(src, addr, alen);
	close(fd);
	return own;
}

/* Inside the stack's virtual networks: slirp answers those itself. */
static bool virtual_dst(const struct uspace *u, int family, const uint8_t *a)
{
	if (family == AF_INET) {
		struct in_addr d;

		memcpy(&d, a, 4);
		return u->cfg.in_enabled && (d.s_addr & u->cfg.vnetmask.s_addr) == u->cfg.vnetwork.s_addr;
	}
	if (!u->cfg.in6_enabled)
		return false;
	for (unsigned i = 0, bits = u->cfg.vprefix_len; bits; i++) {
		unsigned n = bits < 8 ? bits : 8;
		uint8_t m = (uint8_t)(0xff00 >> n);

		if ((a[i] & m) != (u->cfg.vprefix_addr6.s6_addr[i] & m))
			return false;
		bits -= n;
	}
	return true;
}

/* A packet to one of the server's own addresses (its LAN address, say):
 * slirp's connection there would arrive over loopback, past a firewall
 * that keeps the address closed to the network.  Answers are cached for
 * a while per address. */
static bool to_own_address(struct uspace *u, const uint8_t *pkt, int64_t now)
{
	int family = pkt[0] >> 4 == 4 ? AF_INET : AF_INET6;
	const uint8_t *dst = family == AF_INET ? pkt + 16 : pkt + 24;
	size_t alen = family == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u;
	struct own_entry *e;

	if (virtual_dst(u, family, dst))
		return false;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ dst[i]) * 16777619u;
	e = &u->own[h % OWN_CACHE];
	if (e->at_ns && now - e->at_ns < OWN_TTL_NS && e->family == family && !memcmp(e->addr, dst, alen))
		return e->own;
	e->own = uspace_own_address(family, dst);
	e->family = (uint8_t)family;
	memcpy(e->addr, dst, alen);
	e->at_ns = now;
	return e->own;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct uspace *u = opaque;
	short ev = 0;

	if (u->npfd == u->pfd_cap) {
		int cap = u->pfd_cap ? u->pfd_cap * 2 : 64;
		struct pollfd *p = realloc(u->pfd, (size_t)cap * sizeof(*p));

		if (!p)
			abort();
		u->pfd = p;
		u->pfd_cap = cap;
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	u->pfd[u->npfd].fd = fd;
	u->pfd[u->npfd].events = ev;
	u->pfd[u->npfd].revents = 0;
	return u->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct uspace *u = opaque;
	short r;
	int out = 0;

	if (idx < 0 || idx >= u->npfd)
		return 0;
	r = u->pfd[idx].revents;
	if (r & POLLIN)
		out |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		out |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		out |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		out |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		out |= SLIRP_POLL_HUP;
	return out;
}

/* The client's packets into slirp.  Returns -1 once serve.c has closed
 * its end. */
static int from_client(struct uspace *u)
{
	int64_t now = clock_ns();

	for (int i = 0; i < STACK_BATCH; i++) {
		ssize_t n = recv(u->fd_stack, u->in + ETH_HDR, sizeof(u->in) - ETH_HDR, MSG_DONTWAIT);

		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (!uspace_packet_ok(u->in + ETH_HDR, (size_t)n, &u->lease) ||
		    to_own_address(u, u->in + ETH_HDR, now))
			continue;
		eth_header(u->in, u->in[ETH_HDR] >> 4 == 4 ? ETH_IP4 : ETH_IP6);
		slirp_input(u->slirp, u->in, (int)n + ETH_HDR);
	}
	return 0;
}

static int64_t run_timers(struct uspace *u)
{
	int64_t now = clock_ns() / 1000000, next = -1;
	bool fired;

	do {
		fired = false;
		for (struct stack_timer *t = u->timers; t; t = t->next) {
			if (t->expire_ms >= 0 && t->expire_ms <= now) {
				t->expire_ms = -1;
				t->cb(t->cb_opaque);
				fired = true;
				break;	/* the callback may have changed the list */
			}
		}
	} while (fired);
	for (struct stack_timer *t = u->timers; t; t = t->next)
		if (t->expire_ms >= 0 && (next < 0 || t->expire_ms - now < next))
			next = t->expire_ms - now;
	return next;
}

static void *stack_main(void *arg)
{
	struct uspace *u = arg;
	bool go;

	pthread_mutex_lock(&u->mu);
	while (!u->go && !u->quit)
		pthread_cond_wait(&u->cv, &u->mu);
	go = u->go && !u->quit;
	pthread_mutex_unlock(&u->mu);
	if (!go)
		return NULL;
	u->slirp = slirp_new(&u->cfg, &callbacks, u);
	if (!u->slirp) {
		log_error("user-space stack: libslirp refused its configuration");
		shutdown(u->fd_stack, SHUT_RDWR);
		return NULL;
	}
	announce(u);
	for (;;) {
		uint32_t timeout = UINT32_MAX;
		int64_t next;
		int rc;

		u->npfd = 0;
		cb_add_poll(u->fd_stack, SLIRP_POLL_IN, u);
		slirp_pollfds_fill(u->slirp, &timeout, cb_add_poll, u);
		next = run_timers(u);
		if (next >= 0 && (timeout == UINT32_MAX || next < (int64_t)timeout))
			timeout = (uint32_t)next;
		rc = poll(u->pfd, (nfds_t)u->npfd, timeout == UINT32_MAX ? -1 : (int)timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc > 0 && u->pfd[0].revents && from_client(u) < 0)
			break;
		slirp_pollfds_poll(u->slirp, rc < 0, cb_get_revents, u);
		run_timers(u);
		if (u->announce)
			announce(u);
	}
	slirp_cleanup(u->slirp);
	u->slirp = NULL;
	shutdown(u->fd_stack, SHUT_RDWR);	/* serve.c sees its "TUN" end */
	return NULL;
}

int uspace_start(struct uspace **out, char *err, size_t errlen)
{
	struct uspace *u = calloc(1, sizeof(*u));
	int sv[2], v = STACK_SOCKBUF, rc;

	*out = NULL;
	if (!u)
		return errorf(err, errlen, "user-space stack: out of memory");
	if (slirp_load(err, errlen) < 0) {
		free(u);
		return -1;
	}
	u->fd_main = u->fd_stack = -1;
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		uspace_stop(u);
		return errorf(err, errlen, "user-space stack: socketpair: %s", strerror(errno));
	}
	u->fd_main = sv[0];
	u->fd_stack = sv[1];
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	}
	rc = pthread_create(&u->thread, NULL, stack_main, u);
	if (rc) {
		uspace_stop(u);
		return errorf(err, errlen, "user-space stack: cannot start its thread: %s", strerror(rc));
	}
	u->thread_on = true;
	*out = u;
	return 0;
}

/* The pair k of a pool: the server's end at offset 2k, the client's at
 * 2k + 1. */
static void pair_at(const struct inet_prefix *pool, unsigned k, struct inet_prefix *server,
		    struct inet_prefix *client)
{
	uint8_t *s, *c;
	size_t last;

	*server = *pool;
	server->plen = pool->family == AF_INET ? 31 : 127;
	s = (uint8_t *)&server->addr;
	last = pool->family == AF_INET ? 3 : 15;
	/* No carry: k < 64 and below the pool's size, whose host bits are 0. */
	s[last] = (uint8_t)(s[last] + 2 * k);
	*client = *server;
	c = (uint8_t *)&client->addr;
	c[last] |= 1;
}

static int pick_family(const char *pool_s, int family, const struct prefix_list *avoid,
		       struct inet_prefix *server, struct inet_prefix *client, char *err, size_t errlen)
{
	unsigned bits = family == AF_INET ? 32 : 128;
	struct inet_prefix pool;

	memset(server, 0, sizeof(*server));
	memset(client, 0, sizeof(*client));
	if (!pool_s[0] || !strcmp(pool_s, "none"))
		return 0;
	if (inet_prefix_parse_net(pool_s, &pool) < 0 || pool.family != family || pool.plen > bits - 3)
		return errorf(err, errlen, "user-space mode: pool `%s' is not an IPv%d network of /%u or wider",
			      pool_s, family == AF_INET ? 4 : 6, bits - 3);
	/* Pairs 1.. (pair 0 holds the network's own address); no more than
	 * the pool holds, and no more than 64 tries. */
	for (unsigned k = 1; k < 64 && (bits - pool.plen >= 8 || k < 1u << (bits - pool.plen - 1)); k++) {
		bool clash = false;

		pair_at(&pool, k, server, client);
		for (int i = 0; i < avoid->n && !clash; i++)
			clash = inet_prefix_overlaps(server, &avoid->p[i]);
		if (!clash)
			return 0;
	}
	memset(server, 0, sizeof(*server));
	memset(client, 0, sizeof(*client));
	return errorf(err, errlen, "user-space mode: no pair in %s outside the client's networks", pool_s);
}

int uspace_pick(const char *pool4, const char *pool6, const struct prefix_list *avoid,
		struct lease *l, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	if (pick_family(pool4, AF_INET, avoid, &l->server4, &l->client4, err, errlen) < 0 ||
	    pick_family(pool6, AF_INET6, avoid, &l->server6, &l->client6, err, errlen) < 0)
		return -1;
	if (!l->client4.family && !l->client6.family)
		return errorf(err, errlen, "user-space mode: no address pool (both are none)");
	return 0;
}

/* The stack's resolver: the pool's first address after the network's
 * own (pair 0, never leased).  Not the server's end: slirp gives a reply
 * the resolver's address back only when it is another address. */
static int resolver(const char *pool_s, int family, struct inet_prefix *out)
{
	if (inet_prefix_parse_net(pool_s, out) < 0 || out->family != family)
		return -1;
	if (family == AF_INET) {
		out->addr.v4.s_addr = htonl(ntohl(out->addr.v4.s_addr) + 1);
		out->plen = 32;
	} else {
		out->addr.v6.s6_addr[15] |= 1;
		out->plen = 128;
	}
	return 0;
}

void uspace_resolvers(const char *pool4, const char *pool6, const struct lease *l,
		      struct prefix_list *dns)
{
	dns->n = 0;
	if (l->client4.family == AF_INET && resolver(pool4, AF_INET, &dns->p[dns->n]) == 0)
		dns->n++;
	if (l->client6.family == AF_INET6 && resolver(pool6, AF_INET6, &dns->p[dns->n]) == 0)
		dns->n++;
}

int uspace_begin(struct uspace *u, const char *pool4, const char *pool6, const struct lease *l,
		 unsigned mtu, char *err, size_t errlen)
{
	SlirpConfig *c = &u->cfg;
	struct inet_prefix p, dns;

	memset(c, 0, sizeof(*c));
	c->version = 4;
	if (l->client4.family == AF_INET && inet_prefix_parse_net(pool4, &p) == 0 &&
	    resolver(pool4, AF_INET, &dns) == 0) {
		c->in_enabled = true;
		c->vnetwork = p.addr.v4;
		c->vnetmask.s_addr = p.plen ? htonl(~0u << (32 - p.plen)) : 0;
		c->vhost = l->server4.addr.v4;
		c->vnameserver = dns.addr.v4;
		c->vdhcp_start = l->client4.addr.v4;
	}
	if (l->client6.family == AF_INET6 && inet_prefix_parse_net(pool6, &p) == 0 &&
	    resolver(pool6, AF_INET6, &dns) == 0) {
		c->in6_enabled = true;
		c->vprefix_addr6 = p.addr.v6;
		c->vprefix_len = (uint8_t)p.plen;
		c->vhost6 = l->server6.addr.v6;
		c->vnameserver6 = dns.addr.v6;
	}
	c->if_mtu = c->if_mru = mtu > USERSPACE_MTU_MAX ? USERSPACE_MTU_MAX : mtu;
	/* The server's end is no way to the server's loopback
	 * (uspace_packet_ok stops the direct way). */
	c->disable_host_loopback = true;
	c->disable_dhcp = true;
	u->lease = *l;
	pthread_mutex_lock(&u->mu);
	u->go = true;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	if (u->fd_main < 0)
		return errorf(err, errlen, "user-space stack: not started");
	return u->fd_main;
}

void uspace_stop(struct uspace *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->mu);
	u->quit = true;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	/* The stack sees its peer gone and leaves its loop. */
	if (u->fd_main >= 0)
		shutdown(u->fd_main, SHUT_RDWR);
	if (u->thread_on)
		pthread_join(u->thread, NULL);
	if (u->fd_main >= 0)
		close(u->fd_main);
	if (u->fd_stack >= 0)
		close(u->fd_stack);
	while (u->timers) {
		struct stack_timer *t = u->timers;

		u->timers = t->next;
		free(t);
	}
	free(u->pfd);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u);
}

bool uspace_ping_ok(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
