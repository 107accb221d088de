/* The SSH transport: TCP connect, libssh2 handshake with our algorithm
 * preferences, OpenSSH known_hosts verification, and authentication.  The
 * rest of the program sees an authenticated session and its socket. */
#ifndef SSHTUN_SSH_H
#define SSHTUN_SSH_H

#include <libssh2.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ssh_err.h"
#include "ssh_opts.h"

/* The --openssh channel's window (no helper answers our pings there, so no
 * round trip to size it by; our helper's channel grants as window.h says),
 * and both channels' packet size. */
#define CHANNEL_WINDOW (16u * 1024 * 1024)	/* lets bulk data run ahead of acks */
#define CHANNEL_PACKET 32768u

struct ssh_conn {
	int sock;
	LIBSSH2_SESSION *session;
	char peer[64];			/* numeric address we reached */
	struct sockaddr_storage peer_addr;	/* family 0 through a ProxyCommand */
	pid_t proxy_pid;
	/* Called (on the connecting thread) before each address is tried:
	 * the full tunnel's pin goes there first.  NULL: nothing.  The two
	 * fields ssh_connect keeps when it clears the rest. */
	void (*before_connect)(void *ctx, const struct sockaddr *sa);
	void *before_ctx;
};

/* Connects, verifies the host key and authenticates, in blocking mode with
 * ConnectTimeout as the bound on every step.  Returns 0, or -1 with fail()
 * set (exit 3, 4 or 5) and everything closed. */
int ssh_connect(const struct ssh_opts *opts, struct ssh_conn *conn);
void ssh_close(struct ssh_conn *conn, const char *reason);
/* Keeps at most about bytes unsent in the socket below us
 * (TCP_NOTSENT_LOWAT), so that the queue forms in our fair queue.  A
 * ProxyCommand's socketpair has no such knob: then nothing happens. */
void ssh_short_queue(int sock, size_t bytes);

#endif
