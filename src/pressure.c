/* See pressure.h. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "pressure.h"

#define RTT_FACTOR 3.0		/* this many times the idle round trip ... */
#define RTT_MARGIN_MS 10.0	/* ... and this much above it: queueing */

static void verdict(struct pressure *p)
{
	p->congested = p->min_rtt_ms > 0 && p->srtt_ms > p->min_rtt_ms * RTT_FACTOR &&
		       p->srtt_ms > p->min_rtt_ms + RTT_MARGIN_MS && p->cpu_idle >= PRESSURE_CPU_IDLE_MIN;
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

/* Linux: the first line of /proc/stat, from a descriptor opened on the
 * first call and kept (the helper's worker reads it inside a sandbox that
 * opens nothing).  Elsewhere the CPU counts as free, which leaves the round
 * trip alone to decide. */
static int read_cpu(uint64_t *total, uint64_t *idle)
{
	static int fd = -1;
	unsigned long long v[8] = { 0 };
	char line[256];
	ssize_t len;
	int n;

	if (fd < 0)
		fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : pread(fd, line, sizeof(line) - 1, 0);
	if (len <= 0)
		return -1;
	line[len] = '\0';
	n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6], &v[7]);
	if (n < 4)
		return -1;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	*idle = v[3] + v[4];	/* idle + iowait */
	return 0;
}

void pressure_tick(struct pressure *p)
{
	uint64_t total, idle;

	p->cpu_idle = 1.0;
	if (read_cpu(&total, &idle) == 0) {
		if (p->cpu_total && total > p->cpu_total)
			p->cpu_idle = (double)(idle - p->cpu_idle_ticks) / (double)(total - p->cpu_total);
		p->cpu_total = total;
		p->cpu_idle_ticks = idle;
	}
	verdict(p);
}
