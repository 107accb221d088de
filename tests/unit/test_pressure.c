/* --compress auto's round-trip verdict (pressure.c): a queue that shows in
 * one answer counts at once, not at the next tick; the CPU check holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pressure.h"

static void test_verdict_at_once(void **state)
{
	struct pressure p = { .cpu_idle = 1.0 };	/* as the last tick saw it */

	pressure_rtt(&p, 1.0);
	pressure_rtt(&p, 1.2);
	assert_false(p.congested);
	pressure_rtt(&p, 60.0);		/* srtt 1.15 * 0.75 + 15: queueing */
	assert_true(p.congested);
	for (int i = 0; i < 20; i++)
		pressure_rtt(&p, 1.0);
	assert_false(p.congested);	/* drained */
}

static void test_cpu_busy(void **state)
{
	struct pressure p = { .cpu_idle = PRESSURE_CPU_IDLE_MIN / 2 };

	pressure_rtt(&p, 1.0);
	pressure_rtt(&p, 200.0);
	assert_false(p.congested);
	p.cpu_idle = PRESSURE_CPU_IDLE_MIN;
	pressure_rtt(&p, 200.0);
	assert_true(p.congested);
}

/* 3x and 10 ms above the idle round trip, both. */
static void test_thresholds(void **state)
{
	struct pressure p = { .cpu_idle = 1.0 };

	pressure_rtt(&p, 20.0);
	pressure_rtt(&p, 70.0);		/* srtt 32.5: 10 ms above, not 3x */
	assert_false(p.congested);
	pressure_rtt(&p, 200.0);	/* srtt 74.4 */
	assert_true(p.congested);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_at_once),
		cmocka_unit_test(test_cpu_busy),
		cmocka_unit_test(test_thresholds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
