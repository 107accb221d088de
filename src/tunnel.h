/* The data path shared by client and server: IP packets from the TUN device
 * become DATA frames in one bounded transmit buffer that is written to the
 * link (the SSH channel, or the helper's stdin/stdout) in as few writes as
 * the link allows; bytes from the link are cut into frames and DATA payloads
 * written to the TUN.  No allocation per packet: packets are read from the
 * TUN straight into the transmit buffer behind their frame header. */
#ifndef SSHTUN_TUNNEL_H
#define SSHTUN_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <netinet/in.h>

#include "frame.h"
#include "vnet.h"

/* Buffers: big enough to batch a burst of full-size packets into one SSH
 * message run, small enough that a ping never waits long behind bulk data
 * (queues that grow only hurt TCP inside TCP). */
#define TUNNEL_TX_CAP	(256 * 1024)
#define TUNNEL_RX_CAP	(FRAME_HDR_LEN + FRAME_MAX_PAYLOAD + 64 * 1024)
#define TUNNEL_TUN_BATCH 64	/* packets read from the TUN per wakeup */
/* Compressed DATA frames carry a batch of whole packets: the bigger the
 * batch, the better zlib does (one packet per frame tops out near 4.3x on
 * logs at MTU 1400, 32 KiB batches reach the whole-file ratio).  A frame
 * may inflate to at most TUNNEL_INFLATE_MAX bytes. */
#define TUNNEL_ZBATCH_MAX (32 * 1024)
/* A batch's first packet may be bigger: a GSO super-packet with its
 * header (vnet.h) is compressed whole. */
#define TUNNEL_ZBATCH_CAP (VNET_HDR_LEN + VNET_PKT_MAX)
#define TUNNEL_INFLATE_MAX TUNNEL_ZBATCH_CAP
/* Packets wait in the fair queue (fq.h), not in the transmit buffer: it is
 * filled only while it holds less than the link budget, which follows the
 * rate the link takes bytes at (a few milliseconds of it, within these
 * bounds).  The same budget caps one link write (libssh2 keeps a whole
 * SSH packet it could not send yet) and is what the owner lets sit unsent
 * in the socket below (TCP_NOTSENT_LOWAT). */
#define TUNNEL_BUDGET_MIN (8 * 1024)
#define TUNNEL_BUDGET_MAX (64 * 1024)
#define TUNNEL_BUDGET_MS 2


/* How the tunnel moves bytes.  read/write return a byte count (read: 0 at
 * end of stream), -EAGAIN when the link would block, or -1 with fail() set.
 * write may also return -ENOBUFS (or 0): nothing of ours half sent, but the
 * peer's window is too small for the next bytes (reads go on; they bring
 * the adjust).
 *
 * write never keeps a pointer into buf once it returns: the tunnel moves
 * its unsent bytes to the front of its buffer whenever it needs the room.
 * After -EAGAIN the next call passes the same unsent bytes again (maybe
 * from another address, maybe with more behind them); libssh2 1.10 needs
 * exactly that: it copies a message into its own buffer when it first
 * takes it, and reads buf again only if it had not yet (transport.c,
 * _libssh2_transport_send).  ossh_write keeps its own copy of a datagram. */
struct link_ops {
	ssize_t (*read)(void *ctx, uint8_t *buf, size_t len);
	ssize_t (*write)(void *ctx, const uint8_t *buf, size_t len);
	/* libssh2 cannot read while a write is half done (chanlink.c): when
	 * set, reads wait until the pending write has finished. */
	bool serialize;
	/* A read that returns less than it was asked for has taken all the
	 * link had (libssh2's channel read first reads the socket until
	 * EAGAIN, then hands over every queued byte that fits): tunnel_input
	 * stops there instead of asking again only to hear EAGAIN, a failed
	 * recv per wakeup.  Not for a link that may return short while it
	 * still holds bytes (openssh.c keeps datagrams that do not fit). */
	bool drains;
};

struct tunnel_handler {
	/* The peer's magic line.  Return -1 (with fail()) to stop. */
	int (*on_magic)(void *ctx, unsigned proto, const char *software);
	/* Every frame but DATA-while-up and PING (answered here).  Return -1
	 * (with fail()) to stop. */
	int (*on_frame)(void *ctx, const struct frame *f);
	/* Optional: may a packet from the peer carry this source (family
	 * AF_INET/AF_INET6, src its 4 or 16 bytes)?  No: it is dropped and
	 * counted.  The client's reverse-path check. */
	bool (*from_peer_ok)(void *ctx, int family, const uint8_t *src);
};

struct tunnel_stats {
	uint64_t tx_packets, rx_packets;
	uint64_t tx_bytes, rx_bytes;		/* IP bytes */
	uint64_t tx_wire_bytes, rx_wire_bytes;	/* channel bytes, framing included */
	uint64_t drops;				/* packets we could not carry */
	uint64_t tx_compressed, tx_uncompressed;	/* packets sent each way */
	uint64_t tx_gso, rx_gso;		/* GSO super-packets carried */
	uint64_t gso_split;			/* super-packets cut here (peer without GSO) */
	uint64_t vnet_bad;			/* peer packets with a header refused */
	uint64_t steered;			/* read here, handed to another tunnel */
};

/* The link's rate, from the bytes it took while it also pushed back. */
struct link_rate {
	uint64_t since_us;
	uint64_t bytes;
	bool blocked;		/* it said EAGAIN in this period */
	uint64_t bytes_per_s;	/* 0: not measured yet */
	/* For --compress auto: the rate of the last period in which the link
	 * pushed back (0: none yet), and when it last did. */
	uint64_t pushback_bps;
	uint64_t pushback_us;
};

/* --compress auto: a channel that pushes back while it takes at most this
 * (bytes/s, 100 Mbit/s) is the bottleneck, and deflate at level 6 outruns
 * it several times over; it counts as such until it has not pushed back
 * for TUNNEL_SLOW_HOLD_US. */
#define TUNNEL_SLOW_LINK (100 * 1000 * 1000 / 8)
#define TUNNEL_SLOW_HOLD_US 1000000
#define TUNNEL_RATE_FIRST_US 20000

struct compressor;
struct decompressor;
struct fq;
struct tunnel;

/* Several connections over one multi-queue TUN (steer.h): which tunnel
 * carries the IP packet pkt[0..len) read from this one's queue.  NULL, or
 * the tunnel itself: this one. */
typedef struct tunnel *(*tunnel_steer_fn)(void *ctx, const uint8_t *pkt, size_t len);

struct tunnel {
	int tun_fd;		/* -1 when there is none yet */
	bool up;		/* DATA flows (after the hellos) */
	unsigned mtu;
	const struct link_ops *link;
	void *link_ctx;
	const struct tunnel_handler *handler;
	void *handler_ctx;

	bool want_magic;	/* still skipping to the peer's magic line */
	/* For --compress auto, from the owner's pressure.h: queueing seen in
	 * the round trip, and whether the CPU has room to compress. */
	bool rtt_congested;
	bool cpu_ok;
	/* The helper's check (off on the client): packets from the client
	 * must come from its lease; a family the lease has no address in is
	 * dropped whole. */
	bool check_src;
	bool has_src4, has_src6;
	struct in_addr src4;
	struct in6_addr src6;
	bool write_blocked;	/* the link said EAGAIN with bytes pending */
	size_t blocked_len;	/* how many bytes that write offered */
	/* The owner saw the link readable.  A serialized link cannot read
	 * while a write is half done, and under a steady backlog one always
	 * is: so once the current write is through, flush stops and lets the
	 * read go first (else the peer's pings and window adjusts starve). */
	bool want_read;
	/* A link write may have read the socket too (libssh2 takes in window
	 * adjusts and rekeying while it sends): what it took in will not wake
	 * poll, so the owner reads before sleeping while this is set. */
	bool maybe_buffered;

	/* Offloads (vnet.h).  vnet: header bytes before each TUN packet (0:
	 * none); caps: what we take from the peer (our hello's gso=);
	 * peer_caps: what the peer takes (0 until its hello, and with a peer
	 * that has none); offload: what our TUN hands us now.  A packet the
	 * peer cannot take is checksummed or cut here. */
	size_t vnet;
	unsigned caps, peer_caps, offload;
	uint8_t *big;		/* a super-packet read past its queue slot */

	struct fq *fq;		/* packets from the TUN wait here */
	/* NULL (one connection): every packet read goes out here. */
	tunnel_steer_fn steer;
	void *steer_ctx;
	struct link_rate rate;
	size_t budget;		/* see TUNNEL_BUDGET_MIN */
	bool budget_fixed;	/* set by tests: the rate does not move it */
	uint8_t *tx;		/* frames to send: [tx_off, tx_len) */
	size_t tx_off, tx_len;
	uint8_t *rx;		/* received, not yet parsed: [0, rx_len) */
	size_t rx_len;

	/* Compression: comp is NULL unless the peer can inflate; decomp is
	 * NULL unless we offered to.  The batch collects packets read in one
	 * wakeup that go into one compressed frame. */
	struct compressor *comp;
	struct decompressor *decomp;
	uint8_t *zbatch;
	size_t zbatch_len;
	size_t zbatch_hdr;	/* header bytes before each batched packet */
	uint32_t zbatch_off[TUNNEL_TUN_BATCH];
	int zbatch_n;
	uint8_t *scratch;	/* a packet read for the batch; inflated frames */

	struct tunnel_stats st;
};

int tunnel_init(struct tunnel *t, const struct link_ops *link, void *link_ctx,
		const struct tunnel_handler *handler, void *handler_ctx);
void tunnel_free(struct tunnel *t);
/* Forget buffered bytes and link state (a new connection, same TUN).  The
 * compression streams are new per connection; we_inflate: we tell the peer
 * we can inflate (so we keep a decompressor).  Returns 0 or -1 (fail()). */
int tunnel_reset(struct tunnel *t, bool we_inflate);
/* The peer said it can inflate: compress toward it with mode (COMPRESS_OFF,
 * COMPRESS_AUTO or a level).  Returns 0 or -1 (fail()). */
int tunnel_compress_to_peer(struct tunnel *t, int mode);
/* Both hellos listed zlib-hdr: compressed frames both ways in the header
 * layout (compress.h), after tunnel_compress_to_peer.  Returns 0 or -1
 * (fail()). */
int tunnel_compress_layout(struct tunnel *t, bool hdr);
/* Changes how we compress from the next frame on (no-op without a stream). */
void tunnel_set_compress(struct tunnel *t, int mode);

/* The TUN fd, and what its kernel offloads: caps is probed once here
 * (SSHTUN_NO_OFFLOAD=1 in the environment: none, as an old sshtun). */
void tunnel_set_tun(struct tunnel *t, int fd);
/* The peer's hello said it takes peer_caps (VNET_CAP_*; 0 for a peer
 * without gso=, and --openssh): the TUN's offloads follow.  Returns what the
 * TUN now offloads. */
unsigned tunnel_set_peer_caps(struct tunnel *t, unsigned peer_caps);
/* One verbose line: what the TUN offloads, what the peer ("client",
 * "server") and we take. */
void log_offloads(const struct tunnel *t, const char *peer);

/* Queues raw bytes (the magic line) or one frame.  Returns 0, or -1 when the
 * transmit buffer has no room (the frame is dropped). */
int tunnel_queue_raw(struct tunnel *t, const void *p, size_t len);
int tunnel_queue(struct tunnel *t, uint8_t type, uint8_t flags, const void *payload, uint32_t len);

/* True when the TUN should be read: whenever up (the fair queue takes every
 * packet; at its caps it drops from the fattest flow). */
bool tunnel_tx_room(const struct tunnel *t);
/* Bytes in the transmit buffer or packets in the fair queue. */
bool tunnel_tx_pending(const struct tunnel *t);

/* Reads waiting packets from the TUN into the fair queue, and moves what
 * the budget allows on to the transmit buffer.  With a steer function, a
 * packet it gives to another tunnel (that is up, on a queue of the same
 * device) joins that one's fair queue (whose caps hold as for its own
 * packets), and that one's transmit buffer is refilled too: its owner
 * flushes it as it flushes whatever is pending.  A packet too big for the
 * other's queue is dropped and counted here. */
void tunnel_read_tun(struct tunnel *t);
/* Sets (fn NULL: clears) the steer function. */
void tunnel_set_steer(struct tunnel *t, tunnel_steer_fn fn, void *ctx);
/* Writes queued bytes until the link blocks, refilling the transmit buffer
 * from the fair queue.  Returns 0 or -1 (fail()). */
int tunnel_flush(struct tunnel *t);
/* Reads from the link until it blocks, handling every complete frame.
 * Returns 0, 1 at end of stream, or -1 (fail()). */
int tunnel_input(struct tunnel *t);
/* The fair queue's figures (zeros before there is a queue). */
struct fq_stats;
void tunnel_fq_stats(const struct tunnel *t, struct fq_stats *st);

#endif
