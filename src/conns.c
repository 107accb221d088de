/* See conns.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "conns.h"
#include "engine.h"
#include "log.h"
#include "loop.h"
#include "steer.h"
#include "tun.h"
#include "tunnel.h"

int conns_up(const struct engine *eng)
{
	int n = 0;

	for (int i = 0; i < eng->nconns; i++)
		n += eng->conns[i].t.up;
	return n;
}

/* Another connection carries the tunnel: this one may come and go on its
 * own. */
bool conn_others_up(const struct conn *c)
{
	return conns_up(c->eng) - c->t.up > 0;
}

/* Nothing under way: no connect thread, no session, no timer. */
bool conn_idle(const struct conn *c)
{
	return !c->connector.running && !c->channel && !c->reconnect_timer && !c->t.up;
}

/* The kernel steers flows only to attached queues: those of connections
 * that are up, so a lost one's flows move to the others at once.  With
 * none up nothing changes: the last queue stays attached (a device with
 * every queue detached drops what is routed into it, routes and all).
 * Attach first, then detach, so that one is always attached. */
static void queues_sync(struct engine *eng)
{
	if (!eng->multi || !conns_up(eng))
		return;
	for (int pass = 0; pass < 2; pass++) {
		int attached = 0;

		/* Only an up connection's queue is read: a down one still
		 * attached is no reason to take the others off. */
		for (int i = 0; pass == 1 && i < eng->nconns; i++)
			attached += eng->conns[i].attached && eng->conns[i].t.up;
		if (pass == 1 && !attached)
			return;	/* no up connection's attach held: detach none */
		for (int i = 0; i < eng->nconns; i++) {
			struct conn *c = &eng->conns[i];
			bool want = c->t.up;
			int rc;

			if (want == c->attached || want != (pass == 0))
				continue;
			rc = tun_queue_enable(c->t.tun_fd, want);
			if (rc < 0) {
				log_warn("connection %d: cannot %s its queue of %s: %s", c->index,
					 want ? "attach" : "detach", eng->ifname, strerror(-rc));
				continue;
			}
			c->attached = want;
			log_verbose("connection %d: queue %s", c->index, want ? "attached" : "detached");
		}
	}
}

/* Up or down: the queues follow, a connection that is down has no flows
 * (they pick anew among the live ones; when it is back it takes new ones
 * first), and the state says how many are up. */
void conns_changed(struct engine *eng)
{
	int up = conns_up(eng);
	char detail[64];

	queues_sync(eng);
	for (int i = 0; eng->nconns > 1 && i < eng->nconns; i++)
		if (!eng->conns[i].t.up && steer_flows(&eng->steer, i))
			steer_forget(&eng->steer, i);
	if (!up || eng->state != ST_UP || eng->nconns < 2 || !eng->join[0])
		return;
	snprintf(detail, sizeof(detail), "%d of %d connections up", up, eng->nconns);
	if (strcmp(detail, eng->state_detail))
		engine_set_state(eng, ST_UP, detail);
}

/* The first connection's hello: the server's token, or why it will take
 * no more than this one (then the rest stay down, their queues detached). */
void conns_take_token(struct engine *eng, const struct hello *h, bool openssh)
{
	const char *why;

	if (eng->nconns < 2)
		return;
	if (h->join[0]) {
		snprintf(eng->join, sizeof(eng->join), "%s", h->join);
		eng->single_why[0] = '\0';
		return;
	}
	eng->join[0] = '\0';
	if (openssh)
		why = "stock sshd's tun@openssh.com channel, no sshtun helper";
	else if (!strcmp(h->stack, "userspace"))
		why = "its helper runs a user-space network stack";
	else
		why = "its helper offered no join= (an older sshtun, or it could not make its TUN multi-queue)";
	if (!eng->single_why[0])
		log_warn("--connections %d: one connection only: server %s cannot take more: %s", eng->nconns,
			 servers_opts(&eng->servers)->host_arg, why);
	snprintf(eng->single_why, sizeof(eng->single_why), "server %s cannot take more: %s",
		 servers_opts(&eng->servers)->host_arg, why);
}

/* Connection c is dead to us, another is up: the server's helper for c
 * may not know for minutes (its TCP retries), and the flows its queue
 * holds there stall, since nothing of theirs reaches the server through
 * the others.  Tell the group through a live one (a helper that does not
 * know the line ignores it). */
void conns_tell_lost(struct conn *c)
{
	struct engine *eng = c->eng;
	char line[32];
	int n = snprintf(line, sizeof(line), "lost=%d\n", c->index);

	for (int i = 0; i < eng->nconns; i++) {
		struct conn *k = &eng->conns[i];

		if (k != c && k->t.up && !k->openssh) {
			if (tunnel_queue(&k->t, FRAME_CONTROL, 0, line, (uint32_t)n) < 0)
				log_verbose("connection %d: could not tell the server (queue full)", k->index);
			return;
		}
	}
}

/* Several connections: a packet read from c's queue goes out over the
 * connection its flow is on (steer.h).  A new flow's first packet picks
 * the connection; its server-side helper writes it into that connection's
 * queue there, so the server's kernel sends the replies back the same way,
 * and we write those into this side's queue of it: from then on the kernels
 * put the flow on that queue by themselves (they learn a flow's queue from
 * the writes), and the flow no longer crosses over here. */
struct tunnel *conns_steer(void *ctx, const uint8_t *pkt, size_t len)
{
	struct conn *c = ctx;
	struct engine *eng = c->eng;
	unsigned alive = 0;
	int k;

	for (int i = 0; i < eng->nconns; i++)
		if (eng->conns[i].t.up)
			alive |= 1u << i;
	k = steer_pick(&eng->steer, pkt, len, alive, now_ms());
	return k < 0 ? NULL : &eng->conns[k].t;
}
