/* Roaming: rtnetlink (netlink.h's watch) says the moment the local address
 * or the route a connection uses goes away, so the client reconnects from
 * the new one at once instead of waiting for the dead-peer timer. */
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
};

/* Opens the watch.  0, or a negative errno (then roaming is off). */
int roam_open(struct roam *r);
void roam_close(struct roam *r);
/* Watches the connection on sock (to peer), which is up; tun_ifindex is
 * left out of the path.  Through a ProxyCommand (no address) nothing. */
void roam_arm(struct roam *r, int sock, const struct sockaddr_storage *peer, int tun_ifindex);
void roam_disarm(struct roam *r);
/* After the watch fd was readable: 1 with why set when the connection's
 * local address is gone or its path to the server changed, else 0. */
int roam_check(struct roam *r, char *why, size_t cap);

#endif
