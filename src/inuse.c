/* The networks a machine already uses, so that a tunnel pair is never
 * taken from one of them (an address that is also on the LAN would make
 * part of it unreachable). */
#include <net/if.h>
#include <string.h>

#include "inuse.h"
#include "netlink.h"

struct ctx {
	struct prefix_list *out;
	int skip_ifindex;
};

bool inuse_route_counts(const struct inet_prefix *dst, int ifindex, int skip_ifindex)
{
	char name[IF_NAMESIZE];

	if (dst->plen == 0 || ifindex == skip_ifindex)
		return false;
	/* Loopback, link-local and multicast ranges are everywhere. */
	if (dst->family == AF_INET && (dst->addr.v4.s_addr & htonl(0xff000000)) == htonl(0x7f000000))
		return false;
	if (dst->family == AF_INET6 &&
	    (dst->addr.v6.s6_addr[0] == 0xff || (dst->addr.v6.s6_addr[0] == 0xfe &&
						 (dst->addr.v6.s6_addr[1] & 0xc0) == 0x80) ||
	     IN6_IS_ADDR_LOOPBACK(&dst->addr.v6)))
		return false;
	/* Other sshtun tunnels' pairs are the pool's own business. */
	return !(if_indextoname((unsigned)ifindex, name) && !strncmp(name, "sshtun", 6));
}

static void add(const struct inet_prefix *dst, int ifindex, void *arg)
{
	struct ctx *c = arg;

	if (c->out->n < HELLO_MAX_PREFIXES && inuse_route_counts(dst, ifindex, c->skip_ifindex))
		c->out->p[c->out->n++] = *dst;
}

void inuse_prefixes(struct prefix_list *out, int skip_ifindex)
{
	struct ctx c = { .out = out, .skip_ifindex = skip_ifindex };

	net_route_dump(add, &c);
}
