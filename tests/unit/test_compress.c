/* Compression of DATA frames: round trips on shared streams, mode changes,
 * the flow predictor, exact counters, and hostile frames.
 *
 * SSHTUN_BENCH=1 adds a micro-benchmark: a log-like text (gzip -6 ratio
 * about 5) cut into 1400-byte TCP packets, per level: ratio and MB/s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <cmocka.h>
/* cmocka's fail() and fail_msg() macros collide with fail.h. */
#undef fail
#undef fail_msg

#include "common.h"
#include "compress.h"
#include "fail.h"

/* One packet as a batch of one: what tunnel.c sends when no other waits. */
static long deflate_one(struct compressor *c, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	static const uint32_t first = 0;

	return compressor_run_batch(c, pkt, len, &first, 1, 0, out, cap);
}

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

#define MAXPKT MTU_MAX

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
}

/* Web server log lines; gzip -6 gets about 5:1 on them. */
static size_t log_text(char *buf, size_t cap)
{
	static const char *const paths[] = { "items", "users", "orders", "search",
					     "static/app.js", "health", "cart", "login" };
	static const char *const agents[] = {
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "curl/7.88.1",
		"Go-http-client/1.1", "python-requests/2.28.1" };
	static const char *const verbs[] = { "GET", "GET", "GET", "POST", "PUT" };
	static const int codes[] = { 200, 200, 200, 200, 304, 404, 500 };
	size_t n = 0;
	unsigned t = 0;

	while (n + 400 < cap) {
		t += rnd() % 300;
		n += (size_t)snprintf(buf + n, cap - n,
			"2024-03-14T09:%02u:%02u.%03uZ web-%02u nginx[%u]: 10.%u.%u.%u - - "
			"\"%s /api/v1/%s/%u HTTP/1.1\" %d %u \"-\" \"%s\" rt=0.%03u id=%08x\n",
			(t / 60000) % 60, (t / 1000) % 60, t % 1000, rnd() % 4, 1200 + rnd() % 4,
			rnd() % 4, rnd() % 256, rnd() % 256, verbs[rnd() % 5], paths[rnd() % 8],
			rnd() % 100000, codes[rnd() % 7], rnd() % 20000, agents[rnd() % 4],
			rnd() % 1000, rnd());
	}
	return n;
}

static char *text;
static size_t text_len;
static size_t text_off;

static void fill_text(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)text[text_off++];
		if (text_off == text_len)
			text_off = 0;
	}
}

/* IPv4 header, ports at 20; the rest of p is left alone. */
static void ip4(uint8_t *p, size_t len, uint8_t proto, uint16_t sport, uint16_t dport,
		unsigned seq)
{
	static const uint8_t hdr[20] = { 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 0, 0, 0,
					 10, 0, 0, 1, 10, 0, 0, 2 };
	uint8_t ports[4] = { sport >> 8, sport & 0xff, dport >> 8, dport & 0xff };

	memcpy(p, hdr, len < 20 ? len : 20);
	if (len >= 20) {
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[4] = (uint8_t)(seq >> 8);
		p[5] = (uint8_t)seq;
		p[9] = proto;
	}
	if (len >= 24)
		memcpy(p + 20, ports, 4);
}

static void ip6(uint8_t *p, size_t len, uint8_t proto, uint16_t sport, uint16_t dport)
{
	assert_true(len >= 44);
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)((len - 40) >> 8);
	p[5] = (uint8_t)(len - 40);
	p[6] = proto;
	p[7] = 64;
	p[8] = 0xfd;
	p[23] = 1;
	p[24] = 0xfd;
	p[39] = 2;
	p[40] = (uint8_t)(sport >> 8);
	p[41] = (uint8_t)sport;
	p[42] = (uint8_t)(dport >> 8);
	p[43] = (uint8_t)dport;
}

enum content { ZEROS, TEXT, RANDOM, IPHDR, N_CONTENT };

/* IPHDR: the same TCP/IP header each time but for id and sequence, then
 * random payload. */
static void fill(uint8_t *p, size_t len, enum content k, unsigned seq)
{
	switch (k) {
	case ZEROS:
		memset(p, 0, len);
		break;
	case TEXT:
		fill_text(p, len);
		break;
	case RANDOM:
		fill_random(p, len);
		break;
	default:
		fill_random(p, len);
		ip4(p, len, 6, 40000, 443, seq);
		for (size_t i = 24; i < 40 && i < len; i++)
			p[i] = (uint8_t)(i == 27 ? seq : i * 7);
		break;
	}
}

struct pair {
	struct compressor *c;
	struct decompressor *d;
};

static void pair_open(struct pair *p, int mode)
{
	p->c = compressor_new(mode);
	p->d = decompressor_new();
	assert_non_null(p->c);
	assert_non_null(p->d);
}

static void pair_close(struct pair *p)
{
	compressor_free(p->c);
	decompressor_free(p->d);
}

/* Compresses pkt on p's stream into a buffer of exactly len + SLACK, and
 * the peer inflates it into exactly rcap bytes (ASan sees any overrun).
 * Returns the compressed length. */
static size_t trip(struct pair *p, const uint8_t *pkt, size_t len, size_t rcap)
{
	uint8_t *z = malloc(len + COMPRESS_SLACK), *back = malloc(rcap);
	long n, m;

	assert_non_null(z);
	assert_non_null(back);
	n = deflate_one(p->c, pkt, len, z, len + COMPRESS_SLACK);
	if (n <= 0)
		print_error("compressor_run_batch: %s\n", fail_msg());
	assert_true(n > 0 && (size_t)n <= len + COMPRESS_SLACK);
	m = decompressor_run(p->d, z, (size_t)n, back, rcap);
	if (m < 0)
		print_error("decompressor_run: %s\n", fail_msg());
	assert_int_equal(m, len);
	assert_memory_equal(back, pkt, len);
	free(z);
	free(back);
	return (size_t)n;
}

static int setup(void **state)
{
	fail_clear();
	return 0;
}

static int group_setup(void **state)
{
	text_len = 1 << 20;
	text = malloc(text_len);
	assert_non_null(text);
	text_len = log_text(text, text_len);
	return 0;
}

static int group_teardown(void **state)
{
	free(text);
	return 0;
}

static void expect_failure(int code, const char *msg)
{
	assert_int_equal(fail_code(), code);
	assert_contains(fail_msg(), msg);
	fail_clear();
}

/* --- modes --- */

static void test_mode_parse(void **state)
{
	static const char *const bad[] = { "", "0", "10", "Auto", "6x", " 6", "on", "-1" };
	char buf[16];
	int mode = 42;

	assert_int_equal(compress_mode_parse("off", &mode), 0);
	assert_int_equal(mode, COMPRESS_OFF);
	assert_int_equal(compress_mode_parse("auto", &mode), 0);
	assert_int_equal(mode, COMPRESS_AUTO);
	for (int i = 1; i <= 9; i++) {
		char s[2] = { (char)('0' + i), 0 };

		assert_int_equal(compress_mode_parse(s, &mode), 0);
		assert_int_equal(mode, i);
		assert_string_equal(compress_mode_str(mode, buf, sizeof(buf)), s);
	}
	assert_string_equal(compress_mode_str(COMPRESS_OFF, buf, sizeof(buf)), "off");
	assert_string_equal(compress_mode_str(COMPRESS_AUTO, buf, sizeof(buf)), "auto");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char want[64];

		mode = 42;
		assert_false(compress_mode_ok(bad[i], &mode));
		assert_int_equal(compress_mode_parse(bad[i], &mode), -1);
		assert_int_equal(mode, 42);
		snprintf(want, sizeof(want), "bad compression mode `%s' (auto, off, 1..9)", bad[i]);
		assert_string_equal(fail_msg(), want);
		expect_failure(EXIT_USAGE, "bad compression mode");
	}
}

static void test_bad_mode_and_args(void **state)
{
	struct pair p;
	uint8_t pkt[1000], out[1000 + COMPRESS_SLACK];

	assert_null(compressor_new(10));
	expect_failure(EXIT_ERROR, "bad compression mode 10");
	pair_open(&p, 6);
	assert_int_equal(compressor_set_mode(p.c, -2), -1);
	expect_failure(EXIT_ERROR, "bad compression mode -2");
	assert_int_equal(compressor_mode(p.c), 6);

	fill(pkt, sizeof(pkt), TEXT, 0);
	trip(&p, pkt, sizeof(pkt), MTU_DEFAULT);
	/* Too little room, or no packet: refused without touching the stream. */
	assert_int_equal(deflate_one(p.c, pkt, sizeof(pkt), out, sizeof(out) - 1), -1);
	expect_failure(EXIT_ERROR, "needs 1385 bytes of room, not 1384");
	assert_int_equal(deflate_one(p.c, pkt, 0, out, sizeof(out)), -1);
	expect_failure(EXIT_ERROR, "cannot compress a 0-byte batch");
	assert_int_equal(deflate_one(p.c, pkt, COMPRESS_IN_MAX + 1, out, sizeof(out)), -1);
	expect_failure(EXIT_ERROR, "cannot compress a 131073-byte batch");
	fill(pkt, sizeof(pkt), TEXT, 1);
	trip(&p, pkt, sizeof(pkt), MTU_DEFAULT);
	pair_close(&p);
	compressor_free(NULL);
	decompressor_free(NULL);
}

/* --- round trips --- */

static const size_t sizes[] = { 1, 20, 63, 64, 576, 1400, 9000, 65535 };

/* Every size and content on one stream per level; the peer's cap is the
 * packet's size exactly, then the largest MTU. */
static void test_round_trip_classes(void **state)
{
	static const int levels[] = { 1, 6, 9 };
	uint8_t *pkt = malloc(MAXPKT);

	assert_non_null(pkt);
	for (size_t l = 0; l < ARRAY_SIZE(levels); l++) {
		struct pair p;
		unsigned seq = 0;

		pair_open(&p, levels[l]);
		for (int k = 0; k < N_CONTENT; k++) {
			for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
				size_t len = sizes[s], n;

				fill(pkt, len, (enum content)k, seq++);
				n = trip(&p, pkt, len, len);
				fill(pkt, len, (enum content)k, seq++);
				trip(&p, pkt, len, MAXPKT);
				if (k == ZEROS && len >= 576)
					assert_true(n < len / 10);
				if (k == RANDOM)	/* stored blocks: bounded overhead */
					assert_true(n <= len + 31);
			}
		}
		pair_close(&p);
	}
	free(pkt);
}

/* A stream that many packets skip stays in step: what was not compressed
 * never entered either history. */
static void test_alternating(void **state)
{
	struct pair p;
	struct compress_stats st;
	uint8_t *pkt = malloc(MAXPKT);
	uint64_t yes = 0, no = 0;

	assert_non_null(pkt);
	pair_open(&p, 6);
	for (unsigned i = 0; i < 4000; i++) {
		enum content k = (enum content)(rnd() % N_CONTENT);
		size_t len = 1 + rnd() % (i % 50 == 0 ? MAXPKT : 1500);
		uint16_t port = (uint16_t)(1000 + k);

		fill(pkt, len, k, i);
		ip4(pkt, len, 17, port, 53, i);
		/* Half of what the predictor would compress is held back too. */
		if (compressor_should(p.c, pkt, len, true) && (i & 1)) {
			trip(&p, pkt, len, MAXPKT);
			yes++;
		} else {
			no++;
		}
	}
	compressor_stats(p.c, &st);
	assert_int_equal(st.frames_compressed, yes);
	assert_true(yes > 500 && no > 2000);
	pair_close(&p);
	free(pkt);
}

/* Levels 1 -> 9 -> off -> auto -> 3 on one stream; the peer is never told. */
static void test_mode_changes(void **state)
{
	static const int modes[] = { 1, 9, COMPRESS_OFF, COMPRESS_AUTO, 3, 9, 1 };
	struct pair p;
	uint8_t pkt[1400];
	unsigned seq = 0;

	pair_open(&p, modes[0]);
	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		assert_int_equal(compressor_set_mode(p.c, modes[m]), 0);
		assert_int_equal(compressor_mode(p.c), modes[m]);
		for (int i = 0; i < 20; i++) {
			enum content k = i % 3 ? TEXT : IPHDR;

			fill(pkt, sizeof(pkt), k, seq);
			ip4(pkt, sizeof(pkt), 6, 80, (uint16_t)(2000 + k), seq++);
			if (modes[m] == COMPRESS_OFF) {
				assert_false(compressor_should(p.c, pkt, sizeof(pkt), true));
				/* Off leaves the stream usable. */
				if (i == 19)
					trip(&p, pkt, sizeof(pkt), MTU_DEFAULT);
				continue;
			}
			assert_false(modes[m] == COMPRESS_AUTO &&
				     compressor_should(p.c, pkt, sizeof(pkt), false));
			if (compressor_should(p.c, pkt, sizeof(pkt), true))
				trip(&p, pkt, sizeof(pkt), MTU_DEFAULT);
		}
	}
	pair_close(&p);
}

/* The new level really applies from the next frame: a stream switched
 * before its first frame emits what a stream opened at that level does. */
static void test_level_takes_effect(void **state)
{
	struct compressor *a = compressor_new(1), *b = compressor_new(9), *c = compressor_new(1);
	uint8_t pkt[9000], oa[9000 + COMPRESS_SLACK], ob[sizeof(oa)], oc[sizeof(oa)];
	long na, nb, nc;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	fill(pkt, sizeof(pkt), TEXT, 0);
	assert_int_equal(compressor_set_mode(a, 9), 0);
	na = deflate_one(a, pkt, sizeof(pkt), oa, sizeof(oa));
	nb = deflate_one(b, pkt, sizeof(pkt), ob, sizeof(ob));
	nc = deflate_one(c, pkt, sizeof(pkt), oc, sizeof(oc));
	assert_true(na > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(oa, ob, (size_t)na);
	assert_true(nc > na);	/* level 1 does worse on text */
	/* Mid-stream, 9 -> 1 follows suit. */
	fill(pkt, sizeof(pkt), TEXT, 1);
	assert_int_equal(compressor_set_mode(a, 1), 0);
	na = deflate_one(a, pkt, sizeof(pkt), oa, sizeof(oa));
	nb = deflate_one(b, pkt, sizeof(pkt), ob, sizeof(ob));
	assert_true(na > nb);
	compressor_free(a);
	compressor_free(b);
	compressor_free(c);
}

/* --- the decision --- */

static void test_tiny_off_and_auto(void **state)
{
	struct compressor *c = compressor_new(COMPRESS_AUTO);
	struct compress_stats st;
	uint8_t pkt[1000];

	assert_non_null(c);
	fill(pkt, sizeof(pkt), TEXT, 0);
	ip4(pkt, sizeof(pkt), 6, 1, 2, 0);
	assert_false(compressor_should(c, pkt, sizeof(pkt), false));	/* CPU-bound */
	assert_true(compressor_should(c, pkt, sizeof(pkt), true));
	assert_false(compressor_should(c, pkt, COMPRESS_MIN_LEN - 1, true));
	assert_true(compressor_should(c, pkt, COMPRESS_MIN_LEN, true));
	assert_int_equal(compressor_set_mode(c, 5), 0);
	assert_true(compressor_should(c, pkt, sizeof(pkt), false));	/* fixed: always */
	assert_int_equal(compressor_set_mode(c, COMPRESS_OFF), 0);
	assert_false(compressor_should(c, pkt, sizeof(pkt), true));
	compressor_stats(c, &st);
	assert_int_equal(st.frames_skipped, 3);
	assert_int_equal(st.frames_compressed, 0);
	compressor_free(c);
}

/* A random flow is skipped after its first packet and probed every
 * COMPRESS_PROBE_EVERY packets; the text flow beside it is always
 * compressed; when the random flow turns to text, one probe brings it back. */
static void test_predictor(void **state)
{
	struct pair p;
	struct compress_stats st;
	uint8_t pkt[1000];
	unsigned probes = 0, first_back = 0, skipped = 0;

	pair_open(&p, 6);
	for (unsigned i = 0; i < 6 * COMPRESS_PROBE_EVERY; i++) {
		bool random = i < 4 * COMPRESS_PROBE_EVERY;

		/* The text flow: IPv4 TCP, always compressed. */
		fill(pkt, sizeof(pkt), TEXT, i);
		ip4(pkt, sizeof(pkt), 6, 5000, 80, i);
		assert_true(compressor_should(p.c, pkt, sizeof(pkt), false));
		trip(&p, pkt, sizeof(pkt), MTU_DEFAULT);

		/* The other flow: same addresses, UDP, other ports. */
		fill(pkt, sizeof(pkt), random ? RANDOM : TEXT, i);
		ip4(pkt, sizeof(pkt), 17, 5000, 80, i);
		if (!compressor_should(p.c, pkt, sizeof(pkt), false)) {
			skipped++;
			continue;
		}
		trip(&p, pkt, sizeof(pkt), MTU_DEFAULT);
		if (random) {
			assert_int_equal(i % COMPRESS_PROBE_EVERY, 0);
			probes++;
		} else if (!first_back) {
			first_back = i;
		}
	}
	assert_int_equal(probes, 4);
	/* The next probe is the first text packet: from it on, all compressed. */
	assert_int_equal(first_back, 4 * COMPRESS_PROBE_EVERY);
	assert_int_equal(skipped, 4 * (COMPRESS_PROBE_EVERY - 1));
	compressor_stats(p.c, &st);
	assert_int_equal(st.frames_skipped, skipped);
	assert_int_equal(st.frames_compressed, 6 * COMPRESS_PROBE_EVERY * 2 - skipped);
	pair_close(&p);
}

/* IPv6: flows told apart by their ports; a packet that is not IP at all
 * is still judged (all such packets share one flow). */
static void test_predictor_ipv6(void **state)
{
	struct compressor *c = compressor_new(9);
	uint8_t pkt[600], out[600 + COMPRESS_SLACK];
	int text_yes = 0, random_yes = 0;

	assert_non_null(c);
	for (int i = 0; i < 32; i++) {
		fill(pkt, sizeof(pkt), RANDOM, 0);
		ip6(pkt, sizeof(pkt), 6, 443, 50000);
		if (compressor_should(c, pkt, sizeof(pkt), false)) {
			random_yes++;
			assert_true(deflate_one(c, pkt, sizeof(pkt), out, sizeof(out)) > 0);
		}
		fill(pkt, sizeof(pkt), TEXT, 0);
		ip6(pkt, sizeof(pkt), 6, 443, 50001);
		if (compressor_should(c, pkt, sizeof(pkt), false)) {
			text_yes++;
			assert_true(deflate_one(c, pkt, sizeof(pkt), out, sizeof(out)) > 0);
		}
		fill(pkt, sizeof(pkt), ZEROS, 0);
		pkt[0] = 0x20;	/* not IP */
		assert_true(compressor_should(c, pkt, sizeof(pkt), false));
		assert_true(deflate_one(c, pkt, sizeof(pkt), out, sizeof(out)) > 0);
	}
	assert_int_equal(random_yes, 1);
	assert_int_equal(text_yes, 32);
	compressor_free(c);
}

/* --- counters --- */

static void test_counters(void **state)
{
	struct pair p;
	struct compress_stats st, dst;
	uint8_t pkt[1000];
	uint64_t sum = 0;

	pair_open(&p, 6);
	for (unsigned i = 0; i < 10; i++) {
		fill(pkt, sizeof(pkt), TEXT, i);
		ip4(pkt, sizeof(pkt), 6, 22, 40000, i);
		assert_true(compressor_should(p.c, pkt, sizeof(pkt), false));
		sum += trip(&p, pkt, sizeof(pkt), MTU_DEFAULT);
	}
	for (unsigned i = 0; i < 3; i++)
		assert_false(compressor_should(p.c, pkt, 40, false));
	compressor_stats(p.c, &st);
	assert_int_equal(st.frames_compressed, 10);
	assert_int_equal(st.in_bytes, 10000);
	assert_int_equal(st.out_bytes, sum);
	assert_int_equal(st.frames_skipped, 3);
	assert_true(sum < 10000 / 2);
	decompressor_stats(p.d, &dst);
	assert_int_equal(dst.frames_compressed, 10);
	assert_int_equal(dst.in_bytes, 10000);
	assert_int_equal(dst.out_bytes, sum);
	assert_int_equal(dst.frames_skipped, 0);
	pair_close(&p);
}

/* --- hostile frames --- */

/* Deflates src as one frame of a fresh raw stream, ended with flush. */
static size_t deflate_alone(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, int flush)
{
	z_stream z = { 0 };

	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)src;
	z.avail_in = (uInt)len;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	assert_true(deflate(&z, flush) >= Z_OK);
	assert_int_equal(z.avail_in, 0);
	assert_true(z.avail_out > 0);
	deflateEnd(&z);
	return cap - z.avail_out;
}

/* Feeds frame to a fresh decompressor; expects the failure want. */
static void rejected(const uint8_t *frame, size_t len, size_t cap, const char *want)
{
	struct decompressor *d = decompressor_new();
	uint8_t *out = malloc(cap), in_copy[8];
	long n;

	assert_non_null(d);
	assert_non_null(out);
	n = decompressor_run(d, frame, len, out, cap);
	if (n >= 0)
		print_error("accepted (%ld bytes, frame %zu), wanted: %s\n", n, len, want);
	assert_int_equal(n, -1);
	expect_failure(EXIT_ERROR, want);
	/* The stream is gone: even a good frame is refused now. */
	in_copy[0] = 0x00;
	assert_int_equal(decompressor_run(d, in_copy, 1, out, cap), -1);
	expect_failure(EXIT_ERROR, "lost after an earlier error");
	free(out);
	decompressor_free(d);
}

static void test_over_inflate(void **state)
{
	size_t big = 100 * 1024;
	uint8_t *zeros = calloc(1, big), frame[1024];
	size_t n;

	assert_non_null(zeros);
	n = deflate_alone(zeros, big, frame, sizeof(frame), Z_SYNC_FLUSH);
	assert_true(n < 200);
	rejected(frame, n, MTU_DEFAULT, "a compressed frame from the peer inflates past 1400 bytes");

	/* The cap itself is fine, one byte more is not. */
	n = deflate_alone(zeros, MTU_DEFAULT, frame, sizeof(frame), Z_SYNC_FLUSH);
	{
		struct decompressor *d = decompressor_new();
		uint8_t *out = malloc(MTU_DEFAULT);

		assert_non_null(out);
		assert_int_equal(decompressor_run(d, frame, n, out, MTU_DEFAULT), MTU_DEFAULT);
		free(out);
		decompressor_free(d);
	}
	n = deflate_alone(zeros, MTU_DEFAULT + 1, frame, sizeof(frame), Z_SYNC_FLUSH);
	rejected(frame, n, MTU_DEFAULT, "inflates past 1400 bytes");
	/* Stored (incompressible) data past the cap too. */
	{
		uint8_t *r = malloc(4000), *f = malloc(4100);

		fill_random(r, 4000);
		n = deflate_alone(r, 4000, f, 4100, Z_SYNC_FLUSH);
		rejected(f, n, MTU_DEFAULT, "inflates past 1400 bytes");
		free(r);
		free(f);
	}
	free(zeros);
}

static void test_corrupt(void **state)
{
	struct compressor *c = compressor_new(6);
	uint8_t pkt[1400], z[1400 + COMPRESS_SLACK], bad[sizeof(z) + 2];
	long n;

	assert_non_null(c);
	fill(pkt, sizeof(pkt), TEXT, 0);
	n = deflate_one(c, pkt, sizeof(pkt), z, sizeof(z));
	assert_true(n > 10);

	memcpy(bad, z, (size_t)n);
	bad[0] |= 0x06;		/* block type 3: reserved */
	rejected(bad, (size_t)n, MTU_DEFAULT, "corrupt compressed frame: invalid block type");
	rejected(z, (size_t)n - 1, MTU_DEFAULT, "corrupt compressed frame: truncated");
	rejected(z, (size_t)n / 2, MTU_DEFAULT, "corrupt compressed frame");
	rejected(z, 0, MTU_DEFAULT, "corrupt compressed frame: empty");
	/* Garbage after the flush: a final fixed block cut short, or type 3. */
	memcpy(bad, z, (size_t)n);
	bad[n] = 0x03;
	rejected(bad, (size_t)n + 1, MTU_DEFAULT, "corrupt compressed frame: truncated");
	bad[n] = 0xff;
	rejected(bad, (size_t)n + 1, MTU_DEFAULT, "corrupt compressed frame: invalid block type");
	compressor_free(c);

	/* A stored block whose length check does not hold. */
	fill(pkt, sizeof(pkt), RANDOM, 0);
	n = (long)deflate_alone(pkt, sizeof(pkt), z, sizeof(z), Z_SYNC_FLUSH);
	memcpy(bad, z, (size_t)n);
	bad[3] ^= 0x01;		/* NLEN */
	rejected(bad, (size_t)n, MTU_DEFAULT, "invalid stored block lengths");

	/* Ending the stream. */
	fill(pkt, sizeof(pkt), TEXT, 1);
	n = (long)deflate_alone(pkt, sizeof(pkt), z, sizeof(z), Z_FINISH);
	rejected(z, (size_t)n, MTU_DEFAULT, "corrupt compressed frame: it ends the stream");
	/* A whole block, but ending 2 bits short of its last byte's end: a
	 * fixed-code block of four literals 0xff (3 + 4 * 9 + 7 = 46 bits) with
	 * no flush after it.  (With 3 or more bits left inflate reads them as
	 * the next block's header: truncated.) */
	{
		static const uint8_t unaligned[] = { 0xfa, 0xff, 0xff, 0xff, 0x7f, 0x00 };

		rejected(unaligned, sizeof(unaligned), MTU_DEFAULT,
			 "corrupt compressed frame: it does not end on a byte boundary");
	}
	/* A flush with nothing before it carries no packet. */
	n = (long)deflate_alone(pkt, 0, z, sizeof(z), Z_SYNC_FLUSH);
	rejected(z, (size_t)n, MTU_DEFAULT, "it holds no packet");
}

/* Every single-bit flip of a first and of a second frame (one that refers
 * back to the first): refused or decoded within the cap, never more. */
static void test_bit_flips(void **state)
{
	struct compressor *c = compressor_new(6);
	uint8_t a[1200], b[1200], za[1200 + COMPRESS_SLACK], zb[sizeof(za)];
	uint8_t bad[sizeof(za)], *out = malloc(MTU_DEFAULT);
	long na, nb;
	unsigned refused = 0, total = 0;

	assert_non_null(c);
	assert_non_null(out);
	fill(a, sizeof(a), TEXT, 0);
	fill(b, sizeof(b), TEXT, 1);
	na = deflate_one(c, a, sizeof(a), za, sizeof(za));
	nb = deflate_one(c, b, sizeof(b), zb, sizeof(zb));
	assert_true(na > 0 && nb > 0);
	for (int second = 0; second < 2; second++) {
		const uint8_t *z = second ? zb : za;
		size_t n = (size_t)(second ? nb : na);

		for (size_t bit = 0; bit < n * 8; bit++) {
			struct decompressor *d = decompressor_new();
			long m;

			assert_non_null(d);
			if (second)
				assert_int_equal(decompressor_run(d, za, (size_t)na, out, MTU_DEFAULT),
						 sizeof(a));
			memcpy(bad, z, n);
			bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			m = decompressor_run(d, bad, n, out, MTU_DEFAULT);
			assert_true(m == -1 || (m > 0 && m <= MTU_DEFAULT));
			refused += m == -1;
			total++;
			fail_clear();
			decompressor_free(d);
		}
	}
	/* Most flips decode to other bytes: Huffman codes are complete and raw
	 * deflate has no checksum (the ssh MAC guards the channel).  What
	 * counts is that nothing goes past the cap (ASan watches). */
	assert_true(refused > total / 10);
	free(out);
	compressor_free(c);
}

/* --- jumbo packets --- */

/* Jumbo packets across compress.c's CHUNK pieces, of 3-byte runs that
 * recur only far back: the content for which fixed codes at levels 1-3
 * would cost more than the bytes (zlib's dynamic codes do fine on it). */
static void test_far_matches(void **state)
{
	size_t ntok = 5470, len = MAXPKT;
	uint8_t *tok = malloc(ntok * 3), *pkt = malloc(len);
	struct pair p;

	assert_non_null(tok);
	assert_non_null(pkt);
	fill_random(tok, ntok * 3);
	for (size_t i = 0, o = 0; o < len; i++) {
		size_t t = i % ntok;

		if (i >= ntok)	/* later passes: pairs swapped (ntok is even) */
			t ^= 1;
		for (int j = 0; j < 3 && o < len; j++)
			pkt[o++] = tok[t * 3 + j];
	}
	for (int level = 1; level <= 9; level += 2) {
		pair_open(&p, level);
		for (int i = 0; i < 3; i++)
			trip(&p, pkt, len, len);
		pair_close(&p);
	}
	free(tok);
	free(pkt);
}

/* --- micro-benchmark --- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Cuts data into TCP/IP packets of mtu bytes and runs them through one
 * stream pair at mode: prints the ratio and the rate at each end. */
static void bench_one(const char *what, const uint8_t *data, size_t len, size_t mtu, int mode)
{
	enum { HDR = 40 };
	size_t slot = mtu + COMPRESS_SLACK;
	size_t npk = (len + mtu - HDR - 1) / (mtu - HDR), in = 0, out = 0, off = 0;
	long *zlen = malloc(npk * sizeof(*zlen));
	uint8_t *all = malloc(npk * slot), *pkt = malloc(mtu), *back = malloc(mtu);
	struct pair p;
	struct compress_stats st;
	double t0, t1, t2;
	char m[8];

	assert_true(zlen && all && pkt && back);
	pair_open(&p, mode);
	t0 = now();
	for (size_t i = 0; i < npk; i++) {
		size_t plen = len - off < mtu - HDR ? len - off : mtu - HDR;

		ip4(pkt, HDR + plen, 6, 443, 40000, (unsigned)i);
		memset(pkt + 24, 0, HDR - 24);
		memcpy(pkt + HDR, data + off, plen);
		off += plen;
		in += HDR + plen;
		if (compressor_should(p.c, pkt, HDR + plen, true)) {
			zlen[i] = deflate_one(p.c, pkt, HDR + plen, all + i * slot, slot);
			assert_true(zlen[i] > 0);
		} else {
			zlen[i] = -(long)(HDR + plen);
		}
		out += (size_t)(zlen[i] < 0 ? -zlen[i] : zlen[i]) + FRAME_HDR_LEN;
	}
	t1 = now();
	for (size_t i = 0; i < npk; i++)
		if (zlen[i] > 0)
			assert_true(decompressor_run(p.d, all + i * slot, (size_t)zlen[i], back, mtu) > 0);
	t2 = now();
	compressor_stats(p.c, &st);
	printf("  %-6s MTU %5zu mode %-4s ratio %5.2f (payload/wire %5.2f)  %6.1f%% compressed  "
	       "compress %7.1f MB/s  decompress %7.1f MB/s\n",
	       what, mtu, compress_mode_str(mode, m, sizeof(m)),
	       (double)in / (double)(out - npk * FRAME_HDR_LEN), (double)len / (double)out,
	       100.0 * (double)st.frames_compressed / (double)npk, (double)in / 1e6 / (t1 - t0),
	       (double)st.in_bytes / 1e6 / (t2 - t1));
	pair_close(&p);
	free(zlen);
	free(all);
	free(pkt);
	free(back);
}

/* --- the header layout --- */

/* A TCP segment of the log text, as the bench's fetch sends it: 1400 bytes,
 * id, sequence, timestamps and checksums moving. */
static void segment(uint8_t *p, size_t len, unsigned i)
{
	unsigned seq = 1000 + i * (unsigned)(len - 52);

	ip4(p, len, 6, 443, 40000, i);
	p[10] = (uint8_t)rnd();	/* IP checksum */
	p[11] = (uint8_t)rnd();
	memset(p + 24, 0, 28);
	p[24] = (uint8_t)(seq >> 24);
	p[25] = (uint8_t)(seq >> 16);
	p[26] = (uint8_t)(seq >> 8);
	p[27] = (uint8_t)seq;
	p[31] = 77;		/* ack */
	p[32] = 0x80;		/* data offset 8 words */
	p[33] = 0x10;
	p[34] = 0x01;
	p[35] = 0xf5;
	p[36] = (uint8_t)rnd();	/* TCP checksum */
	p[37] = (uint8_t)rnd();
	p[40] = 1;
	p[41] = 1;
	p[42] = 8;
	p[43] = 10;
	p[46] = (uint8_t)(i / 8 >> 8);	/* timestamps */
	p[47] = (uint8_t)(i / 8);
	p[51] = (uint8_t)(i / 8 - 3);
	fill_text(p + 52, len - 52);
}

/* Frames of batches of 1..23 segments on one stream each way, with and
 * without the layout: exact round trips, and the wire bytes. */
static size_t stream_bytes(bool layout, unsigned frames)
{
	struct pair p;
	static uint8_t buf[32 * 1024], out[sizeof(buf)], z[sizeof(buf) + COMPRESS_SLACK];
	uint32_t off[COMPRESS_BATCH_MAX];
	size_t wire = 0;
	unsigned seg = 0;

	rng = 88172645463325252ull;
	text_off = 0;
	pair_open(&p, 6);
	assert_int_equal(compressor_set_layout(p.c, layout), 0);
	assert_int_equal(decompressor_set_layout(p.d, layout), 0);
	for (unsigned f = 0; f < frames; f++) {
		int count = f % 5 ? 23 : 1 + (int)(f % 23);
		size_t len = 0;
		long n, m;

		for (int i = 0; i < count; i++) {
			off[i] = (uint32_t)len;
			segment(buf + len, MTU_DEFAULT, seg++);
			len += MTU_DEFAULT;
		}
		n = compressor_run_batch(p.c, buf, len, off, count, 0, z, len + COMPRESS_SLACK);
		assert_true(n > 0 && (size_t)n <= len + COMPRESS_SLACK);
		m = decompressor_run(p.d, z, (size_t)n, out, len);
		if (m < 0)
			print_error("frame %u: %s\n", f, fail_msg());
		assert_int_equal(m, len);
		assert_memory_equal(out, buf, len);
		wire += (size_t)n;
	}
	pair_close(&p);
	return wire;
}

static void test_layout_ratio(void **state)
{
	size_t plain = stream_bytes(false, 300), hdr = stream_bytes(true, 300);

	printf("  300 frames of TCP segments: %zu bytes plain, %zu in the header layout\n", plain, hdr);
	assert_true(hdr * 1000 <= plain * 975);	/* 3.9% fewer measured */
}

/* Layout on one end only cannot be (both switch on the hellos), but a
 * plain frame to a layout receiver must fail cleanly, not be cut up. */
static void test_layout_mismatch(void **state)
{
	struct compressor *c = compressor_new(6);
	struct decompressor *d = decompressor_new();
	uint8_t pkt[1400], z[1400 + COMPRESS_SLACK], out[MTU_DEFAULT];
	long n;

	fill(pkt, sizeof(pkt), TEXT, 0);
	n = deflate_one(c, pkt, sizeof(pkt), z, sizeof(z));
	assert_true(n > 0);
	assert_int_equal(decompressor_set_layout(d, true), 0);
	assert_int_equal(decompressor_run(d, z, (size_t)n, out, sizeof(out)), -1);
	expect_failure(EXIT_ERROR, "corrupt compressed frame: its");
	compressor_free(c);
	decompressor_free(d);
}

/* A bomb in the layout stops at the cap plus the table; a table that adds
 * up past the cap is refused too. */
static void test_layout_bomb(void **state)
{
	size_t big = 100 * 1024;
	uint8_t *src = calloc(1, big), frame[1024], *out = malloc(MTU_DEFAULT);
	struct decompressor *d = decompressor_new();
	size_t n;

	assert_non_null(src);
	assert_non_null(out);
	src[0] = 1;	/* one packet, no head, of big - 6 bytes */
	src[2] = (uint8_t)((big - 6) >> 24);
	src[3] = (uint8_t)((big - 6) >> 16);
	src[4] = (uint8_t)((big - 6) >> 8);
	src[5] = (uint8_t)(big - 6);
	n = deflate_alone(src, big, frame, sizeof(frame), Z_SYNC_FLUSH);
	assert_int_equal(decompressor_set_layout(d, true), 0);
	assert_int_equal(decompressor_run(d, frame, n, out, MTU_DEFAULT), -1);
	expect_failure(EXIT_ERROR, "inflates past 1721 bytes");
	decompressor_free(d);

	/* Within cap + table, but the packets add up past the cap. */
	src[2] = src[3] = 0;
	src[4] = (uint8_t)((MTU_DEFAULT + 1) >> 8);
	src[5] = (uint8_t)(MTU_DEFAULT + 1);
	n = deflate_alone(src, 6 + MTU_DEFAULT + 1, frame, sizeof(frame), Z_SYNC_FLUSH);
	d = decompressor_new();
	assert_int_equal(decompressor_set_layout(d, true), 0);
	assert_int_equal(decompressor_run(d, frame, n, out, MTU_DEFAULT), -1);
	expect_failure(EXIT_ERROR, "corrupt compressed frame: its packets add up past the limit");
	assert_int_equal(decompressor_run(d, frame, n, out, MTU_DEFAULT), -1);
	expect_failure(EXIT_ERROR, "lost after an earlier error");
	decompressor_free(d);
	free(src);
	free(out);
}

/* The stream runs across frames in the layout: a frame cut short, or the
 * second frame without the first (a receiver from before a reconnect), is
 * refused; after a reconnect both ends start afresh and it works again. */
static void test_layout_across_frames(void **state)
{
	struct pair p;
	uint8_t a[3 * 1400], b[3 * 1400], za[sizeof(a) + COMPRESS_SLACK], zb[sizeof(za)];
	uint8_t out[sizeof(a)];
	uint32_t off[3] = { 0, 1400, 2800 };
	long na, nb;

	for (unsigned i = 0; i < 3; i++) {
		segment(a + 1400 * i, 1400, i);
		segment(b + 1400 * i, 1400, 3 + i);
	}
	memcpy(b + 52, a + 52, 600);	/* b refers back to a */
	pair_open(&p, 6);
	assert_int_equal(compressor_set_layout(p.c, true), 0);
	assert_int_equal(decompressor_set_layout(p.d, true), 0);
	na = compressor_run_batch(p.c, a, sizeof(a), off, 3, 0, za, sizeof(za));
	nb = compressor_run_batch(p.c, b, sizeof(b), off, 3, 0, zb, sizeof(zb));
	assert_true(na > 0 && nb > 0);

	/* Truncated: the receiver's stream is lost. */
	assert_int_equal(decompressor_run(p.d, za, (size_t)na - 1, out, sizeof(out)), -1);
	expect_failure(EXIT_ERROR, "corrupt compressed frame");
	decompressor_free(p.d);

	/* A new receiver given the second frame alone. */
	p.d = decompressor_new();
	assert_int_equal(decompressor_set_layout(p.d, true), 0);
	assert_int_equal(decompressor_run(p.d, zb, (size_t)nb, out, sizeof(out)), -1);
	expect_failure(EXIT_ERROR, "corrupt compressed frame");
	pair_close(&p);

	/* Reconnected: new streams both ends, the same packets go through. */
	pair_open(&p, 6);
	assert_int_equal(compressor_set_layout(p.c, true), 0);
	assert_int_equal(decompressor_set_layout(p.d, true), 0);
	na = compressor_run_batch(p.c, a, sizeof(a), off, 3, 0, za, sizeof(za));
	nb = compressor_run_batch(p.c, b, sizeof(b), off, 3, 0, zb, sizeof(zb));
	assert_int_equal(decompressor_run(p.d, za, (size_t)na, out, sizeof(out)), sizeof(a));
	assert_memory_equal(out, a, sizeof(a));
	assert_int_equal(decompressor_run(p.d, zb, (size_t)nb, out, sizeof(out)), sizeof(b));
	assert_memory_equal(out, b, sizeof(b));
	pair_close(&p);
}

/* Offsets that are not the batch's refuse without touching the stream. */
static void test_batch_args(void **state)
{
	struct pair p;
	uint8_t buf[3000], z[sizeof(buf) + COMPRESS_SLACK];
	uint32_t off[COMPRESS_BATCH_MAX + 1] = { 0, 1500 };

	fill(buf, sizeof(buf), TEXT, 0);
	pair_open(&p, 6);
	assert_int_equal(compressor_set_layout(p.c, true), 0);
	assert_int_equal(decompressor_set_layout(p.d, true), 0);
	off[1] = 3000;
	assert_int_equal(compressor_run_batch(p.c, buf, sizeof(buf), off, 2, 0, z, sizeof(z)), -1);
	expect_failure(EXIT_ERROR, "packet 1 of a 3000-byte batch at bad offset 3000");
	off[0] = 5;
	assert_int_equal(compressor_run_batch(p.c, buf, sizeof(buf), off, 1, 0, z, sizeof(z)), -1);
	expect_failure(EXIT_ERROR, "packet 0 of a 3000-byte batch at bad offset 5");
	off[0] = 0;
	assert_int_equal(compressor_run_batch(p.c, buf, sizeof(buf), off, COMPRESS_BATCH_MAX + 1, 0,
					      z, sizeof(z)), -1);
	expect_failure(EXIT_ERROR, "a batch of 65 packets");
	off[1] = 1500;
	trip(&p, buf, sizeof(buf), sizeof(buf));	/* the stream is fine */
	pair_close(&p);
}

static void test_bench(void **state)
{
	size_t len = 32 << 20;
	char *log = malloc(len);
	uint8_t *rand_data = malloc(len), *gz;
	uLongf gzlen;

	if (!getenv("SSHTUN_BENCH")) {
		free(log);
		free(rand_data);
		skip();
	}
	assert_non_null(log);
	assert_non_null(rand_data);
	len = log_text(log, len);
	gzlen = compressBound(len);
	gz = malloc(gzlen);
	assert_non_null(gz);
	assert_int_equal(compress2(gz, &gzlen, (const Bytef *)log, len, 6), Z_OK);
	printf("  %zu bytes of log text, whole-file zlib -6 ratio %.2f\n", len,
	       (double)len / (double)gzlen);
	printf("  ratio: IP bytes / compressed bytes; payload/wire: log bytes / frame bytes\n");
	for (int level = 1; level <= 9; level++)
		bench_one("log", (const uint8_t *)log, len, MTU_DEFAULT, level);
	for (int level = 1; level <= 6; level += 5) {
		bench_one("log", (const uint8_t *)log, len, 9000, level);
		bench_one("log", (const uint8_t *)log, len, MTU_MAX, level);
	}
	fill_random(rand_data, len);
	bench_one("random", rand_data, len, MTU_DEFAULT, 1);
	bench_one("random", rand_data, len, MTU_DEFAULT, 6);
	bench_one("random", rand_data, len, MTU_DEFAULT, COMPRESS_OFF);
	free(gz);
	free(log);
	free(rand_data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mode_parse, setup),
		cmocka_unit_test_setup(test_bad_mode_and_args, setup),
		cmocka_unit_test_setup(test_round_trip_classes, setup),
		cmocka_unit_test_setup(test_alternating, setup),
		cmocka_unit_test_setup(test_mode_changes, setup),
		cmocka_unit_test_setup(test_level_takes_effect, setup),
		cmocka_unit_test_setup(test_tiny_off_and_auto, setup),
		cmocka_unit_test_setup(test_predictor, setup),
		cmocka_unit_test_setup(test_predictor_ipv6, setup),
		cmocka_unit_test_setup(test_counters, setup),
		cmocka_unit_test_setup(test_over_inflate, setup),
		cmocka_unit_test_setup(test_corrupt, setup),
		cmocka_unit_test_setup(test_bit_flips, setup),
		cmocka_unit_test_setup(test_far_matches, setup),
		cmocka_unit_test_setup(test_layout_ratio, setup),
		cmocka_unit_test_setup(test_layout_mismatch, setup),
		cmocka_unit_test_setup(test_layout_bomb, setup),
		cmocka_unit_test_setup(test_layout_across_frames, setup),
		cmocka_unit_test_setup(test_batch_args, setup),
		cmocka_unit_test_setup(test_bench, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
