/* The receive window rule (window.c) against a simulated path: a peer that
 * sends what its window allows, at most the link's rate, one way delay
 * before we see it and one before it sees our grants.  Checks: the credit
 * never exceeds the cap, it grows to carry a long fat path (more than the
 * 2 MiB libssh2 default allows), it stays at the floor on a short fast
 * path, and a reader that slows down or stalls is not sent more. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "window.h"

#define SIM_STEPS 12000		/* simulated time, in steps of step_us */

struct sim {
	struct rx_window w;
	uint64_t step_us;	/* one simulation step */
	unsigned delay;		/* one-way delay, in steps */
	uint64_t link;		/* bytes the link carries per step */
	uint64_t drain;		/* bytes the reader consumes per step; 0: all */
	uint64_t peer_window;	/* what the peer may still send */
	uint64_t ours;		/* what we think the peer may still send */
	uint64_t held;		/* arrived, not consumed yet */
	uint64_t *to_us, *to_peer;	/* in flight, by arrival step */
	uint64_t consumed, max_credit;
};

static void sim_init(struct sim *s, uint64_t step_us, unsigned delay, uint64_t link)
{
	memset(s, 0, sizeof(*s));
	rx_window_init(&s->w);
	s->step_us = step_us;
	s->delay = delay;
	s->link = link;
	s->peer_window = s->ours = WINDOW_OPEN;
	s->to_us = calloc(SIM_STEPS + delay + 1, sizeof(uint64_t));
	s->to_peer = calloc(SIM_STEPS + delay + 1, sizeof(uint64_t));
	assert_non_null(s->to_us);
	assert_non_null(s->to_peer);
}

static void sim_free(struct sim *s)
{
	free(s->to_us);
	free(s->to_peer);
}

/* Runs steps [from, to); returns the bytes consumed in them. */
static uint64_t sim_run(struct sim *s, unsigned from, unsigned to)
{
	uint64_t before = s->consumed;

	for (unsigned t = from; t < to; t++) {
		uint64_t send, take, credit;

		s->peer_window += s->to_peer[t];
		send = s->peer_window < s->link ? s->peer_window : s->link;
		s->peer_window -= send;
		s->to_us[t + s->delay] += send;

		/* Arrivals take credit; then the reader consumes. */
		s->ours -= s->to_us[t];
		s->held += s->to_us[t];
		take = s->drain && s->held > s->drain ? s->drain : s->held;
		if (take) {
			uint32_t g;

			s->held -= take;
			s->consumed += take;
			rx_window_consumed(&s->w, (t + 1) * s->step_us, take);
			g = rx_window_grant(&s->w, s->ours + s->held);
			s->ours += g;
			s->to_peer[t + s->delay] += g;
		}
		credit = s->ours + s->held;
		if (credit > s->max_credit)
			s->max_credit = credit;
		assert_true(s->w.target >= WINDOW_FLOOR && s->w.target <= WINDOW_CAP);
		/* The peer never holds more credit than we granted. */
		assert_true(s->peer_window <= s->ours);
		/* Every 250 ms a ping measures the idle round trip (the
		 * rule keeps the lowest; queued pings only read higher). */
		if (t % (250000 / s->step_us) == 0)
			rx_window_rtt(&s->w, 2.0 * s->delay * (double)s->step_us / 1000.0);
	}
	return s->consumed - before;
}

static double mbit(uint64_t bytes, uint64_t us)
{
	return (double)bytes * 8 / (double)us;
}

/* 100 ms round trip, 800 Mbit/s link: the bandwidth-delay product is 10 MB.
 * The credit grows from the floor to the cap within a few seconds and the
 * transfer then runs at the link's rate: more than the 2 MiB window's
 * 168 Mbit/s, never more than the cap in flight. */
static void test_long_fat_path(void **state)
{
	struct sim s;
	uint64_t late;
	(void)state;

	sim_init(&s, 1000, 50, 100000);
	sim_run(&s, 0, 6000);
	late = sim_run(&s, 6000, 8000);
	print_message("# long fat path: %.0f Mbit/s, credit %u (cap %u), peak %llu\n",
		      mbit(late, 2000 * 1000), s.w.target, WINDOW_CAP, (unsigned long long)s.max_credit);
	assert_true(mbit(late, 2000 * 1000) > 0.9 * 800);
	assert_true(s.max_credit <= WINDOW_CAP);
	assert_int_equal(s.w.target, WINDOW_CAP);	/* twice the BDP is over it */
	sim_free(&s);
}

/* The credit follows rate x RTT: 20 ms and 20 Mbit/s (BDP 50 kB) keep the
 * floor; 20 ms and 400 Mbit/s (BDP 1 MB) grow to about twice the BDP. */
static void test_follows_rate_times_rtt(void **state)
{
	struct sim s;
	uint64_t late;
	(void)state;

	sim_init(&s, 1000, 10, 2500);
	sim_run(&s, 0, 3000);
	assert_int_equal(s.w.target, WINDOW_FLOOR);
	sim_free(&s);

	sim_init(&s, 1000, 10, 50000);
	sim_run(&s, 0, 3000);
	late = sim_run(&s, 3000, 4000);
	print_message("# 20 ms, 400 Mbit/s: %.0f Mbit/s, credit %u\n", mbit(late, 1000 * 1000), s.w.target);
	assert_true(mbit(late, 1000 * 1000) > 0.9 * 400);
	assert_true(s.w.target >= 1500000 && s.w.target <= 2500000);
	assert_true(s.max_credit <= 2500000);
	sim_free(&s);
}

/* A short fast path (0.4 ms round trip, 2 Gbit/s): the floor carries it,
 * and the credit stays there, so no more than the floor queues in sshd. */
static void test_fast_path_keeps_floor(void **state)
{
	struct sim s;
	uint64_t late;
	(void)state;

	sim_init(&s, 100, 2, 25000);	/* 100 us steps: 250 MB/s */
	sim_run(&s, 0, 4000);
	late = sim_run(&s, 4000, 8000);
	assert_true(mbit(late, 4000 * 100) > 0.9 * 2000);
	assert_int_equal(s.w.target, WINDOW_FLOOR);
	assert_true(s.max_credit <= WINDOW_FLOOR);
	sim_free(&s);
}

/* The reader slows to 8 Mbit/s after the credit grew for 800 Mbit/s: what
 * we hold unread plus what the peer may send never exceeds the target, and
 * the target falls back to the floor as the delivery rate falls. */
static void test_slow_reader(void **state)
{
	struct sim s;
	uint64_t credit;
	(void)state;

	sim_init(&s, 1000, 50, 100000);
	sim_run(&s, 0, 4000);
	assert_true(s.w.target > 4 * 1024 * 1024);
	s.drain = 1000;
	credit = s.ours + s.held;
	s.max_credit = 0;
	sim_run(&s, 4000, 12000);
	/* Granted credit cannot be taken back, but none is added while
	 * what was granted drains at the reader's pace. */
	assert_true(s.max_credit <= credit);
	assert_int_equal(s.w.target, WINDOW_FLOOR);
	sim_free(&s);
}

/* A reader that stops: nothing consumed, nothing granted; the peer sends
 * what it had and then nothing, however high the rate was. */
static void test_stalled_reader(void **state)
{
	struct sim s;
	uint64_t granted_before, credit;
	(void)state;

	sim_init(&s, 1000, 50, 100000);
	sim_run(&s, 0, 4000);
	credit = s.ours + s.held;
	granted_before = s.consumed + credit;
	s.drain = 0;
	/* A stall: arrivals are held, the reader takes nothing. */
	for (unsigned t = 4000; t < 6000; t++) {
		s.peer_window += s.to_peer[t];
		uint64_t send = s.peer_window < s.link ? s.peer_window : s.link;
		s.peer_window -= send;
		s.to_us[t + s.delay] += send;
		s.ours -= s.to_us[t];
		s.held += s.to_us[t];
	}
	/* All in all we granted what we had granted: the stall added none. */
	assert_int_equal(s.consumed + s.ours + s.held, granted_before);
	assert_true(s.held <= WINDOW_CAP);
	assert_int_equal(s.peer_window, 0);
	sim_free(&s);
}

static void test_rules(void **state)
{
	struct rx_window w;
	(void)state;

	rx_window_init(&w);
	assert_int_equal(w.target, WINDOW_FLOOR);
	/* Nothing below three quarters used: no grant (one adjust per
	 * quarter of the window, not per read). */
	assert_int_equal(rx_window_grant(&w, WINDOW_FLOOR), 0);
	assert_int_equal(rx_window_grant(&w, WINDOW_FLOOR - WINDOW_FLOOR / 4 + 1), 0);
	assert_int_equal(rx_window_grant(&w, WINDOW_FLOOR / 2), WINDOW_FLOOR / 2);
	assert_int_equal(rx_window_grant(&w, 0), WINDOW_FLOOR);
	assert_int_equal(rx_window_grant(&w, 100u * WINDOW_CAP), 0);
	/* Nonsense round trips are ignored; the lowest is kept. */
	rx_window_rtt(&w, -1);
	rx_window_rtt(&w, NAN);
	rx_window_rtt(&w, 0);
	assert_true(w.min_rtt_ms == 0);
	rx_window_rtt(&w, 30);
	rx_window_rtt(&w, 10);
	rx_window_rtt(&w, 50);
	assert_true(w.min_rtt_ms == 10);
	/* 1 GB/s over 10 ms is 10 MB, twice that is over the cap. */
	rx_window_consumed(&w, 1000000, 1000);
	rx_window_consumed(&w, 1020000, 20000000);
	assert_int_equal(w.target, WINDOW_CAP);
	/* An idle gap (over a second) is not a slow rate: the read after
	 * it starts a sample, it does not close one. */
	rx_window_consumed(&w, 5000000, 10);
	assert_int_equal(w.target, WINDOW_CAP);
	/* A slow sample takes a quarter off the rate, not all of it. */
	rx_window_consumed(&w, 5030000, 10);
	assert_true(w.target > 14900000 && w.target < 15100000);	/* 0.75 GB/s x 10 ms x 2 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_long_fat_path),
		cmocka_unit_test(test_follows_rate_times_rtt),
		cmocka_unit_test(test_fast_path_keeps_floor),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_stalled_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
