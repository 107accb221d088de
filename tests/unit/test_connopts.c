/* --connections and -b (options.c): the range, the refusals, and which -b
 * is an address and which an interface (SO_BINDTODEVICE). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "fail.h"
#include "options.h"

static struct client_opts o;

/* sshtun ARGS... host: options_parse's answer, the failure in msg. */
static int parse(const char *msg_has, ...)
{
	char *argv[16] = { "sshtun" };
	int argc = 1, rc;
	va_list ap;
	const char *a;

	va_start(ap, msg_has);
	while ((a = va_arg(ap, const char *)))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc++] = "host";
	fail_clear();
	rc = options_parse(argc, argv, &o);
	if (msg_has) {
		assert_int_equal(rc, -1);
		assert_int_equal(fail_code(), EXIT_USAGE);
		if (!strstr(fail_msg(), msg_has))
			print_error("message `%s' lacks `%s'\n", fail_msg(), msg_has);
		assert_non_null(strstr(fail_msg(), msg_has));
	}
	return rc;
}

static void test_default(void **state)
{
	assert_int_equal(parse(NULL, NULL), 0);
	assert_int_equal(o.connections, 1);
	assert_int_equal(o.nbinds, 0);
}

static void test_range(void **state)
{
	assert_int_equal(parse(NULL, "--connections", "8", NULL), 0);
	assert_int_equal(o.connections, 8);
	parse("bad --connections `9'", "--connections", "9", NULL);
	parse("bad --connections `0'", "--connections", "0", NULL);
	parse("bad --connections `x'", "--connections", "x", NULL);
}

static void test_openssh(void **state)
{
	parse("needs sshtun's helper on the server", "--connections", "2", "--openssh", NULL);
	/* One connection with --openssh is today's. */
	assert_int_equal(parse(NULL, "--connections", "1", "--openssh", NULL), 0);
}

static void test_binds(void **state)
{
	assert_int_equal(parse(NULL, "--connections", "3", "-b", "198.51.100.2", "-b", "wlan0", NULL), 0);
	assert_int_equal(o.nbinds, 2);
	assert_string_equal(o.binds[0], "198.51.100.2");
	assert_false(o.bind_is_dev[0]);
	assert_string_equal(o.binds[1], "wlan0");
	assert_true(o.bind_is_dev[1]);
	/* The first address is BindAddress, as ssh's -b. */
	assert_string_equal(o.ssh.bind_addr, "198.51.100.2");
	assert_int_equal(parse(NULL, "-b", "2001:db8::2", NULL), 0);
	assert_false(o.bind_is_dev[0]);
	parse("3 -b for 2 connections", "--connections", "2", "-b", "a0", "-b", "a1", "-b", "a2", NULL);
	parse("2 -b for 1 connection", "-b", "eth0", "-b", "eth1", NULL);
	parse("bad -b `198.51.100.0/24'", "-b", "198.51.100.0/24", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_openssh),
		cmocka_unit_test(test_binds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
