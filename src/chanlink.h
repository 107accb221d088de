/* Our helper's channel (subsystem sshtun, or the remote command) as a link
 * for the tunnel: the byte stream of our frames, with the helper's stderr
 * beside it.  The stock-sshd counterpart is openssh.h. */
#ifndef SSHTUN_CHANLINK_H
#define SSHTUN_CHANLINK_H

#include <libssh2.h>
#include <stdbool.h>

#include "tunnel.h"
#include "window.h"

struct chan_link {
	LIBSSH2_SESSION *session;
	LIBSSH2_CHANNEL *channel;
	const struct tunnel *t;	/* the tunnel this link serves: up, write_blocked */
	bool read_half;		/* a read left a packet half sent */
	/* The window we grant sshd (window.h), and a grant whose adjust the
	 * socket took only part of: libssh2 wants the same call again. */
	struct rx_window win;
	uint32_t grant_pending;
	char remote_err[256];	/* last line the helper wrote on stderr */
};

extern const struct link_ops chan_link_ops;

void chan_link_reset(struct chan_link *l, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *channel);

/* A measured round trip (ms) for the window we grant (window.h). */
void chan_link_rtt(struct chan_link *l, double rtt_ms);

/* Opens a channel that runs our helper: the sshtun subsystem, else the
 * remote command.  Blocking.  Returns NULL with fail() set. */
LIBSSH2_CHANNEL *chan_link_open(LIBSSH2_SESSION *s, const char *remote_command);
/* The same for exactly this command (no subsystem first). */
LIBSSH2_CHANNEL *chan_link_exec(LIBSSH2_SESSION *s, const char *command);

/* The helper's stderr, logged line by line and the last line kept. */
void chan_link_drain_stderr(struct chan_link *l);

/* Once a second while up: reads the helper's stderr unless a send is half
 * done.  Returns true when it read (libssh2 may hold data for us then). */
bool chan_link_tick(struct chan_link *l);

#endif
