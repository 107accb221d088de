/* Is the channel, not the CPU, the bottleneck?  --compress auto asks this.
 * Our own transmit buffer only backs up when the next hop (libssh2's socket,
 * or the pipe to sshd) does; on a slow link the queue builds further on, in
 * sshd and in TCP, where we cannot see it.  What we can see is its effect:
 * the round trip of our own pings grows far above the idle one.  And when
 * our own thread has no CPU to spare, compressing only slows everything
 * down.
 *
 *   congested = the round trip is well above its minimum, and this thread
 *               (the event loop, which compresses) is not CPU-bound.
 *
 * CPU-bound is judged by our own thread, not the machine: the time it ran or
 * stood in the run queue wanting to (/proc/thread-self/schedstat) against
 * the time that passed.  A busy machine whose other work leaves us the CPU
 * we ask for does not stop compression; a loop that is never idle does. */
#ifndef SSHTUN_PRESSURE_H
#define SSHTUN_PRESSURE_H

#include <stdbool.h>
#include <stdint.h>

struct pressure {
	double min_rtt_ms;	/* lowest seen (the idle path); 0: none yet */
	double srtt_ms;		/* smoothed recent round trip */
	double cpu_busy;	/* share of the last tick this thread ran or waited to, 0..1 */
	uint64_t cpu_ns, wall_ns;	/* the last tick's readings; 0: none yet */
	bool congested;
};

#define PRESSURE_CPU_BUSY_MAX 0.9	/* busier than this: the CPU is the limit */
#define PRESSURE_PING_MS 250	/* while data flows, each side pings this often */

/* A round trip measured: the verdict (congested) at once. */
void pressure_rtt(struct pressure *p, double rtt_ms);
/* Once a tick, from the thread that compresses: its CPU use since the last
 * tick, and the verdict. */
void pressure_tick(struct pressure *p);
/* The same with the readings given: cpu_ns the thread's run plus run-queue
 * time, wall_ns a monotonic clock (both in ns, any origin). */
void pressure_cpu(struct pressure *p, uint64_t cpu_ns, uint64_t wall_ns);

static inline bool pressure_cpu_ok(const struct pressure *p)
{
	return p->cpu_busy < PRESSURE_CPU_BUSY_MAX;
}

#endif
