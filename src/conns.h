/* The connections of one client instance as a group (--connections N):
 * how many are up, which TUN queues the kernel may steer flows to, the
 * server's token for the group (or why there is none), telling the server
 * of a connection lost, and which connection carries a flow (steer.h).
 * session.c decides when a connection connects, joins or waits; this keeps
 * the group's state true.  It never calls up into session.c. */
#ifndef SSHTUN_CONNS_H
#define SSHTUN_CONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct engine;
struct hello;
struct tunnel;

int conns_up(const struct engine *eng);
/* Another connection carries the tunnel: c may come and go on its own. */
bool conn_others_up(const struct conn *c);
/* Nothing under way: no connect thread, no session, no timer. */
bool conn_idle(const struct conn *c);
/* A connection went up or down: the queues follow, a down one's flows
 * go, and the state says how many are up. */
void conns_changed(struct engine *eng);
/* The first connection's hello (openssh: stock sshd's channel, which
 * has none): the server's token, or why it takes one connection only. */
void conns_take_token(struct engine *eng, const struct hello *h, bool openssh);
/* Connection c is dead to us while another is up: tell the server. */
void conns_tell_lost(struct conn *c);
/* tunnel_set_steer's function (ctx: the conn whose queue the packet came
 * from): the tunnel of the connection the packet's flow is on. */
struct tunnel *conns_steer(void *ctx, const uint8_t *pkt, size_t len);

#endif
