/* See pressure.h. */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "pressure.h"

#define RTT_FACTOR 3.0		/* this many times the idle round trip ... */
#define RTT_MARGIN_MS 10.0	/* ... and this much above it: queueing */

static void verdict(struct pressure *p)
{
	p->congested = p->min_rtt_ms > 0 && p->srtt_ms > p->min_rtt_ms * RTT_FACTOR &&
		       p->srtt_ms > p->min_rtt_ms + RTT_MARGIN_MS && pressure_cpu_ok(p);
}

/* The verdict follows each answer at once (with the CPU as the last tick
 * saw it): a queue that shows in one round trip need not wait for the next
 * tick, 250 ms on. */
void pressure_rtt(struct pressure *p, double rtt_ms)
{
	if (rtt_ms < 0)
		return;
	if (!p->min_rtt_ms || rtt_ms < p->min_rtt_ms)
		p->min_rtt_ms = rtt_ms;
	p->srtt_ms = p->srtt_ms ? p->srtt_ms * 0.75 + rtt_ms * 0.25 : rtt_ms;
	verdict(p);
}

/* Linux: this thread's run and run-queue time, from a descriptor opened
 * on the first call and kept (the helper's worker reads it inside a
 * sandbox that opens nothing; every call comes from the loop's thread).
 * Elsewhere, or without schedstat, the CPU counts as free, which leaves
 * the round trip alone to decide. */
static int read_cpu(uint64_t *ns)
{
	static int fd = -1;
	unsigned long long run, wait;
	char line[128];
	ssize_t len;

	if (fd < 0)
		fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : pread(fd, line, sizeof(line) - 1, 0);
	if (len <= 0)
		return -1;
	line[len] = '\0';
	if (sscanf(line, "%llu %llu", &run, &wait) != 2)
		return -1;
	*ns = run + wait;
	return 0;
}

void pressure_cpu(struct pressure *p, uint64_t cpu_ns, uint64_t wall_ns)
{
	p->cpu_busy = 0;
	if (p->wall_ns && wall_ns > p->wall_ns && cpu_ns >= p->cpu_ns)
		p->cpu_busy = (double)(cpu_ns - p->cpu_ns) / (double)(wall_ns - p->wall_ns);
	p->cpu_ns = cpu_ns;
	p->wall_ns = wall_ns;
	verdict(p);
}

void pressure_tick(struct pressure *p)
{
	struct timespec ts;
	uint64_t cpu;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (read_cpu(&cpu) == 0) {
		pressure_cpu(p, cpu, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
		return;
	}
	p->cpu_busy = 0;
	verdict(p);
}
