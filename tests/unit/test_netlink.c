/* netlink-linux.c and tun-linux.c against the real kernel, inside a private
 * network namespace made with unshare(CLONE_NEWNET): nothing here touches
 * the host's links, addresses or routes.  Without root (or without netns
 * support) the namespace tests are skipped.  Only documentation ranges. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "netlink.h"
#include "tun.h"

/* After fail.h: cmocka's fail() and fail_msg() are macros that would mangle
 * its declarations.  Our fail_msg() is called as (fail_msg)() below. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* cmocka hands every test and fixture a state these tests do not use. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

static struct {
	bool ns;		/* in our own namespace */
	int fd;
	int idx;
	char name[IFNAMSIZ];
} t = { .fd = -1 };

#define NEED_NS() do { if (!t.ns) skip(); } while (0)
#define NEED_TUN() do { NEED_NS(); if (t.fd < 0) fail_msg("no TUN from an earlier test"); } while (0)

/* Our own parser/formatter, so this test depends on nothing but the code
 * under test. */
static struct inet_prefix pfx(const char *s)
{
	struct inet_prefix p = { 0 };
	char a[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	assert_true(n < sizeof(a));
	memcpy(a, s, n);
	a[n] = '\0';
	p.family = strchr(a, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.family, a, &p.addr), 1);
	p.plen = slash ? (unsigned)atoi(slash + 1) : p.family == AF_INET ? 32 : 128;
	return p;
}

static void pfx_str(const struct inet_prefix *p, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(p->family, &p->addr, a, sizeof(a)));
	snprintf(out, cap, "%s/%u", a, p->plen);
}

static int group_setup(void **state)
{
	if (geteuid() != 0) {
		fprintf(stderr, "# not root: namespace tests skipped\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "# unshare(CLONE_NEWNET): %s: namespace tests skipped\n",
			strerror(errno));
		return 0;
	}
	t.ns = true;
	return 0;
}

static int group_teardown(void **state)
{
	if (t.fd >= 0)
		close(t.fd);
	return 0;
}

static void test_link_index_missing(void **state)
{
	assert_int_equal(net_link_index("sshtst-nonex"), -ENODEV);
}

static void test_tun_name_too_long(void **state)
{
	char name[32] = "sshtst-far-too-long-name";

	fail_clear();
	assert_int_equal(tun_open(name), -1);
	assert_int_equal(fail_code(), EXIT_LOCAL);
	assert_non_null(strstr((fail_msg)(), "too long"));
	fail_clear();
}

static void test_tun_open(void **state)
{
	char busy[IFNAMSIZ];
	char buf[64];
	int lo;

	NEED_NS();
	lo = net_link_index("lo");
	assert_true(lo > 0);
	assert_int_equal(net_link_set(lo, 0, true), 0);

	snprintf(t.name, sizeof(t.name), "sshtst%%d");
	fail_clear();
	t.fd = tun_open(t.name);
	if (t.fd < 0)
		fail_msg("tun_open: %s", (fail_msg)());
	assert_string_equal(t.name, "sshtst0");	/* fresh namespace */
	t.idx = net_link_index(t.name);
	assert_true(t.idx > 0);
	assert_true(fcntl(t.fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(t.fd, F_GETFD) & FD_CLOEXEC);

	/* Nothing queued: non-blocking read says so. */
	assert_int_equal(tun_read(t.fd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);

	/* The name is held by our fd: a second open is refused with exit 7. */
	memcpy(busy, t.name, sizeof(busy));
	assert_int_equal(tun_open(busy), -1);
	assert_int_equal(fail_code(), EXIT_LOCAL);
	assert_non_null(strstr((fail_msg)(), "sshtst0"));
	fail_clear();
}

static void if_state(const char *name, int *mtu, bool *up)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFMTU, &ifr), 0);
	*mtu = ifr.ifr_mtu;
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	*up = ifr.ifr_flags & IFF_UP;
	close(s);
}

static void test_link_set(void **state)
{
	int mtu;
	bool up;

	NEED_TUN();
	assert_int_equal(net_link_set(t.idx, 1400, true), 0);
	if_state(t.name, &mtu, &up);
	assert_int_equal(mtu, 1400);
	assert_true(up);

	assert_int_equal(net_link_set(t.idx, 0, false), 0);	/* mtu 0: kept */
	if_state(t.name, &mtu, &up);
	assert_int_equal(mtu, 1400);
	assert_false(up);

	assert_int_equal(net_link_set(t.idx, 0, true), 0);
	if_state(t.name, &mtu, &up);
	assert_true(up);
	assert_int_equal(net_link_set(t.idx, 1, true), -EINVAL);	/* below the device's minimum */
}

/* How many times 198.18.5.0/31 sits on the TUN (getifaddrs). */
static int v4_count(void)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in *a = (void *)i->ifa_addr, *m = (void *)i->ifa_netmask;

		if (strcmp(i->ifa_name, t.name) || !a || a->sin_family != AF_INET)
			continue;
		assert_string_equal(inet_ntoa(a->sin_addr), "198.18.5.0");
		assert_non_null(m);
		assert_string_equal(inet_ntoa(m->sin_addr), "255.255.255.254");
		n++;
	}
	freeifaddrs(ifa);
	return n;
}

/* How many times 2001:db8:5::2/127 sits on the TUN (/proc/net/if_inet6),
 * and it must not be tentative: NODAD makes it usable at once. */
static int v6_count(void)
{
	FILE *f = fopen("/proc/net/if_inet6", "r");
	char addr[33], dev[IFNAMSIZ + 1];
	unsigned idx, plen, scope, flags;
	int n = 0;

	assert_non_null(f);
	while (fscanf(f, "%32s %x %x %x %x %16s", addr, &idx, &plen, &scope, &flags, dev) == 6) {
		if (strcmp(dev, t.name) || !strncmp(addr, "fe80", 4))
			continue;
		assert_string_equal(addr, "20010db8000500000000000000000002");
		assert_int_equal(plen, 127);
		assert_int_equal((int)idx, t.idx);
		assert_false(flags & 0x40);	/* IFA_F_TENTATIVE */
		n++;
	}
	fclose(f);
	return n;
}

static void test_addr(void **state)
{
	struct inet_prefix a4 = pfx("198.18.5.0/31"), a6 = pfx("2001:db8:5::2/127");

	NEED_TUN();
	assert_int_equal(net_addr_add(t.idx, &a4), 0);
	assert_int_equal(net_addr_add(t.idx, &a4), 0);	/* reconnect re-adds */
	assert_int_equal(net_addr_add(t.idx, &a6), 0);
	assert_int_equal(net_addr_add(t.idx, &a6), 0);
	assert_int_equal(v4_count(), 1);
	assert_int_equal(v6_count(), 1);

	assert_int_equal(net_addr_del(t.idx, &a4), 0);
	assert_int_equal(net_addr_del(t.idx, &a6), 0);
	assert_int_equal(v4_count(), 0);
	assert_int_equal(v6_count(), 0);
	assert_int_equal(net_addr_del(t.idx, &a4), -EADDRNOTAVAIL);

	assert_int_equal(net_addr_add(t.idx, &a4), 0);
	assert_int_equal(net_addr_add(t.idx, &a6), 0);
	assert_int_equal(v4_count(), 1);
	assert_int_equal(v6_count(), 1);

	a4.plen = 33;
	assert_int_equal(net_addr_add(t.idx, &a4), -EINVAL);
	a4.family = 0;
	assert_int_equal(net_addr_add(t.idx, &a4), -EINVAL);
}

struct seen {
	int n;
	char s[8][64];
	int ifindex;	/* routes(): only those through it */
};

static void collect(const struct inet_prefix *dst, void *ctx)
{
	struct seen *seen = ctx;

	assert_true(seen->n < 8);
	pfx_str(dst, seen->s[seen->n], sizeof(seen->s[0]));
	seen->n++;
}

/* What net_route_dump (peer_facts.c's view of the machine) shows through
 * seen->ifindex, but the link-local and multicast routes every IPv6 link
 * gets by itself (the test TUN has no address: no connected routes). */
static void collect_on(const struct inet_prefix *dst, int ifindex, void *ctx)
{
	struct seen *seen = ctx;
	static const uint8_t fe80[8] = { 0xfe, 0x80 };

	if (ifindex != seen->ifindex)
		return;
	if (dst->family == AF_INET6 &&
	    ((dst->plen == 64 && !memcmp(&dst->addr.v6, fe80, sizeof(fe80))) ||
	     (dst->plen >= 8 && dst->addr.v6.s6_addr[0] == 0xff)))
		return;
	collect(dst, ctx);
}

static int routes(int ifindex, struct seen *seen)
{
	seen->ifindex = ifindex;
	return net_route_dump(collect_on, seen);
}

static bool seen_has(const struct seen *seen, const char *s)
{
	for (int i = 0; i < seen->n; i++)
		if (!strcmp(seen->s[i], s))
			return true;
	return false;
}

static void test_routes(void **state)
{
	struct inet_prefix r4 = pfx("198.51.100.0/24"), r6 = pfx("2001:db8:99::/48");
	struct inet_prefix gw = pfx("198.18.5.1"), r4gw = pfx("203.0.113.0/24"), out;
	struct seen seen = { 0 }, base = { 0 };
	char s[64];
	int oif;

	NEED_TUN();
	/* The link's own connected routes are there before we add any. */
	assert_int_equal(routes(t.idx, &base), 0);
	assert_false(seen_has(&base, "198.51.100.0/24"));
	assert_int_equal(net_route_add(&r4, t.idx, NULL), 0);
	assert_int_equal(net_route_add(&r4, t.idx, NULL), -EEXIST);
	assert_int_equal(net_route_add(&r6, t.idx, &(struct inet_prefix){ 0 }), 0);
	assert_int_equal(net_route_add(&r6, t.idx, NULL), -EEXIST);

	/* Link-local routes are not counted (collect_on). */
	assert_int_equal(routes(t.idx, &seen), 0);
	for (int i = 0; i < seen.n; i++)
		fprintf(stderr, "# route %s\n", seen.s[i]);
	assert_int_equal(seen.n, base.n + 2);
	assert_true(seen_has(&seen, "198.51.100.0/24"));
	assert_true(seen_has(&seen, "2001:db8:99::/48"));

	out = pfx("198.51.100.7");
	assert_int_equal(net_route_get(&out, &oif, &out), 0);
	assert_int_equal(oif, t.idx);
	assert_int_equal(out.family, 0);		/* on-link */
	out = pfx("2001:db8:99::7");
	assert_int_equal(net_route_get(&out, &oif, &out), 0);
	assert_int_equal(oif, t.idx);
	assert_int_equal(out.family, 0);
	out = pfx("203.0.113.9");			/* no default route here */
	assert_int_equal(net_route_get(&out, &oif, &out), -ENETUNREACH);

	/* Through a gateway: route_get reports it. */
	assert_int_equal(net_route_add(&r4gw, t.idx, &gw), 0);
	out = pfx("203.0.113.9");
	assert_int_equal(net_route_get(&out, &oif, &out), 0);
	assert_int_equal(oif, t.idx);
	pfx_str(&out, s, sizeof(s));
	assert_string_equal(s, "198.18.5.1/32");
	assert_int_equal(net_route_del(&r4gw, t.idx), 0);

	assert_int_equal(net_route_del(&r4, t.idx), 0);
	assert_int_equal(net_route_del(&r4, t.idx), -ESRCH);
	assert_int_equal(net_route_del(&r6, t.idx), 0);
	assert_int_equal(net_route_del(&r6, t.idx), -ESRCH);
	seen.n = 0;
	assert_int_equal(routes(t.idx, &seen), 0);
	assert_int_equal(seen.n, base.n);
	assert_false(seen_has(&seen, "198.51.100.0/24"));
	assert_false(seen_has(&seen, "2001:db8:99::/48"));
	seen.n = 0;

	/* The default route is plen 0; host bits in dst are cleared. */
	assert_int_equal(net_route_add(&(struct inet_prefix){ .family = AF_INET }, t.idx, NULL), 0);
	r4 = pfx("198.51.100.77/24");
	assert_int_equal(net_route_add(&r4, t.idx, NULL), 0);
	assert_int_equal(routes(t.idx, &seen), 0);
	assert_int_equal(seen.n, base.n + 2);
	assert_true(seen_has(&seen, "0.0.0.0/0"));
	assert_true(seen_has(&seen, "198.51.100.0/24"));
	assert_int_equal(net_route_del(&r4, t.idx), 0);
	assert_int_equal(net_route_del(&(struct inet_prefix){ .family = AF_INET }, t.idx), 0);

	/* net_route_del_ours takes sshtun's route, not an admin's route
	 * for the same prefix with a lower metric (which a delete by prefix
	 * alone takes first), in either family. */
	{
		char cmd[200];
		static const char *const fam[] = { "-4", "-6" };
		struct inet_prefix p[2] = { pfx("198.51.100.0/24"), pfx("2001:db8:99::/48") };

		for (int i = 0; i < 2; i++) {
			snprintf(cmd, sizeof(cmd), "ip %s route add %s dev %s metric 100 proto static", fam[i],
				 i ? "2001:db8:99::/48" : "198.51.100.0/24", t.name);
			assert_int_equal(system(cmd), 0);
			assert_int_equal(net_route_add_metric(&p[i], t.idx, NULL, 1024 + 50), 0);
			assert_int_equal(net_route_del_ours(&p[i], t.idx), 0);
			assert_int_equal(net_route_del_ours(&p[i], t.idx), -ESRCH);
			/* The admin's is still there. */
			assert_int_equal(net_route_del(&p[i], t.idx), 0);
			assert_int_equal(net_route_del(&p[i], t.idx), -ESRCH);
		}
		assert_int_equal(net_route_del_ours(&p[0], 0), -EINVAL);
	}

	r4.plen = 33;
	assert_int_equal(net_route_add(&r4, t.idx, NULL), -EINVAL);
	assert_int_equal(net_route_add(&r6, t.idx, &gw), -EINVAL);	/* family mismatch */
}

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* One plain packet each way: behind an all-zero virtio-net header when the
 * TUN has one (tun_vnet_len). */
static void put_packet(const uint8_t *pkt, size_t len)
{
	uint8_t hdr[16] = { 0 };
	struct iovec iov[2] = { { hdr, tun_vnet_len(t.fd) }, { (void *)pkt, len } };

	assert_int_equal(tun_writev(t.fd, iov, 2), (ssize_t)(iov[0].iov_len + len));
}

static ssize_t get_packet(uint8_t *buf, size_t cap)
{
	size_t h = tun_vnet_len(t.fd);
	ssize_t n = tun_read(t.fd, buf, cap);

	if (n < (ssize_t)h)
		return -1;
	memmove(buf, buf + h, (size_t)n - h);
	return n - (ssize_t)h;
}

/* Writes pkt to the TUN and waits up to 2 s for a packet that match()
 * accepts (the kernel also sends IPv6 router solicitations and MLD). */
static bool tun_exchange(const uint8_t *pkt, size_t len,
			 bool (*match)(const uint8_t *p, size_t n))
{
	struct timespec start, now;
	uint8_t in[2048];

	put_packet(pkt, len);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = t.fd, .events = POLLIN };
		long ms;
		ssize_t n;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = 2000 - ((now.tv_sec - start.tv_sec) * 1000 +
			     (now.tv_nsec - start.tv_nsec) / 1000000);
		if (ms <= 0)
			return false;
		/* The kernel rate-limits ICMPv6 replies (one a second per
		 * peer by default): ask again rather than wait out a drop. */
		r = poll(&pfd, 1, ms > 500 ? 500 : (int)ms);
		if (r == 0) {
			put_packet(pkt, len);
			continue;
		}
		if (r < 0)
			return false;
		n = get_packet(in, sizeof(in));
		if (n > 0 && match(in, (size_t)n))
			return true;
	}
}

static const uint8_t ping_data[16] = "sshtun-unit-test";

static bool is_echo_reply4(const uint8_t *p, size_t n)
{
	static const uint8_t src[4] = { 198, 18, 5, 0 }, dst[4] = { 198, 18, 5, 1 };

	return n == 20 + 8 + sizeof(ping_data) && p[0] == 0x45 && p[9] == 1 &&
	       !memcmp(p + 12, src, 4) && !memcmp(p + 16, dst, 4) &&
	       p[20] == 0 && p[24] == 0x12 && p[25] == 0x34 &&
	       !memcmp(p + 28, ping_data, sizeof(ping_data));
}

static void test_ping4(void **state)
{
	uint8_t pkt[20 + 8 + sizeof(ping_data)] = {
		0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0,	/* DF, ttl 64, ICMP */
		198, 18, 5, 1,		/* from the (absent) peer */
		198, 18, 5, 0,		/* to our own address */
		8, 0, 0, 0, 0x12, 0x34, 0, 1,	/* echo request id 0x1234 seq 1 */
	};

	NEED_TUN();
	put16(pkt + 2, sizeof(pkt));
	memcpy(pkt + 28, ping_data, sizeof(ping_data));
	put16(pkt + 10, csum(0, pkt, 20));
	put16(pkt + 22, csum(0, pkt + 20, sizeof(pkt) - 20));
	assert_true(tun_exchange(pkt, sizeof(pkt), is_echo_reply4));
}

static bool is_echo_reply6(const uint8_t *p, size_t n)
{
	return n == 40 + 8 + sizeof(ping_data) && (p[0] >> 4) == 6 && p[6] == 58 &&
	       p[23] == 2 && p[39] == 3 &&	/* ::2 -> ::3 */
	       p[40] == 129 && p[44] == 0x12 && p[45] == 0x34 &&
	       !memcmp(p + 48, ping_data, sizeof(ping_data));
}

/* The IPv6 address answers at once: no DAD wait. */
static void test_ping6(void **state)
{
	uint8_t pkt[40 + 8 + sizeof(ping_data)] = { 0x60 };
	struct inet_prefix src = pfx("2001:db8:5::3"), dst = pfx("2001:db8:5::2");
	uint32_t sum = 0;

	NEED_TUN();
	put16(pkt + 4, 8 + sizeof(ping_data));
	pkt[6] = 58;		/* ICMPv6 */
	pkt[7] = 64;
	memcpy(pkt + 8, &src.addr.v6, 16);
	memcpy(pkt + 24, &dst.addr.v6, 16);
	pkt[40] = 128;		/* echo request */
	put16(pkt + 44, 0x1234);
	put16(pkt + 46, 1);
	memcpy(pkt + 48, ping_data, sizeof(ping_data));
	/* Pseudo-header: addresses, upper-layer length, next header. */
	for (int i = 8; i < 40; i += 2)
		sum += (uint32_t)pkt[i] << 8 | pkt[i + 1];
	sum += 8 + sizeof(ping_data) + 58;
	put16(pkt + 42, csum(sum, pkt + 40, 8 + sizeof(ping_data)));
	assert_true(tun_exchange(pkt, sizeof(pkt), is_echo_reply6));
}

/* Gateways are listed with the route's interface (peer_facts.c). */
static void collect_gw(const struct inet_prefix *gw, int ifindex, void *ctx)
{
	if (ifindex == t.idx)
		collect(gw, ctx);
}

static void test_gateways(void **state)
{
	struct inet_prefix gw = pfx("198.18.5.1"), r4gw = pfx("203.0.113.0/24");
	struct seen seen = { 0 };

	NEED_TUN();
	assert_int_equal(net_gateway_dump(collect_gw, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(net_route_add(&r4gw, t.idx, &gw), 0);
	assert_int_equal(net_gateway_dump(collect_gw, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.s[0], "198.18.5.1/32");
	assert_int_equal(net_route_del(&r4gw, t.idx), 0);
}

/* Routing table numbers (net_table_pick): base + ifindex when free, the
 * next when a route or a rule (either family) uses it, and never in the
 * other base's range, even for an ifindex above 0xffff, where
 * NET_UID_TABLE_BASE + ifindex was another instance's exec table. */
static void test_table_pick(void **state)
{
	struct inet_prefix dst = pfx("198.18.6.0/24"), src6 = pfx("2001:db8:6::1");
	uint32_t t0 = NET_UID_TABLE_BASE + (uint32_t)t.idx;

	NEED_TUN();
	assert_int_equal(net_table_used(t0), 0);
	assert_int_equal(net_table_pick(NET_UID_TABLE_BASE, t.idx), t0);
	assert_int_equal(net_route_table(true, &dst, t.idx, t0), 0);
	assert_int_equal(net_table_used(t0), 1);
	assert_int_equal(net_table_pick(NET_UID_TABLE_BASE, t.idx), t0 + 1);
	assert_int_equal(net_rule_src(true, &src6, t0 + 1, NET_EXEC_RULE_PRIORITY), 0);
	assert_int_equal(net_table_used(t0 + 1), 1);
	assert_int_equal(net_table_pick(NET_UID_TABLE_BASE, t.idx), t0 + 2);
	assert_int_equal(net_rule_src(false, &src6, t0 + 1, NET_EXEC_RULE_PRIORITY), 0);
	assert_int_equal(net_route_table(false, &dst, t.idx, t0), 0);
	assert_int_equal(net_table_pick(NET_UID_TABLE_BASE, t.idx), t0);

	for (int idx = 0xfff0; idx < 0x10010; idx++) {
		uint32_t u = net_table_pick(NET_UID_TABLE_BASE, idx);

		assert_true(u > NET_UID_TABLE_BASE && u <= NET_UID_TABLE_BASE + 0xffff);
		if (idx >= 0x10000)
			assert_true(u != NET_EXEC_TABLE_BASE + (uint32_t)(idx - 0x10000));
	}
	assert_int_equal(net_table_pick(NET_UID_TABLE_BASE, 0), 0);
}

static void test_ifname_ok(void **state)
{
	static const char *const good[] = { "sshtun0", "sshtun%d", "wg-lab.1", "a_b", "x" };
	static const char *const bad[] = { "", "-w", "--foo", "a;b", "x y", "a/b", "a:b", ".", "..",
					   "sshtun%d%d", "a%s", "0123456789abcdef", "t\n" };

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!net_ifname_ok(good[i]))
			fail_msg("refused `%s'", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (net_ifname_ok(bad[i]))
			fail_msg("accepted `%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_index_missing),
		cmocka_unit_test(test_tun_name_too_long),
		cmocka_unit_test(test_tun_open),
		cmocka_unit_test(test_link_set),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_gateways),
		cmocka_unit_test(test_table_pick),
		cmocka_unit_test(test_ifname_ok),
		cmocka_unit_test(test_ping4),
		cmocka_unit_test(test_ping6),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
