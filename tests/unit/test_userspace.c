/* User-space mode (userspace.h): which of the client's packets reach the
 * stack, the pair and the resolver it picks, the hello's stack key, and
 * packets through the stack's thread and back. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "hello.h"
#include "userspace.h"

static struct lease lease_of(const char *c4, const char *s4, const char *c6, const char *s6)
{
	struct lease l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(inet_prefix_parse(c4, &l.client4), 0);
	assert_int_equal(inet_prefix_parse(s4, &l.server4), 0);
	assert_int_equal(inet_prefix_parse(c6, &l.client6), 0);
	assert_int_equal(inet_prefix_parse(s6, &l.server6), 0);
	return l;
}

static size_t ip4(uint8_t *p, const char *dst, uint8_t proto)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	p[3] = 28;
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, "198.18.0.3", p + 12);
	assert_int_equal(inet_pton(AF_INET, dst, p + 16), 1);
	return 28;
}

static size_t ip6(uint8_t *p, const char *dst, uint8_t nh, uint8_t icmp_type)
{
	memset(p, 0, 48);
	p[0] = 0x60;
	p[5] = 8;
	p[6] = nh;
	p[7] = 64;
	inet_pton(AF_INET6, "2001:db8:77::3", p + 8);
	assert_int_equal(inet_pton(AF_INET6, dst, p + 24), 1);
	p[40] = icmp_type;
	return 48;
}

/* The server's loopback, "this host", multicast and broadcast never reach
 * the stack (slirp would connect to 127.0.0.1 as asked); the rest does. */
static void test_packet_ok(void **state)
{
	struct lease l = lease_of("198.18.0.3/31", "198.18.0.2/31", "2001:db8:77::3/127",
				  "2001:db8:77::2/127");
	uint8_t p[64];

	assert_true(uspace_packet_ok(p, ip4(p, "203.0.113.10", 6), &l));
	assert_true(uspace_packet_ok(p, ip4(p, "198.18.0.2", 1), &l));
	assert_false(uspace_packet_ok(p, ip4(p, "127.0.0.1", 6), &l));
	assert_false(uspace_packet_ok(p, ip4(p, "127.255.0.9", 17), &l));
	assert_false(uspace_packet_ok(p, ip4(p, "0.0.0.0", 6), &l));
	assert_false(uspace_packet_ok(p, ip4(p, "224.0.0.1", 17), &l));
	assert_false(uspace_packet_ok(p, ip4(p, "255.255.255.255", 17), &l));
	assert_false(uspace_packet_ok(p, 19, &l));	/* shorter than a header */

	assert_true(uspace_packet_ok(p, ip6(p, "2001:db8:203::10", 6, 0), &l));
	assert_false(uspace_packet_ok(p, ip6(p, "::1", 6, 0), &l));
	assert_false(uspace_packet_ok(p, ip6(p, "::", 17, 0), &l));
	assert_false(uspace_packet_ok(p, ip6(p, "::ffff:127.0.0.1", 6, 0), &l));
	assert_false(uspace_packet_ok(p, ip6(p, "ff02::1", 17, 0), &l));
	/* Echo: to the server's end only; neighbour discovery never. */
	assert_true(uspace_packet_ok(p, ip6(p, "2001:db8:77::2", 58, 128), &l));
	assert_false(uspace_packet_ok(p, ip6(p, "2001:db8:203::10", 58, 128), &l));
	assert_false(uspace_packet_ok(p, ip6(p, "2001:db8:77::2", 58, 135), &l));
	assert_false(uspace_packet_ok(p, ip6(p, "2001:db8:77::2", 58, 136), &l));
	assert_false(uspace_packet_ok(p, 39, &l));
	p[0] = 0x50;	/* neither version */
	assert_false(uspace_packet_ok(p, 48, &l));
}

/* The kernel's word on which addresses are this machine's: loopback and
 * every address of an interface are, addresses of no interface are not. */
static void test_own_address(void **state)
{
	struct ifaddrs *ifa, *i;
	uint8_t a[16];
	int checked = 0;

	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", a), 1);
	assert_true(uspace_own_address(AF_INET, a));
	assert_int_equal(inet_pton(AF_INET, "203.0.113.254", a), 1);
	assert_false(uspace_own_address(AF_INET, a));
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:ffff::1", a), 1);
	assert_false(uspace_own_address(AF_INET6, a));
	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
			continue;
		assert_true(uspace_own_address(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr));
		checked++;
	}
	freeifaddrs(ifa);
	assert_true(checked > 0);
}

static void test_pick(void **state)
{
	struct prefix_list avoid = { 0 }, dns;
	struct lease l;
	char err[256], s[64];

	assert_int_equal(uspace_pick("10.77.0.0/16", "fd77:7373:6874::/64", &avoid, &l, err, sizeof(err)), 0);
	assert_string_equal(inet_prefix_str(&l.server4, true, s, sizeof(s)), "10.77.0.2/31");
	assert_string_equal(inet_prefix_str(&l.client4, true, s, sizeof(s)), "10.77.0.3/31");
	assert_string_equal(inet_prefix_str(&l.server6, true, s, sizeof(s)), "fd77:7373:6874::2/127");
	assert_string_equal(inet_prefix_str(&l.client6, true, s, sizeof(s)), "fd77:7373:6874::3/127");
	uspace_resolvers("10.77.0.0/16", "fd77:7373:6874::/64", &l, &dns);
	assert_int_equal(dns.n, 2);
	assert_string_equal(inet_prefix_str(&dns.p[0], true, s, sizeof(s)), "10.77.0.1/32");
	assert_string_equal(inet_prefix_str(&dns.p[1], true, s, sizeof(s)), "fd77:7373:6874::1/128");

	/* The client's networks are skipped. */
	avoid.n = 2;
	inet_prefix_parse("10.77.0.2/31", &avoid.p[0]);
	inet_prefix_parse("10.77.0.5", &avoid.p[1]);
	assert_int_equal(uspace_pick("10.77.0.0/16", "none", &avoid, &l, err, sizeof(err)), 0);
	assert_string_equal(inet_prefix_str(&l.client4, true, s, sizeof(s)), "10.77.0.7/31");
	assert_int_equal(l.client6.family, 0);

	/* A /29 holds pairs 1..3; all taken: refused, naming the pool. */
	avoid.n = 1;
	inet_prefix_parse("198.18.0.0/29", &avoid.p[0]);
	assert_int_equal(uspace_pick("198.18.0.0/29", "none", &avoid, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "198.18.0.0/29"));
	assert_int_equal(uspace_pick("198.18.0.0/30", "none", &avoid, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/29 or wider"));
	assert_int_equal(uspace_pick("none", "none", &avoid, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no address pool"));
}

/* The hello says which stack the server runs; nothing else is taken. */
static void test_hello_stack(void **state)
{
	struct hello h, back;
	uint8_t out[HELLO_MAX];
	char err[256];
	int n;

	memset(&h, 0, sizeof(h));
	h.proto = 1;
	snprintf(h.stack, sizeof(h.stack), "userspace");
	n = hello_format(&h, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(hello_parse(out, (size_t)n, &back, err, sizeof(err)), 0);
	assert_string_equal(back.stack, "userspace");
	assert_int_equal(hello_parse((const uint8_t *)"proto=1\nstack=User\n", 19, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad stack"));
	assert_int_equal(hello_parse((const uint8_t *)"proto=1\nstack=\n", 15, &back, err, sizeof(err)), -1);
}

/* A ping to the server's end goes into the stack and its answer comes
 * back through the socketpair (slirp answers it itself). */
static void test_echo_through_stack(void **state)
{
	struct lease l = lease_of("198.18.0.3/31", "198.18.0.2/31", "2001:db8:77::3/127",
				  "2001:db8:77::2/127");
	struct uspace *u;
	uint8_t p[64], r[2048];
	char err[256];
	int fd;
	struct pollfd pfd;
	uint32_t sum = 0;
	ssize_t n;

	assert_int_equal(uspace_start(&u, err, sizeof(err)), 0);
	fd = uspace_begin(u, "198.18.0.0/24", "2001:db8:77::/64", &l, 1400, err, sizeof(err));
	assert_true(fd >= 0);
	ip4(p, "198.18.0.2", 1);
	p[10] = p[11] = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	p[10] = (uint8_t)(~sum >> 8);
	p[11] = (uint8_t)~sum;
	p[20] = 8;		/* echo request, id 0x1234 seq 1 */
	p[24] = 0x12;
	p[25] = 0x34;
	p[27] = 1;
	sum = 0;
	for (int i = 20; i < 28; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	p[22] = (uint8_t)(~sum >> 8);
	p[23] = (uint8_t)~sum;
	assert_int_equal(send(fd, p, 28, 0), 28);
	pfd.fd = fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	n = recv(fd, r, sizeof(r), 0);
	assert_int_equal(n, 28);
	assert_int_equal(r[20], 0);	/* echo reply */
	assert_memory_equal(r + 12, p + 16, 4);	/* from the server's end */
	assert_memory_equal(r + 16, p + 12, 4);	/* to the client */
	uspace_stop(u);
	uspace_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_ok),
		cmocka_unit_test(test_own_address),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_hello_stack),
		cmocka_unit_test(test_echo_through_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
