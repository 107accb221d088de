/* --push's names and commands (push.h); the upload itself is t_userspace's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "push.h"

static const char hash[] = "b606e61d8bfa0123456789abcdef0123456789abcdef0123456789abcdef0123";

static void test_name(void **state)
{
	char out[128];

	assert_int_equal(push_name("0.2.0 (6fb68d2)", hash, out, sizeof(out)), 0);
	assert_string_equal(out, "sshtun-0.2.0-6fb68d2-b606e61d8bfa");
	/* Nothing of the version can leave the directory or break the line. */
	assert_int_equal(push_name("../../x y;$(rm)`\n", hash, out, sizeof(out)), 0);
	assert_string_equal(out, "sshtun-..-..-x-y-rm-b606e61d8bfa");
	assert_int_equal(push_name("", hash, out, sizeof(out)), 0);
	assert_string_equal(out, "sshtun-b606e61d8bfa");
	assert_int_equal(push_name("0.2.0", hash, out, 20), -1);
}

static void test_command(void **state)
{
	char out[256];

	assert_int_equal(push_command("sshtun serve", "$HOME/.cache/sshtun/s", out, sizeof(out)), 0);
	assert_string_equal(out, "exec \"$HOME/.cache/sshtun/s\" serve");
	assert_int_equal(push_command("/usr/local/bin/sshtun serve --pool 198.18.0.0/24 -v", "P", out,
				      sizeof(out)), 0);
	assert_string_equal(out, "exec \"P\" serve --pool 198.18.0.0/24 -v");
	assert_int_equal(push_command("sudo -n sshtun serve --userspace", "P", out, sizeof(out)), 0);
	assert_string_equal(out, "exec \"P\" serve --userspace");
	/* No sshtun word (or a word that merely ends in it): plain serve. */
	assert_int_equal(push_command("mysshtun serve", "P", out, sizeof(out)), 0);
	assert_string_equal(out, "exec \"P\" serve");
	assert_int_equal(push_command("sshtun", "P", out, sizeof(out)), 0);
	assert_string_equal(out, "exec \"P\" serve");
	assert_int_equal(push_command("sshtun serve", "P", out, 8), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
