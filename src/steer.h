/* Which of several connections carries a flow (--connections N).
 *
 * Each connection reads its own queue of the client's multi-queue TUN, and
 * the kernel puts a new flow on a queue by its hash: 4 flows over 2 queues
 * all land on one in 1 start of 8.  But the kernel learns: a flow's packets
 * leave the TUN by the queue its packets were last written into, on both
 * ends.  So the first packet of a new flow picks the connection with the
 * fewest active flows (ties: the fewest bytes lately); the server's helper
 * of that connection writes it into its queue, its kernel answers there,
 * we write the answers into ours, and from then on the flow arrives on the
 * chosen queue by itself.  A flow sticks to its connection while it is
 * active (no reordering); the flows of a connection that went away move.
 *
 * The table is fixed (STEER_SLOTS entries, no allocation), keyed by a
 * seeded hash of the 5-tuple made symmetric (both directions of a flow are
 * one entry, as in the kernel's own hash).  TCP, UDP, UDP-Lite and SCTP
 * flows are told apart by ports, and only they count as load: other
 * protocols (ICMP, the kernel's own neighbour and multicast chatter) stick
 * by addresses too, but a ping must not make a connection look busy to the
 * next download.  Fragments and packets that do not parse are not entered:
 * they go by hash over the live connections.  Time comes from the caller
 * (milliseconds, monotonic). */
#ifndef SSHTUN_STEER_H
#define SSHTUN_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STEER_CONNS	8	/* connections, at most (TUN_MAX_QUEUES) */
#define STEER_SLOTS	4096	/* flows remembered, at most */
#define STEER_PROBE	8	/* slots a flow may sit in past its own */
#define STEER_IDLE_MS	10000	/* a flow without a packet this long is gone */
#define STEER_SWEEP_MS	1000	/* how often idle flows are let go */

struct steer_entry {
	uint64_t key;		/* 0: free */
	uint32_t seen_ms;	/* the caller's clock, wrapping */
	uint8_t conn;
	bool counted;		/* in flows[]: a flow with ports */
};

struct steer {
	uint64_t seed;
	uint64_t next_sweep_ms;
	bool swept;		/* next_sweep_ms is set */
	unsigned flows[STEER_CONNS];	/* live counted entries per connection */
	uint64_t bytes[STEER_CONNS];	/* picked lately: halved at each sweep */
	/* Figures: packets not entered in the table, by why. */
	uint64_t fragments, unparsed, table_full;
	struct steer_entry e[STEER_SLOTS];
};

/* What a packet is, for steer_key. */
enum steer_kind {
	STEER_FLOW,	/* a flow with ports: the key is its 5-tuple's */
	STEER_OTHER,	/* another protocol: the key is its addresses' and protocol's */
	STEER_FRAGMENT,	/* a fragment: the key is its addresses' and protocol's */
	STEER_BAD,	/* does not parse: the key is its first bytes' */
};

/* An empty table; seed keys the hash (the client draws it from getrandom,
 * so that nobody outside can aim flows at one slot). */
void steer_init(struct steer *s, uint64_t seed);

/* The connection (0..STEER_CONNS-1) for the IP packet pkt[0..len) (no
 * header in front), among those whose bit is set in alive: its flow's, if
 * the flow is known, active and its connection alive; else the live
 * connection with the fewest flows, which the flow then sticks to.
 * -1 when no connection is alive. */
int steer_pick(struct steer *s, const uint8_t *pkt, size_t len, unsigned alive, uint64_t now_ms);

/* The connection went away: its flows are let go, and each picks anew with
 * its next packet. */
void steer_forget(struct steer *s, int conn);

/* Active flows with ports on conn (as the table counts them; idle ones go
 * at the next sweep). */
unsigned steer_flows(const struct steer *s, int conn);

/* The packet's key (never 0) and what it is. */
enum steer_kind steer_key(const struct steer *s, const uint8_t *pkt, size_t len, uint64_t *key);

#endif
