/* What the shell asks of a running client (api.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "chanlink.h"
#include "common.h"
#include "compress.h"
#include "dns.h"
#include "fail.h"
#include "engine.h"
#include "events.h"
#include "notify.h"
#include "fq.h"
#include "guard.h"
#include "killswitch.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "peer_check.h"
#include "priv.h"

static const char *const state_names[] = {
	[ST_CONNECTING] = "connecting", [ST_AUTHENTICATING] = "authenticating",
	[ST_NEGOTIATING] = "negotiating", [ST_UP] = "up",
	[ST_RECONNECTING] = "reconnecting", [ST_CLOSED] = "closed",
};

void engine_set_state(struct engine *eng, enum engine_state st, const char *detail)
{
	struct engine_status s;

	eng->state = st;
	snprintf(eng->state_detail, sizeof(eng->state_detail), "%s", detail ? detail : state_names[st]);
	events_note("state", "state", state_names[st], "detail", eng->state_detail, (char *)NULL);
	notify_state(state_names[st], eng->state_detail, st == ST_UP);
	if (eng->state_fn) {
		engine_status(eng, &s);
		eng->state_fn(eng->state_ctx, &s);
	}
}

void engine_on_state(struct engine *eng, engine_state_fn fn, void *ctx)
{
	eng->state_fn = fn;
	eng->state_ctx = ctx;
}

struct loop *engine_loop(struct engine *eng)
{
	return eng->loop;
}

void engine_stop(struct engine *eng, int code)
{
	if (eng->quitting)
		return;
	eng->quitting = true;
	eng->exit_code = code;
	notify_stopping();
	loop_stop(eng->loop);
}

void engine_quit(struct engine *eng)
{
	engine_stop(eng, EXIT_OK);
}

static void addr_str(const struct inet_prefix *p, char *out, size_t cap)
{
	out[0] = '\0';
	if (p->family)
		inet_prefix_str(p, false, out, cap);
}

void engine_status(struct engine *eng, struct engine_status *st)
{
	const struct conn *c0 = &eng->conns[0];
	bool up = eng->state == ST_UP;

	memset(st, 0, sizeof(*st));
	st->state = state_names[eng->state];
	snprintf(st->state_detail, sizeof(st->state_detail), "%s", eng->state_detail);
	const struct ssh_opts *ssh = &servers_opts(&eng->servers)->ssh;

	snprintf(st->server, sizeof(st->server), "%s%s%s:%u", strchr(ssh->host, ':') ? "[" : "",
		 ssh->host, strchr(ssh->host, ':') ? "]" : "", ssh->port);
	for (int i = 0; i < eng->servers.n && i < ENGINE_MAX_SERVERS; i++) {
		const struct server *sv = &eng->servers.s[i];

		snprintf(st->servers[i].host, sizeof(st->servers[i].host), "%s", sv->opts->host_arg);
		st->servers[i].state = server_state_name(sv->state);
		snprintf(st->servers[i].error, sizeof(st->servers[i].error), "%s", sv->error);
		st->nservers++;
	}
	snprintf(st->ifname, sizeof(st->ifname), "%s", eng->ifname);
	addr_str(&eng->lease.client4, st->local_addr, sizeof(st->local_addr));
	addr_str(&eng->lease.server4, st->peer_addr, sizeof(st->peer_addr));
	addr_str(&eng->lease.client6, st->local_addr6, sizeof(st->local_addr6));
	addr_str(&eng->lease.server6, st->peer_addr6, sizeof(st->peer_addr6));
	st->mode = c0->openssh ? "openssh" : "sshtun";
	if (c0->openssh)
		st->server_stack = "tun";
	else if (eng->lease.proto)
		st->server_stack = eng->lease.stack[0] ? eng->lease.stack : "tun";
	else
		st->server_stack = "";
	if (c0->openssh)	/* only ssh's own transport compression then */
		snprintf(st->compression, sizeof(st->compression), "%s",
			 eng->opts->ssh.compression ? "zlib@openssh.com" : "off");
	else
		compress_mode_str(eng->opts->compress, st->compression, sizeof(st->compression));
	st->mtu = c0->t.mtu;
	st->uptime_s = up ? (now_ms() - eng->up_since_ms) / 1000 : 0;
	st->reconnects = eng->reconnects;
	st->kill_switch = (eng->guard_flags & KS_KILL) != 0;
	st->dns_guard = (eng->guard_flags & KS_DNS) != 0;
	st->connections = (unsigned)eng->nconns;
	for (int i = 0; i < eng->nconns; i++)
		st->connections_up += eng->conns[i].t.up;
	snprintf(st->connections_note, sizeof(st->connections_note), "%s", eng->single_why);
}

static const char *const conn_state_names[] = {
	[CONN_DOWN] = "down", [CONN_CONNECTING] = "connecting", [CONN_NEGOTIATING] = "negotiating",
	[CONN_UP] = "up", [CONN_WAITING] = "waiting",
};

/* Where the connection leaves from, "ADDR:PORT". */
static void conn_local(const struct conn *c, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char a[INET6_ADDRSTRLEN] = "";
	unsigned port;

	out[0] = '\0';
	if (!c->t.up || c->ssh.sock < 0 || getsockname(c->ssh.sock, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		port = ntohs(sin->sin_port);
		snprintf(out, cap, "%s:%u", a, port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		port = ntohs(sin6->sin6_port);
		snprintf(out, cap, "[%s]:%u", a, port);
	}
}

static void conn_stats(const struct conn *c, struct engine_conn_stats *s)
{
	s->state = conn_state_names[c->state];
	snprintf(s->bind, sizeof(s->bind), "%s", c->bind ? c->bind : "");
	conn_local(c, s->local, sizeof(s->local));
	s->tx_bytes = c->t.st.tx_bytes;
	s->rx_bytes = c->t.st.rx_bytes;
	s->tx_packets = c->t.st.tx_packets;
	s->rx_packets = c->t.st.rx_packets;
	s->rtt_ms = c->rtt_count ? c->rtt_ms : -1;
	s->reconnects = c->reconnects;
	s->attached = !c->eng->multi || c->attached;
}

void engine_tunnel_totals(const struct engine *eng, struct tunnel_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < eng->nconns; i++) {
		const struct tunnel_stats *t = &eng->conns[i].t.st;

		st->tx_packets += t->tx_packets;
		st->rx_packets += t->rx_packets;
		st->tx_bytes += t->tx_bytes;
		st->rx_bytes += t->rx_bytes;
		st->tx_wire_bytes += t->tx_wire_bytes;
		st->rx_wire_bytes += t->rx_wire_bytes;
		st->drops += t->drops;
		st->tx_compressed += t->tx_compressed;
		st->tx_uncompressed += t->tx_uncompressed;
		st->tx_gso += t->tx_gso;
		st->rx_gso += t->rx_gso;
		st->gso_split += t->gso_split;
		st->vnet_bad += t->vnet_bad;
	}
}

void engine_stats(struct engine *eng, struct engine_stats *st)
{
	const struct conn *c0 = &eng->conns[0];
	struct tunnel_stats t;
	uint64_t rtt_count = 0;
	double rtt_sum = 0;

	memset(st, 0, sizeof(*st));
	engine_tunnel_totals(eng, &t);
	st->tx_packets = t.tx_packets;
	st->rx_packets = t.rx_packets;
	st->tx_bytes = t.tx_bytes;
	st->rx_bytes = t.rx_bytes;
	st->tx_wire_bytes = t.tx_wire_bytes;
	st->rx_wire_bytes = t.rx_wire_bytes;
	st->drops = t.drops;
	st->tx_compressed = t.tx_compressed;
	st->tx_uncompressed = t.tx_uncompressed;
	st->gso_tx_frames = t.tx_gso;
	st->gso_rx_frames = t.rx_gso;
	st->gso_split = t.gso_split;
	st->gso_bad = t.vnet_bad;
	/* Offloads are the device's: every queue has the same. */
	if (c0->t.offload)
		vnet_caps_str(c0->t.offload, st->offload, sizeof(st->offload));
	else
		snprintf(st->offload, sizeof(st->offload), "off");
	st->rtt_ms = -1;
	for (int i = 0; i < eng->nconns; i++) {
		const struct conn *c = &eng->conns[i];
		struct fq_stats fq;

		tunnel_fq_stats(&c->t, &fq);
		st->fq_delay_ms += (double)fq.delay_us / 1000.0;
		if ((double)fq.delay_peak_us / 1000.0 > st->fq_delay_peak_ms)
			st->fq_delay_peak_ms = (double)fq.delay_peak_us / 1000.0;
		st->fq_drops += fq.drops_codel + fq.drops_full;
		st->fq_flows += fq.flows;
		/* The round trip now: the first connection that measured it. */
		if (c->rtt_count && st->rtt_ms < 0)
			st->rtt_ms = c->rtt_ms;
		rtt_sum += c->rtt_sum;
		rtt_count += c->rtt_count;
		if (c->channel && !c->openssh)
			st->rx_window += c->chan.win.target;
	}
	if (eng->nconns > 1)
		st->fq_delay_ms /= eng->nconns;	/* the mean wait over the queues */
	st->rtt_avg_ms = rtt_count ? rtt_sum / (double)rtt_count : -1;
	st->tx_rate_bps = eng->tx_rate_bps;
	st->rx_rate_bps = eng->rx_rate_bps;
	st->reconnects = eng->reconnects;
	st->uptime_s = eng->state == ST_UP ? (now_ms() - eng->up_since_ms) / 1000 : 0;
	for (int i = 0; i < eng->nconns; i++)
		conn_stats(&eng->conns[i], &st->conns[st->nconns++]);
}

size_t engine_routes(struct engine *eng, char (*out)[ENGINE_CIDR_STRLEN], size_t max)
{
	size_t n = 0;

	for (int i = 0; i < eng->nroutes && n < max; i++)
		inet_prefix_str(&eng->routes[i], true, out[n++], ENGINE_CIDR_STRLEN);
	return n;
}

static int find_route(const struct engine *eng, const struct inet_prefix *p)
{
	for (int i = 0; i < eng->nroutes; i++)
		if (eng->routes[i].family == p->family && eng->routes[i].plen == p->plen &&
		    !memcmp(&eng->routes[i].addr, &p->addr,
			    p->family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr)))
			return i;
	return -1;
}

/* A full tunnel's halves go in p (kept, returned: how many) or u (those of
 * a family the lease has no address in).  Before any lease, all are kept. */
static int split_uncarried(const struct engine *eng, struct inet_prefix *p, int n, struct inet_prefix *u, int *nu)
{
	const struct hello *l = &eng->lease;
	int kept = 0;

	*nu = 0;
	for (int i = 0; i < n; i++) {
		bool carried = p[i].family == AF_INET ? l->client4.family != 0 : l->client6.family != 0;

		if (!carried && (l->client4.family || l->client6.family) && eng->nunreach + *nu < 4)
			u[(*nu)++] = p[i];
		else
			p[kept++] = p[i];
	}
	return kept;
}

static int find_unreach(const struct engine *eng, const struct inet_prefix *p)
{
	for (int i = 0; i < eng->nunreach; i++)
		if (eng->unreach[i].family == p->family && eng->unreach[i].plen == p->plen &&
		    !memcmp(&eng->unreach[i].addr, &p->addr, sizeof(p->addr)))
			return i;
	return -1;
}

int engine_route_add(struct engine *eng, const char *cidr, char *err, size_t errlen)
{
	struct inet_prefix p[4], u[4];
	char s[ENGINE_CIDR_STRLEN];
	int n, nu = 0, rc;

	if (routes_parse(eng, cidr, p, &n, err, errlen) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (find_route(eng, &p[i]) >= 0) {
			snprintf(err, errlen, "route %s exists already", inet_prefix_str(&p[i], true, s, sizeof(s)));
			return -1;
		}
	}
	if (eng->nroutes + n > ENGINE_MAX_ROUTES) {
		snprintf(err, errlen, "too many routes (max %d)", ENGINE_MAX_ROUTES);
		return -1;
	}
	if (!strcmp(cidr, "default") && routes_pin_server(eng, err, errlen) < 0)
		return -1;
	if (!strcmp(cidr, "default"))
		n = split_uncarried(eng, p, n, u, &nu);
	for (int i = 0; i < n; i++) {
		rc = priv_route(true, &p[i], 0);
		if (rc == -EEXIST) {
			/* Routed elsewhere already (another tunnel, the LAN):
			 * ours stands behind it and takes over if it goes. */
			unsigned metric = ENGINE_FALLBACK_METRIC + (unsigned)eng->ifindex;

			rc = priv_route(true, &p[i], metric);
			if (rc == 0)
				log_warn("%s is routed elsewhere already; through %s it is a fallback (metric %u)",
					 inet_prefix_str(&p[i], true, s, sizeof(s)), eng->ifname, metric);
		}
		if (rc < 0) {
			snprintf(err, errlen, "cannot add route %s via %s: %s",
				 inet_prefix_str(&p[i], true, s, sizeof(s)), eng->ifname, strerror(-rc));
			for (int j = 0; j < i; j++)
				priv_route(false, &p[j], 0);
			return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		eng->routes[eng->nroutes++] = p[i];
		log_info("route %s via %s", inet_prefix_str(&p[i], true, s, sizeof(s)), eng->ifname);
		events_note("route", "action", "add", "cidr", s, (char *)NULL);
	}
	for (int i = 0; i < nu; i++) {
		inet_prefix_str(&u[i], true, s, sizeof(s));
		if (priv_unreach(true, &u[i]) == 0) {
			eng->unreach[eng->nunreach++] = u[i];
			log_info("route %s unreachable: the server offers no IPv%c", s, u[i].family == AF_INET ? '4' : '6');
		} else if (priv_route(true, &u[i], 0) == 0) {
			/* Into the tunnel, which drops it: still not out. */
			eng->routes[eng->nroutes++] = u[i];
			log_warn("route %s via %s (it cannot be made unreachable)", s, eng->ifname);
		} else {
			log_warn("route %s: neither unreachable nor through %s: it may leave by the physical link", s,
				 eng->ifname);
		}
	}
	return 0;
}

int engine_route_del(struct engine *eng, const char *cidr, char *err, size_t errlen)
{
	struct inet_prefix p[4];
	char s[ENGINE_CIDR_STRLEN];
	int n;

	/* An excluded prefix goes back to normal routing (the tunnel's, when
	 * a route of ours covers it). */
	if (inet_prefix_parse_net(cidr, &p[0]) == 0 && routes_find_exclude(eng, &p[0]) >= 0)
		return routes_unexclude(eng, &p[0], err, errlen);
	if (routes_parse(eng, cidr, p, &n, err, errlen) < 0)
		return -1;
	/* The unreachable halves of a full tunnel go with it. */
	for (int i = 0, k; i < n; i++) {
		if ((k = find_unreach(eng, &p[i])) < 0)
			continue;
		priv_unreach(false, &p[i]);
		eng->unreach[k] = eng->unreach[--eng->nunreach];
		log_info("route %s (unreachable) removed", inet_prefix_str(&p[i], true, s, sizeof(s)));
		p[i--] = p[--n];
	}
	for (int i = 0; i < n; i++) {
		if (find_route(eng, &p[i]) < 0) {
			snprintf(err, errlen, "no route %s through this tunnel (see route list)",
				 inet_prefix_str(&p[i], true, s, sizeof(s)));
			return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		int k = find_route(eng, &p[i]);

		priv_route(false, &p[i], 0);
		eng->routes[k] = eng->routes[--eng->nroutes];
		log_info("route %s removed", inet_prefix_str(&p[i], true, s, sizeof(s)));
		events_note("route", "action", "del", "cidr", s, (char *)NULL);
	}
	/* No full tunnel, no need to keep the server on its own path. */
	if (!strcmp(cidr, "default") && !eng->nexcludes)
		routes_unpin_server(eng);
	return 0;
}

static int find_uid_route(const struct engine *eng, const struct inet_prefix *p, unsigned uid);

/* A half-done `route add default --uid': the halves added go again. */
static void engine_uid_route_undo(struct engine *eng, const struct inet_prefix *p, unsigned uid)
{
	char e[ERROR_MSG_MAX];
	int k = find_uid_route(eng, p, uid);

	priv_uid_route(false, p, uid, e, sizeof(e));
	if (k >= 0) {
		eng->uid_dst[k] = eng->uid_dst[--eng->nuid_routes];
		eng->uid_of[k] = eng->uid_of[eng->nuid_routes];
	}
}

static int find_uid_route(const struct engine *eng, const struct inet_prefix *p, unsigned uid)
{
	for (int i = 0; i < eng->nuid_routes; i++)
		if (eng->uid_of[i] == uid && eng->uid_dst[i].family == p->family && eng->uid_dst[i].plen == p->plen &&
		    !memcmp(&eng->uid_dst[i].addr, &p->addr, sizeof(p->addr)))
			return i;
	return -1;
}

int engine_uid_route(struct engine *eng, bool add, const char *cidr, unsigned uid, char *err, size_t errlen)
{
	struct inet_prefix p[4];
	char s[ENGINE_CIDR_STRLEN];
	int n;

	if (routes_parse(eng, cidr, p, &n, err, errlen) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		int k = find_uid_route(eng, &p[i], uid);

		inet_prefix_str(&p[i], true, s, sizeof(s));
		if (add ? k >= 0 : k < 0)
			return errorf(err, errlen, add ? "route %s for uid %u exists already"
						       : "no route %s for uid %u through this tunnel (see route list)", s, uid);
	}
	if (add && eng->nuid_routes + n > ENGINE_MAX_UID_ROUTES)
		return errorf(err, errlen, "too many per-uid routes (max %d)", ENGINE_MAX_UID_ROUTES);
	for (int i = 0; i < n; i++) {
		inet_prefix_str(&p[i], true, s, sizeof(s));
		if (!add) {
			int k = find_uid_route(eng, &p[i], uid);

			priv_uid_route(false, &p[i], uid, err, errlen);
			eng->uid_dst[k] = eng->uid_dst[--eng->nuid_routes];
			eng->uid_of[k] = eng->uid_of[eng->nuid_routes];
			log_info("route %s for uid %u removed", s, uid);
			continue;
		}
		if (priv_uid_route(true, &p[i], uid, err, errlen) < 0) {
			for (int j = 0; j < i; j++)
				engine_uid_route_undo(eng, &p[j], uid);
			return -1;
		}
		eng->uid_dst[eng->nuid_routes] = p[i];
		eng->uid_of[eng->nuid_routes++] = uid;
		log_info("route %s for uid %u via %s", s, uid, eng->ifname);
	}
	return 0;
}

size_t engine_uid_routes(struct engine *eng, char (*out)[ENGINE_CIDR_STRLEN], unsigned *uids, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < eng->nuid_routes && n < max; i++, n++) {
		inet_prefix_str(&eng->uid_dst[i], true, out[n], ENGINE_CIDR_STRLEN);
		uids[n] = eng->uid_of[i];
	}
	return n;
}

/* Both directions change: ours at once, the server's when our CONTROL
 * frame reaches it (and again in the hello after a reconnect).  Every
 * connection's. */
int engine_set_compress(struct engine *eng, const char *mode, char *err, size_t errlen)
{
	char line[32], name[8];
	int m;

	if (!compress_mode_ok(mode, &m))
		return errorf(err, errlen, "bad compression mode `%s' (%s)", mode, COMPRESS_MODES);
	if (eng->conns[0].openssh) {
		snprintf(err, errlen, "with stock sshd's channel, compression is ssh's own: start with -o Compression=yes");
		return -1;
	}
	eng->opts->compress = m;
	for (int i = 0; i < eng->nconns; i++) {
		struct conn *c = &eng->conns[i];

		tunnel_set_compress(&c->t, m);
		if (c->t.up) {
			int n = snprintf(line, sizeof(line), "compress_mode=%s\n",
					 compress_mode_str(m, name, sizeof(name)));

			if (tunnel_queue(&c->t, FRAME_CONTROL, 0, line, (uint32_t)n) < 0)
				log_warn("could not tell the server the new compression mode (queue full)");
		}
	}
	log_info("compression %s", compress_mode_str(m, name, sizeof(name)));
	return 0;
}

/* Pings: payload u32 id, u64 send time; the peer echoes it in a PONG.  The
 * shell's pings and the keepalive share each connection's slots; handles
 * are the engine's, unique over all of them. */
static struct ping_slot *ping_find(struct engine *eng, long handle)
{
	for (int k = 0; k < eng->nconns; k++)
		for (int i = 0; i < CONN_MAX_PINGS; i++)
			if (eng->conns[k].pings[i].handle == handle)
				return &eng->conns[k].pings[i];
	return NULL;
}

static void ping_finish(struct ping_slot *p, double rtt)
{
	struct conn *c = p->c;
	engine_ping_fn fn = p->fn;
	void *ctx = p->ctx;

	loop_cancel(c->eng->loop, p->timer);
	p->handle = 0;
	alive_ping_done(&c->alive, p->why, rtt);
	if (rtt >= 0) {
		pressure_rtt(&c->pressure, rtt);
		c->t.rtt_congested = c->pressure.congested;
		chan_link_rtt(&c->chan, rtt);
		c->rtt_ms = rtt;
		c->rtt_sum += rtt;
		c->rtt_count++;
	}
	if (fn)
		fn(ctx, rtt);
}

static void ping_timeout(struct loop *loop, void *ctx)
{
	struct ping_slot *p = ctx;

	p->timer = 0;
	ping_finish(p, -1);
}

long engine_send_ping(struct conn *c, enum ping_why why, unsigned timeout_ms, engine_ping_fn fn,
		      void *ctx)
{
	struct ping_slot *p = NULL;
	uint8_t payload[12];

	for (int i = 0; i < CONN_MAX_PINGS && !p; i++)
		if (!c->pings[i].handle)
			p = &c->pings[i];
	if (!p || !c->t.up || c->eng->state != ST_UP)
		return -1;
	p->c = c;
	p->handle = ++c->eng->next_ping;
	p->id = (uint32_t)p->handle;
	p->sent_us = now_us();
	p->fn = fn;
	p->ctx = ctx;
	p->why = why;
	put_u32(payload, p->id);
	put_u64(payload + 4, p->sent_us);
	if (tunnel_queue(&c->t, FRAME_PING, 0, payload, sizeof(payload)) < 0) {
		p->handle = 0;
		return -1;
	}
	p->timer = loop_timer(c->eng->loop, timeout_ms, ping_timeout, p);
	return p->handle;
}

void engine_pong(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct reader r;
	uint32_t id;
	uint64_t sent;

	reader_init(&r, payload, len);
	if (reader_u32(&r, &id) < 0 || reader_u64(&r, &sent) < 0)
		return;
	for (int i = 0; i < CONN_MAX_PINGS; i++) {
		struct ping_slot *p = &c->pings[i];

		/* The time comes back from the peer: trust only our own copy. */
		if (p->handle && p->id == id) {
			ping_finish(p, (double)(now_us() - p->sent_us) / 1000.0);
			return;
		}
	}
}

/* The link went away: every waiting ping ends now, not at its timeout. */
void engine_fail_pings(struct conn *c)
{
	for (int i = 0; i < CONN_MAX_PINGS; i++)
		if (c->pings[i].handle)
			ping_finish(&c->pings[i], -1);
	alive_reset(&c->alive);
}

long engine_ping(struct engine *eng, unsigned timeout_ms, engine_ping_fn fn, void *ctx, char *err,
		 size_t errlen)
{
	struct conn *c = NULL;
	long h;

	if (eng->state != ST_UP) {
		snprintf(err, errlen, "the tunnel is not up (%s)", eng->state_detail);
		return -1;
	}
	if (eng->conns[0].openssh) {
		snprintf(err, errlen, "ping needs the sshtun helper (this tunnel uses stock sshd's channel)");
		return -1;
	}
	/* Through the first connection that is up. */
	for (int i = 0; i < eng->nconns && !c; i++)
		if (eng->conns[i].t.up)
			c = &eng->conns[i];
	h = c ? engine_send_ping(c, PING_ASKED, timeout_ms, fn, ctx) : -1;
	if (h < 0)
		snprintf(err, errlen, "too many pings in flight");
	return h;
}

void engine_ping_cancel(struct engine *eng, long handle)
{
	struct ping_slot *p = handle > 0 ? ping_find(eng, handle) : NULL;

	if (p) {
		loop_cancel(eng->loop, p->timer);
		p->handle = 0;
	}
}

int engine_route_exclude(struct engine *eng, const char *cidr, char *err, size_t errlen)
{
	struct inet_prefix p, server;
	char a[ENGINE_CIDR_STRLEN];

	if (inet_prefix_parse_net(cidr, &p) < 0) {
		snprintf(err, errlen, "bad CIDR `%s' (want e.g. 10.20.0.0/16 or 2001:db8::/32)", cidr);
		return -1;
	}
	if (eng->nexcludes == ENGINE_MAX_ROUTES) {
		snprintf(err, errlen, "too many excluded prefixes (max %d)", ENGINE_MAX_ROUTES);
		return -1;
	}
	/* The path the SSH connection takes is the original one: the pin,
	 * or whatever the kernel picks for the server now; the root side
	 * looks it up itself. */
	if (routes_server_prefix(eng, &server) < 0) {
		snprintf(err, errlen, "cannot find the original path (not connected?)");
		return -1;
	}
	if (priv_exclude(&p, &server, err, errlen) < 0)
		return -1;
	eng->excludes[eng->nexcludes++] = p;
	log_info("%s stays on the original path", inet_prefix_str(&p, true, a, sizeof(a)));
	events_note("route", "action", "exclude", "cidr", a, (char *)NULL);
	return 0;
}

/* The DNS settings the server offered, shaped by --dns-domain. */
static void dns_config_of(const struct engine *eng, struct dns_config *cfg)
{
	char domains[HELLO_DOMAINS_MAX], *save = NULL, *d;

	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < eng->lease.dns.n && cfg->nservers < DNS_MAX_SERVERS; i++)
		cfg->servers[cfg->nservers++] = eng->lease.dns.p[i];
	if (eng->opts->ndns_domains) {
		cfg->split = true;
		for (int i = 0; i < eng->opts->ndns_domains; i++)
			snprintf(cfg->domains[cfg->ndomains++], DNS_DOMAIN_MAX, "%s", eng->opts->dns_domains[i]);
		return;
	}
	snprintf(domains, sizeof(domains), "%s", eng->lease.domains);
	for (d = strtok_r(domains, ",", &save); d && cfg->ndomains < DNS_MAX_DOMAINS; d = strtok_r(NULL, ",", &save))
		snprintf(cfg->domains[cfg->ndomains++], DNS_DOMAIN_MAX, "%s", d);
}

void engine_dns(struct engine *eng, struct engine_dns *d)
{
	struct dns_config cfg;
	size_t len = 0;

	memset(d, 0, sizeof(*d));
	dns_config_of(eng, &cfg);
	d->active = eng->dns_on;
	d->method = eng->dns_on ? priv_dns_method() : "";
	d->split = cfg.split;
	for (int i = 0; i < cfg.nservers && len < sizeof(d->servers); i++) {
		char a[ENGINE_ADDR_STRLEN];

		len += (size_t)snprintf(d->servers + len, sizeof(d->servers) - len, "%s%s", i ? "," : "",
					inet_prefix_str(&cfg.servers[i], false, a, sizeof(a)));
	}
	len = 0;
	for (int i = 0; i < cfg.ndomains && len < sizeof(d->domains); i++)
		len += (size_t)snprintf(d->domains + len, sizeof(d->domains) - len, "%s%s", i ? "," : "",
					cfg.domains[i]);
}

/* -r default: both halves of a family through us. */
static bool full_tunnel(const struct engine *eng)
{
	for (int i = 0; i < eng->nroutes; i++)
		if (eng->routes[i].plen == 1)
			return true;
	return false;
}

int engine_dns_set(struct engine *eng, bool on, char *err, size_t errlen)
{
	static struct peer_facts facts[1];	/* large; the loop thread's only */
	struct dns_config cfg;

	if (!on) {
		if (eng->dns_on)
			priv_dns_revert();
		eng->dns_on = false;
		return guard_dns(&eng->guard_flags, false, err, errlen);
	}
	if (eng->dns_on)
		return 0;
	if (eng->state != ST_UP) {
		snprintf(err, errlen, "the tunnel is not up (%s)", eng->state_detail);
		return -1;
	}
	dns_config_of(eng, &cfg);
	if (!cfg.nservers) {
		snprintf(err, errlen, "the server offers no DNS servers (sshtun serve --dns ADDR)");
		return -1;
	}
	/* Checked again here: `dns on' comes without the hello's check. */
	if (routes_peer_facts(eng, facts, err, errlen) < 0)
		return -1;
	if (peer_check_dns(&eng->lease.dns, facts, err, errlen) < 0)
		return -1;
	/* The resolvers are reached through the tunnel, each by a host route
	 * (the bare address): never a wider prefix. */
	for (int i = 0; i < cfg.nservers; i++) {
		char a[ENGINE_CIDR_STRLEN], e[256];
		struct inet_prefix host = cfg.servers[i];

		host.plen = host.family == AF_INET ? 32 : 128;
		inet_prefix_str(&host, false, a, sizeof(a));
		if (find_route(eng, &host) < 0 && engine_route_add(eng, a, e, sizeof(e)) < 0)
			log_warn("resolver %s: %s", a, e);
	}
	if (priv_dns_apply(&cfg, err, errlen) < 0)
		return -1;
	eng->dns_on = true;
	log_info("DNS through the tunnel (%s)", priv_dns_method());
	/* A full tunnel's DNS leaks no other way: split DNS (--dns-domain)
	 * keeps the local resolvers for the rest. */
	if (!cfg.split && full_tunnel(eng)) {
		if (guard_dns(&eng->guard_flags, true, err, errlen) < 0)
			return -1;
		log_info("DNS to resolvers outside the tunnel blocked");
	}
	return 0;
}

void engine_exec_opened(struct engine *eng)
{
	if (!eng->exec_any_src)
		log_info("exec: a command runs in this instance's namespace; the IPv4 source check moves to the kernel (the exec table's spoof chain)");
	eng->exec_any_src = true;
}
