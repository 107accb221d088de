/* The header layout of compressed frames (zlayout.c): head lengths, exact
 * round trips of any batch, and a peer's tables that do not add up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zlayout.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* An IPv4 or IPv6 packet of len bytes at p (after prefix bytes of 0x01)
 * with protocol proto; TCP gets a data offset of doff words. */
static void pkt(uint8_t *p, size_t prefix, size_t len, int version, uint8_t proto, unsigned doff)
{
	uint8_t *ip = p + prefix;
	size_t ihl = version == 4 ? 20 : 40;

	memset(p, 1, prefix);
	for (size_t i = 0; i < len - prefix; i++)
		ip[i] = (uint8_t)rnd();
	if (version == 4) {
		ip[0] = 0x45;
		ip[6] = 0x40;
		ip[7] = 0;
		ip[9] = proto;
	} else {
		ip[0] = 0x60;
		ip[6] = proto;
	}
	if (proto == 6 && len - prefix >= ihl + 13)
		ip[ihl + 12] = (uint8_t)(doff << 4);
}

static void test_head_len(void **state)
{
	uint8_t p[2000];

	pkt(p, 0, 1400, 4, 6, 8);
	assert_int_equal(zlayout_head_len(p, 1400, 0), 52);
	pkt(p, 10, 1410, 4, 6, 8);
	assert_int_equal(zlayout_head_len(p, 1410, 10), 62);	/* a virtio-net header first */
	pkt(p, 0, 1400, 4, 6, 2);
	assert_int_equal(zlayout_head_len(p, 1400, 0), 40);	/* a data offset below 5 words: 20 */
	pkt(p, 0, 1400, 4, 17, 0);
	assert_int_equal(zlayout_head_len(p, 1400, 0), 28);
	pkt(p, 0, 1400, 4, 1, 0);
	assert_int_equal(zlayout_head_len(p, 1400, 0), 28);
	pkt(p, 0, 1400, 4, 6, 8);
	p[7] = 1;	/* a later fragment: no TCP header in it */
	assert_int_equal(zlayout_head_len(p, 1400, 0), 20);
	pkt(p, 0, 1400, 4, 47, 0);
	assert_int_equal(zlayout_head_len(p, 1400, 0), 20);
	pkt(p, 0, 1400, 4, 6, 15);
	p[0] = 0x4f;	/* 60-byte IP header, 60-byte TCP header */
	p[60 + 12] = 0xf0;
	assert_int_equal(zlayout_head_len(p, 1400, 0), 120);
	pkt(p, 0, 40, 4, 6, 8);
	assert_int_equal(zlayout_head_len(p, 40, 0), 40);	/* never past the packet */
	pkt(p, 0, 1400, 6, 6, 10);
	assert_int_equal(zlayout_head_len(p, 1400, 0), 80);
	pkt(p, 0, 1400, 6, 17, 0);
	assert_int_equal(zlayout_head_len(p, 1400, 0), 48);
	pkt(p, 0, 1400, 6, 58, 0);
	assert_int_equal(zlayout_head_len(p, 1400, 0), 48);
	pkt(p, 0, 30, 6, 6, 5);	/* too short for an IPv6 header */
	assert_int_equal(zlayout_head_len(p, 30, 0), 20);
	memset(p, 0xff, 300);	/* not IP */
	assert_int_equal(zlayout_head_len(p, 300, 0), 20);
	assert_int_equal(zlayout_head_len(p, 300, 250), 255);	/* at most a u8 */
	assert_int_equal(zlayout_head_len(p, 5, 0), 5);
	assert_int_equal(zlayout_head_len(p, 5, 10), 5);
}

/* A batch of count packets of random sizes and kinds in buf; offsets set.
 * Returns its length. */
static size_t batch(uint8_t *buf, uint32_t *offsets, int count, size_t prefix, size_t max_pkt)
{
	size_t len = 0;

	for (int i = 0; i < count; i++) {
		size_t n = 1 + rnd() % max_pkt;
		int kind = (int)(rnd() % 4);

		offsets[i] = (uint32_t)len;
		if (kind == 0 || n < prefix + 60) {
			for (size_t k = 0; k < n; k++)
				buf[len + k] = (uint8_t)rnd();
		} else {
			pkt(buf + len, prefix, n, kind == 1 ? 6 : 4, kind == 3 ? 17 : 6, 8);
		}
		len += n;
	}
	return len;
}

static void test_round_trip(void **state)
{
	static uint8_t buf[64 * 3000], stage[ZLAYOUT_TABLE_MAX + sizeof(buf)];
	uint32_t offsets[ZLAYOUT_PKTS_MAX];

	for (int iter = 0; iter < 2000; iter++) {
		int count = 1 + (int)(rnd() % ZLAYOUT_PKTS_MAX);
		size_t prefix = rnd() % 3 ? 0 : 10, len = batch(buf, offsets, count, prefix, 3000);
		long n = zlayout_pack(buf, len, offsets, count, prefix, stage), m;
		uint8_t *out = malloc(len);	/* exactly: ASan sees any overrun */
		const char *why = NULL;

		assert_non_null(out);
		assert_true(n > 0 && (size_t)n == 1 + 5 * (size_t)count + len);
		m = zlayout_unpack(stage, (size_t)n, out, len, &why);
		if (m < 0)
			print_error("unpack: %s\n", why);
		assert_int_equal(m, len);
		assert_memory_equal(out, buf, len);
		/* One byte less of room: refused, nothing written past it. */
		if (len > 1)
			assert_int_equal(zlayout_unpack(stage, (size_t)n, out, len - 1, &why), -1);
		free(out);
	}
}

/* Headers of one flow side by side, as differences: mostly zeros. */
static void test_heads_become_differences(void **state)
{
	uint8_t buf[3 * 100], stage[ZLAYOUT_TABLE_MAX + sizeof(buf)];
	uint32_t offsets[3] = { 0, 100, 200 };
	size_t zeros = 0;

	for (int i = 0; i < 3; i++) {
		pkt(buf + 100 * i, 0, 100, 4, 6, 8);
		if (i)
			memcpy(buf + 100 * i, buf, 52);	/* the same header ... */
		buf[100 * i + 7 - 3] = (uint8_t)i;	/* ... but for the IP id */
	}
	assert_int_equal(zlayout_pack(buf, sizeof(buf), offsets, 3, 0, stage), 16 + 300);
	assert_memory_equal(stage + 16, buf, 52);	/* the first as it is */
	for (size_t k = 16 + 52; k < 16 + 3 * 52; k++)
		zeros += !stage[k];
	assert_int_equal(zeros, 2 * 52 - 2);
	assert_memory_equal(stage + 16 + 3 * 52, buf + 52, 48);	/* then the bodies */
}

static void test_pack_refuses(void **state)
{
	uint8_t buf[100] = { 0 }, stage[ZLAYOUT_TABLE_MAX + 100];
	uint32_t offsets[ZLAYOUT_PKTS_MAX + 1] = { 0, 50 };

	assert_int_equal(zlayout_pack(buf, 100, offsets, 0, 0, stage), -1);
	assert_int_equal(zlayout_pack(buf, 100, offsets, ZLAYOUT_PKTS_MAX + 1, 0, stage), -1);
	offsets[1] = 100;	/* past the end */
	assert_int_equal(zlayout_pack(buf, 100, offsets, 2, 0, stage), -1);
	offsets[1] = 0;	/* empty */
	assert_int_equal(zlayout_pack(buf, 100, offsets, 2, 0, stage), -1);
	offsets[0] = 1;
	offsets[1] = 50;
	assert_int_equal(zlayout_pack(buf, 100, offsets, 2, 0, stage), -1);
}

static void put_entry(uint8_t *p, uint8_t head, uint32_t len)
{
	p[0] = head;
	p[1] = (uint8_t)(len >> 24);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)len;
}

static void refused(const uint8_t *stage, size_t n, size_t cap, const char *want)
{
	uint8_t *out = malloc(cap ? cap : 1);
	const char *why = "";

	assert_non_null(out);
	assert_int_equal(zlayout_unpack(stage, n, out, cap, &why), -1);
	if (!strstr(why, want))
		print_error("refused for `%s', wanted `%s'\n", why, want);
	assert_non_null(strstr(why, want));
	free(out);
}

static void test_unpack_refuses(void **state)
{
	uint8_t s[1000] = { 0 }, out[200];
	const char *why;

	refused(s, 0, 100, "packet count");
	refused(s, 10, 100, "packet count");	/* count 0 */
	s[0] = ZLAYOUT_PKTS_MAX + 1;
	refused(s, sizeof(s), 1000, "packet count");
	s[0] = 2;
	refused(s, 10, 100, "cut short");
	put_entry(s + 1, 0, 0);
	put_entry(s + 6, 0, 10);
	refused(s, 21, 100, "empty or shorter");
	put_entry(s + 1, 11, 10);
	refused(s, 21, 100, "empty or shorter");
	put_entry(s + 1, 10, 10);
	refused(s, 21, 100, "does not add up");	/* 11 + 20 wanted */
	refused(s, 32, 100, "does not add up");
	put_entry(s + 6, 0, 0xffffffffu);	/* a sum that would wrap */
	refused(s, 21, 100, "past the limit");
	put_entry(s + 6, 0, 91);	/* 101 > 100 */
	refused(s, 11 + 101, 100, "past the limit");
	put_entry(s + 6, 0, 90);	/* exactly the cap */
	assert_int_equal(zlayout_unpack(s, 11 + 100, out, 100, &why), 100);
}

/* Whatever the table says, unpack writes within cap (ASan watches). */
static void test_random_stages(void **state)
{
	uint8_t s[400];

	for (int iter = 0; iter < 100000; iter++) {
		size_t n = rnd() % sizeof(s), cap = 1 + rnd() % 300;
		uint8_t *out = malloc(cap);
		const char *why;
		long m;

		assert_non_null(out);
		for (size_t i = 0; i < n; i++)
			s[i] = (uint8_t)(rnd() % 4 ? rnd() % 8 : rnd());
		if (n)
			s[0] = (uint8_t)(1 + rnd() % 4);
		m = zlayout_unpack(s, n, out, cap, &why);
		assert_true(m == -1 || ((size_t)m <= cap && (size_t)m + 1 + 5 * s[0] == n));
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_len),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_heads_become_differences),
		cmocka_unit_test(test_pack_refuses),
		cmocka_unit_test(test_unpack_refuses),
		cmocka_unit_test(test_random_stages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
