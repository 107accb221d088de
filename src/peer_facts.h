/* What this machine uses, for peer_check.h: its routes and gateways (from
 * the kernel) and its resolvers (from resolv.conf). */
#ifndef SSHTUN_PEER_FACTS_H
#define SSHTUN_PEER_FACTS_H

#include "peer_check.h"

/* Fills f.  tun_ifindex: the tunnel's own interface, whose routes and
 * resolvers are the tunnel's business, not this machine's.  server: the SSH
 * server's address, or NULL / not IPv4 or IPv6 when unknown.  Returns 0, or
 * a negative errno when the kernel's routes cannot be read. */
int peer_facts_gather(struct peer_facts *f, int tun_ifindex, const struct inet_prefix *server);

#endif
