/* See keepalive.h. */
#include "chanlink.h"
#include "common.h"
#include "engine.h"
#include "fail.h"
#include "keepalive.h"
#include "loop.h"
#include "session.h"

/* While data flows, a ping every PRESSURE_PING_MS measures the round trip
 * that --compress auto reads the channel's queue from (pressure.h). */
static void on_pressure(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;
	uint64_t bytes = eng->t.st.tx_bytes + eng->t.st.rx_bytes;

	eng->pressure_timer = loop_timer(loop, PRESSURE_PING_MS, on_pressure, eng);
	if (eng->state != ST_UP || eng->openssh)
		return;
	if (bytes != eng->pressure_bytes)
		engine_send_ping(eng, eng->opts->alive_interval ? eng->opts->alive_interval * 1000 : 5000,
				 NULL, NULL);
	eng->pressure_bytes = bytes;
	pressure_tick(&eng->pressure);
	eng->t.rtt_congested = eng->pressure.congested;
	eng->t.cpu_ok = eng->pressure.cpu_idle >= PRESSURE_CPU_IDLE_MIN;
}

/* Once a second: rates, and the keepalive that notices a dead server. */
static void on_tick(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;
	uint64_t now = now_ms();
	double secs = (double)(now - eng->rate_at_ms) / 1000.0;

	if (secs > 0) {
		eng->tx_rate_bps = (double)(eng->t.st.tx_bytes - eng->rate_tx_bytes) * 8 / secs;
		eng->rx_rate_bps = (double)(eng->t.st.rx_bytes - eng->rate_rx_bytes) * 8 / secs;
	}
	eng->rate_at_ms = now;
	eng->rate_tx_bytes = eng->t.st.tx_bytes;
	eng->rate_rx_bytes = eng->t.st.rx_bytes;
	/* The helper's stderr, while up (the link's reads skip it then). */
	if (eng->channel && eng->t.up && !eng->openssh && !eng->connector.running &&
	    chan_link_tick(&eng->chan))
		eng->t.maybe_buffered = true;
	/* Our pings need our helper; with stock sshd TCP keepalive and
	 * TCP_USER_TIMEOUT notice a dead server. */
	if (eng->state == ST_UP && eng->opts->alive_interval && !eng->openssh) {
		if (eng->missed_pings >= eng->opts->alive_count) {
			fail(EXIT_ERROR, "the server stopped answering (%u keepalives missed)", eng->missed_pings);
			session_lost(eng, EXIT_ERROR);
		} else if (now - eng->last_ping_ms >= (uint64_t)eng->opts->alive_interval * 1000) {
			eng->last_ping_ms = now;
			engine_send_ping(eng, eng->opts->alive_interval * 1000, NULL, NULL);
		}
	}
	eng->tick_timer = loop_timer(loop, 1000, on_tick, eng);
}

void keepalive_start(struct engine *eng)
{
	eng->rate_at_ms = now_ms();
	eng->tick_timer = loop_timer(eng->loop, 1000, on_tick, eng);
	eng->pressure_timer = loop_timer(eng->loop, PRESSURE_PING_MS, on_pressure, eng);
}
