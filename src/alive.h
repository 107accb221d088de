/* Dead-peer detection's count (ServerAliveInterval, ServerAliveCountMax):
 * the server is dead after CountMax keepalives in a row went unanswered,
 * one sent each interval, so after about Interval x CountMax of silence
 * (the same bound as TCP_USER_TIMEOUT on the socket).
 *
 * Other pings share the channel: the round-trip pings (every
 * PRESSURE_PING_MS while data flows, with the keepalive's timeout; --compress
 * auto and the receive window read them) and the user's `ping'.  Any answer proves the server alive and clears the count;
 * but only a keepalive that times out counts as missed.  Counted, the
 * round-trip pings turned a stall just over one interval on a loaded,
 * flooded link (4.5 s) into three "missed keepalives" and a reconnect. */
#ifndef SSHTUN_ALIVE_H
#define SSHTUN_ALIVE_H

#include <stdbool.h>

enum ping_why {
	PING_KEEPALIVE,		/* the once an interval dead-peer ping */
	PING_PRESSURE,		/* the round trip, while data flows (pressure.h) */
	PING_ASKED,		/* the user's `ping' */
};

struct alive {
	unsigned missed;	/* keepalives in a row unanswered */
};

void alive_reset(struct alive *a);
/* A ping of this kind ended: answered (rtt_ms >= 0) or timed out (< 0). */
void alive_ping_done(struct alive *a, enum ping_why why, double rtt_ms);
/* count_max keepalives in a row went unanswered. */
bool alive_dead(const struct alive *a, unsigned count_max);

#endif
