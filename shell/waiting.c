/* The commands that wait: ping (one a second, replies as they come) and
 * stats --watch (a line a second).  One may be pending per caller context;
 * done is called once it ends, unless the caller cancels first. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"
#include "internal.h"
#include "loop.h"

#define PING_TIMEOUT_MS	2000
#define PING_INTERVAL_MS 1000
#define PING_DEFAULT	4
#define PING_MAX	3600
#define WATCH_MS	1000

/* One per caller context: the prompt, stdin, -c and each control client. */
struct pending {
	bool used, watch;
	unsigned serial;	/* tells a reused slot from the one we had */
	struct call c;		/* eng, ops, ctx, json; argv is gone */
	long timer, ping;	/* 0: none */
	unsigned count, sent, received;
	uint64_t sent_at;
	double min, max, sum;
};

static struct pending pendings[CTL_MAX_CLIENTS + 4];
static unsigned serials;

/* Output can make the caller give up on the command (a control client over
 * its output cap is dropped, which cancels): check before going on. */
static bool alive(const struct pending *p, unsigned serial)
{
	return p->used && p->serial == serial;
}

static struct pending *find_pending(void *ctx)
{
	for (size_t i = 0; i < ARRAY_SIZE(pendings); i++)
		if (pendings[i].used && pendings[i].c.ctx == ctx)
			return &pendings[i];
	return NULL;
}

static struct pending *new_pending(struct call *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(pendings); i++) {
		struct pending *p = &pendings[i];

		if (p->used)
			continue;
		memset(p, 0, sizeof(*p));
		p->used = true;
		p->serial = ++serials;
		p->c = *c;
		p->c.argv = NULL;
		p->c.out = NULL;
		p->c.obuf = NULL;
		return p;
	}
	say(c, 2, "too many commands running at once");
	return NULL;
}

static void drop(struct pending *p)
{
	if (p->timer)
		loop_cancel(engine_loop(p->c.eng), p->timer);
	if (p->ping > 0)
		engine_ping_cancel(p->c.eng, p->ping);
	p->used = false;
}

/* Frees the slot before done: done may start the caller's next command. */
static void finish(struct pending *p, int status)
{
	const struct shell_out_ops *ops = p->c.ops;
	void *ctx = p->c.ctx;

	drop(p);
	ops->done(ctx, status);
}

bool shell_pending(void *ctx)
{
	return find_pending(ctx) != NULL;
}

bool shell_watching(void *ctx)
{
	struct pending *p = find_pending(ctx);

	return p && p->watch;
}

void shell_cancel(void *ctx)
{
	struct pending *p = find_pending(ctx);

	if (p)
		drop(p);
}

static void watch_row(struct call *c)
{
	struct engine_stats s;
	char up[32], tx[32], rx[32], rtt[32];

	memset(&s, 0, sizeof(s));
	engine_stats(c->eng, &s);
	if (c->json) {
		stats_json(c->out, &s);
		return;
	}
	say(c, 1, "%-10s %12s %12s %10llu %10llu %7llu %10s",
	    fmt_duration(up, sizeof(up), s.uptime_s), fmt_rate(tx, sizeof(tx), s.tx_rate_bps),
	    fmt_rate(rx, sizeof(rx), s.rx_rate_bps), (unsigned long long)s.tx_packets,
	    (unsigned long long)s.rx_packets, (unsigned long long)s.drops,
	    fmt_rtt(rtt, sizeof(rtt), s.rtt_ms));
}

static void watch_tick(struct loop *loop, void *ctx)
{
	struct pending *p = ctx;
	struct call c = p->c;
	unsigned serial = p->serial;

	p->timer = 0;
	if (call_open(&c) < 0) {
		finish(p, 1);
		return;
	}
	watch_row(&c);
	call_close(&c);
	if (!alive(p, serial))
		return;
	p->timer = loop_timer(loop, WATCH_MS, watch_tick, p);
	if (p->timer < 0) {
		p->timer = 0;
		say(&p->c, 2, "stats --watch: no timer left");
		if (alive(p, serial))
			finish(p, 1);
	}
}

int cmd_stats(struct call *c)
{
	struct engine_stats s;
	struct pending *p;

	if (c->watch) {
		if (!(p = new_pending(c)))
			return 1;
		p->watch = true;
		if (!c->json)
			say(c, 1, "%-10s %12s %12s %10s %10s %7s %10s", "uptime", "tx rate",
			    "rx rate", "tx pkts", "rx pkts", "drops", "rtt");
		call_flush(c);
		watch_tick(engine_loop(c->eng), p);
		return SHELL_PENDING;
	}
	memset(&s, 0, sizeof(s));
	engine_stats(c->eng, &s);
	if (c->json)
		stats_json(c->out, &s);
	else
		stats_table(c, &s);
	return 0;
}

static void ping_summary(struct pending *p, struct call *c)
{
	unsigned loss = p->sent ? (p->sent - p->received) * 100 / p->sent : 0;
	double avg = p->received ? p->sum / p->received : -1;

	if (c->json) {
		fprintf(c->out, "{\"sent\":%u,\"received\":%u,\"loss_pct\":%u,\"rtt_min_ms\":",
			p->sent, p->received, loss);
		json_num(c->out, p->received ? p->min : -1, 3, 1);
		fputs(",\"rtt_avg_ms\":", c->out);
		json_num(c->out, avg, 3, 1);
		fputs(",\"rtt_max_ms\":", c->out);
		json_num(c->out, p->received ? p->max : -1, 3, 1);
		fputs("}\n", c->out);
	} else if (p->received) {
		say(c, 1, "%u sent, %u received, %u%% loss, rtt min/avg/max %.2f/%.2f/%.2f ms",
		    p->sent, p->received, loss, p->min, avg, p->max);
	} else {
		say(c, 1, "%u sent, 0 received, 100%% loss", p->sent);
	}
}

static void ping_end(struct pending *p)
{
	struct call c = p->c;
	unsigned serial = p->serial;

	if (call_open(&c) == 0) {
		ping_summary(p, &c);
		call_close(&c);
	}
	if (alive(p, serial))
		finish(p, p->received ? 0 : 1);
}

static void ping_send(struct loop *loop, void *ctx);

static void ping_reply(void *ctx, double rtt_ms)
{
	struct pending *p = ctx;
	struct call *c = &p->c;
	unsigned serial = p->serial;
	uint64_t since;

	p->ping = 0;
	if (rtt_ms >= 0) {
		p->received++;
		p->sum += rtt_ms;
		p->min = p->received == 1 || rtt_ms < p->min ? rtt_ms : p->min;
		p->max = rtt_ms > p->max ? rtt_ms : p->max;
	}
	if (!c->json) {
		if (rtt_ms >= 0)
			say(c, 1, "reply from tunnel: time=%.2f ms", rtt_ms);
		else
			say(c, 1, "no reply within %d s", PING_TIMEOUT_MS / 1000);
		if (!alive(p, serial))
			return;
	}
	if (p->sent >= p->count) {
		ping_end(p);
		return;
	}
	since = now_ms() - p->sent_at;
	p->timer = loop_timer(engine_loop(c->eng),
			      since < PING_INTERVAL_MS ? PING_INTERVAL_MS - since : 0, ping_send, p);
	if (p->timer < 0) {
		p->timer = 0;
		ping_end(p);
	}
}

static void ping_send(struct loop *loop, void *ctx)
{
	struct pending *p = ctx;
	char err[ERROR_MSG_MAX] = "";
	unsigned serial = p->serial;
	long h;

	p->timer = 0;
	p->sent++;
	p->sent_at = now_ms();
	p->ping = -1;	/* in flight, should the reply come before we return */
	h = engine_ping(p->c.eng, PING_TIMEOUT_MS, ping_reply, p, err, sizeof(err));
	if (h < 0) {
		p->sent--;
		p->ping = 0;
		say(&p->c, 2, "%s", err[0] ? err : "ping failed");
		if (!alive(p, serial))
			return;
		if (p->sent)
			ping_end(p);
		else
			finish(p, 1);
		return;
	}
	if (alive(p, serial) && p->ping == -1)
		p->ping = h;
}

int cmd_ping(struct call *c)
{
	unsigned long n = PING_DEFAULT;
	struct pending *p;
	char *end;

	if (c->argc) {
		n = strtoul(c->argv[0], &end, 10);
		if (*end || !isdigit((unsigned char)c->argv[0][0]) || n < 1 || n > PING_MAX) {
			say(c, 2, "bad count `%s' (want 1 to %d)", c->argv[0], PING_MAX);
			return 2;
		}
	}
	if (!(p = new_pending(c)))
		return 1;
	p->count = (unsigned)n;
	call_flush(c);
	ping_send(engine_loop(c->eng), p);
	return SHELL_PENDING;
}

void shell_stop(void *ctx)
{
	struct pending *p = find_pending(ctx);

	if (!p)
		return;
	if (p->watch)
		finish(p, 0);
	else
		ping_end(p);
}
