/* The server's address pool.  Each lease is a numbered pair: IPv4 /31 out of
 * the IPv4 pool (server even, client odd) and IPv6 /127 out of the IPv6 pool
 * (server base+2i+2, client base+2i+3).  Leases live in a small text file
 * under an exclusive flock so that helpers of concurrent sessions never hand
 * out the same pair:
 *
 *   <index> <client id> <pid> <unix time>\n      (pid 0: released)
 *
 * A released lease stays reserved for its client id, so a reconnecting client
 * gets its pair back; it is reused for another client only when no never-used
 * pair is left. */
#ifndef SSHTUN_POOL_H
#define SSHTUN_POOL_H

#include <stdbool.h>
#include <sys/types.h>

#include "hello.h"

#define POOL_DEFAULT4 "10.77.0.0/16"
#define POOL_DEFAULT6 "fd77:7373:6874::/64"
#define POOL_LEASE_FILE "/run/sshtun/leases"
#define POOL_MAX_LEASES 65536	/* file entries read at most */

struct pool {
	struct inet_prefix net4;	/* family 0: no IPv4 */
	struct inet_prefix net6;	/* family 0: no IPv6 */
	const char *lease_path;
};

struct lease {
	unsigned index;
	struct inet_prefix client4, server4;	/* family 0 if no IPv4 pool */
	struct inet_prefix client6, server6;
	pid_t previous_pid;	/* live helper that held this client's lease, or 0 */
};

/* Checks the pool prefixes (IPv4 plen <= 31, IPv6 plen <= 126).  Returns 0 or
 * -1 with a reason in err. */
int pool_init(struct pool *pool, const char *net4, const char *net6, const char *lease_path,
	      char *err, size_t errlen);

/* Number of pairs the pool holds (the smaller of the two families'). */
unsigned pool_size(const struct pool *pool);

/* The pair for index i. */
void pool_pair(const struct pool *pool, unsigned index, struct lease *out);

/* Takes a lease for client id, held by pid.  want4/want6 (may be NULL or
 * family 0): the client's -a request, which must lie in the pool and be free
 * (or already this client's).  Same id as an existing lease: that index, with
 * previous_pid set if its holder still runs.  A new pair is never one that
 * overlaps a prefix in avoid (networks the client or server uses already).
 * Returns 0, or -1 with a reason
 * in err (pool exhausted, address outside pool, address taken, I/O). */
int pool_acquire(const struct pool *pool, const char *id, pid_t pid,
		 const struct inet_prefix *want4, const struct inet_prefix *want6,
		 const struct prefix_list *avoid, struct lease *out, char *err, size_t errlen);

/* Leases held by running helpers other than except. */
unsigned pool_live(const struct pool *pool, pid_t except);

/* Marks the lease of id released, if pid still holds it. */
int pool_release(const struct pool *pool, const char *id, pid_t pid);

#endif
