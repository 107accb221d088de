/* The packet pump itself (tunnel.c), with a fake link and a fake TUN: a
 * SOCK_DGRAM socketpair is a packet fd for tun_read/tun_write.  The link
 * answers each write from a script (all, part, EAGAIN with the message
 * half taken as libssh2 does, ENOBUFS) and records what went out; the
 * checks decode that stream back into packets. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <zlib.h>

#include <cmocka.h>
/* cmocka's fail() and fail_msg() macros collide with fail.h. */
#undef fail
#undef fail_msg

#include "buf.h"
#include "common.h"
#include "compress.h"
#include "fail.h"
#include "frame.h"
#include "tunnel.h"

/* A big-endian 16-bit field of a test packet's IP header. */
static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- deflate that fails on demand (compress.c calls zlib's) ---- */

static bool deflate_fails;

int deflate(z_streamp strm, int flush)
{
	static int (*real)(z_streamp, int);

	if (deflate_fails)
		return Z_STREAM_ERROR;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "deflate");
	return real(strm, flush);
}

/* ---- the fake link ---- */

enum act { ALL, PART, HOLD, AGAIN, NOBUFS };

struct fake_link {
	struct { enum act act; size_t n; } script[16];
	int nscript, pos;
	enum act dflt;
	size_t dflt_n;
	unsigned rnd;		/* dflt RANDOM: answers from this PRNG */
	bool random;
	/* A message half taken (HOLD): its bytes, which the next call must
	 * pass again, from wherever they are now. */
	uint8_t held[4096];
	size_t held_len;
	uint8_t *out;		/* what went out */
	size_t out_len, out_cap;
	int writes;		/* calls that took bytes */
	const uint8_t *in;	/* what reads return, in_chunk at a time */
	size_t in_len, in_off;
	int reads;		/* read calls, EAGAIN ones too */
};

static unsigned next_rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void emit(struct fake_link *l, const uint8_t *p, size_t n)
{
	if (l->out_len + n > l->out_cap) {
		l->out_cap = (l->out_len + n) * 2;
		l->out = realloc(l->out, l->out_cap);
		assert_non_null(l->out);
	}
	memcpy(l->out + l->out_len, p, n);
	l->out_len += n;
}

static ssize_t fake_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct fake_link *l = ctx;
	enum act act = l->dflt;
	size_t n = l->dflt_n;

	assert_true(len > 0);
	if (l->held_len) {
		/* The same bytes again, however the buffer moved meanwhile. */
		assert_true(len >= l->held_len);
		assert_memory_equal(buf, l->held, l->held_len);
		emit(l, l->held, l->held_len);
		n = l->held_len;
		l->held_len = 0;
		return (ssize_t)n;
	}
	if (l->pos < l->nscript) {
		act = l->script[l->pos].act;
		n = l->script[l->pos++].n;
	} else if (l->random) {
		static const enum act acts[] = { ALL, PART, PART, HOLD, AGAIN, NOBUFS };

		act = acts[next_rnd(&l->rnd) % ARRAY_SIZE(acts)];
		n = 1 + next_rnd(&l->rnd) % 3000;
	}
	switch (act) {
	case ALL:
		n = len;
		break;
	case PART:
		n = n < len ? n : len;
		break;
	case HOLD:
		l->held_len = n < len ? n : len;
		if (l->held_len > sizeof(l->held))
			l->held_len = sizeof(l->held);
		memcpy(l->held, buf, l->held_len);
		return -EAGAIN;
	case AGAIN:
		return -EAGAIN;
	case NOBUFS:
		return -ENOBUFS;
	}
	emit(l, buf, n);
	l->writes++;
	return (ssize_t)n;
}

static ssize_t fake_read(void *ctx, uint8_t *buf, size_t len)
{
	struct fake_link *l = ctx;
	size_t n = l->in_len - l->in_off;

	l->reads++;
	if (!n)
		return -EAGAIN;
	if (n > len)
		n = len;
	memcpy(buf, l->in + l->in_off, n);
	l->in_off += n;
	return (ssize_t)n;
}

static const struct link_ops fake_ops = { .read = fake_read, .write = fake_write };

static int on_magic(void *ctx, unsigned proto, const char *software)
{
	return 0;
}

static int on_frame(void *ctx, const struct frame *f)
{
	return 0;
}

static const struct tunnel_handler handler = { .on_magic = on_magic, .on_frame = on_frame };

/* ---- the fixture ---- */

struct fx {
	struct tunnel t;
	struct fake_link l;
	int tun_peer;		/* the test's end of the fake TUN */
	uint16_t next_id;	/* ids of the packets injected so far */
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	int sv[2];

	assert_non_null(x);
	fail_clear();
	deflate_fails = false;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(tunnel_init(&x->t, &fake_ops, &x->l, &handler, x), 0);
	assert_int_equal(tunnel_reset(&x->t, true), 0);
	x->t.up = true;
	x->t.want_magic = false;
	x->t.tun_fd = sv[0];
	x->tun_peer = sv[1];
	x->l.dflt = ALL;
	/* The whole buffer may fill: these tests are about its bounds, not
	 * about how much of it the link's rate lets us use. */
	x->t.budget = TUNNEL_TX_CAP;
	x->t.budget_fixed = true;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	close(x->t.tun_fd);
	close(x->tun_peer);
	tunnel_free(&x->t);
	free(x->l.out);
	free(x);
	return 0;
}

/* An IPv4 packet of len bytes from 198.18.0.<src>; its IP id numbers it.
 * fill < 0: an incompressible payload. */
static void make_v4(uint8_t *p, size_t len, uint16_t id, uint8_t src, int fill)
{
	static unsigned r = 1;

	for (size_t i = 0; i < len; i++)
		p[i] = fill < 0 ? (uint8_t)next_rnd(&r) : (uint8_t)fill;
	/* Ports 0 and 0 (where the packet has room for them): one flow per
	 * source in the fair queue, which keeps the order within a flow. */
	memset(p, 0, fill < 0 || len < 24 ? 20 : 24);
	p[0] = 0x45;
	be16(p + 2, (uint16_t)len);
	be16(p + 4, id);
	p[8] = 64;
	p[9] = 17;
	p[12] = 198, p[13] = 18, p[14] = 0, p[15] = src;
	p[16] = 198, p[17] = 18, p[18] = 0, p[19] = 1;
}

static void inject(struct fx *x, size_t len, uint8_t src, int fill)
{
	uint8_t p[MTU_MAX];

	make_v4(p, len, x->next_id++, src, fill);
	assert_int_equal(send(x->tun_peer, p, len, 0), (ssize_t)len);
}

/* Reads and flushes until the fake TUN is empty and everything is sent
 * (the link's answers permitting), checking the bound all along. */
static void pump(struct fx *x, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		tunnel_read_tun(&x->t);
		assert_true(x->t.tx_len <= TUNNEL_TX_CAP);
		assert_int_equal(tunnel_flush(&x->t), 0);
	}
}

/* Fills the transmit buffer with len-byte packets while the link blocks
 * (the fixture lets the budget reach the whole buffer), until it takes no
 * more: the last packets wait in the fair queue. */
static void fill(struct fx *x, size_t len, int fill_byte)
{
	size_t before;

	x->l.dflt = AGAIN;
	do {
		before = x->t.tx_len;
		for (int i = 0; i < 8; i++)
			inject(x, len, 2, fill_byte);
		pump(x, 1);
	} while (x->t.tx_len != before);
}

/* Decodes what the link sent into the packets' ids, in order. */
static size_t sent_ids(struct fx *x, uint16_t *ids, size_t cap, size_t *compressed_frames)
{
	struct decompressor *d = decompressor_new();
	static uint8_t buf[MTU_MAX + 1];
	size_t off = 0, n = 0;

	assert_non_null(d);
	if (compressed_frames)
		*compressed_frames = 0;
	while (off < x->l.out_len) {
		struct frame f;
		long used = frame_decode(x->l.out + off, x->l.out_len - off, FRAME_MAX_PAYLOAD, &f);

		assert_true(used > 0);
		assert_int_equal(f.type, FRAME_DATA);
		if (f.flags & FRAME_F_COMPRESSED) {
			long got = decompressor_run(d, f.payload, f.len, buf, MTU_MAX);
			size_t at = 0;

			assert_true(got > 0);
			if (compressed_frames)
				++*compressed_frames;
			while (at < (size_t)got) {
				size_t plen = get_u16(buf + at + 2);

				assert_true(plen >= 20 && at + plen <= (size_t)got);
				assert_true(n < cap);
				ids[n++] = get_u16(buf + at + 4);
				at += plen;
			}
		} else {
			assert_int_equal(get_u16(f.payload + 2), f.len);
			assert_true(n < cap);
			ids[n++] = get_u16(f.payload + 4);
		}
		off += (size_t)used;
	}
	decompressor_free(d);
	return n;
}

/* Everything injected went out, once, in order. */
static void assert_all_sent_in_order(struct fx *x)
{
	static uint16_t ids[8192];
	size_t n;

	x->l.dflt = ALL;
	x->l.random = false;
	x->l.nscript = x->l.pos = 0;
	for (int i = 0; i < 1000 && (tunnel_tx_pending(&x->t) || x->t.zbatch_n); i++)
		pump(x, 1);
	pump(x, 2);		/* what is still waiting in the fake TUN */
	for (int i = 0; i < 1000 && x->t.tx_len; i++)
		pump(x, 1);
	assert_int_equal(x->t.tx_len, 0);
	n = sent_ids(x, ids, ARRAY_SIZE(ids), NULL);
	assert_int_equal(x->t.st.drops, 0);
	assert_int_equal(n, x->next_id);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ids[i], (uint16_t)i);
}

/* ---- finding 1: the transmit buffer's room ---- */

/* sshd's window runs out after part of the buffer went (ossh_write then
 * answers -ENOBUFS): the bytes before tx_off are not free yet, and reading
 * the TUN must not write past the buffer (it did: a heap overflow). */
static void test_enobufs_after_partial_write(void **state)
{
	struct fx *x = *state;

	fill(x, 1400, 'a');
	assert_true(TUNNEL_TX_CAP - x->t.tx_len < FRAME_HDR_LEN + x->t.mtu + 1);
	x->l.script[0].act = PART;
	x->l.script[0].n = 3000;
	x->l.nscript = 1;
	x->l.pos = 0;
	x->l.dflt = NOBUFS;
	assert_int_equal(tunnel_flush(&x->t), 0);
	assert_int_equal(x->t.tx_off, 3000);
	assert_false(x->t.write_blocked);
	for (int i = 0; i < 8; i++)
		inject(x, 1400, 2, 'a');
	/* The window stays shut; pings keep coming. */
	pump(x, 4);
	assert_true(x->t.tx_off <= x->t.tx_len && x->t.tx_len <= TUNNEL_TX_CAP);
	assert_all_sent_in_order(x);
}

/* The link took more than half and holds a message half sent: room comes
 * from moving the unsent rest to the front, and the link sees the same
 * bytes again when it resumes. */
static void test_compact_while_blocked(void **state)
{
	struct fx *x = *state;
	size_t sent = TUNNEL_TX_CAP / 2 + 5000;

	fill(x, 1400, 'b');
	x->l.script[0].act = PART;
	x->l.script[0].n = sent;
	x->l.script[1].act = HOLD;
	x->l.script[1].n = 2000;
	x->l.nscript = 2;
	x->l.pos = 0;
	x->l.dflt = AGAIN;
	assert_int_equal(tunnel_flush(&x->t), 0);
	assert_true(x->t.write_blocked);
	assert_int_equal(x->t.tx_off, sent);
	assert_true(tunnel_tx_room(&x->t));
	for (int i = 0; i < 8; i++)
		inject(x, 1400, 2, 'b');
	tunnel_read_tun(&x->t);
	assert_int_equal(x->t.tx_off, 0);	/* compacted */
	assert_true(x->t.tx_len <= TUNNEL_TX_CAP);
	assert_all_sent_in_order(x);
}

/* The link takes a few bytes at a time, blocks, holds messages, runs out
 * of window, in any order; packets of every size. */
static void test_partial_writes(void **state)
{
	struct fx *x = *state;
	unsigned r = 7;

	x->l.random = true;
	x->l.rnd = 42;
	for (int round = 0; round < 300; round++) {
		for (int i = 0; i < 8; i++)
			inject(x, 24 + next_rnd(&r) % 1377, 2, 'c');	/* whole UDP headers: one flow */
		pump(x, 1);
	}
	assert_all_sent_in_order(x);
}

/* The budget caps a write, and pump() stops only once it is passed: the
 * few bytes past it go in the same write, not in one of their own (the
 * helper's pipe to sshd saw 16686 + 186, 16686 + 186, ...). */
static void test_whole_batches(void **state)
{
	struct fx *x = *state;

	x->t.budget = 16384;
	for (int i = 0; i < 24; i++)
		inject(x, 1400, 2, 'w');
	pump(x, 1);
	/* 12 frames of 1412 bytes pass 16384: two writes of 16944. */
	assert_int_equal(x->l.out_len, 24 * (FRAME_HDR_LEN + 1400));
	assert_int_equal(x->l.writes, 2);
	assert_all_sent_in_order(x);
}

/* ---- compression batches ---- */

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Near a full buffer, packets join the batch only with room for its worst
 * case (incompressible: bigger than it came), and raw ones leave it. */
static void test_batch_room(void **state)
{
	struct fx *x = *state;
	static uint16_t ids[8192];
	size_t n, frames;

	assert_int_equal(tunnel_compress_to_peer(&x->t, 6), 0);
	x->l.dflt = AGAIN;
	for (int round = 0; round < 60; round++) {
		for (int i = 0; i < 8; i++)
			inject(x, 64 + (size_t)(round * 8 + i) * 97 % 1337, (uint8_t)(2 + i % 2), -1);
		pump(x, 1);
		assert_true(x->t.tx_len <= TUNNEL_TX_CAP);
	}
	/* Full up to less than a packet's worth. */
	assert_true(TUNNEL_TX_CAP - x->t.tx_len < FRAME_HDR_LEN + x->t.mtu + 1);
	x->l.dflt = ALL;
	pump(x, 20);
	assert_int_equal(x->t.tx_len, 0);
	n = sent_ids(x, ids, ARRAY_SIZE(ids), &frames);
	assert_true(frames > 0 && x->t.st.tx_compressed > 0);
	assert_int_equal(x->t.st.drops, 0);
	assert_int_equal(n, x->next_id);
	/* Each packet once (random ports: each its own flow in the fair
	 * queue, so no order is promised). */
	qsort(ids, n, sizeof(ids[0]), cmp_u16);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ids[i], (uint16_t)i);
}

/* A packet too short to compress goes out raw, ahead of the batch it was
 * read between. */
static void test_raw_overtakes_batch(void **state)
{
	struct fx *x = *state;
	uint16_t ids[8];
	size_t frames;

	assert_int_equal(tunnel_compress_to_peer(&x->t, 6), 0);
	inject(x, 1000, 2, 'z');	/* id 0: batch */
	inject(x, 40, 2, 0);		/* id 1: raw */
	inject(x, 1000, 2, 'z');	/* id 2: batch */
	pump(x, 1);
	assert_int_equal(sent_ids(x, ids, ARRAY_SIZE(ids), &frames), 3);
	assert_int_equal(frames, 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 0);
	assert_int_equal(ids[2], 2);
	assert_int_equal(x->t.st.tx_compressed, 2);
	assert_int_equal(x->t.st.tx_uncompressed, 1);
}

/* deflate fails: the batch goes out raw, in order, and so does all that
 * follows (the peer's stream never saw the broken output). */
static void test_deflate_fails(void **state)
{
	struct fx *x = *state;
	uint16_t ids[8];
	size_t frames;

	assert_int_equal(tunnel_compress_to_peer(&x->t, 6), 0);
	deflate_fails = true;
	inject(x, 1000, 2, 'z');
	inject(x, 1000, 2, 'z');
	pump(x, 1);
	deflate_fails = false;
	inject(x, 1000, 2, 'z');
	pump(x, 1);
	assert_int_equal(sent_ids(x, ids, ARRAY_SIZE(ids), &frames), 3);
	assert_int_equal(frames, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ids[i], i);
	assert_int_equal(x->t.st.tx_compressed, 0);
	assert_int_equal(x->t.st.tx_uncompressed, 3);
	assert_int_equal(x->t.st.drops, 0);
}

/* --compress auto, the pings not (yet) showing a queue: a channel that
 * pushes back at a slow rate is the bottleneck, and compressible packets
 * are compressed from then on; a fast one, or one that stopped pushing
 * back a while ago, is not. */
static void test_auto_slow_channel(void **state)
{
	struct fx *x = *state;
	const struct timespec period = { 0, 110 * 1000 * 1000 };	/* > the 100 ms rate period */
	struct timespec now;
	uint64_t now_us;
	uint16_t ids[16];
	size_t frames;

	assert_int_equal(tunnel_compress_to_peer(&x->t, COMPRESS_AUTO), 0);
	x->t.cpu_ok = true;
	x->t.rtt_congested = false;
	for (int i = 0; i < 4; i++)
		inject(x, 1000, 2, 'a');
	x->l.script[0].act = PART;	/* 2000 bytes go, then it pushes back */
	x->l.script[0].n = 2000;
	x->l.nscript = 1;
	x->l.dflt = AGAIN;
	pump(x, 1);
	assert_int_equal(x->t.st.tx_compressed, 0);	/* nothing known yet: raw */
	nanosleep(&period, NULL);
	pump(x, 1);			/* the period ends: ~18 KB/s while pushing back */
	assert_true(x->t.rate.pushback_bps > 0 && x->t.rate.pushback_bps <= TUNNEL_SLOW_LINK);
	x->l.dflt = ALL;
	pump(x, 1);
	for (int i = 0; i < 4; i++)
		inject(x, 1000, 2, 'b');
	pump(x, 1);
	assert_int_equal(x->t.st.tx_compressed, 4);
	assert_int_equal(sent_ids(x, ids, ARRAY_SIZE(ids), &frames), 8);
	assert_int_equal(frames, 1);
	for (int i = 0; i < 8; i++)
		assert_int_equal(ids[i], i);

	/* Fast, or quiet for a second: raw again. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	now_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
	x->t.rate.pushback_bps = TUNNEL_SLOW_LINK + 1;
	x->t.rate.pushback_us = now_us;
	inject(x, 1000, 2, 'c');
	pump(x, 1);
	x->t.rate.pushback_bps = TUNNEL_SLOW_LINK;
	x->t.rate.pushback_us = now_us - TUNNEL_SLOW_HOLD_US - 1000;
	inject(x, 1000, 2, 'c');
	pump(x, 1);
	assert_int_equal(x->t.st.tx_compressed, 4);
	/* The CPU out of room: raw too. */
	x->t.rate.pushback_us = now_us;
	x->t.cpu_ok = false;
	inject(x, 1000, 2, 'c');
	pump(x, 1);
	assert_int_equal(x->t.st.tx_compressed, 4);
	x->t.cpu_ok = true;
	inject(x, 1000, 2, 'c');
	pump(x, 1);
	assert_int_equal(x->t.st.tx_compressed, 5);
}

/* The first push-back in a while, 20 ms or more into a rate period, tells
 * auto at once: no waiting for the period to end. */
static void test_auto_slow_at_once(void **state)
{
	struct fx *x = *state;
	const struct timespec wait = { 0, 30 * 1000 * 1000 };	/* > TUNNEL_RATE_FIRST_US */

	assert_int_equal(tunnel_compress_to_peer(&x->t, COMPRESS_AUTO), 0);
	x->t.cpu_ok = true;
	x->t.rtt_congested = false;
	pump(x, 1);			/* the rate period begins */
	nanosleep(&wait, NULL);
	for (int i = 0; i < 4; i++)
		inject(x, 1000, 2, 'a');
	x->l.script[0].act = PART;
	x->l.script[0].n = 2000;
	x->l.nscript = 1;
	x->l.dflt = AGAIN;
	pump(x, 1);
	assert_int_equal(x->t.st.tx_compressed, 0);
	assert_true(x->t.rate.pushback_bps > 0 && x->t.rate.pushback_bps <= TUNNEL_SLOW_LINK);
	x->l.dflt = ALL;
	for (int i = 0; i < 4; i++)
		inject(x, 1000, 2, 'b');
	pump(x, 1);
	assert_int_equal(x->t.st.tx_compressed, 4);
}

/* ---- the receive side (finding 8) ---- */

static uint8_t in_buf[16384];

static void feed_frame(struct fx *x, uint8_t type, uint8_t flags, const void *p, size_t len)
{
	assert_true(x->l.in_len + FRAME_HDR_LEN + len <= sizeof(in_buf));
	frame_put_header(in_buf + x->l.in_len, type, flags, (uint32_t)len);
	memcpy(in_buf + x->l.in_len + FRAME_HDR_LEN, p, len);
	x->l.in = in_buf;
	x->l.in_len += FRAME_HDR_LEN + len;
}

/* Packets that reached the fake TUN: their first byte each, for counting. */
static int tun_received(struct fx *x)
{
	uint8_t p[MTU_MAX];
	int n = 0;

	while (recv(x->tun_peer, p, sizeof(p), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

/* An IPv6 packet of len bytes from src. */
static void make_v6(uint8_t *p, size_t len, const char *src)
{
	memset(p, 0, len);
	p[0] = 0x60;
	be16(p + 4, (uint16_t)(len - 40));
	p[6] = 17;
	p[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, p + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", p + 24), 1);
}

/* The helper's source check: a client whose lease has no IPv6 address
 * sends from :: (what the check compared with) and is dropped, as is an
 * IPv4 source other than its own. */
static void test_src_family_without_lease(void **state)
{
	struct fx *x = *state;
	uint8_t p[100];

	x->t.check_src = true;
	x->t.has_src4 = true;
	x->t.src4.s_addr = htonl(0xc6120002);	/* 198.18.0.2 */
	make_v6(p, 60, "::");
	feed_frame(x, FRAME_DATA, 0, p, 60);
	make_v4(p, 60, 1, 3, 0);		/* 198.18.0.3 */
	feed_frame(x, FRAME_DATA, 0, p, 60);
	make_v4(p, 60, 2, 2, 0);		/* its own */
	feed_frame(x, FRAME_DATA, 0, p, 60);
	assert_int_equal(tunnel_input(&x->t), 0);
	assert_int_equal(tun_received(x), 1);
	assert_int_equal(x->t.st.drops, 2);
	assert_int_equal(x->t.st.rx_packets, 1);
}

/* A link that drains (chanlink.c: libssh2 reads the socket until EAGAIN
 * before it hands data over) is not asked again after a read shorter than
 * the room: that read would only fail, a recv per wakeup.  A link that does
 * not say so is read until EAGAIN, as before. */
static void test_short_read_drains(void **state)
{
	static const struct link_ops drain_ops = { .read = fake_read, .write = fake_write, .drains = true };
	struct fx *x = *state;
	uint8_t p[100];

	make_v4(p, 60, 1, 2, 0);
	feed_frame(x, FRAME_DATA, 0, p, 60);
	assert_int_equal(tunnel_input(&x->t), 0);
	assert_int_equal(x->l.reads, 2);	/* the frame, then EAGAIN */
	assert_int_equal(tun_received(x), 1);

	x->t.link = &drain_ops;
	feed_frame(x, FRAME_DATA, 0, p, 60);
	x->t.want_read = true;
	x->t.maybe_buffered = true;
	assert_int_equal(tunnel_input(&x->t), 0);
	assert_int_equal(x->l.reads, 3);	/* the frame only */
	assert_false(x->t.want_read);		/* as after EAGAIN */
	assert_false(x->t.maybe_buffered);
	assert_int_equal(tun_received(x), 1);
	/* Nothing there: EAGAIN, once. */
	assert_int_equal(tunnel_input(&x->t), 0);
	assert_int_equal(x->l.reads, 4);
}

/* A DATA frame whose IP header gives another length is dropped and
 * counted: shorter, longer, IPv4 and IPv6. */
static void test_data_length_mismatch(void **state)
{
	struct fx *x = *state;
	uint8_t p[200];

	make_v4(p, 120, 1, 2, 0);
	be16(p + 2, 100);
	feed_frame(x, FRAME_DATA, 0, p, 120);
	make_v4(p, 120, 2, 2, 0);
	be16(p + 2, 140);
	feed_frame(x, FRAME_DATA, 0, p, 120);
	make_v6(p, 120, "2001:db8::2");
	be16(p + 4, 60);
	feed_frame(x, FRAME_DATA, 0, p, 120);
	make_v4(p, 120, 3, 2, 0);		/* a good one */
	feed_frame(x, FRAME_DATA, 0, p, 120);
	make_v6(p, 120, "2001:db8::2");
	feed_frame(x, FRAME_DATA, 0, p, 120);
	assert_int_equal(tunnel_input(&x->t), 0);
	assert_int_equal(tun_received(x), 2);
	assert_int_equal(x->t.st.drops, 3);
}

/* ---- the TUN's virtio-net header (vnet.h) ---- */

/* An IPv4 TCP packet from 198.18.0.2 of plen payload bytes (i & 0xff),
 * sequence 1000, PSH and FIN set, its checksum left as the kernel leaves
 * it with NEEDS_CSUM (the pseudo-header's sum); behind a virtio-net header
 * for gso_size (0: no GSO).  Returns the whole length. */
static size_t make_gso_tcp(uint8_t *p, size_t plen, uint16_t gso_size)
{
	uint8_t *ip = p + VNET_HDR_LEN, *t = ip + 20;
	struct vnet_hdr h = { VNET_F_NEEDS_CSUM, gso_size ? VNET_GSO_TCPV4 : 0, 40, gso_size, 20, 16 };
	size_t len = 40 + plen;
	uint32_t sum;

	memset(ip, 0, 40);
	ip[0] = 0x45;
	be16(ip + 2, (uint16_t)len);
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 198, ip[13] = 18, ip[14] = 0, ip[15] = 2;
	ip[16] = 198, ip[17] = 18, ip[18] = 0, ip[19] = 1;
	be16(t, 40000);
	be16(t + 2, 5001);
	be16(t + 6, 1000);
	t[12] = 5 << 4;
	t[13] = 0x09;
	for (size_t i = 0; i < plen; i++)
		t[20 + i] = (uint8_t)i;
	sum = (uint32_t)get_u16(ip + 12) + get_u16(ip + 14) + get_u16(ip + 16) + get_u16(ip + 18) + 6 +
	      (uint32_t)(len - 20);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	be16(t + 16, (uint16_t)sum);
	vnet_hdr_put(p, &h);
	return VNET_HDR_LEN + len;
}

/* The one's complement sum over p[0..n) with the pseudo-header of the IPv4
 * TCP packet ip: 0xffff when its checksum is right. */
static uint16_t tcp4_sum(const uint8_t *ip, size_t n)
{
	uint32_t s = (uint32_t)get_u16(ip + 12) + get_u16(ip + 14) + get_u16(ip + 16) + get_u16(ip + 18) + 6 +
		     (uint32_t)(n - 20);

	for (size_t i = 20; i + 1 < n; i += 2)
		s += get_u16(ip + i);
	if (n & 1)
		s += (uint32_t)ip[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A peer without gso=: a super-packet from the TUN (left there from
 * before the offloads went off) is cut here into MTU-sized segments with
 * whole checksums, and a NEEDS_CSUM packet is checksummed; plain DATA
 * frames only. */
static void test_vnet_cut_for_plain_peer(void **state)
{
	struct fx *x = *state;
	static uint8_t p[VNET_HDR_LEN + 4000];
	size_t off = 0, n, segs = 0;

	x->t.vnet = VNET_HDR_LEN;
	x->t.mtu = 1400;
	n = make_gso_tcp(p, 3500, 1000);
	assert_int_equal(send(x->tun_peer, p, n, 0), (ssize_t)n);
	n = make_gso_tcp(p, 300, 0);
	assert_int_equal(send(x->tun_peer, p, n, 0), (ssize_t)n);
	pump(x, 2);
	while (off < x->l.out_len) {
		struct frame f;
		long used = frame_decode(x->l.out + off, x->l.out_len - off, FRAME_MAX_PAYLOAD, &f);
		const uint8_t *ip = f.payload;

		assert_true(used > 0);
		assert_int_equal(f.flags, 0);
		assert_true(f.len <= 1400);
		assert_int_equal(get_u16(ip + 2), f.len);
		assert_int_equal(tcp4_sum(ip, f.len), 0xffff);
		if (segs < 4) {		/* 1000, 1000, 1000, 500; FIN and PSH on the last */
			assert_int_equal(f.len, 40 + (segs < 3 ? 1000 : 500));
			assert_int_equal(get_u32(ip + 24), 1000 + 1000 * (uint32_t)segs);
			assert_int_equal(ip[33] & 0x09, segs == 3 ? 0x09 : 0);
		} else {
			assert_int_equal(f.len, 340);
		}
		segs++;
		off += (size_t)used;
	}
	assert_int_equal(segs, 5);
	assert_int_equal(x->t.st.gso_split, 1);
	assert_int_equal(x->t.st.tx_gso, 0);
	assert_int_equal(x->t.st.drops, 0);
}

/* A peer with gso=: the super-packet goes whole behind its header (hdr_len
 * the real one), and a packet with nothing for the kernel to do goes plain. */
static void test_vnet_whole_for_gso_peer(void **state)
{
	struct fx *x = *state;
	static uint8_t p[VNET_HDR_LEN + 4000];
	struct vnet_hdr h;
	struct frame f;
	long used;
	size_t n;

	x->t.vnet = VNET_HDR_LEN;
	x->t.mtu = 1400;
	x->t.caps = x->t.offload = VNET_CAP_CSUM | VNET_CAP_TCP4 | VNET_CAP_TCP6 | VNET_CAP_UDP;
	x->t.peer_caps = x->t.caps;
	n = make_gso_tcp(p, 3500, 1000);
	p[2] = 0xff;	/* hdr_len as the kernel may give it: not used */
	assert_int_equal(send(x->tun_peer, p, n, 0), (ssize_t)n);
	memset(p, 0, VNET_HDR_LEN);
	make_v4(p + VNET_HDR_LEN, 100, 7, 2, 0);
	assert_int_equal(send(x->tun_peer, p, VNET_HDR_LEN + 100, 0), VNET_HDR_LEN + 100);
	pump(x, 2);
	used = frame_decode(x->l.out, x->l.out_len, FRAME_MAX_PAYLOAD, &f);
	assert_true(used > 0);
	assert_int_equal(f.flags, FRAME_F_GSO);
	assert_int_equal(f.len, VNET_HDR_LEN + 3540);
	vnet_hdr_get(f.payload, &h);
	assert_int_equal(h.gso_type, VNET_GSO_TCPV4);
	assert_int_equal(h.gso_size, 1000);
	assert_int_equal(h.hdr_len, 40);
	assert_true(frame_decode(x->l.out + used, x->l.out_len - (size_t)used, FRAME_MAX_PAYLOAD, &f) > 0);
	assert_int_equal(f.flags, 0);
	assert_int_equal(f.len, 100);
	assert_int_equal(x->t.st.tx_gso, 1);
	assert_int_equal(x->t.st.gso_split, 0);
}

/* From the peer: a GSO frame reaches the TUN behind its header, hdr_len
 * rewritten; a plain frame behind ten zero bytes; a bad header is dropped
 * and counted; a GSO frame to a side that offered none too. */
static void test_vnet_receive(void **state)
{
	struct fx *x = *state;
	static uint8_t p[VNET_HDR_LEN + 2000], got[VNET_HDR_LEN + 2000];
	struct vnet_hdr h;
	size_t n;

	x->t.vnet = VNET_HDR_LEN;
	x->t.mtu = 1400;
	n = make_gso_tcp(p, 1800, 1000);
	p[2] = 0x99;			/* hdr_len: rewritten */
	feed_frame(x, FRAME_DATA, FRAME_F_GSO, p, n);	/* offered none yet */
	assert_int_equal(tunnel_input(&x->t), 0);
	assert_int_equal(x->t.st.vnet_bad, 1);
	x->t.caps = VNET_CAP_CSUM | VNET_CAP_TCP4;
	x->l.in_len = x->l.in_off = 0;
	feed_frame(x, FRAME_DATA, FRAME_F_GSO, p, n);
	p[1] = 3;			/* UFO: refused */
	feed_frame(x, FRAME_DATA, FRAME_F_GSO, p, n);
	make_v4(p, 100, 9, 2, 0);
	feed_frame(x, FRAME_DATA, 0, p, 100);
	assert_int_equal(tunnel_input(&x->t), 0);
	assert_int_equal(x->t.st.vnet_bad, 2);
	assert_int_equal(recv(x->tun_peer, got, sizeof(got), MSG_DONTWAIT), (ssize_t)n);
	vnet_hdr_get(got, &h);
	assert_int_equal(h.hdr_len, 40);
	assert_int_equal(h.gso_type, VNET_GSO_TCPV4);
	assert_int_equal(recv(x->tun_peer, got, sizeof(got), MSG_DONTWAIT), VNET_HDR_LEN + 100);
	for (int i = 0; i < VNET_HDR_LEN; i++)
		assert_int_equal(got[i], 0);
	assert_memory_equal(got + VNET_HDR_LEN, p, 100);
	assert_int_equal(x->t.st.rx_gso, 1);
	assert_int_equal(x->t.st.rx_packets, 2);
}

/* A HELLO header over 4096 bytes ends the session when the six header
 * bytes arrive, not after the payload. */
static void test_big_hello_header(void **state)
{
	struct fx *x = *state;
	static const char magic[] = "SSHTUN/1 peer\n";

	x->t.up = false;
	x->t.want_magic = true;
	memcpy(in_buf, magic, sizeof(magic) - 1);
	frame_put_header(in_buf + sizeof(magic) - 1, FRAME_HELLO, 0, HELLO_MAX + 1);
	x->l.in = in_buf;
	x->l.in_len = sizeof(magic) - 1 + FRAME_HDR_LEN;
	assert_int_equal(tunnel_input(&x->t), -1);
	assert_non_null(strstr((fail_msg)(), "4097-byte hello"));
}

/* ---- steering (several connections over one multi-queue TUN) ---- */

/* A second tunnel on a queue of its own, up, its link taking everything. */
struct other {
	struct tunnel t;
	struct fake_link l;
	int tun_peer;
	int calls;		/* steer calls */
	size_t last_len;	/* what the last one was handed */
};

static void other_up(struct other *o, size_t vnet)
{
	int sv[2];

	memset(o, 0, sizeof(*o));
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(tunnel_init(&o->t, &fake_ops, &o->l, &handler, o), 0);
	assert_int_equal(tunnel_reset(&o->t, true), 0);
	o->t.up = true;
	o->t.want_magic = false;
	o->t.tun_fd = sv[0];
	o->t.vnet = vnet;
	o->t.mtu = 1400;
	o->tun_peer = sv[1];
	o->l.dflt = ALL;
}

static void other_free(struct other *o)
{
	close(o->t.tun_fd);
	close(o->tun_peer);
	tunnel_free(&o->t);
	free(o->l.out);
}

/* Packets from 198.18.0.5 belong to the other tunnel. */
static struct tunnel *to_other(void *ctx, const uint8_t *pkt, size_t len)
{
	struct other *o = ctx;

	o->calls++;
	o->last_len = len;
	assert_true(len >= 20);
	return pkt[15] == 5 ? &o->t : NULL;
}

/* The IP ids of the plain DATA frames a link sent. */
static size_t ids_of(const struct fake_link *l, uint16_t *ids, size_t cap, uint8_t *srcs)
{
	size_t off = 0, n = 0;

	while (off < l->out_len) {
		struct frame f;
		long used = frame_decode(l->out + off, l->out_len - off, FRAME_MAX_PAYLOAD, &f);

		assert_true(used > 0);
		assert_int_equal(f.flags & FRAME_F_COMPRESSED, 0);
		assert_true(n < cap);
		srcs[n] = f.payload[15];
		ids[n++] = get_u16(f.payload + 4);
		off += (size_t)used;
	}
	return n;
}

/* A packet the steer function gives to another tunnel goes out over that
 * one's link (counted there, in order), the rest over ours; an other that
 * is not up leaves its packets to us; without a steer function nothing is
 * asked. */
static void test_steer_to_other(void **state)
{
	struct fx *x = *state;
	struct other o;
	uint16_t ids[64];
	uint8_t srcs[64];
	size_t n;

	other_up(&o, 0);
	x->t.mtu = 1400;
	tunnel_set_steer(&x->t, to_other, &o);
	for (int i = 0; i < 12; i++)
		inject(x, 100 + (size_t)i, i % 3 ? 2 : 5, 0);	/* ids 0,3,6,9 from .5 */
	tunnel_read_tun(&x->t);
	assert_true(tunnel_tx_pending(&o.t));	/* its owner flushes it */
	assert_int_equal(tunnel_flush(&x->t), 0);
	assert_int_equal(tunnel_flush(&o.t), 0);
	assert_int_equal(o.calls, 12);
	assert_int_equal(x->t.st.steered, 4);
	assert_int_equal(x->t.st.tx_packets, 8);
	assert_int_equal(o.t.st.tx_packets, 4);
	assert_int_equal(o.t.st.tx_bytes, 100 + 103 + 106 + 109);
	assert_int_equal(x->t.st.drops + o.t.st.drops, 0);
	n = ids_of(&o.l, ids, 64, srcs);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ids[i], 3 * i);
		assert_int_equal(srcs[i], 5);
	}
	n = ids_of(&x->l, ids, 64, srcs);
	assert_int_equal(n, 8);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(srcs[i], 2);

	/* The other goes down: we carry its flows ourselves. */
	o.t.up = false;
	x->l.out_len = 0;
	for (int i = 0; i < 3; i++)
		inject(x, 100, 5, 0);
	pump(x, 1);
	assert_int_equal(x->t.st.steered, 4);
	assert_int_equal(ids_of(&x->l, ids, 64, srcs), 3);

	/* No steer function: not asked. */
	tunnel_set_steer(&x->t, NULL, NULL);
	o.t.up = true;
	o.calls = 0;
	inject(x, 100, 5, 0);
	pump(x, 1);
	assert_int_equal(o.calls, 0);
	assert_int_equal(o.t.st.tx_packets, 4);
	other_free(&o);
}

/* With virtio-net headers: the steer function sees the IP packet (past
 * the header); a super-packet steered to a tunnel whose peer takes none is
 * cut there, into that tunnel's queue. */
static void test_steer_vnet(void **state)
{
	struct fx *x = *state;
	static uint8_t p[VNET_HDR_LEN + 4000];
	struct other o;
	size_t n, off = 0, segs = 0;

	other_up(&o, VNET_HDR_LEN);
	x->t.vnet = VNET_HDR_LEN;
	x->t.mtu = 1400;
	x->t.caps = x->t.offload = VNET_CAP_CSUM | VNET_CAP_TCP4 | VNET_CAP_TCP6 | VNET_CAP_UDP;
	x->t.peer_caps = x->t.caps;
	tunnel_set_steer(&x->t, to_other, &o);
	n = make_gso_tcp(p, 3500, 1000);
	p[VNET_HDR_LEN + 15] = 5;	/* from .5 (the checksum is not checked here) */
	assert_int_equal(send(x->tun_peer, p, n, 0), (ssize_t)n);
	tunnel_read_tun(&x->t);
	assert_int_equal(o.last_len, n - VNET_HDR_LEN);
	assert_int_equal(tunnel_flush(&o.t), 0);
	assert_int_equal(x->t.st.steered, 1);
	assert_int_equal(x->t.st.tx_packets, 0);
	assert_int_equal(o.t.st.gso_split, 1);
	while (off < o.l.out_len) {
		struct frame f;
		long used = frame_decode(o.l.out + off, o.l.out_len - off, FRAME_MAX_PAYLOAD, &f);

		assert_true(used > 0);
		assert_int_equal(f.flags, 0);
		assert_true(f.len <= 1400);
		segs++;
		off += (size_t)used;
	}
	assert_int_equal(segs, 4);
	assert_int_equal(x->l.out_len, 0);
	/* A tunnel on a queue without headers cannot take ours: we keep it. */
	o.t.vnet = 0;
	assert_int_equal(send(x->tun_peer, p, n, 0), (ssize_t)n);
	pump(x, 1);
	assert_int_equal(x->t.st.steered, 1);
	assert_int_equal(x->t.st.tx_gso, 1);
	other_free(&o);
}

/* test_tunnel [PATTERN]: only the tests whose names match. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enobufs_after_partial_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact_while_blocked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_overtakes_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deflate_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_slow_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_slow_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_src_family_without_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_length_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_read_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_hello_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_cut_for_plain_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_whole_for_gso_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_receive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steer_to_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steer_vnet, setup, teardown),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
