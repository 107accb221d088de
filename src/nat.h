/* The helper's --nat: the clients' pool masqueraded behind the server's
 * uplink with nftables, in a table of our own (inet sshtun) whose forward
 * chain keeps the tunnels apart from everything but the uplink:
 *
 *   - from a tunnel: out to the uplink only (to another tunnel only with
 *     --client-to-client);
 *   - into a tunnel: replies, and what comes from the uplink addressed to
 *     the pool;
 *   - between other interfaces: as before (dropped if forwarding was off
 *     for that family before sshtun turned it on).
 *
 * The last helper to leave removes the table and restores the forwarding
 * settings it found (forwarding.h). */
#ifndef SSHTUN_NAT_H
#define SSHTUN_NAT_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"

#define NAT_TABLE "sshtun"
#define RPF_TABLE "sshtun_rpf"

struct nat_config {
	const char *out;	/* the uplink; NULL or "": the default route's */
	bool client_to_client;
};

/* Returns 0, or -1 with a reason in err. */
int nat_enable(const struct pool *pool, const struct nat_config *cfg, char *err, size_t errlen);
/* When no other helper holds a lease: table gone, forwarding restored. */
void nat_release(const struct pool *pool);

/* With or without --nat, while a helper runs: the table inet sshtun_rpf,
 * whose one rule drops a packet from a tunnel whose source is not routed
 * back through that tunnel (both families; IPv4 alone has rp_filter).  It
 * is the kernel's check of what a worker writes to its TUN, for when a
 * hostile client owns the worker.  Returns 0, or -1 with a reason in err. */
int nat_rpf_enable(const struct pool *pool, char *err, size_t errlen);
/* When no other helper holds a lease: the table goes. */
void nat_rpf_release(const struct pool *pool);

#endif
