/* The transmit side: packets of random sizes from a fake TUN (a SOCK_DGRAM
 * socketpair) through tunnel_read_tun() and tunnel_flush() to a link that
 * takes part of what it is given, holds a message half sent (EAGAIN, as
 * libssh2 does), or answers EAGAIN, ENOBUFS or 0 at random; in any
 * compression mode, with deflate failing on demand; or through the real
 * stock-sshd link (openssh.c) over a fake libssh2 whose window the input
 * opens and shuts.
 *
 * Input: one byte of knobs, then operations, one byte each (and their
 * arguments); the link's answers are taken from the same bytes.
 *   knobs bit 0     the stock-sshd link (else the generic one)
 *   knobs bits 1-4  compression: none, off, auto, levels 1..9
 *   knobs bits 5-6  MTU: 576, 1400, 1500, 9000
 *   knobs bit 7     compressed frames in the header layout (zlib-hdr)
 * Checks: tx_off <= tx_len <= TUNNEL_TX_CAP after every step (tunnel.c
 * aborts itself on a broken bound; ASan catches a write past the buffer),
 * and once the link takes everything, what went out decodes into exactly
 * the packets the TUN gave, each once and unchanged, but for those the fair
 * queue counts as dropped. */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include "buf.h"
#include "common.h"
#include "compress.h"
#include "fail.h"
#include "fake_ssh.h"
#include "frame.h"
#include "fuzz.h"
#include "log.h"
#include "openssh.h"
#include "tunnel.h"
#include "fq.h"

/* A big-endian 16-bit field of a test packet's IP header. */
static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#define MAX_PKTS 4096

static struct tunnel T;
static struct ossh_link L;
static int tun_peer = -1;

static const uint8_t *ip;	/* the input */
static size_t ip_len_left;

static uint8_t take(void)
{
	uint8_t b;

	if (!ip_len_left)
		return 0;
	b = *ip++;
	ip_len_left--;
	return b;
}

/* ---- deflate that fails on demand ---- */

static bool deflate_fails;
static bool layout;		/* knobs bit 7: the header layout */

int deflate(z_streamp strm, int flush)
{
	static int (*real)(z_streamp, int);

	if (deflate_fails)
		return Z_STREAM_ERROR;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "deflate");
	return real(strm, flush);
}

/* ---- packets: the content follows from the id, to check it on the way out ---- */

static struct { uint16_t len; uint8_t kind; } pkts[MAX_PKTS];
static unsigned npkts;
static uint8_t seen[MAX_PKTS];

static void make_pkt(uint8_t *p, size_t len, uint16_t id, uint8_t kind)
{
	uint32_t r = id * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		r = r * 1103515245u + 12345u;
		p[i] = kind & 0x80 ? (uint8_t)(r >> 16) : (uint8_t)(id + i / 64);
	}
	if (len < 40)
		return;		/* a runt: the tunnel must not mind */
	if (kind & 0x40) {
		p[0] = 0x60;
		be16(p + 4, (uint16_t)(len - 40));
		be16(p + 8, id);	/* in the source address */
	} else {
		p[0] = 0x45;
		be16(p + 2, (uint16_t)len);
		be16(p + 4, id);
		p[12] = 198, p[13] = 18, p[14] = 0, p[15] = kind & 7;	/* flows */
	}
}

static uint16_t pkt_id(const uint8_t *p)
{
	return p[0] >> 4 == 6 ? get_u16(p + 8) : get_u16(p + 4);
}

/* A packet that went out: one the TUN gave, unchanged, once. */
static void check_pkt(const uint8_t *p, size_t len)
{
	static uint8_t want[MTU_MAX];
	uint16_t id;

	CHECK(len >= 40);
	id = pkt_id(p);
	CHECK(id < npkts && !seen[id]);
	seen[id] = 1;
	CHECK(pkts[id].len == len);
	make_pkt(want, len, id, pkts[id].kind);
	CHECK(!memcmp(p, want, len));
}

static void inject(void)
{
	static uint8_t p[MTU_MAX + 2];
	size_t len = (size_t)(take() << 8 | take()) % (T.mtu + 2);
	uint8_t kind = take();

	if (npkts == MAX_PKTS)
		return;
	if (len && len < 40)
		len = 40;	/* the kernel gives no runts; an empty read is dropped */
	make_pkt(p, len, (uint16_t)npkts, kind);
	if (send(tun_peer, p, len, MSG_DONTWAIT) != (ssize_t)len)
		return;		/* the fake TUN is full */
	pkts[npkts].len = (uint16_t)len;
	pkts[npkts].kind = kind;
	npkts++;
}

/* ---- the generic link ---- */

static uint8_t held[2048];
static size_t held_len;
static bool drain;		/* the link takes everything */
static uint8_t *out;
static size_t out_len, out_cap;

static void emit(const uint8_t *p, size_t n)
{
	if (out_len + n > out_cap) {
		out_cap = (out_len + n) * 2;
		out = realloc(out, out_cap);
		CHECK(out != NULL);
	}
	memcpy(out + out_len, p, n);
	out_len += n;
}

static ssize_t gen_write(void *ctx, const uint8_t *buf, size_t len)
{
	uint8_t b = drain ? 0 : take();
	size_t n = 1 + (size_t)(b >> 3) * 331;

	CHECK(len > 0);
	if (held_len) {
		/* The message it holds comes again, moved or not. */
		CHECK(len >= held_len && !memcmp(buf, held, held_len));
		emit(held, held_len);
		n = held_len;
		held_len = 0;
		return (ssize_t)n;
	}
	switch (b % 6) {
	case 0:
		emit(buf, len);
		return (ssize_t)len;
	case 1:
		n = n < len ? n : len;
		emit(buf, n);
		return (ssize_t)n;
	case 2:
		held_len = n < len ? n : len;
		if (held_len > sizeof(held))
			held_len = sizeof(held);
		memcpy(held, buf, held_len);
		return -EAGAIN;
	case 3:
		return -EAGAIN;
	case 4:
		return -ENOBUFS;
	default:
		return 0;
	}
}

static ssize_t gen_read(void *ctx, uint8_t *buf, size_t len)
{
	return -EAGAIN;
}

static const struct link_ops gen_ops = { .read = gen_read, .write = gen_write };

/* ---- the stock-sshd link's libssh2 ---- */

static int ssh_next(void)
{
	return drain ? 1 : take() & 1;
}

static void ssh_sent(const uint8_t *p, size_t len)
{
	CHECK(len >= 4 + 40);
	CHECK(get_u32(p) == (p[4] >> 4 == 6 ? OSSH_AF_INET6 : OSSH_AF_INET));
	check_pkt(p + 4, len - 4);
}

/* Decodes what the generic link sent. */
static void check_stream(void)
{
	static uint8_t buf[TUNNEL_INFLATE_MAX];
	struct decompressor *d = decompressor_new();
	size_t off = 0;

	CHECK(d != NULL);
	CHECK(decompressor_set_layout(d, layout) == 0);
	while (off < out_len) {
		struct frame f;
		long used = frame_decode(out + off, out_len - off, FRAME_MAX_PAYLOAD, &f);

		CHECK(used > 0);
		off += (size_t)used;
		if (f.type == FRAME_PING)
			continue;
		CHECK(f.type == FRAME_DATA);
		if (!(f.flags & FRAME_F_COMPRESSED)) {
			check_pkt(f.payload, f.len);
			continue;
		}
		long n = decompressor_run(d, f.payload, f.len, buf, sizeof(buf));

		CHECK(n > 0);
		for (size_t at = 0; at < (size_t)n;) {
			size_t len = buf[at] >> 4 == 6 ? 40 + (size_t)get_u16(buf + at + 4)
							: get_u16(buf + at + 2);

			CHECK(len >= 40 && at + len <= (size_t)n);
			check_pkt(buf + at, len);
			at += len;
		}
	}
	CHECK(off == out_len);
	decompressor_free(d);
}

static void check_bounds(void)
{
	CHECK(T.tx_off <= T.tx_len && T.tx_len <= TUNNEL_TX_CAP);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int sv[2];

	log_level = LOG_QUIET;
	if (tunnel_init(&T, &gen_ops, NULL, NULL, NULL) < 0 || ossh_link_init(&L) < 0)
		abort();
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	T.tun_fd = sv[0];
	tun_peer = sv[1];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned mtus[] = { 576, 1400, 1500, 9000 };
	static uint8_t sink[MTU_MAX + 1];
	uint8_t knobs;
	bool openssh;
	int mode;
	struct fq_stats fq0, fq1;
	unsigned unseen = 0;

	ip = data;
	ip_len_left = size;
	knobs = take();
	openssh = knobs & 1;
	mode = ((knobs >> 1) & 15) % 12;
	while (recv(tun_peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	while (recv(T.tun_fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	CHECK(tunnel_reset(&T, false) == 0);
	tunnel_fq_stats(&T, &fq0);
	T.link = openssh ? &ossh_link_ops : &gen_ops;
	T.link_ctx = openssh ? &L : NULL;
	T.up = true;
	T.mtu = mtus[(knobs >> 5) & 3];
	T.rtt_congested = T.cpu_ok = true;
	ossh_link_reset(&L, (LIBSSH2_CHANNEL *)&fssh);
	fssh = (struct fake_ssh){ .next = ssh_next, .sent = ssh_sent, .window = 64 * 1024 };
	memset(&T.st, 0, sizeof(T.st));
	if (!openssh && mode)
		CHECK(tunnel_compress_to_peer(&T, mode == 1 ? COMPRESS_OFF : mode == 2 ? COMPRESS_AUTO
									    : mode - 2) == 0);
	layout = knobs & 128;
	CHECK(tunnel_compress_layout(&T, layout) == 0);
	deflate_fails = false;
	drain = false;
	held_len = 0;
	out_len = 0;
	npkts = 0;
	memset(seen, 0, sizeof(seen));

	while (ip_len_left) {
		uint8_t op = take();

		switch (op % 8) {
		case 0:
		case 1:
			inject();
			break;
		case 2:
			tunnel_read_tun(&T);
			break;
		case 3:
			CHECK(tunnel_flush(&T) == 0);
			break;
		case 4:
			deflate_fails = !deflate_fails;
			break;
		case 5:
			T.rtt_congested = op & 0x10;
			T.cpu_ok = op & 0x20;
			break;
		case 6: {
			uint8_t ping[255] = { 0 };

			tunnel_queue(&T, FRAME_PING, 0, ping, take());
			break;
		}
		default:
			fssh.window = op & 0x80 ? fssh.window + (unsigned long)take() * 256 : 0;
			if (T.comp && (op & 0x40))
				tunnel_set_compress(&T, (op >> 3 & 7) ? (op >> 3 & 7) : COMPRESS_AUTO);
			break;
		}
		check_bounds();
	}

	/* Now the link takes everything: all the TUN gave must come out. */
	drain = true;
	deflate_fails = false;
	fssh.window = 1UL << 30;
	for (int i = 0; i < 10000; i++) {
		uint64_t got;

		CHECK(tunnel_flush(&T) == 0);
		got = T.st.tx_packets + T.st.drops;
		tunnel_read_tun(&T);
		check_bounds();
		CHECK(tunnel_flush(&T) == 0);
		if (got == T.st.tx_packets + T.st.drops && !tunnel_tx_pending(&T) && !held_len)
			break;	/* the TUN is empty and all is out */
	}
	CHECK(!tunnel_tx_pending(&T) && !held_len);
	if (!openssh)
		check_stream();
	/* Every packet the TUN gave came out once, but those the fair
	 * queue dropped (at its caps, or CoDel's) and no others. */
	tunnel_fq_stats(&T, &fq1);
	for (unsigned i = 0; i < npkts; i++)
		unseen += !seen[i] && pkts[i].len && pkts[i].len <= T.mtu;
	CHECK(unseen == (fq1.drops_full - fq0.drops_full) + (fq1.drops_codel - fq0.drops_codel));
	CHECK(T.st.tx_packets + T.st.drops == npkts);
	fail_clear();
	return 0;
}
