#ifndef SSHTUN_INUSE_H
#define SSHTUN_INUSE_H

#include "hello.h"

/* Appends to out (up to HELLO_MAX_PREFIXES) the prefixes this machine routes
 * anywhere but through skip_ifindex or another sshtun interface, leaving
 * out default routes, loopback, link-local and multicast. */
void inuse_prefixes(struct prefix_list *out, int skip_ifindex);
/* Does the route dst through ifindex count as in use (by the rule above)? */
bool inuse_route_counts(const struct inet_prefix *dst, int ifindex, int skip_ifindex);

#endif
