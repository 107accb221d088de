/* The commands that wait: ping (one a second, replies as they come) and
 * stats --watch (a line a second).  One may be pending per caller context;
 * done is called once it ends, unless the caller cancels first. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "format.h"
#include "internal.h"
#include "loop.h"

#define EVENT_JSON_MAX 512
#define EVENT_TEXT_MAX 600

#define PING_TIMEOUT_MS	2000
#define PING_INTERVAL_MS 1000
#define PING_DEFAULT	4
#define PING_MAX	3600
#define WATCH_MS	1000
#define EVENTS_POLL_MS	200	/* how soon a watcher sees an event */
#define EVENTS_COUNTERS	25	/* polls between counters: 5 s */

/* One per caller context: the prompt, stdin, -c and each control client. */
struct pending {
	bool used, watch, events;
	unsigned serial;	/* tells a reused slot from the one we had */
	uint64_t seq;		/* events: the next one to show */
	unsigned polls;
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

/* One event for people: "12:00:01 state state=up detail=up", from our own
 * flat JSON ("key":"value" or "key":number, no nesting). */
static void event_text(struct call *c, const char *json)
{
	char rest[EVENT_TEXT_MAX] = "", kind[32] = "?", when[16] = "", key[32], val[256];
	const char *p = json;
	size_t o = 0;

	while ((p = strchr(p, '"'))) {
		size_t k = 0, v = 0;

		for (p++; *p && *p != '"' && k < sizeof(key) - 1; p++)
			key[k++] = *p;
		key[k] = '\0';
		if (*p != '"' || p[1] != ':')
			break;
		p += 2;
		if (*p == '"') {
			for (p++; *p && *p != '"' && v < sizeof(val) - 1; p++) {
				if (*p == '\\' && p[1])
					p++;
				val[v++] = *p;
			}
			p += *p == '"';
		} else {
			while (*p && *p != ',' && *p != '}' && v < sizeof(val) - 1)
				val[v++] = *p++;
		}
		val[v] = '\0';
		if (!strcmp(key, "time")) {
			time_t t = (time_t)strtoll(val, NULL, 10);
			struct tm tm;

			if (!localtime_r(&t, &tm) || !strftime(when, sizeof(when), "%H:%M:%S", &tm))
				when[0] = '\0';
		} else if (!strcmp(key, "event")) {
			snprintf(kind, sizeof(kind), "%.31s", val);
		} else if (o < sizeof(rest)) {
			o += (size_t)snprintf(rest + o, sizeof(rest) - o, " %s=%s", key, val);
		}
	}
	say(c, 1, "%s %s%s", when, kind, rest);
}

static void event_out(struct call *c, const char *json)
{
	if (c->json)
		fprintf(c->out, "%s\n", json);
	else
		event_text(c, json);
}

/* {"event":"counters","time":...,<the fields of stats --json>} */
static void event_counters(struct call *c)
{
	struct engine_stats s;
	struct timespec ts;
	char *buf = NULL, head[64];
	size_t len = 0;
	FILE *m;

	memset(&s, 0, sizeof(s));
	engine_stats(c->eng, &s);
	if (!c->json) {
		char now[16] = "", up[32], tx[32], rx[32], rtt[32];
		time_t t = time(NULL);
		struct tm tm;

		if (!localtime_r(&t, &tm) || !strftime(now, sizeof(now), "%H:%M:%S", &tm))
			now[0] = '\0';
		say(c, 1, "%s counters uptime=%s tx=%s rx=%s tx_packets=%llu rx_packets=%llu drops=%llu rtt=%s",
		    now, fmt_duration(up, sizeof(up), s.uptime_s), fmt_rate(tx, sizeof(tx), s.tx_rate_bps),
		    fmt_rate(rx, sizeof(rx), s.rx_rate_bps), (unsigned long long)s.tx_packets,
		    (unsigned long long)s.rx_packets, (unsigned long long)s.drops,
		    fmt_rtt(rtt, sizeof(rtt), s.rtt_ms));
		return;
	}
	if (!(m = open_memstream(&buf, &len)))
		return;
	stats_json(m, &s);
	fclose(m);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(head, sizeof(head), "{\"event\":\"counters\",\"time\":%lld.%03ld,", (long long)ts.tv_sec,
		 ts.tv_nsec / 1000000);
	if (buf && buf[0] == '{')
		fprintf(c->out, "%s%s", head, buf + 1);	/* stats_json ends its line */
	free(buf);
}

static void events_tick(struct loop *loop, void *ctx)
{
	struct pending *p = ctx;
	struct call c = p->c;
	unsigned serial = p->serial;
	char json[EVENT_JSON_MAX + 64];

	p->timer = 0;
	if (call_open(&c) < 0) {
		finish(p, 1);
		return;
	}
	while (engine_event_next(c.eng, &p->seq, json, sizeof(json)))
		event_out(&c, json);
	if (p->polls++ % EVENTS_COUNTERS == 0)
		event_counters(&c);
	call_close(&c);
	if (!alive(p, serial))
		return;
	p->timer = loop_timer(loop, EVENTS_POLL_MS, events_tick, p);
	if (p->timer < 0) {
		p->timer = 0;
		say(&p->c, 2, "events: no timer left");
		if (alive(p, serial))
			finish(p, 1);
	}
}

int cmd_events(struct call *c)
{
	struct engine_status st;
	struct pending *p;
	char json[EVENT_JSON_MAX], detail[256];
	struct timespec ts;
	size_t o = 0;

	if (!(p = new_pending(c)))
		return 1;
	p->watch = true;	/* a key at the prompt stops it, as stats --watch */
	p->events = true;
	p->seq = engine_event_head(c->eng);
	/* Where things stand, so a watcher needs no status call first. */
	memset(&st, 0, sizeof(st));
	engine_status(c->eng, &st);
	for (const char *s = st.state_detail; *s && o < sizeof(detail) - 3; s++) {
		if (*s == '"' || *s == '\\')
			detail[o++] = '\\';
		detail[o++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
	}
	detail[o] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(json, sizeof(json), "{\"event\":\"state\",\"time\":%lld.%03ld,\"state\":\"%s\",\"detail\":\"%s\"}",
		 (long long)ts.tv_sec, ts.tv_nsec / 1000000, st.state ? st.state : "", detail);
	event_out(c, json);
	call_flush(c);
	events_tick(engine_loop(c->eng), p);
	return SHELL_PENDING;
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
