/* Privilege separation for `sshtun serve`, after OpenSSH's monitor.c and
 * monitor_wrap.c.  The privileged monitor forks the worker, which drops to
 * an unprivileged user inside the sandbox (sandbox.h) before it reads a byte
 * from the client; from then on the worker can only ask, over a
 * SOCK_SEQPACKET socketpair, for the requests in the monitor's table.  Each
 * request is a fixed-size struct whose size must match exactly; each answer
 * may carry a descriptor (SCM_RIGHTS).  The monitor holds the lease for as
 * long as the worker lives and gives it back when the worker is gone. */
#ifndef SSHTUN_SERVE_MONITOR_H
#define SSHTUN_SERVE_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "serve_lease.h"

enum mon_request {
	MON_LEASE = 1,		/* struct lease_request -> struct lease_reply + TUN fd */
	MON_LOST = 2,		/* struct lost_request, no answer: the client's CONTROL
				 * lost=K, after the lease; any number of times */
};

/* The client's connection `conn' (0..HELLO_CONN_LAST) is dead, it says:
 * stop the helper of that connection in our group (serve_lease_lost). */
struct lost_request {
	uint32_t conn;
};

/* One request on the wire: the type, then exactly its body. */
struct mon_msg {
	uint32_t type;
	union {
		struct lease_request lease;
		struct lost_request lost;
	} body;
};
#define MON_MSG_LEN(body_size) (offsetof(struct mon_msg, body) + (body_size))

/* The user the worker runs as: `name' (--worker-user) when given; else,
 * when we are root, the user who ran sudo (SUDO_UID/SUDO_GID), or nobody
 * when that is root too or there is none; without root (CAP_NET_ADMIN
 * only), our own uid.  Never uid 0, nor (as root) gid 0.  Returns 0, or
 * -1 with err. */
int monitor_worker_user(const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* Monitor side: answers the worker's requests on sock until the worker has
 * exited, forwarding SIGTERM/SIGHUP/SIGINT to it, then releases the lease.
 * Returns the exit status for the helper: the worker's own, or EXIT_ERROR
 * when a signal ended it (SIGSYS: its sandbox stopped a system call). */
int monitor_run(struct serve_priv *p, int sock, pid_t worker);

/* Worker side (serve_monwrap.c): asks the monitor for a lease.  Returns the
 * TUN fd with r filled, or -1 with r->status and r->why set. */
int mon_lease(int sock, const struct lease_request *q, struct lease_reply *r);

/* Worker side: tells the monitor the client lost its connection conn.
 * Never waits: when the socket is full the word is dropped (the client
 * says it again if it must).  Returns 0 or -errno. */
int mon_lost(int sock, unsigned conn);

#endif
