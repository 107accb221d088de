/* --compress auto's round-trip verdict (pressure.c): a queue that shows in
 * one answer counts at once, not at the next tick; the CPU check holds, and
 * it is about our own thread, not the machine. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pressure.h"

static void test_verdict_at_once(void **state)
{
	struct pressure p = { .cpu_busy = 0 };	/* as the last tick saw it */

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
	struct pressure p = { 0 };

	pressure_cpu(&p, 1000, 1000000);
	pressure_cpu(&p, 1000 + 950000000, 1000000 + 1000000000);	/* 95% */
	assert_false(pressure_cpu_ok(&p));
	pressure_rtt(&p, 1.0);
	pressure_rtt(&p, 200.0);
	assert_false(p.congested);
	pressure_cpu(&p, 1000 + 950000000 + 850000000, 1000000 + 2000000000u);	/* 85% */
	assert_true(pressure_cpu_ok(&p));
	pressure_rtt(&p, 200.0);
	assert_true(p.congested);
	/* A clock that did not move says nothing about the CPU. */
	pressure_cpu(&p, 5000000000u, 1000000 + 2000000000u);
	assert_true(pressure_cpu_ok(&p));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0)
		;
}

static void spin_ms(long ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

/* The real readings.  A machine kept busy by others (a spinning child per
 * CPU) while this thread waits for its link: not CPU-bound, compression may
 * go on (the machine-wide idle share, under 25% here, used to stop it).
 * This thread spinning: CPU-bound, whatever else runs. */
static void test_cpu_own_thread(void **state)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pid_t kids[64];
	int n = 0;
	struct pressure p = { 0 };

	if (ncpu < 1 || ncpu > 64)
		ncpu = ncpu < 1 ? 1 : 64;
	for (; n < ncpu; n++) {
		kids[n] = fork();
		assert_true(kids[n] >= 0);
		if (kids[n] == 0) {
			(void)!nice(19);
			for (;;)
				;
		}
	}
	pressure_tick(&p);
	sleep_ms(300);
	pressure_tick(&p);
	for (int i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	if (!p.wall_ns)
		skip();		/* no schedstat here */
	assert_true(pressure_cpu_ok(&p));

	/* The spin alone: the reaping above sleeps in waitpid until each
	 * child got the CPU to die, which on a loaded machine took long
	 * enough to pull the spin's share under 90%. */
	pressure_tick(&p);
	spin_ms(300);
	pressure_tick(&p);
	assert_false(pressure_cpu_ok(&p));
}

/* 3x and 10 ms above the idle round trip, both. */
static void test_thresholds(void **state)
{
	struct pressure p = { 0 };

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
		cmocka_unit_test(test_cpu_own_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
