/* The kill switch's nft script (killswitch.c): what it lets out, in which
 * order, and that it never writes past its buffer. */
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
#include "killswitch.h"

static char s[16384];

static void setup(struct killswitch *k, unsigned flags)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->table, sizeof(k->table), "sshtun_guard_42");
	snprintf(k->ifname, sizeof(k->ifname), "sshtun0");
	k->flags = flags;
	inet_prefix_parse("198.51.100.1", &k->servers[0].addr);
	k->servers[0].port = 2222;
	inet_prefix_parse("2001:db8::1", &k->servers[1].addr);
	k->servers[1].port = 22;
	k->nservers = 2;
}

static const char *at(const char *needle)
{
	const char *p = strstr(s, needle);

	if (!p)
		print_error("missing `%s' in:\n%s\n", needle, s);
	assert_non_null(p);
	return p;
}

static void test_kill(void **state)
{
	struct killswitch k;

	setup(&k, KS_KILL);
	assert_int_equal(ks_script(&k, NULL, 0, s, sizeof(s)), 0);
	/* Replaced in one transaction: declared, deleted, made anew. */
	assert_ptr_equal(s, at("table inet sshtun_guard_42\ndelete table inet sshtun_guard_42\n"));
	at("type filter hook output priority filter;");
	at("oifname \"lo\" accept");
	at("oifname \"sshtun0\" accept");
	at("ip daddr 198.51.100.1 tcp dport 2222 accept");
	at("ip6 daddr 2001:db8::1 tcp dport 22 accept");
	at("type filter hook forward priority filter;");
	/* The servers before the final reject; no LAN, no DNS rule. */
	assert_true(at("ip daddr 198.51.100.1") < at("counter reject"));
	assert_null(strstr(s, "th dport 53"));
	assert_null(strstr(s, "192.168.0.0/16"));
}

static void test_lan_dns(void **state)
{
	struct killswitch k;
	struct inet_prefix lan[2];

	inet_prefix_parse("203.0.113.0/24", &lan[0]);
	inet_prefix_parse("fe80::/10", &lan[1]);
	setup(&k, KS_KILL | KS_ALLOW_LAN | KS_DNS);
	assert_int_equal(ks_script(&k, lan, 2, s, sizeof(s)), 0);
	at("ip daddr { 203.0.113.0/24 } accept");
	at("ip6 daddr { fe80::/10 } accept");
	/* A resolver on the LAN is outside the tunnel: DNS is refused first. */
	assert_true(at("th dport 53") < at("ip daddr { 203.0.113.0/24 }"));
}

static void test_dns_only(void **state)
{
	struct killswitch k;

	setup(&k, KS_DNS);
	assert_int_equal(ks_script(&k, NULL, 0, s, sizeof(s)), 0);
	at("th dport 53 counter reject");
	assert_null(strstr(s, "hook forward"));
	assert_null(strstr(s, "udp sport 68"));
}

static void test_off_and_limits(void **state)
{
	struct killswitch k;
	char small[100];

	setup(&k, 0);
	assert_int_equal(ks_script(&k, NULL, 0, s, sizeof(s)), 0);
	assert_string_equal(s, "table inet sshtun_guard_42\ndelete table inet sshtun_guard_42\n");
	setup(&k, KS_KILL);
	memset(small, 'x', sizeof(small));
	assert_int_equal(ks_script(&k, NULL, 0, small, 80), -1);
	assert_int_equal(small[99], 'x');
	assert_true(ks_table_ok("sshtun_guard_1"));
	assert_false(ks_table_ok("sshtun_guard_"));
	assert_false(ks_table_ok("sshtun_rpf"));
	assert_false(ks_table_ok("sshtun_guard_1 x"));
	assert_false(ks_table_ok("sshtun_guard_1234567890123456789"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_lan_dns),
		cmocka_unit_test(test_dns_only),
		cmocka_unit_test(test_off_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
