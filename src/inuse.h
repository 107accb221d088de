#ifndef SSHTUN_INUSE_H
#define SSHTUN_INUSE_H

#include "hello.h"

/* Appends to out (up to HELLO_MAX_PREFIXES) the prefixes this machine routes
 * anywhere but through skip_ifindex or another sshtun interface, leaving
 * out default routes, loopback, link-local and multicast. */
void inuse_prefixes(struct prefix_list *out, int skip_ifindex);

#endif
