/* See roam.h.  Every change wakes us (our own routes and addresses too);
 * only the two facts that doom the connection count: its local address
 * is no longer this machine's, or the machine's own routes (not sshtun's
 * pin) now take the server another way, or nowhere. */
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
	r->avoid_ifindex = tun_ifindex;
	memset(&r->gw, 0, sizeof(r->gw));
	if (net_route_path(&r->server, tun_ifindex, &r->ifindex, &r->gw) < 0)
		return;	/* no path of the machine's own: nothing to compare */
	r->armed = true;
}

void roam_disarm(struct roam *r)
{
	r->armed = false;
}

int roam_check(struct roam *r, char *why, size_t cap)
{
	char a[INET6_ADDRSTRLEN + 8], g[INET6_ADDRSTRLEN + 8] = "on-link";
	struct inet_prefix gw;
	int ifindex, rc;

	if (net_watch_drain(r->fd) <= 0 || !r->armed)
		return 0;
	if (net_addr_present(&r->local) == 0) {
		snprintf(why, cap, "the local address %s is gone",
			 inet_prefix_str(&r->local, false, a, sizeof(a)));
		return 1;
	}
	memset(&gw, 0, sizeof(gw));
	rc = net_route_path(&r->server, r->avoid_ifindex, &ifindex, &gw);
	if (rc < 0) {
		snprintf(why, cap, "no route to the server %s any more: %s",
			 inet_prefix_str(&r->server, false, a, sizeof(a)), strerror(-rc));
		return 1;
	}
	if (ifindex != r->ifindex || memcmp(&gw, &r->gw, sizeof(gw))) {
		if (gw.family)
			inet_prefix_str(&gw, false, g, sizeof(g));
		snprintf(why, cap, "the route to the server changed (now via %s, interface %d)", g, ifindex);
		return 1;
	}
	log_debug("network change: the connection's address and path stand");
	return 0;
}
