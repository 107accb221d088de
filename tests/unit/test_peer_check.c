/* What the client accepts from a server's hello (peer_check.c), against a
 * machine with a LAN, a gateway, a resolver and an SSH server. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "peer_check.h"

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

static struct peer_facts facts;

static void pfx(struct inet_prefix *p, const char *s)
{
	assert_int_equal(inet_prefix_parse(s, p), 0);
}

/* LAN 192.0.2.0/24 and 2001:db8:1::/64 (gateway 192.0.2.1), an on-link
 * gateway 198.18.9.1, resolver 203.0.113.53, SSH server 198.51.100.10. */
static int setup(void **state)
{
	memset(&facts, 0, sizeof(facts));
	pfx(&facts.nets[facts.nnets++], "192.0.2.0/24");
	pfx(&facts.nets[facts.nnets++], "2001:db8:1::/64");
	pfx(&facts.gateways[facts.ngateways++], "192.0.2.1");
	pfx(&facts.gateways[facts.ngateways++], "198.18.9.1");
	pfx(&facts.resolvers[facts.nresolvers++], "203.0.113.53");
	pfx(&facts.server, "198.51.100.10");
	return 0;
}

/* A good hello: 10.77.0.0/31 and fd77::2/127, no offers. */
static void good(struct hello *h)
{
	memset(h, 0, sizeof(*h));
	h->proto = 1;
	pfx(&h->client4, "10.77.0.1/31");
	pfx(&h->server4, "10.77.0.0/31");
	pfx(&h->client6, "fd77::3/127");
	pfx(&h->server6, "fd77::2/127");
}

static void set_pair4(struct hello *h, const char *client, const char *server)
{
	pfx(&h->client4, client);
	pfx(&h->server4, server);
}

static void refused(const struct hello *h, bool want_dns, const char *want)
{
	char err[ERROR_MSG_MAX] = "";

	if (peer_check_hello(h, &facts, want_dns, err, sizeof(err)) != -1) {
		print_error("accepted; want a refusal with `%s'\n", want);
		_fail(__FILE__, __LINE__);
	}
	assert_contains(err, want);
	assert_null(strchr(err, '\n'));
}

static void accepted(const struct hello *h, bool want_dns)
{
	char err[ERROR_MSG_MAX] = "";

	if (peer_check_hello(h, &facts, want_dns, err, sizeof(err)) != 0) {
		print_error("refused: %s\n", err);
		_fail(__FILE__, __LINE__);
	}
}

static void test_good(void **state)
{
	struct hello h;

	good(&h);
	accepted(&h, false);
	accepted(&h, true);
	memset(&h.client6, 0, sizeof(h.client6));	/* IPv4 only */
	memset(&h.server6, 0, sizeof(h.server6));
	accepted(&h, false);
	good(&h);
	memset(&h.client4, 0, sizeof(h.client4));	/* IPv6 only */
	memset(&h.server4, 0, sizeof(h.server4));
	accepted(&h, false);
}

static void test_shape(void **state)
{
	struct hello h;

	memset(&h, 0, sizeof(h));
	refused(&h, false, "no address");
	good(&h);
	set_pair4(&h, "10.77.0.1/30", "10.77.0.0/30");
	refused(&h, false, "10.77.0.1/30 (itself 10.77.0.0/30), not a /31 pair");
	set_pair4(&h, "10.77.0.1/31", "10.77.0.2/31");	/* not mates */
	refused(&h, false, "not a /31 pair");
	set_pair4(&h, "10.77.0.1/31", "10.77.0.1/31");	/* the same address */
	refused(&h, false, "not a /31 pair");
	memset(&h.server4, 0, sizeof(h.server4));
	refused(&h, false, "gave no address of its own");
	good(&h);
	memset(&h.client4, 0, sizeof(h.client4));
	refused(&h, false, "gave itself 10.77.0.0/31");
	good(&h);
	pfx(&h.server6, "fd77::4/127");
	refused(&h, false, "fd77::3/127 (itself fd77::4/127), not a /127 pair");
	good(&h);
	pfx(&h.client6, "fd77::3/64");
	refused(&h, false, "not a /127 pair");
}

static void test_pair_overlaps(void **state)
{
	struct hello h;

	good(&h);
	set_pair4(&h, "192.0.2.200/31", "192.0.2.201/31");
	refused(&h, false, "the pair 192.0.2.200/31, which overlaps this client's network 192.0.2.0/24");
	/* The most harmful overlap is named: the gateway before its LAN. */
	set_pair4(&h, "192.0.2.0/31", "192.0.2.1/31");
	refused(&h, false, "this client's gateway 192.0.2.1;");
	set_pair4(&h, "198.18.9.1/31", "198.18.9.0/31");
	refused(&h, false, "the pair 198.18.9.1/31, which overlaps this client's gateway 198.18.9.1");
	set_pair4(&h, "203.0.113.52/31", "203.0.113.53/31");
	refused(&h, false, "this client's resolver 203.0.113.53");
	set_pair4(&h, "198.51.100.11/31", "198.51.100.10/31");
	refused(&h, false, "the SSH server's address 198.51.100.10");
	good(&h);
	pfx(&h.client6, "2001:db8:1::5/127");
	pfx(&h.server6, "2001:db8:1::4/127");
	refused(&h, false, "the pair 2001:db8:1::5/127, which overlaps this client's network 2001:db8:1::/64");
	/* Special ranges, whatever this machine uses. */
	good(&h);
	set_pair4(&h, "127.0.0.0/31", "127.0.0.1/31");
	refused(&h, false, "the pair 127.0.0.0/31, inside the special range 127.0.0.0/8");
	set_pair4(&h, "169.254.1.0/31", "169.254.1.1/31");
	refused(&h, false, "special range 169.254.0.0/16");
	set_pair4(&h, "255.255.255.254/31", "255.255.255.255/31");
	refused(&h, false, "special range 224.0.0.0/3");
	good(&h);
	pfx(&h.client6, "fe80::1/127");
	pfx(&h.server6, "fe80::/127");
	refused(&h, false, "the pair fe80::1/127, inside the special range fe80::/10");
	pfx(&h.client6, "::1/127");
	pfx(&h.server6, "::/127");
	refused(&h, false, "special range ::/127");
	/* An unknown server (ProxyCommand) is no overlap. */
	good(&h);
	set_pair4(&h, "198.51.100.11/31", "198.51.100.10/31");
	memset(&facts.server, 0, sizeof(facts.server));
	accepted(&h, false);
}

static void test_dns(void **state)
{
	struct hello h;

	good(&h);
	pfx(&h.dns.p[h.dns.n++], "10.77.0.0");	/* the server's inner address */
	pfx(&h.dns.p[h.dns.n++], "fd77::2/128");
	pfx(&h.dns.p[h.dns.n++], "9.9.9.9");
	accepted(&h, true);
	pfx(&h.dns.p[h.dns.n++], "0.0.0.0/1");
	/* A network is never a resolver, --dns or not. */
	refused(&h, false, "the resolver 0.0.0.0/1: a resolver is one address, not a network");
	good(&h);
	pfx(&h.dns.p[h.dns.n++], "::/0");
	refused(&h, false, "the resolver ::/0");
	/* Where a resolver is matters only when it is going to be used. */
	good(&h);
	pfx(&h.dns.p[h.dns.n++], "192.0.2.1");
	accepted(&h, false);
	refused(&h, true, "the resolver 192.0.2.1, which is inside this client's network 192.0.2.0/24");
	good(&h);
	pfx(&h.dns.p[h.dns.n++], "198.51.100.10");
	refused(&h, true, "the resolver 198.51.100.10, which is the SSH server's own address");
}

static void test_dns_alone(void **state)
{
	struct prefix_list dns = { 0 };
	char err[ERROR_MSG_MAX];

	assert_int_equal(peer_check_dns(&dns, &facts, err, sizeof(err)), 0);
	pfx(&dns.p[dns.n++], "2001:db8:1::53");
	assert_int_equal(peer_check_dns(&dns, &facts, err, sizeof(err)), -1);
	assert_contains(err, "inside this client's network 2001:db8:1::/64");
	/* No err buffer is fine. */
	assert_int_equal(peer_check_dns(&dns, &facts, NULL, 0), -1);
}

static void test_src(void **state)
{
	struct inet_prefix routes[2];
	struct hello h;
	struct in_addr a4;
	struct in6_addr a6;

	good(&h);
	pfx(&routes[0], "203.0.113.0/24");
	pfx(&routes[1], "2001:db8:99::/48");
	inet_pton(AF_INET, "10.77.0.0", &a4);
	assert_true(peer_src_allowed(AF_INET, &a4, &h, routes, 2));
	inet_pton(AF_INET, "203.0.113.66", &a4);
	assert_true(peer_src_allowed(AF_INET, &a4, &h, routes, 2));
	assert_false(peer_src_allowed(AF_INET, &a4, &h, routes, 0));
	inet_pton(AF_INET, "10.77.0.2", &a4);
	assert_false(peer_src_allowed(AF_INET, &a4, &h, routes, 2));
	inet_pton(AF_INET6, "fd77::2", &a6);
	assert_true(peer_src_allowed(AF_INET6, &a6, &h, routes, 2));
	inet_pton(AF_INET6, "2001:db8:99:1::1", &a6);
	assert_true(peer_src_allowed(AF_INET6, &a6, &h, routes, 2));
	inet_pton(AF_INET6, "2001:db8:66::66", &a6);
	assert_false(peer_src_allowed(AF_INET6, &a6, &h, routes, 2));
	/* No IPv6 lease: only routes let IPv6 in. */
	memset(&h.client6, 0, sizeof(h.client6));
	inet_pton(AF_INET6, "fd77::2", &a6);
	assert_false(peer_src_allowed(AF_INET6, &a6, &h, routes, 2));
	assert_false(peer_src_allowed(AF_UNIX, &a6, &h, routes, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_good, setup),
		cmocka_unit_test_setup(test_shape, setup),
		cmocka_unit_test_setup(test_pair_overlaps, setup),
		cmocka_unit_test_setup(test_dns, setup),
		cmocka_unit_test_setup(test_dns_alone, setup),
		cmocka_unit_test_setup(test_src, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
