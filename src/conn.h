/* One SSH connection of the client instance (engine.h): its session and
 * channel, the threads that connect and close it, its tunnel (the data
 * path over it, on its own TUN queue), its keepalive, roaming watch and
 * backoff.  The engine holds the instance (TUN, lease, routes, DNS,
 * guard, the servers) and conns[] of these; session.c drives each one.
 * A header only: nothing here calls up into the engine. */
#ifndef SSHTUN_CONN_H
#define SSHTUN_CONN_H

#include <libssh2.h>
#include <stdbool.h>
#include <stdint.h>

#include "alive.h"
#include "api.h"
#include "bg.h"
#include "chanlink.h"
#include "hello.h"
#include "openssh.h"
#include "options.h"
#include "pressure.h"
#include "roam.h"
#include "ssh.h"
#include "tunnel.h"

#define CONN_MAX_PINGS 32

/* What the connect thread works on.  It is the thread's alone while the
 * thread runs; on_connected takes it over on the loop's thread.  The thread
 * touches nothing else of the engine. */
struct session_job {
	const struct client_opts *opts;	/* read only */
	struct ssh_opts ssh;		/* opts->ssh with this connection's -b */
	struct ssh_conn conn;
	LIBSSH2_CHANNEL *channel;
	bool openssh;			/* stock sshd's tun@openssh.com channel */
	struct hello lease;		/* stock sshd: in, the pair a reconnect keeps */
	unsigned mtu;			/* stock sshd */
	char debug_msg[OSSH_DEBUG_MAX];	/* sshd's debug messages, while the session lives */
	bool push;			/* in: run the pushed copy (push.h), sending it if need be */
	bool pushed;			/* out: it runs the pushed copy */
	/* A full tunnel: the pin moves to the address tried (in: the one
	 * pinned now; out: where it is when moved). */
	bool pin_follow, pin_moved;
	struct inet_prefix pin, pin_gw;
	int pin_ifindex;
};

/* A session being closed, on a thread of its own: with a dead peer each
 * polite step waits out its timeout. */
struct session_end {
	struct ssh_conn conn;
	LIBSSH2_CHANNEL *channel;
};

struct engine;
struct conn;

struct ping_slot {
	struct conn *c;
	long handle;		/* 0: free */
	uint32_t id;
	uint64_t sent_us;
	long timer;
	engine_ping_fn fn;	/* NULL: one of our own (why) */
	enum ping_why why;
	void *ctx;
};

/* down: nothing under way (a connection other than the first waits for
 * the first to be up); waiting: its reconnect timer runs. */
enum conn_state {
	CONN_DOWN, CONN_CONNECTING, CONN_NEGOTIATING, CONN_UP, CONN_WAITING,
};

struct conn {
	struct engine *eng;
	int index;			/* in eng->conns[] */
	enum conn_state state;

	struct ssh_conn ssh;
	struct bg_job connector;	/* the connect in progress, on its thread */
	struct session_job job;		/* the connect thread's, while it runs */
	struct bg_job closer;		/* the last session's close, on its thread */
	struct session_end ending;	/* the closer's, while it runs */
	LIBSSH2_CHANNEL *channel;	/* the session's, in either mode */
	bool openssh;			/* stock sshd's tun@openssh.com channel */
	bool pushed;			/* the helper is our pushed copy (--push): again so */
	bool busy;			/* the helper refused: at its limit (ERROR flag) */
	bool nojoin;			/* the helper refused our join= (FRAME_F_NOJOIN) */
	bool joining;			/* this attempt joins the group (join=) */
	bool attached;			/* the kernel steers flows to its TUN queue */
	unsigned gen;			/* eng->gen when this attempt started */
	const char *bind;		/* -b for it: an address or an interface; NULL none */
	bool bind_is_dev;		/* bind names an interface (SO_BINDTODEVICE) */
	uint64_t eof_deadline_ms;	/* the helper ended early: its exit status by then */
	struct chan_link chan;		/* the link to our helper */
	struct ossh_link ossh;		/* the link to stock sshd */
	struct tunnel t;		/* t.tun_fd: this connection's TUN queue */
	size_t lowat;			/* TCP_NOTSENT_LOWAT set on ssh.sock; 0: none yet */
	struct roam roam;		/* the local address and path the connection uses */

	struct ping_slot pings[CONN_MAX_PINGS];
	struct alive alive;		/* dead-peer detection (alive.h) */
	uint64_t last_ping_ms;
	double rtt_ms, rtt_sum;
	uint64_t rtt_count;

	struct pressure pressure;	/* for --compress auto */
	uint64_t pressure_bytes;	/* tx + rx at the last look */
	uint64_t up_since_ms;		/* 0: never up */
	unsigned reconnects;
	unsigned reconnect_attempt;	/* since the last time up: the backoff */
	long hello_timer, reconnect_timer;
	uint64_t reconnect_at_ms;	/* when reconnect_timer fires */
	uint64_t net_retry_ms;		/* the last try a network change brought forward */
};

#endif
