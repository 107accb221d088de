/* See alive.h. */
#include "alive.h"

void alive_reset(struct alive *a)
{
	a->missed = 0;
}

void alive_ping_done(struct alive *a, enum ping_why why, double rtt_ms)
{
	if (rtt_ms >= 0)
		a->missed = 0;
	else if (why == PING_KEEPALIVE)
		a->missed++;
}

bool alive_dead(const struct alive *a, unsigned count_max)
{
	return a->missed >= count_max;
}
