/* See keepalive.h. */
#include "chanlink.h"
#include "common.h"
#include "engine.h"
#include "fail.h"
#include "keepalive.h"
#include "loop.h"
#include "session.h"

static bool conn_up(const struct conn *c)
{
	return c->eng->state == ST_UP && c->t.up;
}

/* While data flows, a ping every PRESSURE_PING_MS measures the round trip
 * that --compress auto reads the channel's queue from (pressure.h): each
 * connection's own. */
static void conn_pressure(struct conn *c)
{
	const struct client_opts *o = c->eng->opts;
	uint64_t bytes = c->t.st.tx_bytes + c->t.st.rx_bytes;

	if (!conn_up(c) || c->openssh)
		return;
	if (bytes != c->pressure_bytes)
		engine_send_ping(c, PING_PRESSURE, o->alive_interval ? o->alive_interval * 1000 : 5000,
				 NULL, NULL);
	c->pressure_bytes = bytes;
	pressure_tick(&c->pressure);
	c->t.rtt_congested = c->pressure.congested;
	c->t.cpu_ok = pressure_cpu_ok(&c->pressure);
}

static void on_pressure(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;

	eng->pressure_timer = loop_timer(loop, PRESSURE_PING_MS, on_pressure, eng);
	for (int i = 0; i < eng->nconns; i++)
		conn_pressure(&eng->conns[i]);
}

/* The keepalive that notices a dead server, per connection. */
static void conn_tick(struct conn *c, uint64_t now)
{
	const struct client_opts *o = c->eng->opts;

	/* The helper's stderr, while up (the link's reads skip it then). */
	if (c->channel && c->t.up && !c->openssh && !c->connector.running && chan_link_tick(&c->chan))
		c->t.maybe_buffered = true;
	/* Our pings need our helper; with stock sshd TCP keepalive and
	 * TCP_USER_TIMEOUT notice a dead server. */
	if (conn_up(c) && o->alive_interval && !c->openssh) {
		if (alive_dead(&c->alive, o->alive_count)) {
			fail(EXIT_ERROR, "the server stopped answering (%u keepalives missed)", c->alive.missed);
			session_lost(c, EXIT_ERROR);
		} else if (now - c->last_ping_ms >= (uint64_t)o->alive_interval * 1000) {
			c->last_ping_ms = now;
			engine_send_ping(c, PING_KEEPALIVE, o->alive_interval * 1000, NULL, NULL);
		}
	}
}

/* Once a second: rates, and each connection's keepalive. */
static void on_tick(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;
	uint64_t now = now_ms();
	double secs = (double)(now - eng->rate_at_ms) / 1000.0;
	struct tunnel_stats t;

	engine_tunnel_totals(eng, &t);
	if (secs > 0) {
		eng->tx_rate_bps = (double)(t.tx_bytes - eng->rate_tx_bytes) * 8 / secs;
		eng->rx_rate_bps = (double)(t.rx_bytes - eng->rate_rx_bytes) * 8 / secs;
	}
	eng->rate_at_ms = now;
	eng->rate_tx_bytes = t.tx_bytes;
	eng->rate_rx_bytes = t.rx_bytes;
	for (int i = 0; i < eng->nconns && !eng->quitting; i++)
		conn_tick(&eng->conns[i], now);
	eng->tick_timer = loop_timer(loop, 1000, on_tick, eng);
}

void keepalive_start(struct engine *eng)
{
	eng->rate_at_ms = now_ms();
	eng->tick_timer = loop_timer(eng->loop, 1000, on_tick, eng);
	eng->pressure_timer = loop_timer(eng->loop, PRESSURE_PING_MS, on_pressure, eng);
}
