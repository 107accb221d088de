/* Dead-peer detection's count (alive.c): only keepalives that time out
 * count; any answer clears; --compress auto's round-trip pings and the
 * user's pings never make the server dead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alive.h"
#include "pressure.h"

#define COUNT_MAX 3		/* ServerAliveCountMax's default */
#define INTERVAL_MS 4000	/* ServerAliveInterval's default */

/* A stall on a flooded link just over one interval (4.5 s), as the loop
 * sees it: the keepalive sent before it times out, and so does every
 * round-trip ping sent during its first half second and before (one each
 * PRESSURE_PING_MS, the same timeout); then the answers come.  The client
 * used to count each as a missed keepalive: dead after 4.5 s, not 12. */
static void test_stall_of_one_interval(void **state)
{
	struct alive a;

	alive_reset(&a);
	alive_ping_done(&a, PING_KEEPALIVE, -1);
	for (int t = 0; t <= 500 + INTERVAL_MS / 2; t += PRESSURE_PING_MS) {
		alive_ping_done(&a, PING_PRESSURE, -1);
		assert_false(alive_dead(&a, COUNT_MAX));
	}
	assert_int_equal(a.missed, 1);
	alive_ping_done(&a, PING_PRESSURE, 4600.0);	/* the first answer */
	assert_int_equal(a.missed, 0);
}

/* CountMax keepalives in a row unanswered: dead, whatever else timed out
 * between them. */
static void test_count_max_keepalives(void **state)
{
	struct alive a;

	alive_reset(&a);
	for (int k = 1; k <= COUNT_MAX; k++) {
		assert_false(alive_dead(&a, COUNT_MAX));
		for (int i = 0; i < INTERVAL_MS / PRESSURE_PING_MS; i++)
			alive_ping_done(&a, PING_PRESSURE, -1);
		alive_ping_done(&a, PING_ASKED, -1);
		alive_ping_done(&a, PING_KEEPALIVE, -1);
		assert_int_equal(a.missed, k);
	}
	assert_true(alive_dead(&a, COUNT_MAX));
	assert_false(alive_dead(&a, COUNT_MAX + 1));
}

/* Any answer proves the server alive: the count starts again. */
static void test_any_answer_clears(void **state)
{
	static const enum ping_why whys[] = { PING_KEEPALIVE, PING_PRESSURE, PING_ASKED };

	for (size_t i = 0; i < sizeof(whys) / sizeof(whys[0]); i++) {
		struct alive a;

		alive_reset(&a);
		alive_ping_done(&a, PING_KEEPALIVE, -1);
		alive_ping_done(&a, PING_KEEPALIVE, -1);
		alive_ping_done(&a, whys[i], 0.0);	/* an answer, however fast */
		alive_ping_done(&a, PING_KEEPALIVE, -1);
		alive_ping_done(&a, PING_KEEPALIVE, -1);
		assert_false(alive_dead(&a, COUNT_MAX));
		alive_ping_done(&a, PING_KEEPALIVE, -1);
		assert_true(alive_dead(&a, COUNT_MAX));
		alive_reset(&a);	/* a new connection */
		assert_false(alive_dead(&a, 1));
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stall_of_one_interval),
		cmocka_unit_test(test_count_max_keepalives),
		cmocka_unit_test(test_any_answer_clears),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
