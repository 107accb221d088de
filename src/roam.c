/* See roam.h.  Every change wakes us (our own routes and addresses too);
 * connected, only the two facts that doom the connection count: its local
 * address is no longer this machine's, or the machine's own routes (not
 * sshtun's pin) now take the server another way, or nowhere.  Waiting to
 * reconnect, only what may let a connection through: a path to the server
 * that was not there, or a new address to leave from. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netlink.h"
#include "roam.h"

int roam_open(struct roam *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = net_watch_open();
	return r->fd < 0 ? r->fd : 0;
}

void roam_close(struct roam *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->armed = false;
}

void roam_arm(struct roam *r, int sock, const struct sockaddr_storage *peer, int tun_ifindex)
{
	struct sockaddr_storage me;
	socklen_t len = sizeof(me);

	r->armed = false;
	if (r->fd < 0 || getsockname(sock, (struct sockaddr *)&me, &len) < 0 ||
	    inet_prefix_from_sockaddr(&me, &r->local) < 0 || inet_prefix_from_sockaddr(peer, &r->server) < 0)
		return;
	r->waiting = false;
	r->avoid_ifindex = tun_ifindex;
	memset(&r->gw, 0, sizeof(r->gw));
	if (net_route_path(&r->server, tun_ifindex, &r->ifindex, &r->gw) < 0 && !r->addr_only)
		return;	/* no path of the machine's own: nothing to compare */
	r->armed = true;
}

void roam_disarm(struct roam *r)
{
	r->armed = false;
	r->waiting = false;
}

/* The machine's own path to the server now: true with ifindex and gw set. */
static bool server_path(const struct roam *r, int *ifindex, struct inet_prefix *gw)
{
	memset(gw, 0, sizeof(*gw));
	*ifindex = 0;
	return r->server.family && net_route_path(&r->server, r->avoid_ifindex, ifindex, gw) == 0;
}

void roam_wait(struct roam *r)
{
	r->waiting = true;
	r->wait_path = server_path(r, &r->wait_ifindex, &r->wait_gw);
}

/* Waiting: a path that was not there (or another one), or a new address
 * to leave from, is worth a try before the backoff ends.  A path going
 * away is not. */
static enum roam_news chance_check(struct roam *r, bool new_addr, char *why, size_t cap)
{
	char a[INET6_ADDRSTRLEN + 8], g[INET6_ADDRSTRLEN + 8] = "on-link";
	enum roam_news news = ROAM_NONE;
	struct inet_prefix gw;
	int ifindex;
	bool path = server_path(r, &ifindex, &gw);

	if (path && (!r->wait_path || ifindex != r->wait_ifindex || memcmp(&gw, &r->wait_gw, sizeof(gw)))) {
		if (gw.family)
			inet_prefix_str(&gw, false, g, sizeof(g));
		snprintf(why, cap, "%s route to the server %s appeared (via %s, interface %d)",
			 r->wait_path ? "another" : "a", inet_prefix_str(&r->server, false, a, sizeof(a)), g, ifindex);
		news = ROAM_CHANCE;
	} else if (new_addr && (path || !r->server.family)) {
		snprintf(why, cap, "a new local address came up");
		news = ROAM_CHANCE;
	}
	r->wait_path = path;
	r->wait_ifindex = ifindex;
	r->wait_gw = gw;
	return news;
}

enum roam_news roam_check(struct roam *r, char *why, size_t cap)
{
	char a[INET6_ADDRSTRLEN + 8], g[INET6_ADDRSTRLEN + 8] = "on-link";
	struct inet_prefix gw;
	bool new_addr;
	int ifindex, rc;

	if (net_watch_drain(r->fd, &new_addr) <= 0)
		return ROAM_NONE;
	/* -b IFNAME: the machine's route to the server says nothing about
	 * this connection's uplink; any change may be that uplink back (the
	 * caller tries at most every NET_RETRY_MIN_MS). */
	if (!r->armed && r->waiting && r->addr_only) {
		snprintf(why, cap, "a change of links, addresses or routes (the -b uplink may be back)");
		return ROAM_CHANCE;
	}
	if (!r->armed)
		return r->waiting ? chance_check(r, new_addr, why, cap) : ROAM_NONE;
	if (net_addr_present(&r->local) == 0) {
		snprintf(why, cap, "the local address %s is gone",
			 inet_prefix_str(&r->local, false, a, sizeof(a)));
		return ROAM_LOST;
	}
	if (r->addr_only)
		return ROAM_NONE;
	memset(&gw, 0, sizeof(gw));
	rc = net_route_path(&r->server, r->avoid_ifindex, &ifindex, &gw);
	if (rc < 0) {
		snprintf(why, cap, "no route to the server %s any more: %s",
			 inet_prefix_str(&r->server, false, a, sizeof(a)), strerror(-rc));
		return ROAM_LOST;
	}
	if (ifindex != r->ifindex || memcmp(&gw, &r->gw, sizeof(gw))) {
		if (gw.family)
			inet_prefix_str(&gw, false, g, sizeof(g));
		snprintf(why, cap, "the route to the server changed (now via %s, interface %d)", g, ifindex);
		return ROAM_LOST;
	}
	log_debug("network change: the connection's address and path stand");
	return ROAM_NONE;
}
