/* See session.h.  When the connection drops, the TUN with its addresses and
 * routes stays and we connect again. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "bg.h"
#include "chanlink.h"
#include "common.h"
#include "conns.h"
#include "compress.h"
#include "engine.h"
#include "events.h"
#include "fail.h"
#include "frame.h"
#include "inuse.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "openssh.h"
#include "push.h"
#include "peer_check.h"
#include "priv.h"
#include "session.h"
#include "tun.h"

#define RECONNECT_MIN_MS 1000
#define RECONNECT_MAX_MS 30000
/* Network changes bring a reconnect forward at most this often (a
 * flapping link must not make the client spin). */
#define NET_RETRY_MIN_MS 500

static void schedule_reconnect(struct conn *c);
static void retry_in(struct conn *c, unsigned ms);
static unsigned backoff_ms(unsigned attempt);
static void session_close(struct conn *c);
static int conn_start(struct conn *c);
static void connect_failed(struct conn *c);
static void on_socket(struct loop *loop, int fd, short revents, void *ctx);

/* ---- negotiation ---- */

static int on_magic(void *ctx, unsigned proto, const char *software)
{
	char who[128], err[ERROR_MSG_MAX];

	log_verbose("server helper: %s, protocol %u", software, proto);
	snprintf(who, sizeof(who), "the server's helper (%s)", software);
	if (proto_check(proto, who, "client", err, sizeof(err)) < 0)
		return fail(EXIT_REFUSED, "%s", err);
	return 0;
}

static int configure_tun(struct conn *c)
{
	struct engine *eng = c->eng;
	const struct inet_prefix *addrs[] = { &eng->lease.client4, &eng->lease.client6 };
	int rc = priv_link_up(c->t.mtu);

	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(addrs); i++)
		if (addrs[i]->family)
			rc = priv_addr(true, addrs[i]);
	if (rc < 0)
		return fail(EXIT_LOCAL, "cannot configure %s: %s", eng->ifname, strerror(-rc));
	return 0;
}

/* ---- several connections (--connections; conns.c keeps their state) ---- */

/* The group exists (its token came): every connection that is doing
 * nothing joins it now. */
static void start_others(struct engine *eng)
{
	if (!eng->join[0])
		return;
	for (int i = 0; i < eng->nconns; i++) {
		struct conn *c = &eng->conns[i];

		if (!conn_idle(c))
			continue;
		c->reconnect_attempt = 0;
		if (conn_start(c) < 0) {
			log_warn("connection %d: %s", i, fail_msg());
			fail_clear();
			retry_in(c, 1000);
		}
	}
}

/* The instance has no connection up, and c (not the first) is lost: the
 * first connection takes over, as a lone connection does (the walk over
 * the servers, fresh, with its backoff), unless it is on its way already;
 * the others wait for it (start_others) instead of trying to join a group
 * that may be gone. */
static void kick_first(struct engine *eng, bool was_up)
{
	struct conn *c0 = &eng->conns[0];

	for (int i = 1; i < eng->nconns; i++) {
		struct conn *k = &eng->conns[i];

		if (k->reconnect_timer && !k->t.up) {
			loop_cancel(eng->loop, k->reconnect_timer);
			k->reconnect_timer = 0;
			k->state = CONN_DOWN;
		}
	}
	if (c0->connector.running || c0->channel) {
		if (was_up)
			engine_set_state(eng, ST_RECONNECTING, "reconnecting");
		return;
	}
	if (c0->reconnect_timer && !was_up)
		return;	/* it waits out its backoff already */
	if (was_up) {
		if (eng->servers.n > 1)
			servers_lost(&eng->servers, "connection lost");
		c0->reconnect_attempt = 0;	/* a fresh loss, as one connection's */
	}
	schedule_reconnect(c0);
}

/* A connection lost or failed, with several: while another is up it goes
 * on its own (its queue detached, a join after its own backoff); with none
 * up one that is not the first waits for the first.  False: the first,
 * alone, which goes the way one connection goes. */
static bool group_handles(struct conn *c)
{
	struct engine *eng = c->eng;
	bool was_up = eng->state == ST_UP, c_was_up = c->t.up;
	char why[ERROR_MSG_MAX];

	if (eng->nconns < 2 || (c->index == 0 && !conn_others_up(c) && !c->nojoin))
		return false;
	snprintf(why, sizeof(why), "%s", fail_msg()[0] ? fail_msg() : "connection lost");
	session_close(c);
	if (eng->quitting)
		return true;
	fail_clear();
	if (c->nojoin && !conn_others_up(c))
		eng->join[0] = '\0';	/* no group to join: the first starts a new one */
	c->nojoin = false;
	if (conn_others_up(c)) {
		unsigned ms = backoff_ms(c->reconnect_attempt++);

		log_warn("connection %d: %s; again in %us", c->index, why, (ms + 999) / 1000);
		if (c_was_up)
			conns_tell_lost(c);
		c->state = CONN_WAITING;
		retry_in(c, ms);
		roam_wait(&c->roam);
		conns_changed(eng);
		return true;
	}
	if (c->index == 0) {	/* refused a join with none up: afresh, now */
		log_info("connection 0: %s; connecting afresh", why);
		engine_set_state(eng, ST_RECONNECTING, "reconnecting now");
		retry_in(c, 0);
		return true;
	}
	log_warn("connection %d: %s", c->index, why);
	c->state = CONN_DOWN;
	kick_first(eng, was_up);
	return true;
}

/* Addresses are known (the server's hello, or our choice with stock sshd):
 * configure the TUN and let packets flow.  A connection that joined finds
 * the TUN configured already. */
static int came_up(struct conn *c)
{
	struct engine *eng = c->eng;
	char a4[64] = "", a6[64] = "";

	if (!c->joining && configure_tun(c) < 0)
		return -1;
	loop_cancel(eng->loop, c->hello_timer);
	c->hello_timer = 0;
	c->t.up = true;
	c->state = CONN_UP;
	if (c->up_since_ms)
		c->reconnects++;
	c->up_since_ms = now_ms();
	c->reconnect_attempt = 0;	/* the next drop starts the backoff afresh */
	roam_arm(&c->roam, c->ssh.sock, &c->ssh.peer_addr, eng->ifindex);
	if (eng->state == ST_UP) {	/* another connection of the group */
		log_info("connection %d up (%d of %d)", c->index, conns_up(eng), eng->nconns);
		conns_changed(eng);
		return 0;
	}
	eng->up_since_ms = now_ms();
	if (eng->servers.n > 1 && eng->lease_from != eng->servers.order[eng->servers.pos])
		events_note("server", "host", servers_opts(&eng->servers)->host_arg, (char *)NULL);
	eng->lease_from = eng->servers.order[eng->servers.pos];
	servers_up(&eng->servers);
	if (eng->pin.family) {
		char err[ERROR_MSG_MAX];

		/* Another server of the list: the pin follows it. */
		if (routes_pin_server(eng, err, sizeof(err)) < 0)
			log_warn("%s", err);
	}
	inet_prefix_str(&eng->lease.client4, true, a4, sizeof(a4));
	inet_prefix_str(&eng->lease.client6, true, a6, sizeof(a6));
	log_info("tunnel up: %s %s%s%s%s%s%s", eng->ifname, a4, *a6 ? " " : "", a6,
		 c->openssh ? " (stock sshd, tun@openssh.com)" : "", eng->servers.n > 1 ? " via " : "",
		 eng->servers.n > 1 ? servers_opts(&eng->servers)->host_arg : "");
	engine_set_state(eng, ST_UP, NULL);
	conns_changed(eng);
	start_others(eng);
	return 0;
}

/* Connecting to another server than the one whose pair we have: each
 * server has its own pool, so the pair is not asked for again. */
static bool new_server(const struct engine *eng)
{
	return eng->lease_from >= 0 && eng->lease_from != eng->servers.order[eng->servers.pos];
}

static int on_server_hello(struct conn *c, const struct frame *f)
{
	struct engine *eng = c->eng;
	static struct peer_facts facts[1];	/* large; the loop thread's only */
	struct hello h, old;
	char err[ERROR_MSG_MAX];

	if (hello_parse(f->payload, f->len, &h, err, sizeof(err)) < 0)
		return fail(EXIT_REFUSED, "the server's helper sent a bad hello: %s", err);
	if (proto_check(h.proto, "the server's hello", "client", err, sizeof(err)) < 0)
		return fail(EXIT_REFUSED, "%s", err);
	/* Also after a reconnect: a refusal ends the run (permanent()). */
	if (routes_peer_facts(eng, facts, err, sizeof(err)) < 0)
		return fail(EXIT_LOCAL, "%s", err);
	if (peer_check_hello(&h, facts, eng->opts->dns, err, sizeof(err)) < 0)
		return fail(EXIT_REFUSED, "%s", err);
	c->t.mtu = h.mtu && h.mtu < eng->opts->mtu ? h.mtu : eng->opts->mtu;
	if (c->joining) {
		/* One pair for the group: a join never changes it. */
		if (memcmp(&h.client4, &eng->lease.client4, sizeof(h.client4)) ||
		    memcmp(&h.server4, &eng->lease.server4, sizeof(h.server4)) ||
		    memcmp(&h.client6, &eng->lease.client6, sizeof(h.client6)) ||
		    memcmp(&h.server6, &eng->lease.server6, sizeof(h.server6)))
			return fail(EXIT_ERROR, "server gave connection %d a different pair", c->index);
		if ((h.compress & COMPRESS_ZLIB) && tunnel_compress_to_peer(&c->t, eng->opts->compress) < 0)
			return -1;
		if (tunnel_compress_layout(&c->t, hello_compress_layout(&h)) < 0)
			return -1;
		tunnel_set_peer_caps(&c->t, h.gso);
		return came_up(c);
	}
	conns_take_token(eng, &h, false);
	if (eng->lease.client4.family && eng->reconnects && !new_server(eng) &&
	    memcmp(&eng->lease.client4, &h.client4, sizeof(h.client4)))
		log_warn("the server gave a different address pair after reconnecting");
	old = eng->lease;
	eng->lease = h;
	if ((h.compress & COMPRESS_ZLIB) && tunnel_compress_to_peer(&c->t, eng->opts->compress) < 0)
		return -1;
	if (tunnel_compress_layout(&c->t, hello_compress_layout(&h)) < 0)
		return -1;
	tunnel_set_peer_caps(&c->t, h.gso);
	log_offloads(&c->t, "server");
	if (came_up(c) < 0)
		return -1;
	/* Addresses from an earlier lease go if the pair changed (another
	 * server's pool): after the new ones are on, since the kernel drops
	 * every route of a device whose last IPv4 address goes. */
	if (old.client4.family && memcmp(&old.client4, &h.client4, sizeof(h.client4)))
		priv_addr(false, &old.client4);
	if (old.client6.family && memcmp(&old.client6, &h.client6, sizeof(h.client6)))
		priv_addr(false, &old.client6);
	return 0;
}

static int on_frame(void *ctx, const struct frame *f)
{
	struct conn *c = ctx;

	switch (f->type) {
	case FRAME_HELLO:
		if (c->t.up)
			return fail(EXIT_ERROR, "the server sent a second hello");
		return on_server_hello(c, f);
	case FRAME_PONG:
		engine_pong(c, f->payload, f->len);
		return 0;
	case FRAME_ERROR: {
		char why[ERROR_MSG_MAX];
		size_t n = f->len < sizeof(why) - 1 ? f->len : sizeof(why) - 1;

		memcpy(why, f->payload, n);
		why[n] = '\0';
		for (char *p = why; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		/* At its limit: another server (or this one later) may take us. */
		c->busy = (f->flags & FRAME_F_BUSY) != 0;
		/* No group to join (gone, full, the token stale): connect
		 * afresh unless another connection is up. */
		c->nojoin = c->joining && (f->flags & FRAME_F_NOJOIN);
		return fail(EXIT_REFUSED, "the server refused the tunnel%s: %s", c->busy ? " (busy)" : "",
			    why);
	}
	case FRAME_CONTROL:
		return 0;
	case FRAME_DATA:
		return fail(EXIT_REFUSED, "the server sent data before its hello");
	default:
		return fail(EXIT_ERROR, "unexpected %s frame from the server", frame_type_name(f->type));
	}
}

/* A source not routed through the tunnel is spoofed.  In code, for both
 * families: the kernel's strict rp_filter is IPv4 only, and it would also
 * drop the replies on a route that stands behind another instance's
 * (ENGINE_FALLBACK_METRIC), since the best route back is not ours. */
static bool from_server_ok(void *ctx, int family, const uint8_t *src)
{
	struct conn *c = ctx;
	struct engine *eng = c->eng;

	return peer_src_allowed(family, src, &eng->lease, eng->routes, eng->nroutes) ||
	       (eng->exec_any_src && family == AF_INET);
}

static const struct tunnel_handler handler = { .on_magic = on_magic, .on_frame = on_frame, .from_peer_ok = from_server_ok };

static void on_hello_timeout(struct loop *loop, void *ctx)
{
	struct conn *c = ctx;
	struct engine *eng = c->eng;

	c->hello_timer = 0;
	fail(EXIT_REFUSED,
	     "the server's helper did not complete the sshtun hello within %u s (ConnectTimeout): %s",
	     servers_opts(&eng->servers)->ssh.connect_timeout_s,
	     c->t.want_magic ? "no sshtun helper answered (check --remote-command)" : "it sent no hello");
	session_lost(c, EXIT_REFUSED);
}

/* ---- connecting ---- */

void session_prepare(struct engine *eng)
{
	for (int i = 0; i < ENGINE_MAX_CONNS; i++) {
		struct conn *c = &eng->conns[i];

		c->eng = eng;
		c->index = i;
		if (eng->opts && eng->opts->nbinds) {
			c->bind = eng->opts->binds[i % eng->opts->nbinds];
			c->bind_is_dev = eng->opts->bind_is_dev[i % eng->opts->nbinds];
		}
		c->ssh.sock = -1;
		c->t.tun_fd = -1;
		c->roam.fd = -1;
	}
}

int session_init(struct engine *eng)
{
	uint64_t seed = 0;

	if (eng->nconns > 1 && getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = now_ms() ^ (uint64_t)getpid() << 32;	/* the hash's seed: unguessable is better, not needed */
	steer_init(&eng->steer, seed);
	for (int i = 0; i < eng->nconns; i++) {
		struct conn *c = &eng->conns[i];

		c->chan.t = &c->t;
		if (tunnel_init(&c->t, &chan_link_ops, &c->chan, &handler, c) < 0 || ossh_link_init(&c->ossh) < 0)
			return -1;
		if (eng->nconns > 1)
			tunnel_set_steer(&c->t, conns_steer, c);
	}
	return 0;
}

void session_free(struct engine *eng)
{
	for (int i = 0; i < ENGINE_MAX_CONNS; i++) {
		struct conn *c = &eng->conns[i];

		if (c->t.tun_fd >= 0)
			close(c->t.tun_fd);
		c->t.tun_fd = -1;
		roam_close(&c->roam);
		tunnel_free(&c->t);
		ossh_link_free(&c->ossh);
	}
}

/* The loop's half of stock-sshd mode: packets flow from here on. */
static int openssh_begin(struct conn *c)
{
	struct engine *eng = c->eng;

	libssh2_session_set_blocking(c->ssh.session, 0);
	if (tunnel_reset(&c->t, false) < 0)
		return -1;
	ossh_link_reset(&c->ossh, c->channel);
	ossh_link_batch(&c->ossh, c->ssh.session, c->ssh.sock);
	c->t.link = &ossh_link_ops;
	c->t.link_ctx = &c->ossh;
	c->t.want_magic = false;
	loop_watch(eng->loop, c->ssh.sock, POLLIN, on_socket, c);
	c->joining = false;
	conns_take_token(eng, &eng->lease, true);
	return came_up(c);
}

static int job_open_openssh(struct session_job *job)
{
	job->channel = ossh_open(job->conn.session, job->opts, &job->lease, &job->mtu, job->debug_msg);
	if (!job->channel)
		return -1;
	job->openssh = true;
	return 0;
}

/* --push: the copy of this binary on the server (sent if need be), run as
 * the helper. */
static int job_push(struct session_job *job)
{
	char cmd[1024];
	bool uploaded;

	if (push_helper(job->conn.session, job->opts->remote_command, job->opts->ssh.connect_timeout_s,
			cmd, sizeof(cmd), &uploaded) < 0)
		return -1;
	job->channel = chan_link_exec(job->conn.session, cmd);
	job->pushed = job->channel != NULL;
	return job->channel ? 0 : -1;
}

static int job_push_now(void *arg)
{
	return job_push(arg);
}

/* On the connect thread, before each address of the server is tried: a
 * full tunnel's routes would take the connection into the tunnel itself,
 * so the pin moves to that address first (another server of the list). */
static void pin_first(void *ctx, const struct sockaddr *sa)
{
	struct session_job *job = ctx;
	struct inet_prefix p = { 0 };
	char err[ERROR_MSG_MAX] = "";
	int rc;

	if (!job->pin_follow || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return;
	p.family = sa->sa_family;
	if (p.family == AF_INET) {
		p.addr.v4 = ((const struct sockaddr_in *)sa)->sin_addr;
		p.plen = 32;
	} else {
		p.addr.v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		p.plen = 128;
	}
	if (!memcmp(&p, &job->pin, sizeof(p)))
		return;
	rc = priv_pin(&p, &job->pin_ifindex, &job->pin_gw, err, sizeof(err));
	if (rc < 0 && rc != -EEXIST) {
		log_warn("%s", err);
		return;
	}
	/* -EEXIST: a route of someone else's does it; the old pin went. */
	if (rc == 0) {
		job->pin = p;
		log_verbose("the full tunnel's pin moves to this server");
	} else {
		memset(&job->pin, 0, sizeof(job->pin));
	}
	job->pin_moved = true;
}

/* On the connect thread: everything that blocks, bounded by ConnectTimeout
 * at each step.  It touches its job only (and the root side, locked). */
static int session_connect(void *arg)
{
	struct session_job *job = arg;

	if (ssh_connect(&job->ssh, &job->conn) < 0)
		return -1;
	if (job->opts->openssh)
		return job_open_openssh(job);
	if (job->push)
		return job_push(job);
	job->channel = chan_link_open(job->conn.session, job->opts->remote_command);
	return job->channel ? 0 : -1;
}

/* Back on the loop: our protocol starts (or stock sshd's channel). */
static int session_begin(struct conn *c)
{
	struct engine *eng = c->eng;
	char magic[MAGIC_LINE_MAX];
	uint8_t hello[HELLO_MAX];
	struct hello h;
	int len;

	/* The first connection of a group asks for one (conns=); the
	 * others, and the first while another is up, join it. */
	c->joining = eng->join[0] && (c->index != 0 || conn_others_up(c));
	if (c->index != 0 && !c->joining)
		return fail(EXIT_ERROR, "connection %d: no group to join", c->index);
	c->state = CONN_NEGOTIATING;
	if (!conns_up(eng))
		engine_set_state(eng, ST_NEGOTIATING, NULL);
	c->eof_deadline_ms = 0;
	if (c->openssh)
		return openssh_begin(c);
	chan_link_reset(&c->chan, c->ssh.session, c->channel);
	c->t.link = &chan_link_ops;
	c->t.link_ctx = &c->chan;
	libssh2_session_set_blocking(c->ssh.session, 0);
	/* Offloads are the device's, not a queue's: a connection that comes
	 * back while another is up leaves them as that one has them (its
	 * queue is detached; its hello sets the same again). */
	if (eng->multi && conn_others_up(c))
		c->t.offload = 0;
	if (tunnel_reset(&c->t, true) < 0)
		return -1;

	memset(&h, 0, sizeof(h));
	h.proto = PROTO_VERSION;
	snprintf(h.software, sizeof(h.software), "sshtun %s", sshtun_version);
	h.mtu = eng->opts->mtu;
	h.compress = hello_compress_ours();
	h.gso = c->t.caps;
	compress_mode_str(eng->opts->compress, h.compress_mode, sizeof(h.compress_mode));
	snprintf(h.id, sizeof(h.id), "%s", eng->client_id);
	/* After a reconnect ask for the pair we had, so the TUN keeps it. */
	h.client4 = eng->lease.client4.family && !new_server(eng) ? eng->lease.client4 : eng->opts->want4;
	h.client6 = eng->lease.client6.family && !new_server(eng) ? eng->lease.client6 : eng->opts->want6;
	/* Which connection this is: a join replaces the server's old helper
	 * of the same one (half-open, its queue still attached there). */
	if (eng->nconns > 1) {
		h.conn = (unsigned)c->index;
		h.has_conn = true;
	}
	if (c->joining)
		snprintf(h.join, sizeof(h.join), "%s", eng->join);
	else {
		h.conns = eng->nconns > 1 ? (unsigned)eng->nconns : 0;
		inuse_prefixes(&h.avoid, eng->ifindex);
	}
	len = hello_format(&h, hello, sizeof(hello));
	if (len < 0)
		return fail(EXIT_ERROR, "hello too large");
	tunnel_queue_raw(&c->t, magic, magic_format(magic, sizeof(magic)));
	tunnel_queue(&c->t, FRAME_HELLO, 0, hello, (uint32_t)len);
	c->hello_timer = loop_timer(eng->loop, (uint64_t)servers_opts(&eng->servers)->ssh.connect_timeout_s * 1000,
				      on_hello_timeout, c);
	loop_watch(eng->loop, c->ssh.sock, POLLIN, on_socket, c);
	return 0;
}

/* The thread has finished: what it made is the loop's now, and
 * session_close frees it whatever happens next. */
static int take_over(struct conn *c)
{
	struct engine *eng = c->eng;
	int rc = bg_finish(&c->connector);

	c->ssh = c->job.conn;
	c->ssh.before_connect = NULL;
	c->channel = c->job.channel;
	if (c->job.pin_moved) {
		eng->pin = c->job.pin;
		eng->pin_gw = c->job.pin_gw;
		eng->pin_ifindex = c->job.pin_ifindex;
	}
	c->openssh = c->job.openssh;
	if (c->job.pushed)
		c->pushed = true;
	if (c->openssh) {
		eng->lease = c->job.lease;
		c->t.mtu = c->job.mtu;
	}
	return rc;
}

/* Every connection started over (reconnect, another server) while this
 * one was connecting: what it made goes, and it joins the new group. */
static bool stale(struct conn *c)
{
	struct engine *eng = c->eng;

	if (c->gen == eng->gen)
		return false;
	fail_clear();
	session_close(c);
	c->state = CONN_DOWN;
	if (conn_others_up(c))
		start_others(eng);
	return true;
}

static void on_connected(struct loop *loop, int fd, short revents, void *ctx)
{
	struct conn *c = ctx;

	loop_unwatch(loop, fd);
	if (take_over(c) < 0) {
		if (!stale(c))
			connect_failed(c);
		return;
	}
	if (!stale(c) && session_begin(c) < 0)
		connect_failed(c);
}

/* conn is closed elsewhere: forget its handles, keep its address (routes
 * ask for the server's while reconnecting). */
static void let_go(struct ssh_conn *conn)
{
	conn->session = NULL;
	conn->sock = -1;
	conn->proxy_pid = 0;
}

/* Starts fn on the connect thread with a fresh job, which takes over conn
 * when given (the fallback goes on with the session it has). */
static int start_job(struct conn *c, int (*fn)(void *), struct ssh_conn *conn,
		     void (*done)(struct loop *, int, short, void *))
{
	struct engine *eng = c->eng;

	memset(&c->job, 0, sizeof(c->job));
	c->job.opts = servers_opts(&eng->servers);
	/* -b: this connection's own address or interface. */
	c->job.ssh = c->job.opts->ssh;
	if (c->bind) {
		c->job.ssh.bind_addr = c->bind_is_dev ? NULL : c->bind;
		c->job.ssh.bind_dev = c->bind_is_dev ? c->bind : NULL;
	}
	c->job.conn.sock = -1;
	if (!new_server(eng))
		c->job.lease = eng->lease;
	c->job.push = c->pushed || eng->conns[0].pushed;
	c->job.conn.before_connect = pin_first;
	c->job.conn.before_ctx = &c->job;
	/* The pin follows the first connection's server only. */
	c->job.pin_follow = eng->pin.family != 0 && c->index == 0;
	c->job.pin = eng->pin;
	if (conn) {
		c->job.conn = *conn;
		let_go(conn);
	}
	if (bg_start(&c->connector, fn, &c->job) < 0) {
		if (conn) {
			*conn = c->job.conn;
			let_go(&c->job.conn);
		}
		return -1;
	}
	loop_watch(eng->loop, bg_done_fd(&c->connector), POLLIN, done, c);
	return 0;
}

static int conn_start(struct conn *c)
{
	struct engine *eng = c->eng;

	c->openssh = false;
	c->busy = false;
	c->nojoin = false;
	c->gen = eng->gen;
	c->state = CONN_CONNECTING;
	if (conns_up(eng)) {	/* the tunnel is up: this one joins in the background */
		log_verbose("connection %d: connecting", c->index);
		return start_job(c, session_connect, NULL, on_connected);
	}
	engine_set_state(eng, ST_CONNECTING, eng->reconnects ? "reconnecting" : NULL);
	servers_connecting(&eng->servers);
	if (eng->servers.n > 1)
		log_verbose("connecting to %s", servers_opts(&eng->servers)->host_arg);
	return start_job(c, session_connect, NULL, on_connected);
}

static int job_fallback(void *arg)
{
	struct session_job *job = arg;

	return job_open_openssh(job);
}

static void fallback_failed(struct conn *c)
{
	struct engine *eng = c->eng;
	char why[ERROR_MSG_MAX];

	snprintf(why, sizeof(why), "%s", fail_msg());
	fail_clear();
	fail(EXIT_REFUSED, "the sshtun helper is not installed on the server (`%s' failed: %s), and %s; "
	     "--push would copy this sshtun there", eng->opts->remote_command,
	     c->chan.remote_err[0] ? c->chan.remote_err : "exit 127", why);
	session_lost(c, EXIT_ERROR);
}

static void on_fallback_done(struct loop *loop, int fd, short revents, void *ctx)
{
	struct conn *c = ctx;

	loop_unwatch(loop, fd);
	if (take_over(c) == 0 && openssh_begin(c) == 0)
		return;
	fallback_failed(c);
}

/* Why the helper went away before the hello, from its exit status and the
 * last thing it printed.  Returns true when stock sshd's own tunnel is being
 * tried instead (on the connect thread: it takes seconds of round trips). */
static bool explain_early_eof(struct conn *c)
{
	struct engine *eng = c->eng;
	int status, rc;

	/* sshd sends the end of the helper's output before its exit status:
	 * until the channel is closed the status reads 0.  Wait for the close
	 * (it wakes the loop again), a little. */
	rc = libssh2_channel_wait_closed(c->channel);
	if (!c->eof_deadline_ms)
		c->eof_deadline_ms = now_ms() + 2000;
	if (rc == LIBSSH2_ERROR_EAGAIN && now_ms() < c->eof_deadline_ms)
		return true;
	status = libssh2_channel_get_exit_status(c->channel);

	chan_link_drain_stderr(&c->chan);
	if (status == 127 || status == 126 || strstr(c->chan.remote_err, "not found") ||
	    strstr(c->chan.remote_err, "No such file")) {
		/* No helper: ours, pushed (--push), or stock sshd's own
		 * tunnel may still do. */
		if (eng->opts->push)
			log_info("no sshtun helper on the server; pushing this one (--push)");
		else
			log_info("no sshtun helper on the server; trying its own tunnel channel (tun@openssh.com)");
		libssh2_channel_free(c->channel);
		c->channel = NULL;
		loop_cancel(eng->loop, c->hello_timer);
		c->hello_timer = 0;
		loop_unwatch(eng->loop, c->ssh.sock);
		if (eng->opts->push) {
			if (start_job(c, job_push_now, &c->ssh, on_connected) == 0)
				return true;
			fail(EXIT_ERROR, "cannot start pushing the helper");
			return false;
		}
		if (start_job(c, job_fallback, &c->ssh, on_fallback_done) == 0)
			return true;
		fallback_failed(c);
		return true;
	}
	fail(EXIT_REFUSED, "the server's helper exited (status %d) before the tunnel came up%s%s", status,
	     c->chan.remote_err[0] ? ": " : "", c->chan.remote_err);
	return false;
}

/* ---- the end of a session ---- */

static void end_session(struct ssh_conn *conn, LIBSSH2_CHANNEL *channel)
{
	if (channel) {
		libssh2_session_set_blocking(conn->session, 1);
		libssh2_session_set_timeout(conn->session, 1000);
		libssh2_channel_close(channel);
		libssh2_channel_free(channel);
	}
	ssh_close(conn, "sshtun closing");
}

static int closer(void *arg)
{
	struct session_end *e = arg;

	end_session(&e->conn, e->channel);
	return 0;
}

static void on_closed(struct loop *loop, int fd, short revents, void *ctx)
{
	struct conn *c = ctx;

	loop_unwatch(loop, fd);
	bg_finish(&c->closer);
}

/* Lets go of the session on the loop's side; true when there was one to
 * close (then it is in c->ending). */
static bool release(struct conn *c)
{
	struct engine *eng = c->eng;

	/* The connect thread owns the session until it has finished. */
	if (c->connector.running)
		return false;
	if (c->ssh.sock >= 0)
		loop_unwatch(eng->loop, c->ssh.sock);
	loop_cancel(eng->loop, c->hello_timer);
	c->hello_timer = 0;
	chan_link_reset(&c->chan, NULL, NULL);
	ossh_link_unbatch(&c->ossh);	/* the session may go to the closer's thread */
	roam_disarm(&c->roam);
	c->t.maybe_buffered = false;
	c->t.up = false;
	c->lowat = 0;
	engine_fail_pings(c);
	return true;
}

/* Closes the session (not while the connect thread owns it), on a thread
 * when one is free. */
static void session_close(struct conn *c)
{
	struct engine *eng = c->eng;
	struct session_end e;

	if (!release(c))
		return;
	e.conn = c->ssh;
	e.channel = c->channel;
	let_go(&c->ssh);
	c->channel = NULL;
	if (!e.conn.session && e.conn.sock < 0 && !e.conn.proxy_pid)
		return;
	if (!c->closer.running) {
		bool failed = fail_code() != 0;

		c->ending = e;
		if (bg_start(&c->closer, closer, &c->ending) == 0) {
			loop_watch(eng->loop, bg_done_fd(&c->closer), POLLIN, on_closed, c);
			return;
		}
		if (!failed)
			fail_clear();	/* no thread: the close runs here, as before */
	}
	end_session(&e.conn, e.channel);
}

static void conn_close_now(struct conn *c)
{
	struct engine *eng = c->eng;

	if (c->closer.running) {
		loop_unwatch(eng->loop, bg_done_fd(&c->closer));
		bg_finish(&c->closer);
	}
	if (!release(c))
		return;
	end_session(&c->ssh, c->channel);
	c->channel = NULL;
}

void session_close_now(struct engine *eng)
{
	for (int i = 0; i < eng->nconns; i++)
		conn_close_now(&eng->conns[i]);
}

/* A failure that retrying will not heal.  A helper at its limit (busy)
 * may have room later. */
static bool permanent(struct conn *c, int code)
{
	if (code == EXIT_REFUSED && c->busy)
		return false;
	return code == EXIT_HOSTKEY || code == EXIT_AUTH || code == EXIT_REFUSED ||
	       code == EXIT_LOCAL || code == EXIT_USAGE;
}

/* An attempt on one server of a list failed: the next one of this walk,
 * at once.  False when the walk is over (or the failure is this machine's
 * own, which another server will not change). */
static bool next_server(struct conn *c)
{
	struct engine *eng = c->eng;
	struct servers *sv = &eng->servers;
	const char *failed = servers_opts(sv)->host_arg;

	if (sv->n < 2 || fail_code() == EXIT_LOCAL || fail_code() == EXIT_USAGE)
		return false;
	if (!servers_failed(sv, fail_msg()[0] ? fail_msg() : "connection lost", c->busy))
		return false;
	log_warn("%s: %s; trying %s", failed, fail_msg()[0] ? fail_msg() : "connection lost",
		 servers_opts(sv)->host_arg);
	fail_clear();
	if (conn_start(c) < 0) {
		connect_failed(c);
		return true;
	}
	return true;
}

void session_lost(struct conn *c, int code)
{
	struct engine *eng = c->eng;
	bool was_up = eng->state == ST_UP;

	if (group_handles(c))
		return;
	session_close(c);
	if (eng->quitting)
		return;
	if (was_up && eng->servers.n > 1) {
		/* The walk starts afresh; the one that failed goes last. */
		servers_lost(&eng->servers, fail_msg()[0] ? fail_msg() : "connection lost");
	} else if (!was_up && next_server(c)) {
		return;
	}
	/* Before the first success every failure is reported as it is; after
	 * it, only the ones that will not heal end the run. */
	if ((!was_up && !eng->reconnects && eng->up_since_ms == 0) ||
	    (permanent(c, fail_code()) && (!was_up || eng->servers.n < 2))) {
		engine_stop(eng, fail_code() ? fail_code() : code);
		return;
	}
	log_warn("%s", fail_msg()[0] ? fail_msg() : "connection lost");
	fail_clear();
	schedule_reconnect(c);
}

/* ---- reconnecting ---- */

static unsigned backoff_ms(unsigned attempt)
{
	unsigned ms = RECONNECT_MIN_MS;
	uint32_t jitter = 0;

	for (unsigned i = 0; i < attempt && ms < RECONNECT_MAX_MS; i++)
		ms *= 2;
	if (ms > RECONNECT_MAX_MS)
		ms = RECONNECT_MAX_MS;
	/* Up to 25% jitter so that many clients of one server spread out. */
	if (getrandom(&jitter, sizeof(jitter), GRND_NONBLOCK) != sizeof(jitter))
		jitter = 0;
	return ms - ms / 4 + jitter % (ms / 4 + 1);
}

static void try_reconnect(struct loop *loop, void *ctx)
{
	struct conn *c = ctx;
	struct engine *eng = c->eng;
	char n[16];

	c->reconnect_timer = 0;
	if (c->connector.running)
		return;	/* an attempt is under way already */
	if (conn_others_up(c)) {	/* this one alone, in the background */
		if (conn_start(c) < 0)
			connect_failed(c);
		return;
	}
	eng->reconnects++;
	snprintf(n, sizeof(n), "%u", eng->reconnects);
	events_note("reconnect", "#reconnects", n, (char *)NULL);
	routes_repath(eng);
	/* Nobody may be at the terminal now: the agent or an unencrypted key
	 * must do, and the failure says so when they cannot. */
	servers_batch(&eng->servers);
	if (conn_start(c) < 0)
		connect_failed(c);
}

/* A connection attempt failed before the tunnel came up. */
static void connect_failed(struct conn *c)
{
	struct engine *eng = c->eng;

	if (group_handles(c))
		return;
	session_close(c);
	if (eng->quitting)
		return;
	if (next_server(c))
		return;
	/* The first attempt reports whatever failed; later ones retry unless
	 * the failure will not heal. */
	if (!eng->reconnects || permanent(c, fail_code())) {
		engine_stop(eng, fail_code() ? fail_code() : EXIT_ERROR);
		return;
	}
	log_warn("reconnect failed: %s", fail_msg());
	fail_clear();
	eng->reconnects--;
	schedule_reconnect(c);
}

static void retry_in(struct conn *c, unsigned ms)
{
	struct engine *eng = c->eng;

	loop_cancel(eng->loop, c->reconnect_timer);
	c->reconnect_timer = loop_timer(eng->loop, ms, try_reconnect, c);
	c->reconnect_at_ms = now_ms() + ms;
}

static void schedule_reconnect(struct conn *c)
{
	struct engine *eng = c->eng;
	unsigned ms = backoff_ms(c->reconnect_attempt++);
	char detail[64];

	snprintf(detail, sizeof(detail), "reconnecting in %us", (ms + 999) / 1000);
	c->state = CONN_WAITING;
	engine_set_state(eng, ST_RECONNECTING, detail);
	log_info("connection lost; %s", detail);
	retry_in(c, ms);
	roam_wait(&c->roam);
}

/* ---- the event loop's side ---- */

static void service(struct conn *c)
{
	int rc;

	/* While the connect thread runs, the session and channel are its. */
	if (!c->channel || c->connector.running)
		return;
	if (tunnel_flush(&c->t) < 0) {
		session_lost(c, EXIT_ERROR);
		return;
	}
	rc = tunnel_input(&c->t);
	if (rc == 0)
		rc = tunnel_flush(&c->t);	/* PONGs and our own replies */
	if (rc == 1) {
		if (!c->t.up && !c->openssh) {
			if (explain_early_eof(c))
				return;
		} else
			fail(EXIT_ERROR, "the server closed the tunnel%s%s",
			     c->chan.remote_err[0] ? ": " : "", c->chan.remote_err);
		session_lost(c, EXIT_ERROR);
	} else if (rc < 0) {
		session_lost(c, fail_code() ? fail_code() : EXIT_ERROR);
	}
}

static void on_socket(struct loop *loop, int fd, short revents, void *ctx)
{
	struct conn *c = ctx;

	if (revents & POLLIN)
		c->t.want_read = true;
	service(ctx);
}

static void on_tun(struct loop *loop, int fd, short revents, void *ctx)
{
	struct conn *c = ctx;

	if (!c->channel || !c->t.up) {
		/* Down: read and drop, so the kernel's queue does not hold stale
		 * packets for the next connection. */
		uint8_t buf[2048];

		while (tun_read(fd, buf, sizeof(buf)) > 0)
			c->t.st.drops++;
		return;
	}
	tunnel_read_tun(&c->t);
	if (tunnel_flush(&c->t) < 0)
		session_lost(c, EXIT_ERROR);
}

static void conn_before_poll(struct loop *loop, struct conn *c)
{
	short ev = POLLIN;

	/* libssh2 may hold decrypted data it read while we wrote: the socket
	 * will not wake us for it, so ask before sleeping (only then: each
	 * ask is a recv). */
	if (c->t.maybe_buffered || tunnel_tx_pending(&c->t))
		service(c);
	if (c->channel && !c->connector.running) {
		int dir = libssh2_session_block_directions(c->ssh.session);

		/* The socket's unsent bytes follow the tunnel's budget (a few
		 * ms at the link's rate): libssh2 holds at most one write of
		 * the budget on top, our transmit buffer one more. */
		if (c->lowat != c->t.budget) {
			ssh_short_queue(c->ssh.sock, c->t.budget);
			c->lowat = c->t.budget;
		}

		/* Only libssh2 knows whether it waits for the socket or for the
		 * peer's window (then only reading helps): asking for POLLOUT
		 * while the socket is writable would spin. */
		if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			ev |= POLLOUT;
		/* What stock-sshd mode's last batch left for the socket. */
		if (c->openssh && ossh_link_pending(&c->ossh)) {
			if (ossh_link_push(&c->ossh) < 0) {
				session_lost(c, EXIT_ERROR);
				return;
			}
			if (ossh_link_pending(&c->ossh))
				ev |= POLLOUT;
		}
		loop_set_events(loop, c->ssh.sock, ev);
	}
	loop_set_events(loop, c->t.tun_fd,
			(!c->channel || !c->t.up || tunnel_tx_room(&c->t)) ? POLLIN : 0);
}

static void before_poll(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;

	for (int i = 0; i < eng->nconns && !eng->quitting; i++)
		conn_before_poll(loop, &eng->conns[i]);
}

/* rtnetlink, while the backoff runs: a path to the server or an address
 * came; the next try is now (or NET_RETRY_MIN_MS after the last one it
 * brought forward) instead of at the backoff's end.  A try that fails
 * still counts for the backoff. */
static void net_chance(struct conn *c, const char *why)
{
	struct engine *eng = c->eng;
	uint64_t now = now_ms(), at = c->net_retry_ms + NET_RETRY_MIN_MS;

	if ((eng->state != ST_RECONNECTING && !conn_others_up(c)) || !c->reconnect_timer || c->connector.running)
		return;
	if (at < now || c->net_retry_ms == 0)
		at = now;
	if (at >= c->reconnect_at_ms)
		return;	/* the backoff ends first anyway */
	log_info("network changed while waiting: %s; reconnecting %s instead of in %.1fs", why,
		 at > now ? "in a moment" : "now", (double)(c->reconnect_at_ms - now) / 1000);
	events_note("network", "why", why, (char *)NULL);
	c->net_retry_ms = at;
	retry_in(c, (unsigned)(at - now));
}

/* rtnetlink: the connection's local address went, or its route: the
 * connection is dead whatever the keepalives say yet; connect again now,
 * to the same server first, from the address and path there are now. */
static void on_net_change(struct loop *loop, int fd, short revents, void *ctx)
{
	struct conn *c = ctx;
	struct engine *eng = c->eng;
	char why[ERROR_MSG_MAX];
	enum roam_news news = roam_check(&c->roam, why, sizeof(why));

	if (news == ROAM_CHANCE) {
		net_chance(c, why);
		return;
	}
	if (news != ROAM_LOST || eng->state != ST_UP || !c->t.up || c->connector.running)
		return;
	if (eng->nconns > 1)
		log_info("connection %d: network changed: %s; reconnecting now", c->index, why);
	else
		log_info("network changed: %s; reconnecting now", why);
	events_note("network", "why", why, (char *)NULL);
	session_close(c);
	c->reconnect_attempt = 0;
	if (conn_others_up(c)) {	/* the others carry the flows meanwhile */
		conns_tell_lost(c);
		c->state = CONN_WAITING;
		retry_in(c, 0);
		conns_changed(eng);
		return;
	}
	if (c->index != 0) {	/* the last one up: the first starts over */
		c->state = CONN_DOWN;
		c = &eng->conns[0];
		if (c->connector.running || c->channel) {
			engine_set_state(eng, ST_RECONNECTING, "network changed");
			return;
		}
		c->reconnect_attempt = 0;
	}
	servers_begin_with(&eng->servers, eng->servers.order[eng->servers.pos]);
	engine_set_state(eng, ST_RECONNECTING, "network changed");
	retry_in(c, 0);
}

void session_watch(struct engine *eng)
{
	loop_hook(eng->loop, before_poll, eng);
	for (int i = 0; i < eng->nconns; i++) {
		struct conn *c = &eng->conns[i];

		loop_watch(eng->loop, c->t.tun_fd, POLLIN, on_tun, c);
		if (roam_open(&c->roam) < 0) {
			log_verbose("no rtnetlink watch: network changes wait for the dead-peer timer");
		} else {
			c->roam.addr_only = c->bind && c->bind_is_dev;
			loop_watch(eng->loop, c->roam.fd, POLLIN, on_net_change, c);
		}
	}
}

int session_start(struct engine *eng)
{
	return conn_start(&eng->conns[0]);
}

/* ---- for the shell (api.h) ---- */

/* Every connection starts over: the first afresh (to host, or the same
 * server), the others join its new group.  One still connecting is let
 * go when its thread ends (stale()). */
int engine_reconnect(struct engine *eng, const char *host, char *err, size_t errlen)
{
	struct conn *c = &eng->conns[0];
	int to = host ? servers_find(&eng->servers, host) : eng->servers.order[eng->servers.pos];

	if (to < 0) {
		snprintf(err, errlen, "no server `%s' in this instance's list", host);
		return -1;
	}
	if ((eng->state != ST_UP && eng->state != ST_RECONNECTING) || c->connector.running) {
		snprintf(err, errlen, "cannot reconnect while %s", eng->state_detail);
		return -1;
	}
	log_info("reconnecting on request%s%s", host ? " to " : "", host ? host : "");
	eng->gen++;
	for (int i = eng->nconns - 1; i >= 0; i--) {
		struct conn *k = &eng->conns[i];

		loop_cancel(eng->loop, k->reconnect_timer);
		k->reconnect_timer = 0;
		session_close(k);
		k->state = CONN_DOWN;
	}
	eng->join[0] = '\0';	/* a new group, whichever server */
	servers_begin_with(&eng->servers, to);
	c->reconnect_attempt = 0;
	engine_set_state(eng, ST_RECONNECTING, "reconnecting now");
	retry_in(c, 0);
	return 0;
}
