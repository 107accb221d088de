/* The state file reader: what root may act on in `sshtun cleanup`. */
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
#include "log.h"
#include "state.h"

#define PATH "/run/sshtun/x.state"
#define BACKUP PATH ".resolv.conf"

static struct state_record rec[8];

static int parse(const char *text)
{
	return state_parse(text, strlen(text), PATH, BACKUP, rec, (int)ARRAY_SIZE(rec));
}

static void test_good(void **state)
{
	log_level = LOG_QUIET;
	assert_int_equal(parse("pid 42\npin 198.51.100.1/32 2 198.51.100.254\ndns file " BACKUP "\n"
			       "dns resolvectl sshtun0\ndns resolvconf tun.sshtun0\n"), 5);
	assert_int_equal(rec[0].kind, STATE_PID);
	assert_int_equal(rec[0].pid, 42);
	assert_int_equal(rec[1].kind, STATE_PIN);
	assert_int_equal(rec[1].dst.family, AF_INET);
	assert_int_equal(rec[1].dst.plen, 32);
	assert_int_equal(rec[1].ifindex, 2);
	assert_int_equal(rec[2].kind, STATE_DNS);
	assert_string_equal(rec[2].args, "file " BACKUP);
	assert_string_equal(rec[4].args, "resolvconf tun.sshtun0");
	assert_int_equal(parse("nft sshtun_guard_4242\n"), 1);
	assert_int_equal(rec[0].kind, STATE_NFT);
	assert_string_equal(rec[0].table, "sshtun_guard_4242");
	assert_int_equal(parse("rule 203.0.113.0/24 4242 1936982017\n"), 1);
	assert_int_equal(rec[0].kind, STATE_RULE);
	assert_int_equal(rec[0].uid, 4242);
	assert_int_equal(rec[0].rule_table, 0x73740001);
	/* A TUN's ifindex counts every link the namespace ever made: past
	 * 65535 on a host that starts containers all day. */
	assert_int_equal(parse("rule 203.0.113.0/24 4242 1937052016\n"), 1);
	assert_int_equal(rec[0].kind, STATE_RULE);
	assert_int_equal(rec[0].rule_table, 0x73740000u + 70000);
	/* exec (execns.h): the namespace's rule and its NAT table. */
	assert_int_equal(parse("srcrule 169.254.77.7/32 1937047555\n"), 1);
	assert_int_equal(rec[0].kind, STATE_SRCRULE);
	assert_int_equal(rec[0].rule_table, 0x73750003);
	assert_int_equal(rec[0].dst.plen, 32);
	assert_int_equal(parse("nft sshtun_exec_4242\n"), 1);
	assert_int_equal(rec[0].kind, STATE_NFT);
	assert_string_equal(rec[0].table, "sshtun_exec_4242");
	assert_int_equal(parse("unreach 8000::/1\n"), 1);
	assert_int_equal(rec[0].kind, STATE_UNREACH);
	assert_int_equal(rec[0].dst.family, AF_INET6);
	assert_int_equal(rec[0].dst.plen, 1);
}

/* Each of these is skipped; the good line after it still counts. */
static void test_hostile(void **state)
{
	static const char *const bad[] = {
		"pid 0", "pid -5", "pid 12x", "pid 99999999999",
		"pin 10.0.0.0/8 0", "pin 10.0.0.0/8 -1", "pin nonsense 2", "pin 10.0.0.0/8",
		"pin 10.0.0.0/8 2 2001:db8::1", "pin 10.0.0.0/8 2 10.0.0.1 extra",
		"dns file /etc/shadow", "dns file " BACKUP "x", "dns resolvectl --set-dns",
		"dns resolvectl a b", "dns resolvconf ../x", "dns nsupdate x", "dns",
		"rm -rf /", "noargs",
		"nft", "nft sshtun", "nft sshtun_guard_", "nft sshtun_guard_12 x", "nft sshtun_guard_1;flush",
		"nft sshtun_rpf", "nft sshtun_guard_123456789012345678901234567890",
		"rule 10.0.0.0/8 1000", "rule 10.0.0.0/8 x 1936982017", "rule 10.0.0.0/8 1000 254",
		"rule 10.0.0.0/8 1000 1936982017 x", "rule 0.0.0.0/0 1000 1936982017", "rule 10.0.0.0/8 -1 1936982017",
		"srcrule", "srcrule 169.254.77.7/32", "srcrule 169.254.77.0/31 1937047555",
		"srcrule 169.254.77.7/32 254", "srcrule 2001:db8::1/128 1937047555",
		"srcrule 169.254.77.7/32 1937047555 x", "nft sshtun_exec_", "nft sshtun_exec_1;flush",
		"unreach", "unreach ::/0", "unreach 10.0.0.0/8", "unreach ::/1 x", "unreach nonsense",
	};

	log_level = LOG_QUIET;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[200];

		snprintf(text, sizeof(text), "%s\npid 7\n", bad[i]);
		assert_int_equal(parse(text), 1);
		assert_int_equal(rec[0].kind, STATE_PID);
		assert_int_equal(rec[0].pid, 7);
	}
}

static void test_limits(void **state)
{
	char text[2000];

	log_level = LOG_QUIET;
	/* No newline at the end: the last line is not taken. */
	assert_int_equal(parse("pid 7\npin 10.0.0.0/8 1"), 1);
	/* A line too long ends the reading. */
	memset(text, '9', sizeof(text));
	memcpy(text, "pid 7\npin ", 10);
	strcpy(text + sizeof(text) - 12, "\npid 8\n");
	assert_int_equal(parse(text), 1);
	/* A NUL byte too. */
	assert_int_equal(state_parse("pid 7\npid\0 8\npid 9\n", 19, PATH, BACKUP, rec, 8), 1);
	/* Never more than asked for. */
	assert_int_equal(state_parse("pid 1\npid 2\npid 3\n", 18, PATH, BACKUP, rec, 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
