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

#include "frame.h"

/* Buffers: big enough to batch a burst of full-size packets into one SSH
 * message run, small enough that a ping never waits long behind bulk data
 * (queues that grow only hurt TCP inside TCP). */
#define TUNNEL_TX_CAP	(256 * 1024)
#define TUNNEL_RX_CAP	(FRAME_HDR_LEN + FRAME_MAX_PAYLOAD + 64 * 1024)
#define TUNNEL_TUN_BATCH 64	/* packets read from the TUN per wakeup */

/* How the tunnel moves bytes.  read/write return a byte count (read: 0 at
 * end of stream), -EAGAIN when the link would block, or -1 with fail() set. */
struct link_ops {
	ssize_t (*read)(void *ctx, uint8_t *buf, size_t len);
	ssize_t (*write)(void *ctx, const uint8_t *buf, size_t len);
	/* libssh2 cannot read while a write is half done (FACTS.md): when set,
	 * reads wait until the pending write has finished. */
	bool serialize;
};

struct tunnel_handler {
	/* The peer's magic line.  Return -1 (with fail()) to stop. */
	int (*on_magic)(void *ctx, unsigned proto, const char *software);
	/* Every frame but DATA-while-up and PING (answered here).  Return -1
	 * (with fail()) to stop. */
	int (*on_frame)(void *ctx, const struct frame *f);
};

struct tunnel_stats {
	uint64_t tx_packets, rx_packets;
	uint64_t tx_bytes, rx_bytes;		/* IP bytes */
	uint64_t tx_wire_bytes, rx_wire_bytes;	/* channel bytes, framing included */
	uint64_t drops;				/* packets we could not carry */
	uint64_t tx_compressed, tx_uncompressed;
};

struct tunnel {
	int tun_fd;		/* -1 when there is none yet */
	bool up;		/* DATA flows (after the hellos) */
	unsigned mtu;
	const struct link_ops *link;
	void *link_ctx;
	const struct tunnel_handler *handler;
	void *handler_ctx;

	bool want_magic;	/* still skipping to the peer's magic line */
	bool write_blocked;	/* the link said EAGAIN with bytes pending */

	uint8_t *tx;		/* frames to send: [tx_off, tx_len) */
	size_t tx_off, tx_len;
	uint8_t *rx;		/* received, not yet parsed: [0, rx_len) */
	size_t rx_len;

	struct tunnel_stats st;
};

int tunnel_init(struct tunnel *t, const struct link_ops *link, void *link_ctx,
		const struct tunnel_handler *handler, void *handler_ctx);
void tunnel_free(struct tunnel *t);
/* Forget buffered bytes and link state (a new connection, same TUN). */
void tunnel_reset(struct tunnel *t);

/* Queues raw bytes (the magic line) or one frame.  Returns 0, or -1 when the
 * transmit buffer has no room (the frame is dropped). */
int tunnel_queue_raw(struct tunnel *t, const void *p, size_t len);
int tunnel_queue(struct tunnel *t, uint8_t type, uint8_t flags, const void *payload, uint32_t len);

/* True when the TUN should be read: up, and room for a full packet. */
bool tunnel_tx_room(const struct tunnel *t);
bool tunnel_tx_pending(const struct tunnel *t);

/* Reads waiting packets from the TUN into the transmit buffer. */
void tunnel_read_tun(struct tunnel *t);
/* Writes queued bytes until the link blocks.  Returns 0 or -1 (fail()). */
int tunnel_flush(struct tunnel *t);
/* Reads from the link until it blocks, handling every complete frame.
 * Returns 0, 1 at end of stream, or -1 (fail()). */
int tunnel_input(struct tunnel *t);

#endif
