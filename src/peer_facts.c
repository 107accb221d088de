/* See peer_facts.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "inuse.h"
#include "log.h"
#include "netlink.h"
#include "peer_facts.h"

/* Both: with systemd-resolved the first names only its local stub, the
 * second the resolvers it forwards to. */
static const char *const resolv_files[] = { "/etc/resolv.conf", "/run/systemd/resolve/resolv.conf" };

struct gather {
	struct peer_facts *f;
	int tun_ifindex;
	bool truncated;
};

static bool listed(const struct inet_prefix *p, const struct inet_prefix *l, int n)
{
	for (int i = 0; i < n; i++)
		if (l[i].family == p->family && l[i].plen == p->plen &&
		    !memcmp(&l[i].addr, &p->addr, p->family == AF_INET ? 4 : 16))
			return true;
	return false;
}

/* Appends p to l (at most max, no duplicates). */
static void put(struct inet_prefix *l, int *n, int max, const struct inet_prefix *p, bool *truncated)
{
	if (listed(p, l, *n))
		return;
	if (*n == max) {
		*truncated = true;
		return;
	}
	l[(*n)++] = *p;
}

static void on_route(const struct inet_prefix *dst, int ifindex, void *arg)
{
	struct gather *g = arg;

	if (inuse_route_counts(dst, ifindex, g->tun_ifindex))
		put(g->f->nets, &g->f->nnets, PEER_FACTS_MAX_NETS, dst, &g->truncated);
}

static void on_gateway(const struct inet_prefix *gw, int ifindex, void *arg)
{
	struct gather *g = arg;

	if (ifindex != g->tun_ifindex)
		put(g->f->gateways, &g->f->ngateways, PEER_FACTS_MAX_ADDRS, gw, &g->truncated);
}

static bool loopback(const struct inet_prefix *p)
{
	return p->family == AF_INET ? (ntohl(p->addr.v4.s_addr) >> 24) == 127
				    : IN6_IS_ADDR_LOOPBACK(&p->addr.v6);
}

/* "nameserver ADDR" lines.  A local stub (loopback) is no address a pair
 * could take; a resolver reached through the tunnel is one we set up. */
static void read_resolvers(struct gather *g, const char *path)
{
	char line[512], word[16], addr[INET6_ADDRSTRLEN + 1];
	struct inet_prefix r, gw;
	FILE *fp = fopen(path, "re");
	int ifindex;

	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, " %15s %46s", word, addr) != 2 || strcmp(word, "nameserver") ||
		    inet_prefix_parse(addr, &r) < 0 || loopback(&r))
			continue;
		if (g->tun_ifindex > 0 && net_route_get(&r, &ifindex, &gw) == 0 && ifindex == g->tun_ifindex)
			continue;
		put(g->f->resolvers, &g->f->nresolvers, PEER_FACTS_MAX_ADDRS, &r, &g->truncated);
	}
	fclose(fp);
}

int peer_facts_gather(struct peer_facts *f, int tun_ifindex, const struct inet_prefix *server)
{
	struct gather g = { .f = f, .tun_ifindex = tun_ifindex };
	int rc;

	memset(f, 0, sizeof(*f));
	if (server && (server->family == AF_INET || server->family == AF_INET6))
		f->server = *server;
	rc = net_route_dump(on_route, &g);
	if (rc == 0)
		rc = net_gateway_dump(on_gateway, &g);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ARRAY_SIZE(resolv_files); i++)
		read_resolvers(&g, resolv_files[i]);
	/* Past the caps a pair is checked against the first ones only. */
	if (g.truncated)
		log_verbose("more routes or resolvers than the hello checks look at (%d, %d)",
			    PEER_FACTS_MAX_NETS, PEER_FACTS_MAX_ADDRS);
	return 0;
}
