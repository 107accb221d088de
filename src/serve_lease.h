/* The privileged half of `sshtun serve`: the lease, the TUN device, NAT and
 * the take-over of a stale helper.  The helper's monitor runs it for its
 * worker (serve_monitor.c); a helper without the privilege to split runs it
 * in-process, with the same checks. */
#ifndef SSHTUN_SERVE_LEASE_H
#define SSHTUN_SERVE_LEASE_H

#include <net/if.h>
#include <stdbool.h>
#include <sys/types.h>

#include "account.h"
#include "common.h"
#include "hello.h"
#include "pool.h"
#include "serve_config.h"

/* What the worker asks for, taken from the client's hello.  It crosses the
 * privilege boundary as it is: lease_request_check() is the monitor's
 * only view of client bytes. */
struct lease_request {
	char id[HELLO_ID_LEN + 1];	/* the client's identity, hex */
	struct inet_prefix want4, want6;	/* the client's -a, family 0 if none */
	struct prefix_list avoid;	/* the client's networks */
	unsigned mtu;			/* the client's, 0 if it sent none */
	unsigned conns;			/* connections it means to open (conns=), 0 or 1: one */
	char join[HELLO_ID_LEN + 1];	/* join=: the group to join, "" none */
	int conn;			/* conn=: which of its connections, 0..HELLO_CONN_LAST;
					 * -1 not said */
};

struct lease_reply {
	int status;			/* 0, or the exit status to refuse with */
	char why[ERROR_MSG_MAX];	/* status != 0: what to tell the client */
	bool busy;			/* refused at a limit (pool full, the account's
					 * sessions): ERROR says so (FRAME_F_BUSY) */
	struct lease lease;
	char ifname[IFNAMSIZ];
	unsigned mtu;			/* the TUN's */
	bool userspace;			/* the pair is the user-space stack's (userspace.h) */
	bool nojoin;			/* a join refused: ERROR says so (FRAME_F_NOJOIN) */
	char join[HELLO_ID_LEN + 1];	/* the token further connections join with, "" none */
};

struct serve_priv {
	const struct serve_config *cfg;
	struct pool pool;
	struct account account;		/* whose lease: decided here, never by the worker */
	pid_t holder;			/* recorded in the lease file */
	char client_id[HELLO_ID_LEN + 1];
	int conn;			/* the client's number for this connection, -1 none */
	uint64_t lost_at[HELLO_CONNS_MAX + 1];	/* ms of the last lost= for each K, and
						 * for a bad K; 0 never */
	bool leased, nat_on, rpf_on;
};

/* Is the request well-formed (a NUL-terminated hex id, and join token if
 * any, prefixes of a known family and length, counts in range)?  Returns 0, or -1 with err. */
int lease_request_check(const struct lease_request *q, char *err, size_t errlen);

/* Checks q and leases a pair for it and p->account, avoiding inuse (the
 * server's own networks; may be NULL) and the client's.  Returns 0 with
 * r->lease and r->mtu filled, or -1 with r->status and r->why set.  The
 * part of serve_lease_take() that needs no privilege (and the fuzz target's
 * way in). */
int serve_lease_pick(struct serve_priv *p, const struct lease_request *q,
		     const struct prefix_list *inuse, struct lease_reply *r);

/* serve_lease_pick(), then stops a stale helper of the same client, creates
 * and addresses the TUN and turns on NAT.  Returns the TUN fd with r filled,
 * or -1 with r->status and r->why set. */
int serve_lease_take(struct serve_priv *p, const struct lease_request *q, struct lease_reply *r);

/* The client says (CONTROL lost=conn) that its connection conn is dead:
 * stops the helper of that connection in our group (pool_group_lost; only
 * a process running our binary, never ourselves).  Bad or repeated (within
 * a second) values are ignored, with a log line for the bad ones. */
void serve_lease_lost(struct serve_priv *p, unsigned conn);

/* Gives the lease back and NAT up when no other helper needs it. */
void serve_lease_release(struct serve_priv *p);

#endif
