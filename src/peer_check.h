/* What the client accepts from a server's hello, judged against what this
 * machine already uses.  Pure: no system calls, so that unit tests and a
 * fuzz target see exactly what the client runs (peer_facts.c gathers the
 * facts).  A server is not trusted: a pair or resolver that would take over
 * a network, gateway or resolver of this machine, or the route to the SSH
 * server itself, is refused. */
#ifndef SSHTUN_PEER_CHECK_H
#define SSHTUN_PEER_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "hello.h"

#define PEER_FACTS_MAX_NETS 512
#define PEER_FACTS_MAX_ADDRS 64

struct peer_facts {
	/* Prefixes this machine routes other than through the tunnel (as the
	 * hello's avoid list, but not capped at 32). */
	int nnets;
	struct inet_prefix nets[PEER_FACTS_MAX_NETS];
	/* Next hops of its routes, and the resolvers it uses: host prefixes. */
	int ngateways, nresolvers;
	struct inet_prefix gateways[PEER_FACTS_MAX_ADDRS];
	struct inet_prefix resolvers[PEER_FACTS_MAX_ADDRS];
	/* The SSH server's address; family 0 when unknown (ProxyCommand). */
	struct inet_prefix server;
};

/* The server's hello: a /31 and /127 pair (one address each side, nothing
 * wider) that overlaps none of f's server, gateways, resolvers and
 * networks; dns= entries are host addresses; with want_dns they also pass
 * peer_check_dns.  Returns 0, or -1 with a one-line reason in err that
 * names the pair or resolver and what it overlaps. */
int peer_check_hello(const struct hello *h, const struct peer_facts *f, bool want_dns, char *err,
		     size_t errlen);

/* Resolvers offered by the server, before any is routed through the
 * tunnel: each a host address, not the SSH server's address, not inside one
 * of this machine's networks.  Returns 0, or -1 with a reason in err. */
int peer_check_dns(const struct prefix_list *dns, const struct peer_facts *f, char *err, size_t errlen);

/* May a packet from the tunnel carry source src?  Only when src lies in the
 * pair or a prefix routed through the tunnel (routes[0..n)): a reverse-path
 * check against the tunnel's own routes, whatever their metric. */
bool peer_src_allowed(int family, const void *src, const struct hello *lease,
		      const struct inet_prefix *routes, int n);

#endif
