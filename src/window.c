/* See window.h. */
#include "window.h"

void rx_window_init(struct rx_window *w)
{
	*w = (struct rx_window){ .target = WINDOW_FLOOR };
}

static void retarget(struct rx_window *w)
{
	double want = WINDOW_GAIN * w->rate * w->min_rtt_ms / 1000.0;

	if (want < WINDOW_FLOOR)
		want = WINDOW_FLOOR;
	if (want > WINDOW_CAP)
		want = WINDOW_CAP;
	w->target = (uint32_t)want;
}

void rx_window_rtt(struct rx_window *w, double rtt_ms)
{
	if (!(rtt_ms > 0))
		return;
	if (!w->min_rtt_ms || rtt_ms < w->min_rtt_ms) {
		w->min_rtt_ms = rtt_ms;
		retarget(w);
	}
}

void rx_window_consumed(struct rx_window *w, uint64_t now_us, size_t bytes)
{
	uint64_t span = (uint64_t)(w->min_rtt_ms * 1000.0), el;
	double sample;

	if (span < WINDOW_SAMPLE_MIN_US)
		span = WINDOW_SAMPLE_MIN_US;
	el = now_us - w->sample_us;
	if (!w->sample_us || now_us < w->sample_us || el > WINDOW_SAMPLE_MAX_US) {
		/* The first read, or one after an idle gap: its bytes arrived
		 * before the sample it starts. */
		w->sample_us = now_us;
		w->sample_bytes = 0;
		return;
	}
	w->sample_bytes += bytes;
	if (el < span)
		return;
	sample = (double)w->sample_bytes * 1e6 / (double)el;
	/* Up at once (a window-limited path shows its rate only once the
	 * window grows), down over a few samples, a quarter each (a CPU stall of a few ms
	 * on a busy machine is not a slower path). */
	w->rate = sample > w->rate ? sample : w->rate * 0.75 + sample * 0.25;
	w->sample_us = now_us;
	w->sample_bytes = 0;
	retarget(w);
}

uint32_t rx_window_grant(const struct rx_window *w, uint64_t outstanding)
{
	if (outstanding >= w->target || w->target - outstanding < w->target / 4)
		return 0;
	return (uint32_t)(w->target - outstanding);
}
