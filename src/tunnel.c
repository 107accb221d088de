/* The packet pump.  See tunnel.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fail.h"
#include "log.h"
#include "tun.h"
#include "tunnel.h"

int tunnel_init(struct tunnel *t, const struct link_ops *link, void *link_ctx,
		const struct tunnel_handler *handler, void *handler_ctx)
{
	memset(t, 0, sizeof(*t));
	t->tun_fd = -1;
	t->mtu = MTU_DEFAULT;
	t->link = link;
	t->link_ctx = link_ctx;
	t->handler = handler;
	t->handler_ctx = handler_ctx;
	t->want_magic = true;
	t->tx = malloc(TUNNEL_TX_CAP);
	t->rx = malloc(TUNNEL_RX_CAP);
	if (!t->tx || !t->rx) {
		tunnel_free(t);
		return fail(EXIT_ERROR, "out of memory for tunnel buffers");
	}
	return 0;
}

void tunnel_free(struct tunnel *t)
{
	free(t->tx);
	free(t->rx);
	t->tx = t->rx = NULL;
}

void tunnel_reset(struct tunnel *t)
{
	t->tx_off = t->tx_len = t->rx_len = 0;
	t->want_magic = true;
	t->write_blocked = false;
	t->up = false;
}

/* Room at the end of tx, compacting first when nothing is half-written:
 * libssh2 keeps a pointer to a pending write's bytes, so they must not move
 * while write_blocked. */
static size_t tx_room(struct tunnel *t)
{
	if (t->tx_off == t->tx_len) {
		if (!t->write_blocked)
			t->tx_off = t->tx_len = 0;
	} else if (t->tx_off > TUNNEL_TX_CAP / 2 && !t->write_blocked) {
		memmove(t->tx, t->tx + t->tx_off, t->tx_len - t->tx_off);
		t->tx_len -= t->tx_off;
		t->tx_off = 0;
	}
	return TUNNEL_TX_CAP - t->tx_len;
}

int tunnel_queue_raw(struct tunnel *t, const void *p, size_t len)
{
	if (tx_room(t) < len)
		return -1;
	memcpy(t->tx + t->tx_len, p, len);
	t->tx_len += len;
	return 0;
}

int tunnel_queue(struct tunnel *t, uint8_t type, uint8_t flags, const void *payload, uint32_t len)
{
	if (len > FRAME_MAX_PAYLOAD || tx_room(t) < FRAME_HDR_LEN + (size_t)len)
		return -1;
	frame_put_header(t->tx + t->tx_len, type, flags, len);
	if (len)
		memcpy(t->tx + t->tx_len + FRAME_HDR_LEN, payload, len);
	t->tx_len += FRAME_HDR_LEN + len;
	return 0;
}

bool tunnel_tx_room(const struct tunnel *t)
{
	size_t need = FRAME_HDR_LEN + t->mtu;

	if (!t->up || t->tun_fd < 0)
		return false;
	/* Compaction can free tx_off bytes unless a write is pending. */
	if (TUNNEL_TX_CAP - t->tx_len >= need)
		return true;
	return !t->write_blocked && TUNNEL_TX_CAP - (t->tx_len - t->tx_off) >= need;
}

bool tunnel_tx_pending(const struct tunnel *t)
{
	return t->tx_off < t->tx_len;
}

void tunnel_read_tun(struct tunnel *t)
{
	for (int i = 0; i < TUNNEL_TUN_BATCH && tunnel_tx_room(t); i++) {
		uint8_t *slot;
		ssize_t n;

		tx_room(t);
		slot = t->tx + t->tx_len;
		/* One byte more than the MTU tells a too-big packet apart. */
		n = tun_read(t->tun_fd, slot + FRAME_HDR_LEN, t->mtu + 1);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("reading the TUN device: %s", strerror(errno));
			return;
		}
		if (n == 0 || (size_t)n > t->mtu) {
			t->st.drops++;
			continue;
		}
		frame_put_header(slot, FRAME_DATA, 0, (uint32_t)n);
		t->tx_len += FRAME_HDR_LEN + (size_t)n;
		t->st.tx_packets++;
		t->st.tx_bytes += (uint64_t)n;
		t->st.tx_uncompressed++;
	}
}

int tunnel_flush(struct tunnel *t)
{
	while (t->tx_off < t->tx_len) {
		ssize_t n = t->link->write(t->link_ctx, t->tx + t->tx_off, t->tx_len - t->tx_off);

		if (n == -EAGAIN) {
			t->write_blocked = true;
			return 0;
		}
		if (n < 0)
			return -1;
		t->write_blocked = false;
		t->tx_off += (size_t)n;
		t->st.tx_wire_bytes += (uint64_t)n;
	}
	t->write_blocked = false;
	t->tx_off = t->tx_len = 0;
	return 0;
}

/* A DATA frame while up: sanity-check the packet and hand it to the TUN. */
static void deliver(struct tunnel *t, const struct frame *f)
{
	uint8_t version;

	if (f->flags & FRAME_F_COMPRESSED) {
		/* Not negotiated (yet): a peer bug, but not worth the session. */
		t->st.drops++;
		log_debug("dropping a compressed DATA frame: compression not negotiated");
		return;
	}
	if (f->len < 20 || f->len > t->mtu) {
		t->st.drops++;
		log_debug("dropping a %u-byte packet (MTU %u)", f->len, t->mtu);
		return;
	}
	version = f->payload[0] >> 4;
	if (version != 4 && version != 6) {
		t->st.drops++;
		log_debug("dropping a packet of IP version %u", version);
		return;
	}
	if (tun_write(t->tun_fd, f->payload, f->len) < 0) {
		t->st.drops++;
		if (errno != EAGAIN && errno != ENOBUFS && errno != EIO)
			log_debug("writing to the TUN device: %s", strerror(errno));
		return;
	}
	t->st.rx_packets++;
	t->st.rx_bytes += f->len;
}

/* Handles every complete frame in rx; keeps the incomplete rest. */
static int parse(struct tunnel *t)
{
	size_t off = 0;
	int rc = 0;

	if (t->want_magic) {
		unsigned proto;
		char software[64];
		long used = magic_scan(t->rx, t->rx_len, &proto, software, sizeof(software));

		if (used < 0)
			return -1;
		if (used == 0)
			return 0;
		off = (size_t)used;
		t->want_magic = false;
		if (t->handler->on_magic(t->handler_ctx, proto, software) < 0)
			return -1;
	}
	while (rc == 0 && off < t->rx_len) {
		struct frame f;
		long used = frame_decode(t->rx + off, t->rx_len - off, FRAME_MAX_PAYLOAD, &f);

		if (used < 0)
			return -1;
		if (used == 0)
			break;
		off += (size_t)used;
		if (f.type == FRAME_DATA && t->up && t->tun_fd >= 0)
			deliver(t, &f);
		else if (f.type == FRAME_PING)
			tunnel_queue(t, FRAME_PONG, 0, f.payload, f.len);
		else if (f.type >= FRAME_IGNORABLE_MIN)
			log_debug("ignoring frame type 0x%02x", f.type);
		else
			rc = t->handler->on_frame(t->handler_ctx, &f);
	}
	if (off) {
		memmove(t->rx, t->rx + off, t->rx_len - off);
		t->rx_len -= off;
	}
	return rc;
}

int tunnel_input(struct tunnel *t)
{
	for (;;) {
		ssize_t n;

		if (t->link->serialize && t->write_blocked)
			return 0;
		if (t->rx_len == TUNNEL_RX_CAP)
			return fail(EXIT_ERROR, "receive buffer full without a complete frame (peer bug)");
		n = t->link->read(t->link_ctx, t->rx + t->rx_len, TUNNEL_RX_CAP - t->rx_len);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		if (n == 0)
			return 1;
		t->rx_len += (size_t)n;
		t->st.rx_wire_bytes += (uint64_t)n;
		if (parse(t) < 0)
			return -1;
		/* Answers (PONG) queued by parse go out with the next flush. */
	}
}
