/* What each command does, but for the ones that wait (waiting.c).  The
 * engine is reached only through api.h; output is for people
 * unless --json asks for one JSON object on one line. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "compress.h"
#include "format.h"
#include "internal.h"
#include "loop.h"

#define MAX_ROUTES	256

/* --- status --- */

static size_t get_routes(struct engine *eng, char (*routes)[ENGINE_CIDR_STRLEN])
{
	size_t n = engine_routes(eng, routes, MAX_ROUTES);

	return n > MAX_ROUTES ? MAX_ROUTES : n;
}

/* [{"cidr":"...","uid":N},...] */
static void uid_routes_json(FILE *f, char (*cidrs)[ENGINE_CIDR_STRLEN], const unsigned *uids, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{\"cidr\":" : "{\"cidr\":", f);
		json_str(f, cidrs[i]);
		fprintf(f, ",\"uid\":%u}", uids[i]);
	}
	fputc(']', f);
}

static void status_json(FILE *f, struct engine *eng, const struct engine_status *st,
			char (*routes)[ENGINE_CIDR_STRLEN], size_t nroutes)
{
	static char uroutes[MAX_ROUTES][ENGINE_CIDR_STRLEN];
	static unsigned uids[MAX_ROUTES];
	size_t nu = engine_uid_routes(eng, uroutes, uids, MAX_ROUTES);

	const struct { const char *key, *val; } strs[] = {
		{ "state", st->state }, { "state_detail", st->state_detail },
		{ "server", st->server }, { "ifname", st->ifname },
		{ "local_addr", st->local_addr }, { "peer_addr", st->peer_addr },
		{ "local_addr6", st->local_addr6 }, { "peer_addr6", st->peer_addr6 },
		{ "mode", st->mode }, { "compression", st->compression },
		{ "server_stack", st->server_stack },
	};

	fputc('{', f);
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		fprintf(f, "%s\"%s\":", i ? "," : "", strs[i].key);
		json_str(f, strs[i].val);
	}
	fprintf(f, ",\"mtu\":%u,\"uptime_s\":%llu,\"reconnects\":%u,\"kill_switch\":%s,\"dns_guard\":%s,\"routes\":[",
		st->mtu, (unsigned long long)st->uptime_s, st->reconnects, st->kill_switch ? "true" : "false",
		st->dns_guard ? "true" : "false");
	for (size_t i = 0; i < nroutes; i++) {
		fputs(i ? "," : "", f);
		json_str(f, routes[i]);
	}
	fputs("],\"uid_routes\":", f);
	uid_routes_json(f, uroutes, uids, nu);
	fprintf(f, ",\"connections\":%u,\"connections_up\":%u,\"connections_note\":", st->connections,
		st->connections_up);
	json_str(f, st->connections_note);
	fputs(",\"servers\":[", f);
	for (unsigned i = 0; i < st->nservers; i++) {
		fputs(i ? ",{\"host\":" : "{\"host\":", f);
		json_str(f, st->servers[i].host);
		fputs(",\"state\":", f);
		json_str(f, st->servers[i].state);
		fputs(",\"error\":", f);
		json_str(f, st->servers[i].error);
		fputc('}', f);
	}
	fputs("]}\n", f);
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

int cmd_status(struct call *c)
{
	static char routes[MAX_ROUTES][ENGINE_CIDR_STRLEN];
	struct engine_status st;
	size_t n;
	char up[32];

	memset(&st, 0, sizeof(st));
	engine_status(c->eng, &st);
	n = get_routes(c->eng, routes);
	if (c->json) {
		status_json(c->out, c->eng, &st, routes, n);
		return 0;
	}
	say(c, 1, "%-12s %s", "state", st.state_detail[0] ? st.state_detail : or_dash(st.state));
	say(c, 1, "%-12s %s", "server", or_dash(st.server));
	/* A list: each one's state, and why the failed ones failed. */
	for (unsigned i = 0; st.nservers > 1 && i < st.nservers; i++)
		say(c, 1, "%-12s %s %s%s%s", i ? "" : "servers", st.servers[i].host, st.servers[i].state,
		    st.servers[i].error[0] ? ": " : "", st.servers[i].error);
	say(c, 1, "%-12s %s (mtu %u)", "interface", or_dash(st.ifname), st.mtu);
	if (st.local_addr[0] || st.peer_addr[0])
		say(c, 1, "%-12s %s -> %s", "address", or_dash(st.local_addr),
		    or_dash(st.peer_addr));
	if (st.local_addr6[0] || st.peer_addr6[0])
		say(c, 1, "%-12s %s -> %s", "address6", or_dash(st.local_addr6),
		    or_dash(st.peer_addr6));
	say(c, 1, "%-12s %s", "mode", or_dash(st.mode));
	say(c, 1, "%-12s %s", "server stack", or_dash(st.server_stack));
	say(c, 1, "%-12s %s", "compression", or_dash(st.compression));
	say(c, 1, "%-12s %s", "uptime", st.uptime_s ? fmt_duration(up, sizeof(up), st.uptime_s) : "-");
	say(c, 1, "%-12s %u", "reconnects", st.reconnects);
	if (st.connections > 1)
		say(c, 1, "%-12s %u of %u up%s%s%s", "connections", st.connections_up, st.connections,
		    st.connections_note[0] ? " (" : "", st.connections_note, st.connections_note[0] ? ")" : "");
	if (st.kill_switch || st.dns_guard)
		say(c, 1, "%-12s %s%s%s", "guard", st.kill_switch ? "kill switch" : "",
		    st.kill_switch && st.dns_guard ? ", " : "", st.dns_guard ? "DNS only through the tunnel" : "");
	fprintf(c->out, "%-12s", "routes");
	for (size_t i = 0; i < n; i++)
		fprintf(c->out, " %s", routes[i]);
	fputs(n ? "\n" : " none\n", c->out);
	return 0;
}

/* --- stats --- */

void stats_json(FILE *f, const struct engine_stats *s)
{
	fprintf(f, "{\"tx_packets\":%llu,\"rx_packets\":%llu,\"tx_bytes\":%llu,\"rx_bytes\":%llu,"
		"\"tx_wire_bytes\":%llu,\"rx_wire_bytes\":%llu,\"drops\":%llu,"
		"\"tx_compressed\":%llu,\"tx_uncompressed\":%llu,\"rtt_ms\":",
		(unsigned long long)s->tx_packets, (unsigned long long)s->rx_packets,
		(unsigned long long)s->tx_bytes, (unsigned long long)s->rx_bytes,
		(unsigned long long)s->tx_wire_bytes, (unsigned long long)s->rx_wire_bytes,
		(unsigned long long)s->drops, (unsigned long long)s->tx_compressed,
		(unsigned long long)s->tx_uncompressed);
	json_num(f, s->rtt_ms, 3, 1);
	fputs(",\"rtt_avg_ms\":", f);
	json_num(f, s->rtt_avg_ms, 3, 1);
	fputs(",\"tx_rate_bps\":", f);
	json_num(f, s->tx_rate_bps, 0, 0);
	fputs(",\"rx_rate_bps\":", f);
	json_num(f, s->rx_rate_bps, 0, 0);
	fputs(",\"fq_delay_ms\":", f);
	json_num(f, s->fq_delay_ms, 3, 0);
	fputs(",\"fq_delay_peak_ms\":", f);
	json_num(f, s->fq_delay_peak_ms, 3, 0);
	fprintf(f, ",\"fq_drops\":%llu,\"fq_flows\":%u", (unsigned long long)s->fq_drops, s->fq_flows);
	fprintf(f, ",\"rx_window\":%llu", (unsigned long long)s->rx_window);
	fprintf(f, ",\"offload\":\"%s\",\"gso_tx_frames\":%llu,\"gso_rx_frames\":%llu,"
		"\"gso_split\":%llu,\"gso_bad\":%llu", s->offload,
		(unsigned long long)s->gso_tx_frames, (unsigned long long)s->gso_rx_frames,
		(unsigned long long)s->gso_split, (unsigned long long)s->gso_bad);
	fprintf(f, ",\"reconnects\":%u,\"uptime_s\":%llu,\"connections\":[", s->reconnects,
		(unsigned long long)s->uptime_s);
	for (unsigned i = 0; i < s->nconns; i++) {
		const struct engine_conn_stats *k = &s->conns[i];

		fprintf(f, "%s{\"index\":%u,\"state\":", i ? "," : "", i);
		json_str(f, k->state);
		fputs(",\"bind\":", f);
		if (k->bind[0])
			json_str(f, k->bind);
		else
			fputs("null", f);
		fputs(",\"local\":", f);
		json_str(f, k->local);
		fprintf(f, ",\"tx_bytes\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,\"rx_packets\":%llu,"
			"\"rtt_ms\":", (unsigned long long)k->tx_bytes, (unsigned long long)k->rx_bytes,
			(unsigned long long)k->tx_packets, (unsigned long long)k->rx_packets);
		json_num(f, k->rtt_ms, 3, 1);
		fprintf(f, ",\"reconnects\":%u,\"queue\":\"%s\"}", k->reconnects,
			k->attached ? "attached" : "detached");
	}
	fputs("]}\n", f);
}

char *fmt_rtt(char *out, size_t cap, double ms)
{
	if (ms < 0)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%.2f ms", ms);
	return out;
}

void stats_table(struct call *c, const struct engine_stats *s)
{
	char a[32], b[32];

	say(c, 1, "%-12s %-14s %s", "", "tx", "rx");
	say(c, 1, "%-12s %-14llu %llu", "packets", (unsigned long long)s->tx_packets,
	    (unsigned long long)s->rx_packets);
	say(c, 1, "%-12s %-14s %s", "bytes", fmt_bytes(a, sizeof(a), s->tx_bytes),
	    fmt_bytes(b, sizeof(b), s->rx_bytes));
	say(c, 1, "%-12s %-14s %s", "on the wire", fmt_bytes(a, sizeof(a), s->tx_wire_bytes),
	    fmt_bytes(b, sizeof(b), s->rx_wire_bytes));
	say(c, 1, "%-12s %-14s %s", "rate", fmt_rate(a, sizeof(a), s->tx_rate_bps),
	    fmt_rate(b, sizeof(b), s->rx_rate_bps));
	say(c, 1, "%-12s %llu", "drops", (unsigned long long)s->drops);
	say(c, 1, "%-12s %.2f ms now, %.2f ms peak; %u flows queued, %llu dropped", "queue delay",
	    s->fq_delay_ms, s->fq_delay_peak_ms, s->fq_flows, (unsigned long long)s->fq_drops);
	say(c, 1, "%-12s %s (average %s)", "round trip", fmt_rtt(a, sizeof(a), s->rtt_ms),
	    fmt_rtt(b, sizeof(b), s->rtt_avg_ms));
	if (s->rx_window)
		say(c, 1, "%-12s %s granted to the server", "rx window", fmt_bytes(a, sizeof(a), s->rx_window));
	say(c, 1, "%-12s %llu of %llu packets", "compressed",
	    (unsigned long long)s->tx_compressed,
	    (unsigned long long)(s->tx_compressed + s->tx_uncompressed));
	say(c, 1, "%-12s %s; %llu super-packets sent, %llu received, %llu cut here, %llu refused",
	    "offload", s->offload, (unsigned long long)s->gso_tx_frames,
	    (unsigned long long)s->gso_rx_frames, (unsigned long long)s->gso_split,
	    (unsigned long long)s->gso_bad);
	say(c, 1, "%-12s %u", "reconnects", s->reconnects);
	say(c, 1, "%-12s %s", "uptime", s->uptime_s ? fmt_duration(a, sizeof(a), s->uptime_s) : "-");
	/* --connections: a line each. */
	for (unsigned i = 0; s->nconns > 1 && i < s->nconns; i++) {
		const struct engine_conn_stats *k = &s->conns[i];
		char name[24], r[32];

		snprintf(name, sizeof(name), "connection %u", i);
		say(c, 1, "%-12s %s, queue %s%s%s%s%s; tx %s rx %s; rtt %s; %u reconnects", name, k->state,
		    k->attached ? "attached" : "detached", k->bind[0] ? ", -b " : "", k->bind,
		    k->local[0] ? ", from " : "", k->local, fmt_bytes(a, sizeof(a), k->tx_bytes),
		    fmt_bytes(b, sizeof(b), k->rx_bytes), fmt_rtt(r, sizeof(r), k->rtt_ms), k->reconnects);
	}
}

/* --- routes --- */

/* Syntax only, so that a typo is named here; the engine and the kernel
 * judge the rest (host bits, the SSH server's own address). */
static bool cidr_ok(const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (!strcmp(s, "default"))
		return true;
	if (len >= sizeof(addr))
		return false;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		max = 128;
	else
		return false;
	if (!slash)
		return true;
	slash++;
	if (!*slash || strspn(slash, "0123456789") != strlen(slash) || strlen(slash) > 3)
		return false;
	return atoi(slash) <= max;
}

/* A uid: decimal, below (uid_t)-1. */
static bool uid_ok(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s) || strlen(s) > 10)
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v >= 0xffffffffUL)
		return false;
	*out = (unsigned)v;
	return true;
}

static int route_change(struct call *c, bool add)
{
	char err[ERROR_MSG_MAX] = "";
	const char *cidr = c->argv[0];

	if (!cidr_ok(cidr)) {
		say(c, 2, "bad CIDR `%s' (want an address/prefix like 198.51.100.0/24 or "
		    "2001:db8::/32, or default)", cidr);
		return 2;
	}
	if (c->flag_value) {
		unsigned uid;

		if (!uid_ok(c->flag_value, &uid)) {
			say(c, 2, "bad uid `%s' (a number)", c->flag_value);
			return 2;
		}
		if (engine_uid_route(c->eng, add, cidr, uid, err, sizeof(err)) < 0) {
			say(c, 2, "%s", err[0] ? err : "failed");
			return 1;
		}
		say(c, 1, "route %s for uid %u %s", cidr, uid, add ? "added" : "removed");
		return 0;
	}
	if ((add ? engine_route_add : engine_route_del)(c->eng, cidr, err, sizeof(err)) < 0) {
		say(c, 2, "%s", err[0] ? err : "failed");
		return 1;
	}
	say(c, 1, "route %s %s", cidr, add ? "added" : "removed");
	return 0;
}

int cmd_route_add(struct call *c)
{
	return route_change(c, true);
}

int cmd_route_del(struct call *c)
{
	return route_change(c, false);
}

int cmd_route_exclude(struct call *c)
{
	char err[ERROR_MSG_MAX] = "";
	const char *cidr = c->argv[0];

	if (!cidr_ok(cidr) || !strcmp(cidr, "default")) {
		say(c, 2, "bad CIDR `%s' (want an address/prefix like 198.51.100.0/24 or 2001:db8::/32)", cidr);
		return 2;
	}
	if (engine_route_exclude(c->eng, cidr, err, sizeof(err)) < 0) {
		say(c, 2, "%s", err[0] ? err : "failed");
		return 1;
	}
	say(c, 1, "%s stays on the original path", cidr);
	return 0;
}

int cmd_dns(struct call *c)
{
	char err[ERROR_MSG_MAX] = "";
	struct engine_dns d;

	if (c->argc) {
		bool on = !strcmp(c->argv[0], "on");

		if (!on && strcmp(c->argv[0], "off")) {
			say(c, 2, "bad dns `%s' (want on or off)", c->argv[0]);
			return 2;
		}
		if (engine_dns_set(c->eng, on, err, sizeof(err)) < 0) {
			say(c, 2, "%s", err[0] ? err : "failed");
			return 1;
		}
	}
	engine_dns(c->eng, &d);
	if (c->json) {
		fputs("{\"active\":", c->out);
		fputs(d.active ? "true" : "false", c->out);
		fputs(",\"method\":", c->out);
		json_str(c->out, d.method);
		fputs(",\"servers\":", c->out);
		json_str(c->out, d.servers);
		fputs(",\"domains\":", c->out);
		json_str(c->out, d.domains);
		fprintf(c->out, ",\"split\":%s}\n", d.split ? "true" : "false");
		return 0;
	}
	fprintf(c->out, "dns          %s%s%s\n", d.active ? "on (" : "off", d.method,
		d.active ? ")" : "");
	fprintf(c->out, "servers      %s\n", d.servers[0] ? d.servers : "none offered");
	fprintf(c->out, "domains      %s%s\n", d.domains[0] ? d.domains : "none",
		d.split ? " (only these)" : "");
	return 0;
}

int cmd_route_list(struct call *c)
{
	static char routes[MAX_ROUTES][ENGINE_CIDR_STRLEN];
	size_t n = get_routes(c->eng, routes);

	static char uroutes[MAX_ROUTES][ENGINE_CIDR_STRLEN];
	static unsigned uids[MAX_ROUTES];
	size_t nu = engine_uid_routes(c->eng, uroutes, uids, MAX_ROUTES);

	if (c->json) {
		fputs("{\"routes\":[", c->out);
		for (size_t i = 0; i < n; i++) {
			fputs(i ? "," : "", c->out);
			json_str(c->out, routes[i]);
		}
		fputs("],\"uid_routes\":", c->out);
		uid_routes_json(c->out, uroutes, uids, nu);
		fputs("}\n", c->out);
		return 0;
	}
	if (!n && !nu)
		say(c, 1, "no routes through the tunnel");
	for (size_t i = 0; i < n; i++)
		say(c, 1, "%s", routes[i]);
	for (size_t i = 0; i < nu; i++)
		say(c, 1, "%s uid %u", uroutes[i], uids[i]);
	return 0;
}

void complete_routes(struct engine *eng, struct cands *cd)
{
	static char routes[MAX_ROUTES][ENGINE_CIDR_STRLEN];
	size_t n = get_routes(eng, routes);

	for (size_t i = 0; i < n; i++)
		cand(cd, routes[i]);
}

/* The servers of the list, for `reconnect HOST'. */
void complete_servers(struct engine *eng, struct cands *cd)
{
	struct engine_status st;

	engine_status(eng, &st);
	for (unsigned i = 0; st.nservers > 1 && i < st.nservers; i++)
		cand(cd, st.servers[i].host);
}

/* --- the rest --- */

int cmd_reconnect(struct call *c)
{
	char err[ERROR_MSG_MAX] = "";

	if (engine_reconnect(c->eng, c->argc ? c->argv[0] : NULL, err, sizeof(err)) < 0) {
		say(c, 2, "%s", err[0] ? err : "reconnect failed");
		return 1;
	}
	say(c, 1, "reconnecting%s%s", c->argc ? " to " : "", c->argc ? c->argv[0] : "");
	return 0;
}

int cmd_compress(struct call *c)
{
	const char *m = c->argv[0];
	char err[ERROR_MSG_MAX] = "";

	if (!compress_mode_ok(m, NULL)) {
		say(c, 2, "bad compression `%s' (want auto, off or a level 1 to 9)", m);
		return 2;
	}
	if (engine_set_compress(c->eng, m, err, sizeof(err)) < 0) {
		say(c, 2, "%s", err[0] ? err : "cannot set compression");
		return 1;
	}
	say(c, 1, "compression %s", m);
	return 0;
}

void complete_levels(struct engine *eng, struct cands *cd)
{
	for (int l = LOG_ERROR; l <= LOG_DEBUG2; l++)
		cand(cd, log_level_name(l));
}

int cmd_log(struct call *c)
{
	enum log_level l;

	if (c->argc && log_level_parse(c->argv[0], &l) < 0) {
		say(c, 2, "bad log level `%s' (want error, warn, info, verbose, debug or debug2)",
		    c->argv[0]);
		return 2;
	}
	if (c->argc)
		log_level = l;
	say(c, 1, "log level %s", log_level_name(log_level));
	return 0;
}

static bool quit_requested;

int cmd_quit(struct call *c)
{
	quit_requested = true;
	engine_quit(c->eng);
	return 0;
}

bool shell_quit_requested(void)
{
	return quit_requested;
}
