/* The server's address pool.  Each lease is a numbered pair: IPv4 /31 out of
 * the IPv4 pool (server even, client odd) and IPv6 /127 out of the IPv6 pool
 * (server base+2i+2, client base+2i+3).  Leases live in a small text file
 * under an exclusive flock so that helpers of concurrent sessions never hand
 * out the same pair:
 *
 *   <index> <client id> <pid> <unix time> <uid>\n     (pid 0: released)
 *
 * A lease belongs to a client id and the account (uid, account.h) it logged
 * in as: only that id from that account gets the pair back.  Lines of four
 * fields (written before leases had accounts) are still read; their pairs
 * stay taken and reserved as before, but no account can reclaim them.
 *
 * A lease whose helper is gone (released, or found dead) stays reserved for
 * its client for the grace time, counted from its release (or from when a
 * helper found it dead).  A new client gets a never-used pair first, then
 * the reservation that ended longest ago; a pair still in its grace time is
 * never handed to anyone else.  An account holds at most max_per_account
 * leases: past that its oldest reservation gives way, and when all of them
 * are live sessions it is refused.
 *
 * A lease may have a connection group (group.h: --connections): the
 * helpers of one client's further connections, which joined it with its
 * token.  The lease is live while any member is; when its holder goes, a
 * live member becomes the holder, and only the last one releases it. */
#ifndef SSHTUN_POOL_H
#define SSHTUN_POOL_H

#include <stdbool.h>
#include <sys/types.h>

#include "account.h"
#include "group.h"
#include "hello.h"

#define POOL_DEFAULT4 "10.77.0.0/16"
#define POOL_DEFAULT6 "fd77:7373:6874::/64"
#define POOL_LEASE_FILE "/run/sshtun/leases"
#define POOL_MAX_LEASES 65536	/* file entries read at most */
#define POOL_GRACE_DEFAULT 3600	/* seconds a pair waits for its client */
#define POOL_PER_ACCOUNT_DEFAULT 4
#define POOL_NO_UID ((uid_t)-1)	/* a lease line without an account */

struct pool {
	struct inet_prefix net4;	/* family 0: no IPv4 */
	struct inet_prefix net6;	/* family 0: no IPv6 */
	const char *lease_path;
	unsigned grace;			/* seconds; pool_init sets the default */
	unsigned max_per_account;	/* leases (live or reserved) per account */
};

/* Who holds or asks for a lease. */
struct lease_holder {
	const char *id;			/* the client's id (its hello) */
	const struct account *account;
	pid_t pid;			/* the helper serving it */
};

/* Why pool_acquire refused, for callers that act on it. */
enum pool_refusal {
	POOL_ERROR = -1,	/* bad request, I/O */
	POOL_FULL = -2,		/* every pair is live or in its grace time */
	POOL_ACCOUNT_CAP = -3,	/* the account has max_per_account live sessions */
	POOL_TAKEN = -4,	/* the address asked for is another client's */
	POOL_NOJOIN = -5,	/* no group to join: none, wrong token, full */
};

struct lease {
	unsigned index;
	struct inet_prefix client4, server4;	/* family 0 if no IPv4 pool */
	struct inet_prefix client6, server6;
	pid_t previous_pid;	/* live helper that held this client's lease (and started
				 * before it took it: not a reused pid), or 0 */
	unsigned nstale;	/* the live members of its group, which a fresh */
	pid_t stale[GROUP_MAX_MEMBERS];	/* request takes over as it does previous_pid */
};

/* What a join gets: the group's lease and device. */
struct pool_join {
	struct lease lease;
	char ifname[IFNAMSIZ];
	int ifindex;
	unsigned mtu;
	pid_t replaces;		/* the member of the same conn= it replaces, to be
				 * stopped (no longer in the group), or 0 */
};

/* Checks the pool prefixes (IPv4 plen <= 31, IPv6 plen <= 126) and sets the
 * default grace time and per-account cap.  Returns 0 or -1 with a reason in
 * err. */
int pool_init(struct pool *pool, const char *net4, const char *net6, const char *lease_path,
	      char *err, size_t errlen);

/* Number of pairs the pool holds (the smaller of the two families'). */
unsigned pool_size(const struct pool *pool);

/* The pair for index i. */
void pool_pair(const struct pool *pool, unsigned index, struct lease *out);

/* Takes a lease for who->id from who->account, held by who->pid.
 * want4/want6 (may be NULL or family 0): the client's -a request, which must
 * lie in the pool and be free (or already this client's).  Same id and
 * account as an existing lease: that index, with previous_pid set if its
 * holder still runs.  A new pair is never one that overlaps a prefix in
 * avoid (networks the client or server uses already).  Returns 0, or a
 * pool_refusal with a one-line reason in err. */
int pool_acquire(const struct pool *pool, const struct lease_holder *who,
		 const struct inet_prefix *want4, const struct inet_prefix *want6,
		 const struct prefix_list *avoid, struct lease *out, char *err, size_t errlen);

/* Makes the lease that who holds (pool_acquire'd, by who->pid) the head
 * of a connection group with who->pid its first member: the hash of token
 * (32 hex digits), the multi-queue device ifname (ifindex) and its mtu;
 * conn is the client's number for this connection (hello conn=, -1 none).
 * Returns 0, or -1 with err. */
int pool_group_create(const struct pool *pool, const struct lease_holder *who, const char *token,
		      const char *ifname, int ifindex, unsigned mtu, int conn, char *err, size_t errlen);

/* Adds who->pid to the group of who's lease (same id, same account) when
 * token matches its hash and it has room; out gets the lease and device.
 * conn (0..HELLO_CONN_LAST, -1 none): a live member that said the same
 * leaves the group and is out->replaces, for the caller to stop (it takes
 * no room).  Returns 0, POOL_NOJOIN with a one-line reason in err that
 * names what did not match (never the token), or POOL_ERROR. */
int pool_group_join(const struct pool *pool, const struct lease_holder *who, const char *token,
		    int conn, struct pool_join *out, char *err, size_t errlen);

/* The client says (CONTROL lost=) that its connection conn (0..7) is dead:
 * when who->pid is a member of the group of who's lease, the live member
 * other than who->pid that said that conn leaves the group and is *stop,
 * for the caller to stop (0: none).  Returns 0, or -1 with err (who is no
 * member of a group, a bad conn, I/O). */
int pool_group_lost(const struct pool *pool, const struct lease_holder *who, int conn, pid_t *stop,
		    char *err, size_t errlen);

/* Leases held by running helpers other than except. */
unsigned pool_live(const struct pool *pool, pid_t except);

/* Marks the lease of who released (its grace time starts), if who->pid still
 * holds it.  A member of its group leaves the group; a holder whose group
 * has live members hands the lease to one of them instead. */
int pool_release(const struct pool *pool, const struct lease_holder *who);

#endif
