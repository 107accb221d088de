/* The packet pump.  See tunnel.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "common.h"
#include "compress.h"
#include "fail.h"
#include "fq.h"
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
	t->cpu_ok = true;
	t->budget = TUNNEL_BUDGET_MAX;	/* until the link's rate is known */
	if (!(t->fq = fq_new(t->mtu))) {
		tunnel_free(t);
		return -1;
	}
	t->tx = malloc(TUNNEL_TX_CAP);
	t->rx = malloc(TUNNEL_RX_CAP);
	t->zbatch = malloc(TUNNEL_ZBATCH_CAP);
	t->scratch = malloc(TUNNEL_INFLATE_MAX + 1);
	t->big = malloc(VNET_HDR_LEN + VNET_PKT_MAX + 1);
	if (!t->tx || !t->rx || !t->zbatch || !t->scratch || !t->big) {
		tunnel_free(t);
		return fail(EXIT_ERROR, "out of memory for tunnel buffers");
	}
	return 0;
}

static void drop_streams(struct tunnel *t)
{
	compressor_free(t->comp);
	decompressor_free(t->decomp);
	t->comp = NULL;
	t->decomp = NULL;
	t->zbatch_len = 0;
	t->zbatch_n = 0;
}

void tunnel_free(struct tunnel *t)
{
	drop_streams(t);
	fq_free(t->fq);
	t->fq = NULL;
	free(t->tx);
	free(t->rx);
	free(t->zbatch);
	free(t->scratch);
	free(t->big);
	t->tx = t->rx = t->zbatch = t->scratch = t->big = NULL;
}

void tunnel_set_tun(struct tunnel *t, int fd)
{
	const char *off = getenv("SSHTUN_NO_OFFLOAD");

	t->tun_fd = fd;
	t->vnet = fd >= 0 ? tun_vnet_len(fd) : 0;
	t->caps = t->offload = 0;
	if (!t->vnet || (off && *off && strcmp(off, "0")))
		return;
	/* What the kernel takes is what it can also be handed: probe, and
	 * leave everything off until a peer that takes it says so. */
	t->caps = tun_set_offload(fd, VNET_CAP_CSUM | VNET_CAP_TCP4 | VNET_CAP_TCP6 | VNET_CAP_UDP);
	tun_set_offload(fd, 0);
}

unsigned tunnel_set_peer_caps(struct tunnel *t, unsigned peer_caps)
{
	t->peer_caps = peer_caps;
	if (t->tun_fd >= 0 && t->vnet && (t->offload || (peer_caps & t->caps)))
		t->offload = tun_set_offload(t->tun_fd, peer_caps & t->caps);
	return t->offload;
}

int tunnel_reset(struct tunnel *t, bool we_inflate)
{
	t->tx_off = t->tx_len = t->rx_len = 0;
	t->want_magic = true;
	t->write_blocked = false;
	t->want_read = false;
	t->up = false;
	drop_streams(t);
	/* Until the next peer says what it takes, the kernel does its own
	 * segmenting; what is queued in the TUN meanwhile is cut here. */
	tunnel_set_peer_caps(t, 0);
	if (t->fq)
		fq_clear(t->fq);
	memset(&t->rate, 0, sizeof(t->rate));
	if (!t->budget_fixed)
		t->budget = TUNNEL_BUDGET_MAX;
	if (we_inflate && !(t->decomp = decompressor_new()))
		return -1;
	return 0;
}

int tunnel_compress_to_peer(struct tunnel *t, int mode)
{
	compressor_free(t->comp);
	t->comp = compressor_new(mode);
	return t->comp ? 0 : -1;
}

int tunnel_compress_layout(struct tunnel *t, bool hdr)
{
	if (t->comp && compressor_set_layout(t->comp, hdr) < 0)
		return -1;
	if (t->decomp && decompressor_set_layout(t->decomp, hdr) < 0)
		return -1;
	return 0;
}

void tunnel_set_compress(struct tunnel *t, int mode)
{
	if (t->comp)
		compressor_set_mode(t->comp, mode);
}

void log_offloads(const struct tunnel *t, const char *peer)
{
	char a[40], b[40], c[40];

	log_verbose("offloads: the TUN hands us %s; the %s takes %s, we take %s",
		    t->offload ? vnet_caps_str(t->offload, a, sizeof(a)) : "plain packets", peer,
		    t->peer_caps ? vnet_caps_str(t->peer_caps, b, sizeof(b)) : "plain packets",
		    t->caps ? vnet_caps_str(t->caps, c, sizeof(c)) : "plain packets");
}

/* The transmit buffer holds unsent bytes at [tx_off, tx_len), and
 * tx_off <= tx_len <= TUNNEL_TX_CAP always: every write into it goes through
 * tx_reserve() and tx_commit(), and tunnel_tx_room() counts room the same
 * way.  One rule for room: the bytes before tx_off are free again once they
 * can be reclaimed, which is when the buffer is empty or tx_off has passed
 * half of it; the unsent rest then moves to the front.  Each byte moves at
 * most once per half buffer sent, never once per packet.
 *
 * Moving unsent bytes is safe even while the link is blocked: no link
 * keeps a pointer into buf (link_ops in tunnel.h). */
static void tx_check(const struct tunnel *t)
{
	/* A broken bound means some write already went, or is about to go,
	 * past the buffer: memory is not to be trusted any more, and a flush
	 * would send the heap to the peer.  Stop here, loudly. */
	if (t->tx_off > t->tx_len || t->tx_len > TUNNEL_TX_CAP) {
		fprintf(stderr, "sshtun: internal error: transmit buffer at [%zu, %zu) of %d bytes\n",
			t->tx_off, t->tx_len, TUNNEL_TX_CAP);
		abort();
	}
}

static size_t tx_reclaimable(const struct tunnel *t)
{
	return t->tx_off == t->tx_len || t->tx_off > TUNNEL_TX_CAP / 2 ? t->tx_off : 0;
}

/* Room for new bytes at the end of tx, counting what compaction frees. */
static size_t tx_free(const struct tunnel *t)
{
	tx_check(t);
	return TUNNEL_TX_CAP - t->tx_len + tx_reclaimable(t);
}

/* Where need bytes may be written (compacting first if that is what makes
 * the room), or NULL when tx_free() is short of need. */
static uint8_t *tx_reserve(struct tunnel *t, size_t need)
{
	size_t back = tx_reclaimable(t);

	if (tx_free(t) < need)
		return NULL;
	if (TUNNEL_TX_CAP - t->tx_len < need && back) {
		memmove(t->tx, t->tx + back, t->tx_len - back);
		t->tx_len -= back;
		t->tx_off = 0;
	}
	return t->tx + t->tx_len;
}

/* n bytes written where tx_reserve() said, at most the need it was given. */
static void tx_commit(struct tunnel *t, size_t n)
{
	t->tx_len += n;
	tx_check(t);
}

int tunnel_queue_raw(struct tunnel *t, const void *p, size_t len)
{
	uint8_t *slot = tx_reserve(t, len);

	if (!slot)
		return -1;
	memcpy(slot, p, len);
	tx_commit(t, len);
	return 0;
}

int tunnel_queue(struct tunnel *t, uint8_t type, uint8_t flags, const void *payload, uint32_t len)
{
	uint8_t *slot;

	if (len > FRAME_MAX_PAYLOAD || !(slot = tx_reserve(t, FRAME_HDR_LEN + (size_t)len)))
		return -1;
	frame_put_header(slot, type, flags, len);
	if (len)
		memcpy(slot + FRAME_HDR_LEN, payload, len);
	tx_commit(t, FRAME_HDR_LEN + len);
	return 0;
}

/* The queue's slots: the TUN's header, and a packet of the MTU or, while
 * the kernel hands us super-packets, of 64 KiB. */
static unsigned slot_len(const struct tunnel *t)
{
	bool gso = t->offload & (VNET_CAP_TCP4 | VNET_CAP_TCP6 | VNET_CAP_UDP);

	return (unsigned)t->vnet + (gso ? VNET_PKT_MAX : t->mtu);
}

/* A packet from the queue needs its frame header and one byte more than
 * the longest (which tells a too-big packet apart). */
static size_t packet_room(const struct tunnel *t)
{
	return FRAME_HDR_LEN + fq_mtu(t->fq) + 1;
}

bool tunnel_tx_room(const struct tunnel *t)
{
	return t->up && t->tun_fd >= 0;
}

static bool fq_waiting(const struct tunnel *t)
{
	return t->up && t->fq && !fq_empty(t->fq);
}

bool tunnel_tx_pending(const struct tunnel *t)
{
	return t->tx_off < t->tx_len || fq_waiting(t);
}

void tunnel_fq_stats(const struct tunnel *t, struct fq_stats *st)
{
	if (t->fq)
		fq_get_stats(t->fq, st);
	else
		memset(st, 0, sizeof(*st));
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The header of a packet from the queue says nothing the kernel must do:
 * the packet goes without it (DATA_VALID was cleared by vnet_check). */
static bool hdr_plain(const uint8_t *hdr)
{
	return !hdr[0] && !hdr[1];
}

/* One DATA frame at slot, which tx_reserve() returned for at least
 * FRAME_HDR_LEN + hlen + n: pkt[0..n), behind its header hdr[0..hlen)
 * (the TUN's, or none) when that asks for an offload. */
static void commit_raw(struct tunnel *t, uint8_t *slot, const uint8_t *hdr, size_t hlen,
		       const uint8_t *pkt, size_t n)
{
	uint8_t flags = 0;

	if (hlen && !hdr_plain(hdr)) {
		memcpy(slot + FRAME_HDR_LEN, hdr, hlen);
		flags = FRAME_F_GSO;
		if (hdr[1] != VNET_GSO_NONE)
			t->st.tx_gso++;
	} else {
		hlen = 0;
	}
	memmove(slot + FRAME_HDR_LEN + hlen, pkt, n);
	frame_put_header(slot, FRAME_DATA, flags, (uint32_t)(hlen + n));
	tx_commit(t, FRAME_HDR_LEN + hlen + n);
	t->st.tx_uncompressed++;
}

/* What the batch with more_pkts more packets of more_bytes needs in tx at
 * worst: its compressed frame, or every packet raw should deflate fail
 * (one header each). */
static size_t batch_need(const struct tunnel *t, int more_pkts, size_t more_bytes)
{
	return (size_t)(t->zbatch_n + more_pkts) * FRAME_HDR_LEN + t->zbatch_len + more_bytes +
	       COMPRESS_SLACK;
}

static void drop_batch(struct tunnel *t)
{
	t->zbatch_len = 0;
	t->zbatch_n = 0;
}

/* Sends the batch as one compressed frame.  Room for it was kept when each
 * packet joined (batch_fits, and raw packets leave it).  Should deflate
 * ever fail, the packets go out as they are: the peer's stream never saw
 * the bad output. */
static void flush_batch(struct tunnel *t)
{
	size_t need = batch_need(t, 0, 0), h = t->zbatch_hdr;
	uint8_t *slot;
	long out;

	if (!t->zbatch_n)
		return;
	if (!(slot = tx_reserve(t, need))) {
		t->st.drops += (uint64_t)t->zbatch_n;	/* the room rule was broken */
		log_warn("no room for %d batched packets", t->zbatch_n);
		drop_batch(t);
		return;
	}
	out = compressor_run_batch(t->comp, t->zbatch, t->zbatch_len, t->zbatch_off, t->zbatch_n, h,
				   slot + FRAME_HDR_LEN, need - FRAME_HDR_LEN);
	if (out > 0) {
		frame_put_header(slot, FRAME_DATA, FRAME_F_COMPRESSED | (h ? FRAME_F_GSO : 0), (uint32_t)out);
		for (int i = 0; h && i < t->zbatch_n; i++)
			if (t->zbatch[t->zbatch_off[i] + 1] != VNET_GSO_NONE)
				t->st.tx_gso++;
		tx_commit(t, FRAME_HDR_LEN + (size_t)out);
		t->st.tx_compressed += (uint64_t)t->zbatch_n;
		drop_batch(t);
		return;
	}
	log_warn("compression disabled: %s", fail_msg());
	fail_clear();
	for (int i = 0; i < t->zbatch_n; i++) {
		size_t end = i + 1 < t->zbatch_n ? t->zbatch_off[i + 1] : t->zbatch_len;
		size_t len = end - t->zbatch_off[i];

		/* Within the room reserved above: cannot fail. */
		if (!(slot = tx_reserve(t, FRAME_HDR_LEN + len))) {
			t->st.drops++;
			continue;
		}
		commit_raw(t, slot, t->zbatch + t->zbatch_off[i], h, t->zbatch + t->zbatch_off[i] + h, len - h);
	}
	drop_batch(t);
}

static bool peer_takes(const struct tunnel *t, const uint8_t *hdr)
{
	struct vnet_hdr h;

	vnet_hdr_get(hdr, &h);
	return !(vnet_hdr_needs(&h) & ~t->peer_caps);
}

/* Would the batch with one more packet of n bytes still fit? */
static bool batch_fits(struct tunnel *t, size_t n)
{
	size_t cap = t->zbatch_n ? TUNNEL_ZBATCH_MAX : TUNNEL_ZBATCH_CAP;

	return t->zbatch_n < TUNNEL_TUN_BATCH && t->zbatch_len + n <= cap &&
	       tx_free(t) >= batch_need(t, 1, n);
}

/* Unsent bytes in the transmit buffer. */
static size_t tx_unsent(const struct tunnel *t)
{
	return t->tx_len - t->tx_off;
}

/* The link pushes back, lately, at a rate that only a slow channel has
 * (TUNNEL_SLOW_LINK): it is the bottleneck, seen here at once, where the
 * round trip of the pings (pressure.h) takes a few of them to show it. */
static bool channel_slow(const struct tunnel *t)
{
	const struct link_rate *r = &t->rate;

	return r->pushback_bps && r->pushback_bps <= TUNNEL_SLOW_LINK && r->pushback_us &&
	       mono_us() - r->pushback_us < TUNNEL_SLOW_HOLD_US;
}

/* Moves packets from the fair queue into the transmit buffer while it holds
 * less than the budget: the queue forms in the fair queue, where a sparse
 * flow overtakes bulk, not here in first-come order.  Compressed packets
 * still batch up to TUNNEL_ZBATCH_MAX of input within one call. */
static void pump(struct tunnel *t)
{
	/* The channel is the bottleneck when the round trip shows a queue
	 * building on the way, or when it pushes back and is slow (our own
	 * buffer backs up on a fast link too, whenever sshd is short of CPU:
	 * that does not count); and with the CPU out of room, compressing
	 * only slows things down. */
	bool is_auto = t->comp && compressor_mode(t->comp) == COMPRESS_AUTO;
	bool congested = t->cpu_ok && (t->rtt_congested || (is_auto && channel_slow(t)));
	bool maybe = t->comp && compressor_mode(t->comp) != COMPRESS_OFF && (!is_auto || congested);

	/* Toward a peer that takes headers, a compressed frame carries each
	 * packet's (FRAME_F_GSO), plain or not; raw frames only a header
	 * that asks for something. */
	size_t vh = t->vnet, bh = t->vnet && t->peer_caps ? t->vnet : 0;

	if (t->zbatch_n && t->zbatch_hdr != bh)
		flush_batch(t);
	t->zbatch_hdr = bh;
	while (fq_waiting(t) && tx_unsent(t) < t->budget) {
		const uint8_t *pkt, *hdr;
		uint8_t *slot;
		size_t n;

		/* Room for this packet raw, and for the pending batch after
		 * it: raw packets may overtake the batch. */
		if (!tx_reserve(t, packet_room(t) + (t->zbatch_n ? batch_need(t, 0, 0) : 0)))
			break;
		if (!(hdr = fq_dequeue(t->fq, &n)))
			break;
		if (n <= vh)
			continue;	/* fq_enqueue takes none such */
		pkt = hdr + vh;
		n -= vh;
		if (vh && !peer_takes(t, hdr)) {
			t->st.drops++;	/* cut or checksummed when read: cannot happen */
			continue;
		}
		if (maybe && compressor_should(t->comp, pkt, n, congested)) {
			if (!batch_fits(t, bh + n))
				flush_batch(t);
			if (batch_fits(t, bh + n)) {
				t->zbatch_off[t->zbatch_n++] = (uint32_t)t->zbatch_len;
				memcpy(t->zbatch + t->zbatch_len, pkt - bh, bh + n);
				t->zbatch_len += bh + n;
				continue;
			}
		}
		/* Raw packets overtake the batch: a packet too short to
		 * compress, or of a flow that does not compress, goes out
		 * ahead of batched packets taken before it, of its own flow too
		 * (a TCP ACK ahead of data).  The room was reserved above;
		 * flush_batch used only the batch's share. */
		if (!(slot = tx_reserve(t, FRAME_HDR_LEN + vh + n))) {
			t->st.drops++;	/* cannot happen, see above */
			continue;
		}
		commit_raw(t, slot, hdr, vh, pkt, n);
	}
	flush_batch(t);
}

/* A super-packet the peer cannot take, in t->big: its segments join the
 * queue one by one, as the kernel's GSO would have cut them. */
static void cut(struct tunnel *t, const struct vnet_hdr *h, size_t len)
{
	size_t segs = vnet_segments(h, len);

	for (size_t i = 0; i < segs; i++) {
		uint8_t *slot = fq_slot(t->fq);

		memset(slot, 0, t->vnet);
		fq_enqueue(t->fq, t->vnet + vnet_segment(h, t->big + t->vnet, len, i, slot + t->vnet));
	}
	t->st.gso_split++;
}

/* A packet read with its virtio-net header, n bytes at p: in the queue's
 * pending slot, or (in_slot false) in t->big. */
static void took_vnet(struct tunnel *t, uint8_t *p, size_t n, bool in_slot)
{
	struct vnet_hdr h;
	char err[200];
	size_t len = n - t->vnet;
	unsigned need;

	vnet_hdr_get(p, &h);
	/* Our own kernel's header: judged as a peer's would be, so that
	 * nothing goes out that the peer must refuse. */
	if (vnet_check(&h, p + t->vnet, len, t->mtu, err, sizeof(err)) < 0) {
		t->st.drops++;
		log_debug("dropping a packet from the TUN: %s", err);
		return;
	}
	t->st.tx_packets++;
	t->st.tx_bytes += len;
	need = vnet_hdr_needs(&h);
	if ((need & ~t->peer_caps) || !in_slot) {
		/* Only a super-packet can be bigger than a slot. */
		if (need != VNET_CAP_CSUM && need) {
			if (in_slot)
				memcpy(t->big, p, n);	/* the slot takes the first segment */
			cut(t, &h, len);
			return;
		}
		vnet_finish_csum(&h, p + t->vnet, len);
	}
	vnet_hdr_put(p, &h);
	fq_enqueue(t->fq, n);
}

/* One read from the TUN into the queue's pending slot; with a header, what
 * does not fit goes on into t->big (a super-packet left from before the
 * offloads went off).  Returns the bytes read, or -1 (errno). */
static ssize_t read_one(struct tunnel *t, bool *in_slot)
{
	uint8_t *slot = fq_slot(t->fq);
	size_t room = fq_mtu(t->fq), total = t->vnet + VNET_PKT_MAX + 1;
	struct iovec iov[2] = { { slot, room + 1 }, { t->big + room + 1, 0 } };
	ssize_t n;

	if (!t->vnet) {
		*in_slot = true;
		return tun_read(t->tun_fd, slot, room + 1);
	}
	if (total > room + 1)
		iov[1].iov_len = total - room - 1;
	n = tun_readv(t->tun_fd, iov, iov[1].iov_len ? 2 : 1);
	*in_slot = n <= (ssize_t)room;
	if (n > (ssize_t)room)
		memcpy(t->big, slot, room + 1);
	return n;
}

/* The fair queue takes packets of this tunnel's slot size now, behind its
 * TUN header, on the clock of this wakeup.  False when it cannot (said). */
static bool fq_ready(struct tunnel *t, uint64_t now)
{
	if (fq_mtu(t->fq) != slot_len(t) && fq_set_mtu(t->fq, slot_len(t)) < 0) {
		log_warn("%s", fail_msg());
		fail_clear();
		return false;
	}
	fq_set_hdr(t->fq, (unsigned)t->vnet);
	fq_set_now(t->fq, now);
	return true;
}

/* A packet read, n bytes at p: in the queue's pending slot, or (in_slot
 * false, only with a header) in t->big. */
static void take(struct tunnel *t, uint8_t *p, size_t n, bool in_slot)
{
	if (t->vnet) {
		took_vnet(t, p, n, in_slot);
		return;
	}
	t->st.tx_packets++;
	t->st.tx_bytes += (uint64_t)n;
	fq_enqueue(t->fq, n);
}

void tunnel_set_steer(struct tunnel *t, tunnel_steer_fn fn, void *ctx)
{
	t->steer = fn;
	t->steer_ctx = ctx;
}

/* The tunnels this wakeup's packets were steered to: each made ready once
 * and refilled once at the end. */
struct steered {
	struct tunnel *to[TUN_MAX_QUEUES];
	int n;
	uint64_t now;
};

/* The packet read into t (n bytes at p, see take) belongs to o: a copy
 * joins o's queue.  False when o cannot carry it now (not up, or not on a
 * queue of the same kind): t carries it itself. */
static bool steer_to(struct tunnel *t, struct tunnel *o, const uint8_t *p, size_t n, struct steered *sd)
{
	uint8_t *dst;
	int i;

	if (!tunnel_tx_room(o) || o->vnet != t->vnet || !o->fq)
		return false;
	for (i = 0; i < sd->n && sd->to[i] != o; i++)
		;
	if (i == sd->n) {
		if (!fq_ready(o, sd->now))
			return false;
		if (sd->n < TUN_MAX_QUEUES)
			sd->to[sd->n++] = o;
	}
	t->st.steered++;
	if (n <= fq_mtu(o->fq)) {
		dst = fq_slot(o->fq);
		memcpy(dst, p, n);
		take(o, dst, n, true);
	} else if (o->vnet) {
		memcpy(o->big, p, n);	/* a super-packet past o's slots: cut there */
		take(o, o->big, n, false);
	} else {
		t->st.drops++;		/* bigger than o's MTU */
	}
	if (i == TUN_MAX_QUEUES)
		pump(o);	/* not in the list: cannot happen with one tunnel per queue */
	return true;
}

/* The packet just read (n bytes, see take) goes to the tunnel the steer
 * function names, if another that can carry it.  True when it went. */
static bool steered_away(struct tunnel *t, size_t n, bool in_slot, struct steered *sd)
{
	uint8_t *p = in_slot ? fq_slot(t->fq) : t->big;
	struct tunnel *o = t->steer(t->steer_ctx, p + t->vnet, n - t->vnet);

	return o && o != t && steer_to(t, o, p, n, sd);
}

void tunnel_read_tun(struct tunnel *t)
{
	struct steered sd;

	if (!tunnel_tx_room(t))
		return;
	sd.n = 0;
	sd.now = mono_us();
	if (!fq_ready(t, sd.now))
		return;
	for (int i = 0; i < TUNNEL_TUN_BATCH; i++) {
		bool in_slot;
		ssize_t n = read_one(t, &in_slot);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("reading the TUN device: %s", strerror(errno));
			break;
		}
		if ((size_t)n <= t->vnet || (size_t)n > t->vnet + (t->vnet ? VNET_PKT_MAX : t->mtu)) {
			t->st.drops++;
			continue;
		}
		if (t->steer && steered_away(t, (size_t)n, in_slot, &sd))
			continue;
		if (t->vnet) {
			took_vnet(t, in_slot ? fq_slot(t->fq) : t->big, (size_t)n, in_slot);
			continue;
		}
		t->st.tx_packets++;
		t->st.tx_bytes += (uint64_t)n;
		fq_enqueue(t->fq, (size_t)n);
	}
	pump(t);
	for (int i = 0; i < sd.n; i++)
		pump(sd.to[i]);
}

/* The budget follows the rate the link took bytes at over the last 100 ms
 * or more.  A period in which the link never pushed back only shows what
 * we offered, so it can raise the rate but not lower it. */
static void rate_update(struct tunnel *t, uint64_t now)
{
	struct link_rate *r = &t->rate;
	uint64_t el = now - r->since_us, bps;

	if (!r->since_us || now < r->since_us) {
		r->since_us = now;
		r->bytes = 0;
		return;
	}
	if (el < 100000)
		return;
	bps = r->bytes * 1000000u / el;
	if (r->blocked || bps > r->bytes_per_s)
		r->bytes_per_s = bps;
	if (r->blocked)
		r->pushback_bps = bps;
	r->since_us = now;
	r->bytes = 0;
	r->blocked = false;
	if (r->bytes_per_s && !t->budget_fixed) {
		uint64_t b = r->bytes_per_s * TUNNEL_BUDGET_MS / 1000;

		t->budget = b < TUNNEL_BUDGET_MIN ? TUNNEL_BUDGET_MIN :
			    b > TUNNEL_BUDGET_MAX ? TUNNEL_BUDGET_MAX : (size_t)b;
	}
}

/* The link said no.  The first time in a while, its rate so far in this
 * period stands for the period's (once it is TUNNEL_RATE_FIRST_US old):
 * auto need not wait for the period's end to see a slow channel; the end
 * corrects it. */
static void pushed_back(struct link_rate *r, uint64_t now)
{
	bool fresh = !r->pushback_us || now - r->pushback_us >= TUNNEL_SLOW_HOLD_US;

	if (fresh && r->since_us && now - r->since_us >= TUNNEL_RATE_FIRST_US)
		r->pushback_bps = r->bytes * 1000000u / (now - r->since_us);
	r->blocked = true;
	r->pushback_us = now;
}

int tunnel_flush(struct tunnel *t)
{
	uint64_t now = mono_us();

	tx_check(t);
	rate_update(t, now);
	if (fq_waiting(t))
		fq_set_now(t->fq, now);
	for (bool first = true;; first = false) {
		size_t left;
		ssize_t n;

		/* Refill at the start and whenever all went: one pump per
		 * budget's worth written, not one per write. */
		if ((first || t->tx_off == t->tx_len) && tx_unsent(t) < t->budget)
			pump(t);
		if (t->tx_off == t->tx_len)
			break;
		/* One write at most the budget: what the link keeps of it
		 * when the socket is full (libssh2 a whole SSH packet) waits
		 * in first-come order, below the fair queue. */
		left = tx_unsent(t);
		if (left > t->budget)
			left = t->budget;
		/* pump() stops past the budget, not at it: a tail shorter than
		 * a packet goes with the rest, not in a write of its own. */
		if (tx_unsent(t) - left < packet_room(t))
			left = tx_unsent(t);
		/* After EAGAIN the link may already hold the first try's
		 * bytes (link_ops): offer at least those again, whatever the
		 * budget says now. */
		if (t->write_blocked && left < t->blocked_len)
			left = t->blocked_len;
		t->maybe_buffered = true;
		n = t->link->write(t->link_ctx, t->tx + t->tx_off, left);

		if (n == -EAGAIN) {
			t->write_blocked = true;
			t->blocked_len = left;
			pushed_back(&t->rate, now);
			return 0;
		}
		/* Nothing of ours is half sent (link_ops): reads go on, and
		 * bring the window that lets the next write through.  libssh2
		 * answers 0 when the window is shut: the same. */
		if (n == -ENOBUFS || n == 0) {
			t->write_blocked = false;
			pushed_back(&t->rate, now);
			return 0;
		}
		if (n < 0)
			return -1;
		if ((size_t)n > left)
			return fail(EXIT_ERROR, "the link wrote %zd bytes of %zu (internal error)", n, left);
		t->write_blocked = false;
		t->tx_off += (size_t)n;
		t->st.tx_wire_bytes += (uint64_t)n;
		t->rate.bytes += (uint64_t)n;
		if (t->link->serialize && t->want_read)
			return 0;
	}
	t->write_blocked = false;
	t->tx_off = t->tx_len = 0;
	return 0;
}

/* Length of the IP packet at p (from its own header), or 0 if it is not
 * a whole IPv4/IPv6 packet within avail. */
static size_t ip_len(const uint8_t *p, size_t avail)
{
	size_t len;

	if (avail < 20)
		return 0;
	if (p[0] >> 4 == 4)
		len = (size_t)p[2] << 8 | p[3];
	else if (p[0] >> 4 == 6 && avail >= 40)
		len = 40 + ((size_t)p[4] << 8 | p[5]);
	else
		return 0;
	return len >= 20 && len <= avail ? len : 0;
}

/* The helper's anti-spoofing check: a client speaks only from its own
 * lease, and not at all in a family it has no address in. */
static bool src_ok(const struct tunnel *t, const uint8_t *p, uint8_t version)
{
	if (!t->check_src)
		return true;
	if (version == 4)
		return t->has_src4 && !memcmp(p + 12, &t->src4, 4);
	return t->has_src6 && !memcmp(p + 8, &t->src6, 16);
}

/* A packet from the peer whose virtio-net header we refuse: counted, and
 * said (the first 32, then at each power of two: a flood must not flood
 * the log too). */
static void vnet_bad(struct tunnel *t, const char *why)
{
	uint64_t n = ++t->st.vnet_bad;

	t->st.drops++;
	if (n <= 32 || !(n & (n - 1)))
		log_warn("dropping a packet from the peer with a bad virtio-net header: %s (%llu so far)",
			 why, (unsigned long long)n);
}

/* One IP packet to the TUN, after a sanity check; hdr: its virtio-net
 * header from the peer (FRAME_F_GSO), or NULL. */
static void to_tun(struct tunnel *t, const uint8_t *hdr, const uint8_t *p, size_t len)
{
	struct vnet_hdr h = { 0 };
	uint8_t version, kh[VNET_HDR_LEN];
	char err[200];
	ssize_t rc;

	if (hdr) {
		vnet_hdr_get(hdr, &h);
		if (vnet_check(&h, p, len, t->mtu, err, sizeof(err)) < 0) {
			vnet_bad(t, err);
			return;
		}
		if (vnet_hdr_needs(&h) & ~t->caps) {
			snprintf(err, sizeof(err), "gso_type 0x%02x flags 0x%02x, which this side did not offer",
				 h.gso_type, h.flags);
			vnet_bad(t, err);
			return;
		}
	}
	if (len < 20 || len > (h.gso_type ? VNET_PKT_MAX : t->mtu)) {
		t->st.drops++;
		log_debug("dropping a %zu-byte packet (MTU %u)", len, t->mtu);
		return;
	}
	version = p[0] >> 4;
	if (version != 4 && version != 6) {
		t->st.drops++;
		log_debug("dropping a packet of IP version %u", version);
		return;
	}
	/* The frame and the IP header must agree on the length: the kernel
	 * would cut or refuse the packet, and a check that reads the header
	 * (ours, or a firewall's) must see what is delivered. */
	if (ip_len(p, len) != len) {
		t->st.drops++;
		log_debug("dropping a %zu-byte frame whose IPv%u header says otherwise", len, version);
		return;
	}
	/* A client may only speak from its own lease: a spoofed source would
	 * reach other clients or the LAN past their address-based rules. */
	if (!src_ok(t, p, version)) {
		t->st.drops++;
		log_debug("dropping a packet whose source is not the client's address");
		return;
	}
	/* The client's check (ip_len() above vouched for a whole header). */
	if (t->handler && t->handler->from_peer_ok &&
	    !t->handler->from_peer_ok(t->handler_ctx, version == 4 ? AF_INET : AF_INET6, p + (version == 4 ? 12 : 8))) {
		t->st.drops++;
		log_debug("dropping a packet whose source is not routed through the tunnel");
		return;
	}
	if (t->vnet) {
		struct iovec iov[2] = { { kh, sizeof(kh) }, { (void *)p, len } };

		vnet_hdr_put(kh, &h);
		rc = tun_writev(t->tun_fd, iov, 2);
	} else {
		rc = tun_write(t->tun_fd, p, len);
	}
	if (rc < 0) {
		t->st.drops++;
		if (errno != EAGAIN && errno != ENOBUFS && errno != EIO)
			log_debug("writing to the TUN device: %s", strerror(errno));
		return;
	}
	t->st.rx_packets++;
	t->st.rx_bytes += len;
	if (h.gso_type)
		t->st.rx_gso++;
}

/* A DATA frame while up.  A compressed frame inflates to whole packets
 * back to back; anything else in it means the streams are out of step,
 * which ends the session. */
static int deliver(struct tunnel *t, const struct frame *f)
{
	/* Headers only where we offered to take them (our hello's gso=). */
	size_t h = f->flags & FRAME_F_GSO ? VNET_HDR_LEN : 0;
	long n;

	if (h && !t->caps) {
		if (f->flags & FRAME_F_COMPRESSED)
			return fail(EXIT_ERROR, "the peer sent compressed GSO frames without negotiating gso");
		vnet_bad(t, "a GSO frame, but this side offered none");
		return 0;
	}
	if (!(f->flags & FRAME_F_COMPRESSED)) {
		if (f->len < h)
			vnet_bad(t, "a GSO frame shorter than its header");
		else
			to_tun(t, h ? f->payload : NULL, f->payload + h, f->len - h);
		return 0;
	}
	if (!t->decomp)
		return fail(EXIT_ERROR, "the peer sent a compressed frame without negotiating compression");
	n = decompressor_run(t->decomp, f->payload, f->len, t->scratch, TUNNEL_INFLATE_MAX);
	if (n < 0)
		return -1;
	for (size_t off = 0; off < (size_t)n;) {
		size_t len = (size_t)n - off >= h ? ip_len(t->scratch + off + h, (size_t)n - off - h) : 0;

		if (!len)
			return fail(EXIT_ERROR, "a compressed frame from the peer holds a malformed packet at byte %zu",
				    off);
		to_tun(t, h ? t->scratch + off : NULL, t->scratch + off + h, len);
		off += h + len;
	}
	return 0;
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
			rc = deliver(t, &f);
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
		size_t room = TUNNEL_RX_CAP - t->rx_len;
		ssize_t n;

		if (t->link->serialize && t->write_blocked)
			return 0;
		if (!room)
			return fail(EXIT_ERROR, "receive buffer full without a complete frame (peer bug)");
		n = t->link->read(t->link_ctx, t->rx + t->rx_len, room);
		if (n == -EAGAIN) {
			t->maybe_buffered = false;	/* all it had is ours now */
			t->want_read = false;
			return 0;
		}
		if (n < 0)
			return -1;
		if (n == 0)
			return 1;
		t->rx_len += (size_t)n;
		t->st.rx_wire_bytes += (uint64_t)n;
		if (parse(t) < 0)
			return -1;
		/* Answers (PONG) queued by parse go out with the next flush. */
		if (t->link->drains && (size_t)n < room) {
			t->maybe_buffered = false;	/* as after EAGAIN */
			t->want_read = false;
			return 0;
		}
	}
}
