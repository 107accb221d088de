/* The helper's --nat: forwarding on, and the clients' pool masqueraded
 * behind the server's own addresses with nftables, in a table of our own
 * (inet sshtun) that the last helper to leave removes, restoring the
 * forwarding settings it found. */
#ifndef SSHTUN_NAT_H
#define SSHTUN_NAT_H

#include <stddef.h>

#include "pool.h"

#define NAT_TABLE "sshtun"

/* Returns 0, or -1 with a reason in err. */
int nat_enable(const struct pool *pool, char *err, size_t errlen);
/* When no other helper holds a lease: table gone, forwarding restored. */
void nat_release(const struct pool *pool);

#endif
