/* Which account a helper serves (account.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "account.h"

static void test_account(void **state)
{
	struct account a;
	char err[128];

	/* Not root: the real uid, whatever the environment says. */
	assert_int_equal(account_resolve(4242001, "0", "root", &a, err, sizeof(err)), 0);
	assert_int_equal(a.uid, 4242001);
	assert_string_equal(a.name, "uid 4242001");
	/* Root through sudo: the account sudo ran for. */
	assert_int_equal(account_resolve(0, "4242002", "bob", &a, err, sizeof(err)), 0);
	assert_int_equal(a.uid, 4242002);
	assert_string_equal(a.name, "bob");
	assert_int_equal(account_resolve(0, "4242002", "b o b", &a, err, sizeof(err)), 0);
	assert_string_equal(a.name, "uid 4242002");
	/* A known uid is named by the password database, not by SUDO_USER. */
	assert_int_equal(account_resolve(0, "0", "alice", &a, err, sizeof(err)), 0);
	assert_int_equal(a.uid, 0);
	assert_string_equal(a.name, "root");
	/* Root itself. */
	assert_int_equal(account_resolve(0, NULL, "alice", &a, err, sizeof(err)), 0);
	assert_int_equal(a.uid, 0);
	assert_string_equal(a.name, "root");

	static const char *const bad[] = { "", "-1", "01", "1x", "4294967295", "99999999999" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(account_resolve(0, bad[i], "bob", &a, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "bad SUDO_UID `"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
