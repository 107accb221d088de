/* See peer_check.h.  The order of the pair checks is the order of harm:
 * the SSH server's own route first (the tunnel would carry itself), then
 * the gateways and resolvers (a hijack of every connection or of every
 * name), then whole networks. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fail.h"
#include "peer_check.h"

#define PSTR (INET6_ADDRSTRLEN + 4)

static unsigned host_plen(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Do the two addresses differ only in their last bit? */
static bool pair_mates(const struct inet_prefix *a, const struct inet_prefix *b)
{
	const uint8_t *x = (const uint8_t *)&a->addr, *y = (const uint8_t *)&b->addr;
	size_t last = a->family == AF_INET ? 3 : 15;

	return a->family == b->family && !memcmp(x, y, last) && (x[last] ^ y[last]) == 1;
}

/* client/server of one family: both present, a /31 or /127, mates. */
static int check_shape(const struct inet_prefix *client, const struct inet_prefix *server, int family,
		       char *err, size_t errlen)
{
	unsigned want = host_plen(family) - 1;
	char c[PSTR], s[PSTR];

	if (!client->family)
		return server->family ? errorf(err, errlen, "the server gave itself %s but this client no address of that family",
					       inet_prefix_str(server, true, s, sizeof(s)))
				      : 0;
	inet_prefix_str(client, true, c, sizeof(c));
	if (!server->family)
		return errorf(err, errlen, "the server assigned %s but gave no address of its own; refusing it", c);
	inet_prefix_str(server, true, s, sizeof(s));
	/* A prefix length is a route the kernel adds: anything wider than the
	 * pair would route the client's traffic without --accept-routes. */
	if (client->plen != want || server->plen != want || !pair_mates(client, server))
		return errorf(err, errlen,
			      "the server assigned %s (itself %s), not a /%u pair; refusing it", c, s, want);
	return 0;
}

/* Ranges no pair may come from: this network, loopback, link-local,
 * multicast and reserved (with the broadcast address); IPv6 unspecified and
 * loopback, IPv4-mapped, link-local, multicast.  The kernel treats them
 * apart, and a link-local pair would shadow part of every link. */
static const char *const special[] = {
	"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3",
	"::/127", "::ffff:0:0/96", "fe80::/10", "ff00::/8",
};

static const char *special_range(const struct inet_prefix *p)
{
	struct inet_prefix r;

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (inet_prefix_parse(special[i], &r) == 0 && inet_prefix_overlaps(p, &r))
			return special[i];
	return NULL;
}

/* The first of l[0..n) that p overlaps, or NULL. */
static const struct inet_prefix *first_overlap(const struct inet_prefix *p, const struct inet_prefix *l, int n)
{
	for (int i = 0; i < n; i++)
		if (inet_prefix_overlaps(p, &l[i]))
			return &l[i];
	return NULL;
}

/* The pair (client's prefix, which holds both ends) against f. */
static int check_pair(const struct inet_prefix *client, const struct peer_facts *f, char *err,
		      size_t errlen)
{
	const struct inet_prefix *hit;
	const char *what;
	char pair[PSTR], o[PSTR];

	if (!client->family)
		return 0;
	inet_prefix_str(client, true, pair, sizeof(pair));
	if ((what = special_range(client)))
		return errorf(err, errlen, "the server assigned the pair %s, inside the special range %s; refusing it",
			      pair, what);
	if (f->server.family && inet_prefix_overlaps(client, &f->server)) {
		hit = &f->server;
		what = "the SSH server's address";
	} else if ((hit = first_overlap(client, f->gateways, f->ngateways))) {
		what = "this client's gateway";
	} else if ((hit = first_overlap(client, f->resolvers, f->nresolvers))) {
		what = "this client's resolver";
	} else if ((hit = first_overlap(client, f->nets, f->nnets))) {
		what = "this client's network";
	} else {
		return 0;
	}
	inet_prefix_str(hit, hit->plen != host_plen(hit->family), o, sizeof(o));
	return errorf(err, errlen, "the server assigned the pair %s, which overlaps %s %s; refusing it",
		      pair, what, o);
}

static int check_dns_shape(const struct prefix_list *dns, char *err, size_t errlen)
{
	char a[PSTR];

	for (int i = 0; i < dns->n; i++)
		if (dns->p[i].plen != host_plen(dns->p[i].family))
			return errorf(err, errlen,
				      "the server offered the resolver %s: a resolver is one address, not a network; refusing it",
				      inet_prefix_str(&dns->p[i], true, a, sizeof(a)));
	return 0;
}

int peer_check_dns(const struct prefix_list *dns, const struct peer_facts *f, char *err, size_t errlen)
{
	char a[PSTR], o[PSTR];

	if (check_dns_shape(dns, err, errlen) < 0)
		return -1;
	for (int i = 0; i < dns->n; i++) {
		const struct inet_prefix *r = &dns->p[i], *net;

		inet_prefix_str(r, false, a, sizeof(a));
		/* Its host route through the tunnel would take the SSH
		 * connection with it. */
		if (f->server.family && inet_prefix_overlaps(r, &f->server))
			return errorf(err, errlen,
				      "the server offered the resolver %s, which is the SSH server's own address; refusing it", a);
		/* Its host route would cut this machine off from that address
		 * on its own network (its router, its own resolver). */
		if ((net = first_overlap(r, f->nets, f->nnets)))
			return errorf(err, errlen,
				      "the server offered the resolver %s, which is inside this client's network %s; refusing it",
				      a, inet_prefix_str(net, true, o, sizeof(o)));
	}
	return 0;
}

int peer_check_hello(const struct hello *h, const struct peer_facts *f, bool want_dns, char *err,
		     size_t errlen)
{
	if (!h->client4.family && !h->client6.family)
		return errorf(err, errlen, "the server assigned no address to this client");
	if (check_shape(&h->client4, &h->server4, AF_INET, err, errlen) < 0 ||
	    check_shape(&h->client6, &h->server6, AF_INET6, err, errlen) < 0 ||
	    check_pair(&h->client4, f, err, errlen) < 0 || check_pair(&h->client6, f, err, errlen) < 0 ||
	    check_dns_shape(&h->dns, err, errlen) < 0)
		return -1;
	return want_dns ? peer_check_dns(&h->dns, f, err, errlen) : 0;
}

bool peer_src_allowed(int family, const void *src, const struct hello *lease,
		      const struct inet_prefix *routes, int n)
{
	const struct inet_prefix *pair = family == AF_INET ? &lease->client4 : &lease->client6;
	struct inet_prefix s = { .family = family, .plen = host_plen(family) };

	if (family != AF_INET && family != AF_INET6)
		return false;
	memcpy(&s.addr, src, family == AF_INET ? 4 : 16);
	return (pair->family && inet_prefix_overlaps(&s, pair)) || first_overlap(&s, routes, n);
}
