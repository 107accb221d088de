/* For the shell's tests: a fake engine, api.h's engine_* defined here, and a
 * strict little JSON checker.  Included by one test file at a time; the test
 * links the library as an archive, so these definitions win and engine.o is
 * never pulled in (a duplicate symbol at link time means something in the
 * test's closure reaches past api.h into the real engine). */
#ifndef SSHTUN_TEST_SHELL_FAKES_H
#define SSHTUN_TEST_SHELL_FAKES_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "commands.h"
#include "loop.h"

#define FAKE_PINGS 8

static struct fake {
	struct loop *loop;
	struct engine_status st;
	struct engine_stats stats;
	char routes[8][ENGINE_CIDR_STRLEN];
	size_t nroutes;
	char last_cidr[64], compress[16], reconnect_to[64];
	bool fail_next;		/* the next route/compress/reconnect call fails */
	int quits, reconnects, ping_cancels, pings_sent;
	double ping_rtt;	/* what a ping answers; < 0: timeout */
	unsigned ping_delay_ms;
	struct {
		long timer;
		engine_ping_fn fn;
		void *ctx;
	} pings[FAKE_PINGS];
	engine_state_fn state_fn;
	struct engine_dns dns;
} F;

#define FAKE_ENG ((struct engine *)&F)

void engine_status(struct engine *eng, struct engine_status *st)
{
	*st = F.st;
}

void engine_stats(struct engine *eng, struct engine_stats *st)
{
	*st = F.stats;
}

size_t engine_routes(struct engine *eng, char (*out)[ENGINE_CIDR_STRLEN], size_t max)
{
	for (size_t i = 0; i < F.nroutes && i < max; i++)
		memcpy(out[i], F.routes[i], ENGINE_CIDR_STRLEN);
	return F.nroutes;
}

static int fake_fails(char *err, size_t errlen, const char *what)
{
	if (!F.fail_next)
		return 0;
	F.fail_next = false;
	snprintf(err, errlen, "%s `%s' refused by the fake", what, F.last_cidr);
	return -1;
}

int engine_route_add(struct engine *eng, const char *cidr, char *err, size_t errlen)
{
	snprintf(F.last_cidr, sizeof(F.last_cidr), "add %s", cidr);
	return fake_fails(err, errlen, "route");
}

int engine_route_del(struct engine *eng, const char *cidr, char *err, size_t errlen)
{
	snprintf(F.last_cidr, sizeof(F.last_cidr), "del %s", cidr);
	return fake_fails(err, errlen, "route");
}

static void fake_ping_fire(struct loop *loop, void *ctx)
{
	long i = (long)(intptr_t)ctx;
	engine_ping_fn fn = F.pings[i].fn;

	F.pings[i].timer = 0;
	F.pings[i].fn = NULL;
	fn(F.pings[i].ctx, F.ping_rtt);
}

long engine_ping(struct engine *eng, unsigned timeout_ms, engine_ping_fn fn, void *ctx,
		      char *err, size_t errlen)
{
	if (F.fail_next) {
		F.fail_next = false;
		snprintf(err, errlen, "the tunnel is not up");
		return -1;
	}
	for (long i = 0; i < FAKE_PINGS; i++) {
		if (F.pings[i].fn)
			continue;
		F.pings[i].fn = fn;
		F.pings[i].ctx = ctx;
		F.pings[i].timer = loop_timer(F.loop, F.ping_rtt < 0 ? timeout_ms : F.ping_delay_ms,
					      fake_ping_fire, (void *)(intptr_t)i);
		F.pings_sent++;
		return i + 1;
	}
	snprintf(err, errlen, "fake: too many pings");
	return -1;
}

void engine_exec_opened(struct engine *eng)
{
	(void)eng;
}

void engine_ping_cancel(struct engine *eng, long handle)
{
	long i = handle - 1;

	if (i < 0 || i >= FAKE_PINGS || !F.pings[i].fn)
		return;
	loop_cancel(F.loop, F.pings[i].timer);
	F.pings[i].fn = NULL;
	F.ping_cancels++;
}

int engine_reconnect(struct engine *eng, const char *host, char *err, size_t errlen)
{
	F.reconnects++;
	snprintf(F.reconnect_to, sizeof(F.reconnect_to), "%s", host ? host : "(same)");
	return fake_fails(err, errlen, "reconnect");
}

int engine_set_compress(struct engine *eng, const char *mode, char *err, size_t errlen)
{
	snprintf(F.compress, sizeof(F.compress), "%s", mode);
	return fake_fails(err, errlen, "compress");
}

void engine_quit(struct engine *eng)
{
	F.quits++;
}

struct loop *engine_loop(struct engine *eng)
{
	return F.loop;
}

void engine_on_state(struct engine *eng, engine_state_fn fn, void *ctx)
{
	F.state_fn = fn;
}

int engine_uid_route(struct engine *eng, bool add, const char *cidr, unsigned uid, char *err, size_t errlen)
{
	snprintf(F.last_cidr, sizeof(F.last_cidr), "%s %s uid %u", add ? "add" : "del", cidr, uid);
	return fake_fails(err, errlen, "route");
}

size_t engine_uid_routes(struct engine *eng, char (*out)[ENGINE_CIDR_STRLEN], unsigned *uids, size_t max)
{
	return 0;
}

int engine_route_exclude(struct engine *eng, const char *cidr, char *err, size_t errlen)
{
	snprintf(F.last_cidr, sizeof(F.last_cidr), "exclude %s", cidr);
	return fake_fails(err, errlen, "route");
}

void engine_dns(struct engine *eng, struct engine_dns *d)
{
	*d = F.dns;
	d->method = d->active ? "resolvconf" : "";	/* as the engine: none when off */
}

int engine_dns_set(struct engine *eng, bool on, char *err, size_t errlen)
{
	snprintf(F.last_cidr, sizeof(F.last_cidr), "dns %s", on ? "on" : "off");
	if (fake_fails(err, errlen, "dns") < 0)
		return -1;
	F.dns.active = on;
	return 0;
}

/* A plausible instance, with strings that need escaping in JSON. */
static void fake_reset(struct loop *loop)
{
	memset(&F, 0, sizeof(F));
	F.loop = loop;
	F.st.state = "up";
	snprintf(F.st.state_detail, sizeof(F.st.state_detail), "up");
	snprintf(F.st.server, sizeof(F.st.server), "h\"o\\st\x01\xff:22");
	snprintf(F.st.ifname, sizeof(F.st.ifname), "sshtun0");
	snprintf(F.st.local_addr, sizeof(F.st.local_addr), "10.77.0.2");
	snprintf(F.st.peer_addr, sizeof(F.st.peer_addr), "10.77.0.1");
	snprintf(F.st.local_addr6, sizeof(F.st.local_addr6), "fd77::2");
	snprintf(F.st.peer_addr6, sizeof(F.st.peer_addr6), "fd77::1");
	F.st.mode = "sshtun";
	snprintf(F.st.compression, sizeof(F.st.compression), "auto");
	F.st.nservers = 2;
	snprintf(F.st.servers[0].host, sizeof(F.st.servers[0].host), "root@a");
	F.st.servers[0].state = "failed";
	snprintf(F.st.servers[0].error, sizeof(F.st.servers[0].error), "cannot reach \"a\"");
	snprintf(F.st.servers[1].host, sizeof(F.st.servers[1].host), "b:2222");
	F.st.servers[1].state = "up";
	F.st.mtu = 1400;
	F.st.uptime_s = 3723;
	F.st.reconnects = 2;
	F.stats = (struct engine_stats){
		.tx_packets = 1234, .rx_packets = 5678, .tx_bytes = 12897485,
		.rx_bytes = 1024, .tx_wire_bytes = 600, .rx_wire_bytes = 700, .drops = 3,
		.tx_compressed = 10, .tx_uncompressed = 20, .rtt_ms = 0.42, .rtt_avg_ms = -1,
		.tx_rate_bps = 840e6, .rx_rate_bps = 12345, .reconnects = 2, .uptime_s = 3723,
	};
	snprintf(F.routes[0], ENGINE_CIDR_STRLEN, "198.51.100.0/24");
	snprintf(F.routes[1], ENGINE_CIDR_STRLEN, "2001:db8::/32");
	F.nroutes = 2;
	F.ping_rtt = 0.5;
	F.ping_delay_ms = 5;
	F.dns = (struct engine_dns){ .servers = "198.51.100.53", .domains = "ex\"ample.test",
				     .split = true };
}

/* --- a strict JSON checker (RFC 8259 grammar) --- */

static bool js_value(const char **p, int depth);

static void js_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static bool js_string(const char **p)
{
	if (**p != '"')
		return false;
	for ((*p)++; **p != '"'; (*p)++) {
		unsigned char c = (unsigned char)**p;

		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		(*p)++;
		if (**p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)(*p)[i]))
					return false;
			*p += 4;
		} else if (!strchr("\"\\/bfnrt", **p) || !**p) {
			return false;
		}
	}
	(*p)++;
	return true;
}

static bool js_number(const char **p)
{
	const char *s = *p;

	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (isdigit((unsigned char)*s))
			s++;
	else
		return false;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	*p = s;
	return true;
}

static bool js_seq(const char **p, char close, bool keys, int depth)
{
	(*p)++;
	js_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		js_ws(p);
		if (keys) {
			if (!js_string(p))
				return false;
			js_ws(p);
			if (*(*p)++ != ':')
				return false;
		}
		if (!js_value(p, depth + 1))
			return false;
		js_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		if (*(*p)++ != ',')
			return false;
	}
}

static bool js_value(const char **p, int depth)
{
	js_ws(p);
	if (depth > 32)
		return false;
	switch (**p) {
	case '{':
		return js_seq(p, '}', true, depth);
	case '[':
		return js_seq(p, ']', false, depth);
	case '"':
		return js_string(p);
	case 't':
		return !strncmp(*p, "true", 4) && (*p += 4);
	case 'f':
		return !strncmp(*p, "false", 5) && (*p += 5);
	case 'n':
		return !strncmp(*p, "null", 4) && (*p += 4);
	default:
		return js_number(p);
	}
}

/* True when text is exactly one JSON object and a newline. */
static bool json_one_object_line(const char *text)
{
	const char *p = text;

	if (*p != '{' || !js_value(&p, 0))
		return false;
	return p[0] == '\n' && p[1] == '\0';
}

#endif
