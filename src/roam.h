/* Roaming: rtnetlink (netlink.h's watch) says the moment the local address
 * or the route a connection uses goes away, so the client reconnects from
 * the new one at once instead of waiting for the dead-peer timer; and,
 * while it waits to reconnect, the moment a way to the server comes back,
 * so it need not sit out the rest of its backoff. */
#ifndef SSHTUN_ROAM_H
#define SSHTUN_ROAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "prefix.h"

struct roam {
	int fd;				/* the watch; -1: none */
	bool armed;			/* a TCP connection is being watched */
	struct inet_prefix local, server;
	int ifindex;			/* the path to the server when connected */
	struct inet_prefix gw;
	int avoid_ifindex;		/* the tunnel's own */
	/* -b IFNAME: the connection leaves through its own interface,
	 * whatever the machine's route to the server says; only its address
	 * going counts (the keepalive notices a dead uplink). */
	bool addr_only;
	/* Waiting to reconnect: the server's path at the last look. */
	bool waiting, wait_path;
	int wait_ifindex;
	struct inet_prefix wait_gw;
};

/* What roam_check saw. */
enum roam_news {
	ROAM_NONE,
	ROAM_LOST,	/* connected: its address or path is gone */
	ROAM_CHANCE,	/* waiting: a path to the server or an address came */
};

/* Opens the watch.  0, or a negative errno (then roaming is off). */
int roam_open(struct roam *r);
void roam_close(struct roam *r);
/* Watches the connection on sock (to peer), which is up; tun_ifindex is
 * left out of the path.  Through a ProxyCommand (no address) nothing. */
void roam_arm(struct roam *r, int sock, const struct sockaddr_storage *peer, int tun_ifindex);
void roam_disarm(struct roam *r);
/* The client waits to reconnect (its backoff is running): remembers the
 * server's path now, so that roam_check can tell when a chance comes.
 * roam_arm ends the wait. */
void roam_wait(struct roam *r);
/* After the watch fd was readable, with why set unless ROAM_NONE:
 * connected, ROAM_LOST when the connection's local address is gone or its
 * path to the server changed; waiting, ROAM_CHANCE when a path to the
 * server appeared or changed, or a new global address came up while there
 * is a path (or the server's address is unknown: a ProxyCommand). */
enum roam_news roam_check(struct roam *r, char *why, size_t cap);

#endif
