/* A fair queue with CoDel for the packets the tunnel sends: what fq_codel
 * (RFC 8290) does for a NIC, done where the tunnel's queue forms.
 *
 * Packets are kept per flow (a hash of the 5-tuple) and served in deficit
 * round robin with a quantum of one MTU.  A flow that was idle goes on the
 * new-flow list and is served before the flows with a backlog, so a ping, a
 * DNS query or a keystroke overtakes a bulk transfer's queue.  Each flow runs
 * CoDel (RFC 8289): while its packets have waited more than FQ_TARGET_US for
 * longer than FQ_INTERVAL_US, packets are dropped at the head at a rising
 * rate, which tells the inner TCP to slow down.  When the whole queue is at
 * its packet or byte cap, the head of the fattest flow goes.
 *
 * Memory is fixed once the MTU is: a pool of packet slots, no allocation per
 * packet.  Time comes from the owner (fq_set_now), read once per wakeup. */
#ifndef SSHTUN_FQ_H
#define SSHTUN_FQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FQ_FLOWS	1024		/* hash buckets (as fq_codel's default) */
#define FQ_LIMIT_PKTS	1024		/* packets queued, at most */
#define FQ_LIMIT_BYTES	(1024 * 1024)	/* IP bytes queued, at most */
#define FQ_POOL_MAX	(4u << 20)	/* slot memory, at most (big MTUs get fewer slots) */
#define FQ_HDR_MAX	16		/* bytes before each packet, at most (fq_set_hdr) */
#define FQ_LEN_MAX	(40 + 65535 + FQ_HDR_MAX)	/* an IPv6 super-packet behind its header */
#define FQ_TARGET_US	5000
#define FQ_INTERVAL_US	100000

struct fq;

struct fq_stats {
	uint64_t drops_codel;	/* dropped because they waited too long */
	uint64_t drops_full;	/* dropped from the fattest flow at a cap */
	uint64_t delay_us;	/* wait of the last packet sent; 0 when empty */
	uint64_t delay_peak_us;	/* the longest wait seen */
	unsigned flows;		/* flows with packets queued */
	unsigned packets;
	size_t bytes;
};

/* A queue for packets of at most mtu bytes (the TUN's MTU, or a GSO
 * super-packet's 64 KiB; a header fq_set_hdr counts in).  NULL with fail()
 * set. */
struct fq *fq_new(unsigned mtu);
void fq_free(struct fq *q);
/* A new MTU: the queue is emptied (its packets count as drops_full) and the
 * pool resized.  Returns 0, or -1 (fail(); the queue keeps its old MTU). */
int fq_set_mtu(struct fq *q, unsigned mtu);
unsigned fq_mtu(const struct fq *q);
/* Each packet comes behind hdr bytes that are not IP (the TUN's virtio-net
 * header): flows are told apart by what follows them.  Lengths include
 * them.  Set it while the queue is empty. */
void fq_set_hdr(struct fq *q, unsigned hdr);
/* Drops everything queued (a new connection); stats stay. */
void fq_clear(struct fq *q);

/* The clock, in microseconds (CLOCK_MONOTONIC), for what follows. */
void fq_set_now(struct fq *q, uint64_t now_us);

/* Where the next packet is to be read: mtu + 1 bytes (the one more tells a
 * too-big packet apart).  Always succeeds: when the pool is used up, the
 * head of the fattest flow is dropped to make the room. */
uint8_t *fq_slot(struct fq *q);
/* The packet of len bytes (1..mtu) now in the slot joins its flow. */
void fq_enqueue(struct fq *q, size_t len);
/* The next packet to send, or NULL when none is left (CoDel may drop on
 * the way).  The bytes stay valid until the next call into q. */
const uint8_t *fq_dequeue(struct fq *q, size_t *len);
bool fq_empty(const struct fq *q);

void fq_get_stats(const struct fq *q, struct fq_stats *st);
/* The bucket a packet falls in (for tests: stable per flow in one queue). */
unsigned fq_bucket(const struct fq *q, const uint8_t *p, size_t len);
/* For tests: the hash seed, in place of fq_new's secret random one, so that
 * which flows share a bucket is the same on every run. */
void fq_set_seed(struct fq *q, uint32_t seed);

#endif
