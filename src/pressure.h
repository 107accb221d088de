/* Is the channel, not the CPU, the bottleneck?  --compress auto asks this.
 * Our own transmit buffer only backs up when the next hop (libssh2's socket,
 * or the pipe to sshd) does; on a slow link the queue builds further on, in
 * sshd and in TCP, where we cannot see it.  What we can see is its effect:
 * the round trip of our own pings grows far above the idle one.  And when
 * the CPU has no room left, compressing only slows everything down.
 *
 *   congested = the round trip is well above its minimum, and the machine's
 *               CPUs are not (nearly) all busy. */
#ifndef SSHTUN_PRESSURE_H
#define SSHTUN_PRESSURE_H

#include <stdbool.h>
#include <stdint.h>

struct pressure {
	double min_rtt_ms;	/* lowest seen (the idle path); 0: none yet */
	double srtt_ms;		/* smoothed recent round trip */
	double cpu_idle;	/* share of CPU time idle over the last tick, 0..1 */
	uint64_t cpu_total, cpu_idle_ticks;
	bool congested;
};

#define PRESSURE_CPU_IDLE_MIN 0.25	/* less idle than this: the CPU is the limit */
#define PRESSURE_PING_MS 250	/* while data flows, each side pings this often */

/* A round trip measured: the verdict (congested) at once. */
void pressure_rtt(struct pressure *p, double rtt_ms);
/* Once a tick: CPU use since the last tick, and the verdict. */
void pressure_tick(struct pressure *p);

#endif
