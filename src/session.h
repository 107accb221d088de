/* One SSH session of the client and its tunnel channel: connect (on a
 * thread), negotiate, move packets, notice the end, reconnect.  The engine
 * (engine.h) holds the state; this is what drives it. */
#ifndef SSHTUN_SESSION_H
#define SSHTUN_SESSION_H

#include <libssh2.h>
#include <stdbool.h>

#include "hello.h"
#include "openssh.h"
#include "options.h"
#include "ssh.h"

struct engine;

/* What the connect thread works on.  It is the thread's alone while the
 * thread runs; on_connected takes it over on the loop's thread.  The thread
 * touches nothing else of the engine. */
struct session_job {
	const struct client_opts *opts;	/* read only */
	struct ssh_conn conn;
	LIBSSH2_CHANNEL *channel;
	bool openssh;			/* stock sshd's tun@openssh.com channel */
	struct hello lease;		/* stock sshd: in, the pair a reconnect keeps */
	unsigned mtu;			/* stock sshd */
	char debug_msg[OSSH_DEBUG_MAX];	/* sshd's debug messages, while the session lives */
};

/* A session being closed, on a thread of its own: with a dead peer each
 * polite step waits out its timeout. */
struct session_end {
	struct ssh_conn conn;
	LIBSSH2_CHANNEL *channel;
};

/* Sets up the tunnel and both links (once).  Returns 0, or -1 with fail()
 * set. */
int session_init(struct engine *eng);
/* Connects on a thread of its own; the loop (prompt, ctl, TUN) goes on.
 * Returns 0, or -1 with fail() set. */
int session_start(struct engine *eng);
/* Watches the TUN and the socket from the engine's loop. */
void session_watch(struct engine *eng);
/* Closes the session (not while the connect thread owns it), on a thread
 * when one is free. */
void session_close(struct engine *eng);
/* The last close, before the process ends: here, and it waits for a close
 * still running on its thread. */
void session_close_now(struct engine *eng);
/* The session failed or ended: stop, or reconnect after a backoff. */
void session_lost(struct engine *eng, int code);
/* Connects again in ms (0: now), with no other attempt under way. */
void session_retry_in(struct engine *eng, unsigned ms);

#endif
