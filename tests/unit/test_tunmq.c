/* tun-linux.c's queues (--connections) against the real kernel, inside a
 * private network namespace made with unshare(CLONE_NEWNET): nothing here
 * touches the host's links, addresses or routes.  Without root (or without
 * netns support) the namespace tests are skipped.  Only documentation
 * ranges: 198.18.9.1 on the TUN, 198.18.10.0/24 routed into it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "netlink.h"
#include "tun.h"
#include "vnet.h"

/* After fail.h: cmocka's fail() and fail_msg() are macros that would mangle
 * its declarations.  Our fail_msg() is called as (fail_msg)() below. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

#define FLOWS 32	/* UDP flows per round: all on one of 2 queues by chance is 2^-31 */

static struct {
	bool ns;
	int q[2];	/* the device's first queue and the one attached after */
	int idx;
	char name[IFNAMSIZ];
} t = { .q = { -1, -1 } };

#define NEED_NS() do { if (!t.ns) skip(); } while (0)
#define NEED_MQ() do { NEED_NS(); if (t.q[0] < 0 || t.q[1] < 0) fail_msg("no queues from an earlier test"); } while (0)

static struct inet_prefix pfx(const char *a, unsigned plen)
{
	struct inet_prefix p = { .family = AF_INET, .plen = plen };

	assert_int_equal(inet_pton(AF_INET, a, &p.addr), 1);
	return p;
}

static int group_setup(void **state)
{
	if (geteuid() != 0) {
		fprintf(stderr, "# not root: namespace tests skipped\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "# unshare(CLONE_NEWNET): %s: namespace tests skipped\n", strerror(errno));
		return 0;
	}
	t.ns = true;
	return 0;
}

static int group_teardown(void **state)
{
	for (int i = 0; i < 2; i++)
		if (t.q[i] >= 0)
			close(t.q[i]);
	return 0;
}

/* The one line names the device and says why. */
static void assert_failed(const char *name, const char *why)
{
	assert_int_equal(fail_code(), EXIT_LOCAL);
	if (!strstr((fail_msg)(), name) || !strstr((fail_msg)(), why))
		fail_msg("message `%s' lacks `%s' or `%s'", (fail_msg)(), name, why);
	fail_clear();
}

/* Attaching never makes the device it is asked to join. */
static void test_attach_missing(void **state)
{
	char none[IFNAMSIZ] = "sshmq-none", pattern[IFNAMSIZ] = "sshmq%d";

	NEED_NS();
	fail_clear();
	assert_int_equal(tun_attach_queue(none), -1);
	assert_failed("sshmq-none", "No such device");
	assert_int_equal(net_link_index("sshmq-none"), -ENODEV);

	assert_int_equal(tun_attach_queue(pattern), -1);
	assert_failed("sshmq%d", "not a device name");
	assert_int_equal(net_link_index("sshmq0"), -ENODEV);
}

static void test_attach_not_mq(void **state)
{
	char name[IFNAMSIZ] = "sshsq0", lo[IFNAMSIZ] = "lo";
	int fd;

	NEED_NS();
	fail_clear();
	fd = tun_create_mq(name, false);
	if (fd < 0)
		fail_msg("tun_create_mq: %s", (fail_msg)());
	assert_int_equal(tun_attach_queue(name), -1);
	assert_failed("sshsq0", "not a multi-queue TUN");
	/* A single-queue device's queue cannot be detached either. */
	assert_int_equal(tun_queue_enable(fd, false), -EINVAL);
	assert_int_equal(tun_queue_enable(fd, true), 0);
	{
		unsigned n = 99;

		assert_int_equal(net_tun_queues(net_link_index(name), &n), -EOPNOTSUPP);
		assert_int_equal(net_tun_queues(net_link_index("lo"), &n), -EOPNOTSUPP);
		assert_int_equal(n, 99);
	}
	close(fd);

	/* Nor is any other kind of interface joined. */
	assert_int_equal(tun_attach_queue(lo), -1);
	assert_failed("`lo'", "not a multi-queue TUN");
}

static void test_create_mq(void **state)
{
	struct inet_prefix local = pfx("198.18.9.1", 32), dst = pfx("198.18.10.0", 24);
	char busy[IFNAMSIZ] = "sshmq0";

	NEED_NS();
	snprintf(t.name, sizeof(t.name), "sshmq%%d");
	fail_clear();
	t.q[0] = tun_create_mq(t.name, true);
	if (t.q[0] < 0)
		fail_msg("tun_create_mq: %s", (fail_msg)());
	assert_string_equal(t.name, "sshmq0");
	t.idx = net_link_index(t.name);
	assert_true(t.idx > 0);

	/* Exclusive still: a second create of the name is refused. */
	assert_int_equal(tun_create_mq(busy, true), -1);
	assert_failed("sshmq0", "in use");

	t.q[1] = tun_attach_queue(t.name);
	if (t.q[1] < 0)
		fail_msg("tun_attach_queue: %s", (fail_msg)());
	assert_true(fcntl(t.q[1], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(t.q[1], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(tun_vnet_len(t.q[0]), VNET_HDR_LEN);
	assert_int_equal(tun_vnet_len(t.q[1]), VNET_HDR_LEN);
	assert_int_equal(net_link_index(t.name), t.idx);	/* the same device */
	{
		unsigned n;

		assert_int_equal(net_tun_queues(t.idx, &n), 0);
		assert_int_equal(n, 2);
	}

	assert_int_equal(net_addr_add(t.idx, &local), 0);
	assert_int_equal(net_link_set(t.idx, 1400, true), 0);
	assert_int_equal(net_route_add(&dst, t.idx, NULL), 0);
}

/* FLOWS datagrams to 198.18.10.1, each from its own socket (its own
 * source port: its own flow), counted on each queue.  Only ours: the
 * kernel sends IPv6 solicitations into the device too. */
static void send_flows(unsigned got[2])
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	uint8_t buf[2048];

	assert_int_equal(inet_pton(AF_INET, "198.18.10.1", &to.sin_addr), 1);
	for (int i = 0; i < FLOWS; i++) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		assert_true(s >= 0);
		assert_int_equal(sendto(s, "mq", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
		close(s);
	}
	got[0] = got[1] = 0;
	for (int q = 0; q < 2; q++) {
		ssize_t n;

		if (t.q[q] < 0)
			continue;
		while ((n = read(t.q[q], buf, sizeof(buf))) > 0) {
			const uint8_t *ip = buf + VNET_HDR_LEN;

			if (n == VNET_HDR_LEN + 20 + 8 + 2 && ip[0] == 0x45 && ip[9] == IPPROTO_UDP &&
			    ip[16] == 198 && ip[17] == 18 && ip[18] == 10 && ip[19] == 1)
				got[q]++;
		}
	}
}

/* The kernel's flow hash uses both attached queues. */
static void test_spread(void **state)
{
	unsigned got[2];

	NEED_MQ();
	send_flows(got);
	assert_int_equal(got[0] + got[1], FLOWS);
	assert_true(got[0] > 0);
	assert_true(got[1] > 0);
}

/* Writes into queue fd a UDP datagram "mqin" from src (198.18.10.x) to the
 * socket s bound on 198.18.9.1. */
static void write_udp(int fd, const struct sockaddr_in *src, int s)
{
	struct sockaddr_in me;
	socklen_t mlen = sizeof(me);
	uint8_t pkt[VNET_HDR_LEN + 20 + 8 + 4] = { 0 }, *ip = pkt + VNET_HDR_LEN;
	uint32_t sum = 0;

	assert_int_equal(getsockname(s, (struct sockaddr *)&me, &mlen), 0);
	ip[0] = 0x45;
	ip[3] = 20 + 8 + 4;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src->sin_addr, 4);
	memcpy(ip + 16, &me.sin_addr, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	memcpy(ip + 20, &src->sin_port, 2);
	memcpy(ip + 22, &me.sin_port, 2);
	ip[25] = 8 + 4;		/* UDP checksum 0: none */
	memcpy(ip + 28, "mqin", 4);
	assert_int_equal(write(fd, pkt, sizeof(pkt)), (ssize_t)sizeof(pkt));
}

static int udp_socket(void)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(s >= 0);
	assert_int_equal(inet_pton(AF_INET, "198.18.9.1", &me.sin_addr), 1);
	assert_int_equal(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
	return s;
}

static bool got_mqin(int s)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	uint8_t got[16];

	return poll(&pfd, 1, 2000) == 1 && recv(s, got, sizeof(got), 0) == 4 && !memcmp(got, "mqin", 4);
}

/* A datagram written into queue fd: does a local socket get it? */
static bool write_reaches_stack(int fd)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(7) };
	int s = udp_socket();
	bool ok;

	assert_int_equal(inet_pton(AF_INET, "198.18.10.7", &src.sin_addr), 1);
	write_udp(fd, &src, s);
	ok = got_mqin(s);
	close(s);
	return ok;
}

/* The queue a flow leaves by: the one its packets were last written into
 * (the kernel learns it), whatever the hash said first.  This is what keeps
 * one flow on one connection both ways: the peer's packets of a flow come
 * in through the connection that carries it, and its answers go back out
 * through the same. */
static void test_flow_learning(void **state)
{
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(9) };
	uint8_t buf[2048];

	NEED_MQ();
	assert_int_equal(inet_pton(AF_INET, "198.18.10.1", &peer.sin_addr), 1);
	for (int i = 0; i < 8; i++) {
		int s = udp_socket(), first = -1, then = -1;

		for (int round = 0; round < 2; round++) {
			assert_int_equal(sendto(s, "mq", 2, 0, (struct sockaddr *)&peer, sizeof(peer)), 2);
			for (int q = 0; q < 2; q++) {
				ssize_t n;

				while ((n = read(t.q[q], buf, sizeof(buf))) > 0)	/* IPv6 noise too */
					if (n == VNET_HDR_LEN + 30 && buf[VNET_HDR_LEN + 9] == IPPROTO_UDP &&
					    !memcmp(buf + VNET_HDR_LEN + 16, &peer.sin_addr, 4))
						*(round ? &then : &first) = q;
			}
			if (round == 0) {
				assert_true(first >= 0);
				write_udp(t.q[1 - first], &peer, s);	/* the answer, by the other */
				assert_true(got_mqin(s));
			}
		}
		assert_int_equal(then, 1 - first);
		close(s);
	}
}

static void test_detach(void **state)
{
	struct pollfd pfd;
	unsigned got[2], n;
	uint8_t buf[64];

	NEED_MQ();
	assert_int_equal(tun_queue_enable(t.q[1], false), 0);
	assert_int_equal(tun_queue_enable(t.q[1], false), 0);	/* idempotent */
	assert_int_equal(net_tun_queues(t.idx, &n), 0);
	assert_int_equal(n, 2);	/* a detached queue still counts */
	send_flows(got);
	assert_int_equal(got[0], FLOWS);
	assert_int_equal(got[1], 0);

	/* What a loop sees of a detached queue: nothing to read, and what
	 * is written into it still reaches the stack (a connection whose
	 * queue is detached may still deliver what it had received). */
	pfd = (struct pollfd){ .fd = t.q[1], .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(read(t.q[1], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(tun_vnet_len(t.q[1]), VNET_HDR_LEN);
	assert_true(write_reaches_stack(t.q[1]));
	assert_true(write_reaches_stack(t.q[0]));

	assert_int_equal(tun_queue_enable(t.q[1], true), 0);
	assert_int_equal(tun_queue_enable(t.q[1], true), 0);	/* idempotent */
	assert_int_equal(tun_vnet_len(t.q[1]), VNET_HDR_LEN);
	send_flows(got);
	assert_int_equal(got[0] + got[1], FLOWS);
	assert_true(got[0] > 0);
	assert_true(got[1] > 0);
}

/* ethtool's view of one of the device's features. */
static bool dev_feature(uint32_t cmd)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t.name);
	ifr.ifr_data = (void *)&ev;
	assert_int_equal(ioctl(s, SIOCETHTOOL, &ifr), 0);
	close(s);
	return ev.data != 0;
}

/* TUNSETOFFLOAD is the device's: set through either queue, it holds for
 * both (one connection's peer decides for all, so they must agree). */
static void test_offload_per_device(void **state)
{
	unsigned caps = VNET_CAP_CSUM | VNET_CAP_TCP4 | VNET_CAP_TCP6;

	NEED_MQ();
	assert_int_equal(tun_set_offload(t.q[1], caps), caps);
	assert_true(dev_feature(ETHTOOL_GTSO));
	assert_true(dev_feature(ETHTOOL_GTXCSUM));
	assert_int_equal(tun_set_offload(t.q[0], 0), 0);
	assert_false(dev_feature(ETHTOOL_GTSO));
	assert_false(dev_feature(ETHTOOL_GTXCSUM));
	assert_int_equal(tun_set_offload(t.q[0], caps), caps);
	assert_true(dev_feature(ETHTOOL_GTSO));
	/* A queue that joins later (another connection) leaves them as set. */
	{
		int third = tun_attach_queue(t.name);

		assert_true(third >= 0);
		assert_true(dev_feature(ETHTOOL_GTSO));
		assert_true(dev_feature(ETHTOOL_GTXCSUM));
		close(third);
		assert_true(dev_feature(ETHTOOL_GTSO));
	}
	assert_int_equal(tun_set_offload(t.q[1], 0), 0);
	assert_false(dev_feature(ETHTOOL_GTSO));
}

static unsigned if_flags(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t.name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	close(s);
	return (unsigned short)ifr.ifr_flags;
}

/* Every queue detached (mq-changes.md): the device stays, up, with its
 * carrier and its routes, and the kernel drops what is routed into it
 * (nothing waits for a queue to come back).  So the client must never
 * detach its last queue: the tunnel would swallow traffic silently instead
 * of the routes failing over. */
static void test_all_detached(void **state)
{
	struct inet_prefix dst = pfx("198.18.10.1", 32), gw;
	unsigned got[2];
	int oif = 0;

	NEED_MQ();
	assert_int_equal(tun_queue_enable(t.q[0], false), 0);
	assert_int_equal(tun_queue_enable(t.q[1], false), 0);
	assert_true(if_flags() & IFF_UP);
	assert_true(if_flags() & IFF_RUNNING);	/* the carrier */
	assert_int_equal(net_route_get(&dst, &oif, &gw), 0);
	assert_int_equal(oif, t.idx);
	send_flows(got);	/* sendto succeeds: dropped inside */

	assert_int_equal(tun_queue_enable(t.q[0], true), 0);
	assert_int_equal(tun_queue_enable(t.q[1], true), 0);
	{
		int s = t.q[1];
		uint8_t buf[2048];
		ssize_t n;
		unsigned left = 0;

		/* Nothing of the dropped round waits in either queue. */
		for (int q = 0; q < 2; q++) {
			s = t.q[q];
			while ((n = read(s, buf, sizeof(buf))) > 0)
				if (n == VNET_HDR_LEN + 30 && buf[VNET_HDR_LEN + 9] == IPPROTO_UDP)
					left++;
		}
		assert_int_equal(left, 0);
	}
	send_flows(got);
	assert_int_equal(got[0] + got[1], FLOWS);
}

/* The device lives while any queue is open, the first one included:
 * closing queue 0 leaves the device and its routes to queue 1. */
static void test_close_first(void **state)
{
	unsigned got[2];

	NEED_MQ();
	close(t.q[0]);
	t.q[0] = -1;
	assert_int_equal(net_link_index(t.name), t.idx);
	assert_true(if_flags() & IFF_RUNNING);
	send_flows(got);
	assert_int_equal(got[1], FLOWS);

	/* And a new queue joins the device the remaining one holds. */
	t.q[0] = tun_attach_queue(t.name);
	if (t.q[0] < 0)
		fail_msg("tun_attach_queue: %s", (fail_msg)());
	send_flows(got);
	assert_int_equal(got[0] + got[1], FLOWS);
	assert_true(got[0] > 0);

	/* The last fd closed: the device goes. */
	close(t.q[0]);
	close(t.q[1]);
	t.q[0] = t.q[1] = -1;
	assert_int_equal(net_link_index(t.name), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_missing),
		cmocka_unit_test(test_attach_not_mq),
		cmocka_unit_test(test_create_mq),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_flow_learning),
		cmocka_unit_test(test_offload_per_device),
		cmocka_unit_test(test_all_detached),
		cmocka_unit_test(test_close_first),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
