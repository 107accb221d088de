/* pidexe.c: the one "is this pid our binary" check (a stale helper to stop,
 * a dead instance's records to undo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "pidexe.h"

static void test_exe_same(void **state)
{
	assert_true(exe_same("/usr/bin/sshtun", "/usr/bin/sshtun"));
	/* An upgrade replaced the file the old helper runs. */
	assert_true(exe_same("/usr/bin/sshtun (deleted)", "/usr/bin/sshtun"));
	assert_true(exe_same("/usr/bin/sshtun", "/usr/bin/sshtun (deleted)"));
	assert_false(exe_same("/usr/bin/sshtun2", "/usr/bin/sshtun"));
	assert_false(exe_same("/usr/bin/sshtun", "/usr/bin/sshtun2"));
	assert_false(exe_same("/usr/bin/sshtun2 (deleted)", "/usr/bin/sshtun"));
	assert_false(exe_same("/usr/local/bin/sshtun", "/usr/bin/sshtun"));
	assert_false(exe_same(" (deleted)", ""));
}

static void test_pids(void **state)
{
	pid_t child;
	int status;

	assert_int_equal(pid_runs_our_binary(getpid()), 1);
	assert_int_equal(pid_runs_our_binary(0), 0);
	assert_int_equal(pid_runs_our_binary(-5), 0);
	/* A child that exec'd something else is not ours. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execl("/bin/sleep", "sleep", "5", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && pid_runs_our_binary(child) == 1; i++)
		usleep(10 * 1000);	/* until the exec has happened */
	assert_int_equal(pid_runs_our_binary(child), 0);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	assert_int_equal(pid_runs_our_binary(child), 0);	/* gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_same),
		cmocka_unit_test(test_pids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
