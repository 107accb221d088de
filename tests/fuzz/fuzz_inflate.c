/* The tunnel's receive path on a peer's arbitrary stream: tunnel_input()
 * reads from a fake link, cuts frames, answers PINGs, hands HELLOs to a
 * handler that negotiates as serve.c does, and inflates compressed DATA
 * frames into whole IP packets written to the "TUN" (/dev/null).
 *
 * Input: one byte of knobs, then the stream.
 *   bit 0     the harness sends a valid magic line first (else the stream
 *             must hold its own)
 *   bit 1     the tunnel is up from the start (DATA needs no hello)
 *   bits 2-4  how many bytes each read returns (1 .. everything), so frames
 *             are split across reads
 *   bit 5     the link reports end of stream at the end
 *   bit 6     with bit 1: compressed frames come in the header layout
 *             (zlib-hdr, zlayout.h); else a hello that lists zlib-hdr
 *             switches it on, as the real ends do
 *   bit 7     the TUN has a virtio-net header and we offered every offload
 *             (gso=): FRAME_F_GSO frames are judged and written
 * Checks: the receive buffer never overflows, and every error (-1) comes
 * with a fail() message. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "compress.h"
#include "fail.h"
#include "frame.h"
#include "fuzz.h"
#include "hello.h"
#include "log.h"
#include "tunnel.h"

#define OUR_MTU 9000

static struct tunnel T;
static int devnull = -1;

static struct feed {
	const uint8_t *p;
	size_t len, off, chunk;
	bool eof, paused;
} in;

static ssize_t link_read(void *ctx, uint8_t *buf, size_t len)
{
	size_t n;

	/* A pause after each piece: the harness flushes in between, as the
	 * loop would. */
	if (in.paused || in.off == in.len) {
		in.paused = false;
		return in.off == in.len && in.eof ? 0 : -EAGAIN;
	}
	n = in.len - in.off;
	if (n > in.chunk)
		n = in.chunk;
	if (n > len)
		n = len;
	CHECK(n > 0);
	memcpy(buf, in.p + in.off, n);
	in.off += n;
	in.paused = true;
	return (ssize_t)n;
}

static ssize_t link_write(void *ctx, const uint8_t *buf, size_t len)
{
	return (ssize_t)len;	/* the peer reads everything */
}

static const struct link_ops fake_link = { link_read, link_write, true };

static int on_magic(void *ctx, unsigned proto, const char *software)
{
	CHECK(proto >= 1 && proto <= 65535);
	CHECK(strlen(software) < 64);
	if (proto != PROTO_VERSION)
		return fail(EXIT_REFUSED, "version mismatch: %u", proto);
	return 0;
}

/* As serve.c's on_hello, less the pool and the TUN. */
static int on_hello(const struct frame *f)
{
	struct hello h;
	char err[256];
	int mode = COMPRESS_OFF;

	if (T.up)
		return fail(EXIT_ERROR, "a second hello");
	if (hello_parse(f->payload, f->len, &h, err, sizeof(err)) < 0)
		return fail(EXIT_REFUSED, "%s", err);
	T.mtu = h.mtu && h.mtu < OUR_MTU ? h.mtu : OUR_MTU;
	if (h.compress & COMPRESS_ZLIB) {
		if (h.compress_mode[0] && compress_mode_parse(h.compress_mode, &mode) < 0)
			mode = COMPRESS_OFF;
		if (tunnel_compress_to_peer(&T, mode) < 0)
			return -1;
	}
	if (tunnel_compress_layout(&T, hello_compress_layout(&h)) < 0)
		return -1;
	T.up = true;
	return 0;
}

static int on_frame(void *ctx, const struct frame *f)
{
	switch (f->type) {
	case FRAME_HELLO:
		return on_hello(f);
	case FRAME_PONG:
	case FRAME_CONTROL:
		return 0;
	case FRAME_ERROR:
		return fail(EXIT_ERROR, "the peer closes");
	case FRAME_DATA:
		return fail(EXIT_ERROR, "data before the hello");
	default:
		return fail(EXIT_ERROR, "unexpected %s frame", frame_type_name(f->type));
	}
}

static const struct tunnel_handler handler = { on_magic, on_frame };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = LOG_QUIET;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0 || tunnel_init(&T, &fake_link, NULL, &handler, NULL) < 0) {
		fprintf(stderr, "fuzz_inflate: setup failed\n");
		exit(1);
	}
	return 0;
}

static int run(const uint8_t *p, size_t len, size_t chunk, bool eof)
{
	int rc = 0;

	in = (struct feed){ .p = p, .len = len, .chunk = chunk, .eof = eof };
	/* Bounded: each round reads one piece or ends. */
	for (size_t rounds = 0; rounds <= len + 2; rounds++) {
		rc = tunnel_input(&T);
		CHECK(T.rx_len <= TUNNEL_RX_CAP);
		CHECK(T.tx_len <= TUNNEL_TX_CAP && T.tx_off <= T.tx_len);
		if (rc < 0) {
			CHECK(fail_code() != 0 && fail_msg()[0]);
			return rc;
		}
		CHECK(rc == 0 || rc == 1);
		CHECK(tunnel_flush(&T) == 0);
		if (rc == 1 || (in.off == in.len && !in.paused && !eof))
			return rc;
	}
	CHECK(!"tunnel_input made no progress");
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 1, 2, 7, 64, 1500, 4096, 65536, SIZE_MAX };
	static const char magic[] = "SSHTUN/1 sshtun-fuzz\n";
	uint8_t knobs;

	if (size < 1)
		return 0;
	knobs = data[0];
	data++;
	size--;

	fail_clear();
	CHECK(tunnel_reset(&T, true) == 0);
	memset(&T.st, 0, sizeof(T.st));
	T.tun_fd = devnull;
	T.mtu = OUR_MTU;
	T.vnet = knobs & 128 ? VNET_HDR_LEN : 0;
	T.caps = knobs & 128 ? VNET_CAP_CSUM | VNET_CAP_TCP4 | VNET_CAP_TCP6 | VNET_CAP_UDP : 0;
	T.up = knobs & 2;
	if (T.up && (knobs & 64))
		CHECK(tunnel_compress_layout(&T, true) == 0);
	if (knobs & 1)
		run((const uint8_t *)magic, sizeof(magic) - 1, SIZE_MAX, false);
	if (!fail_code())
		run(data, size, chunks[(knobs >> 2) & 7], knobs & 32);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "fuzz_inflate: %llu packets, %llu drops, %s\n",
			(unsigned long long)T.st.rx_packets, (unsigned long long)T.st.drops,
			fail_code() ? fail_msg() : "no error");
	fail_clear();
	return 0;
}
