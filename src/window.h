/* The channel window we grant the server, sized like TCP's receive
 * autotuning: enough credit for the path (twice the delivery rate times the
 * idle round trip), so a long fat path runs at its rate, and no more, so the
 * server's sshd cannot read our helper's output far ahead of us: what it
 * may not send waits in the helper's fair queue, where a ping overtakes it,
 * not in sshd's buffers and its socket, where it cannot.
 *
 * Credit is granted only as we consume data (after a read), so a reader
 * that stalls stops granting: what the server may send never exceeds the
 * target, whatever the rate said before. */
#ifndef SSHTUN_WINDOW_H
#define SSHTUN_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* The window the channel opens with.  libssh2 would keep 3/4 of it plus one
 * read's length open on its own (channel.c _libssh2_channel_read); chanlink.c
 * reads no more than keeps that quiet, so all credit is ours (see there). */
#define WINDOW_OPEN (64u * 1024)
/* Never less: a fast path whose round trip we have not measured yet, or
 * that a busy CPU stretches, is not starved (at 2 Gbit/s it is 1 ms). */
#define WINDOW_FLOOR (256u * 1024)
/* Never more: 16 MiB carries 1.3 Gbit/s over a 100 ms path (libssh2's
 * default 2 MiB: 160 Mbit/s), and bounds what a stalled reader holds. */
#define WINDOW_CAP (16u * 1024 * 1024)
#define WINDOW_GAIN 2		/* credit for two rate x RTT: room to grow */
/* A delivery sample spans at least one idle round trip and this long, at
 * most WINDOW_SAMPLE_MAX_US (longer: an idle gap, not a rate). */
#define WINDOW_SAMPLE_MIN_US 5000
#define WINDOW_SAMPLE_MAX_US 1000000

struct rx_window {
	uint32_t target;	/* the credit we keep open for the peer */
	double min_rtt_ms;	/* lowest round trip seen; 0: none yet */
	double rate;		/* bytes/s delivered: up at once, down slowly */
	uint64_t sample_us;	/* start of the current sample; 0: none */
	uint64_t sample_bytes;
};

void rx_window_init(struct rx_window *w);
/* A measured round trip (ms); the lowest one is the path's. */
void rx_window_rtt(struct rx_window *w, double rtt_ms);
/* We consumed bytes at now_us: the delivery rate, then the target. */
void rx_window_consumed(struct rx_window *w, uint64_t now_us, size_t bytes);
/* How much to grant now, given the credit outstanding (the window the peer
 * has left plus what arrived and is not consumed yet): enough to bring it
 * back to the target once it fell a quarter below, else 0. */
uint32_t rx_window_grant(const struct rx_window *w, uint64_t outstanding);

#endif
