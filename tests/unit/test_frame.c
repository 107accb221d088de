/* Frame codec, magic line and the bounds-checked reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
/* cmocka's fail() and fail_msg() macros collide with fail.h. */
#undef fail
#undef fail_msg

#include "buf.h"
#include "common.h"
#include "fail.h"
#include "frame.h"

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

static int setup(void **state)
{
	fail_clear();
	return 0;
}

/* A frame of len payload bytes, payload[i] = i. */
static uint8_t *make_frame(uint8_t type, uint8_t flags, uint32_t len)
{
	uint8_t *p = malloc(FRAME_HDR_LEN + (size_t)len);

	assert_non_null(p);
	frame_put_header(p, type, flags, len);
	for (uint32_t i = 0; i < len; i++)
		p[FRAME_HDR_LEN + i] = (uint8_t)i;
	return p;
}

static void test_reader(void **state)
{
	static const uint8_t b[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
				     19, 20, 21, 22 };
	struct reader r;
	uint32_t v32;
	uint64_t v64;
	const uint8_t *p;

	reader_init(&r, b, sizeof(b));
	assert_int_equal(reader_bytes(&r, 3, &p), 0);
	assert_ptr_equal(p, b);
	assert_int_equal(reader_u32(&r, &v32), 0);
	assert_int_equal(v32, 0x04050607);
	assert_int_equal(reader_u64(&r, &v64), 0);
	assert_true(v64 == 0x08090a0b0c0d0e0fULL);
	/* 7 left: every short read fails and leaves the reader where it was. */
	assert_int_equal(reader_u64(&r, &v64), -1);
	assert_int_equal(reader_bytes(&r, 8, &p), -1);
	assert_int_equal(reader_bytes(&r, SIZE_MAX, &p), -1);
	assert_int_equal(r.len - r.off, 7);
	assert_int_equal(reader_bytes(&r, 3, &p), 0);
	assert_ptr_equal(p, b + 15);
	assert_int_equal(reader_u32(&r, &v32), 0);
	assert_int_equal(v32, 0x13141516);
	assert_int_equal(r.len - r.off, 0);
	assert_int_equal(reader_bytes(&r, 1, &p), -1);
	assert_int_equal(reader_u32(&r, &v32), -1);
	assert_int_equal(reader_u64(&r, &v64), -1);
	assert_int_equal(reader_bytes(&r, 0, &p), 0);
	assert_int_equal(r.len - r.off, 0);
}

static void test_put_get(void **state)
{
	uint8_t b[8];

	memcpy(b, "\xa1\xb2", 2);
	assert_int_equal(get_u16(b), 0xa1b2);
	put_u32(b, 0xdeadbeef);
	assert_memory_equal(b, "\xde\xad\xbe\xef", 4);
	assert_true(get_u32(b) == 0xdeadbeef);
	put_u64(b, 0x0102030405060708ULL);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(get_u64(b) == 0x0102030405060708ULL);
	put_u64(b, UINT64_MAX);
	assert_true(get_u64(b) == UINT64_MAX);
}

static void check_size(uint32_t len)
{
	uint8_t *p = make_frame(FRAME_DATA, FRAME_F_COMPRESSED, len);
	struct frame f;

	assert_int_equal(frame_decode(p, FRAME_HDR_LEN + (size_t)len, FRAME_MAX_PAYLOAD, &f),
			 FRAME_HDR_LEN + (long)len);
	assert_int_equal(f.type, FRAME_DATA);
	assert_int_equal(f.flags, FRAME_F_COMPRESSED);
	assert_int_equal(f.len, len);
	assert_ptr_equal(f.payload, p + FRAME_HDR_LEN);
	assert_int_equal(fail_code(), 0);
	free(p);
}

static void test_sizes(void **state)
{
	check_size(0);
	check_size(1);
	check_size(FRAME_MAX_PAYLOAD);
}

static void test_too_big(void **state)
{
	uint8_t h[FRAME_HDR_LEN];
	struct frame f;

	frame_put_header(h, FRAME_DATA, 0, FRAME_MAX_PAYLOAD + 1);
	/* Refused from the header alone, before the payload arrives. */
	assert_int_equal(frame_decode(h, sizeof(h), FRAME_MAX_PAYLOAD, &f), -1);
	assert_int_equal(fail_code(), EXIT_ERROR);
	assert_string_equal(fail_msg(), "peer sent a 66560-byte data frame, over the 66559-byte limit");
	fail_clear();
	frame_put_header(h, FRAME_HELLO, 0, HELLO_MAX + 1);
	assert_int_equal(frame_decode(h, sizeof(h), HELLO_MAX, &f), -1);
	assert_contains(fail_msg(), "4097-byte hello frame, over the 4096-byte limit");
	fail_clear();
	/* Whatever limit the caller gives for frames in general. */
	assert_int_equal(frame_decode(h, sizeof(h), FRAME_MAX_PAYLOAD, &f), -1);
	assert_contains(fail_msg(), "4097-byte hello frame, over the 4096-byte limit");
	fail_clear();
	frame_put_header(h, FRAME_HELLO, 0, HELLO_MAX);
	assert_int_equal(frame_decode(h, sizeof(h), FRAME_MAX_PAYLOAD, &f), 0);
	assert_int_equal(fail_code(), 0);
	frame_put_header(h, FRAME_PING, 0, UINT32_MAX);
	assert_int_equal(frame_decode(h, sizeof(h), FRAME_MAX_PAYLOAD, &f), -1);
	assert_contains(fail_msg(), "4294967295-byte ping frame");
}

/* Every prefix of a frame is "need more"; the whole of it is one frame. */
static void check_split(uint32_t len)
{
	uint8_t *p = make_frame(FRAME_PING, 0, len);
	size_t n = FRAME_HDR_LEN + (size_t)len;
	struct frame f;

	for (size_t k = 0; k < n; k++)
		assert_int_equal(frame_decode(p, k, FRAME_MAX_PAYLOAD, &f), 0);
	assert_int_equal(frame_decode(p, n, FRAME_MAX_PAYLOAD, &f), (long)n);
	assert_int_equal(f.len, len);
	assert_int_equal(fail_code(), 0);
	free(p);
}

static void test_split(void **state)
{
	check_split(0);
	check_split(1);
	check_split(37);
	check_split(FRAME_MAX_PAYLOAD);
}

static void test_back_to_back(void **state)
{
	static const uint32_t lens[] = { 5, 0, 1400, 1, 0x90 };
	static const uint8_t types[] = { FRAME_HELLO, FRAME_PING, FRAME_DATA, FRAME_ERROR, 0xc3 };
	uint8_t stream[4096];
	size_t total = 0, off = 0;
	struct frame f;

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		frame_put_header(stream + total, types[i], (uint8_t)i, lens[i]);
		memset(stream + total + FRAME_HDR_LEN, (int)i, lens[i]);
		total += FRAME_HDR_LEN + lens[i];
	}
	/* One trailing partial header. */
	stream[total++] = FRAME_DATA;
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		long n = frame_decode(stream + off, total - off, FRAME_MAX_PAYLOAD, &f);

		assert_int_equal(n, FRAME_HDR_LEN + (long)lens[i]);
		assert_int_equal(f.type, types[i]);
		assert_int_equal(f.flags, i);
		assert_int_equal(f.len, lens[i]);
		for (uint32_t j = 0; j < f.len; j++)
			assert_int_equal(f.payload[j], i);
		off += (size_t)n;
	}
	assert_int_equal(frame_decode(stream + off, total - off, FRAME_MAX_PAYLOAD, &f), 0);
	assert_int_equal(total - off, 1);
}

static void test_unknown_types(void **state)
{
	static const uint8_t bad[] = { 0x00, 0x07, 0x42, 0x7f };
	static const uint8_t ok[] = { 0x80, 0x9a, 0xff };
	uint8_t h[FRAME_HDR_LEN + 3];
	struct frame f;
	char hex[8];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fail_clear();
		frame_put_header(h, bad[i], 0, 3);
		assert_int_equal(frame_decode(h, FRAME_HDR_LEN, FRAME_MAX_PAYLOAD, &f), -1);
		assert_int_equal(fail_code(), EXIT_ERROR);
		snprintf(hex, sizeof(hex), "0x%02x", bad[i]);
		assert_contains(fail_msg(), hex);
	}
	fail_clear();
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		frame_put_header(h, ok[i], 0x80, 3);
		assert_int_equal(frame_decode(h, FRAME_HDR_LEN + 2, FRAME_MAX_PAYLOAD, &f), 0);
		assert_int_equal(frame_decode(h, sizeof(h), FRAME_MAX_PAYLOAD, &f), sizeof(h));
		assert_int_equal(f.type, ok[i]);
		assert_int_equal(f.flags, 0x80);
	}
	assert_int_equal(fail_code(), 0);
	assert_string_equal(frame_type_name(FRAME_HELLO), "hello");
	assert_string_equal(frame_type_name(FRAME_DATA), "data");
	assert_string_equal(frame_type_name(FRAME_PING), "ping");
	assert_string_equal(frame_type_name(FRAME_PONG), "pong");
	assert_string_equal(frame_type_name(FRAME_ERROR), "error");
	assert_string_equal(frame_type_name(FRAME_CONTROL), "control");
	assert_string_equal(frame_type_name(0), "unknown");
	assert_string_equal(frame_type_name(0x90), "unknown");
}

/* --- magic line --- */

static long scan(const char *s, size_t n, unsigned *proto, char *sw, size_t swcap)
{
	return magic_scan((const uint8_t *)s, n, proto, sw, swcap);
}

static void test_magic_round_trip(void **state)
{
	char line[MAGIC_LINE_MAX], sw[64], want[16];
	unsigned proto = 0;
	size_t n = magic_format(line, sizeof(line));

	/* The version string is the build's (git describe), so only its
	 * shape is checked. */
	assert_true(n > 0);
	assert_int_equal(n, strlen(line));
	snprintf(want, sizeof(want), "SSHTUN/%d ", PROTO_VERSION);
	assert_true(strncmp(line, want, strlen(want)) == 0);
	assert_true(strncmp(line + strlen(want), "sshtun-", 7) == 0);
	assert_int_equal(line[n - 1], '\n');
	assert_int_equal(scan(line, n, &proto, sw, sizeof(sw)), (long)n);
	assert_int_equal(proto, PROTO_VERSION);
	assert_memory_equal(sw, line + strlen(want), n - strlen(want) - 1);
	assert_int_equal(strlen(sw), n - strlen(want) - 1);
	/* Every prefix: not judged yet. */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(scan(line, k, &proto, sw, sizeof(sw)), 0);
	assert_int_equal(fail_code(), 0);
	/* Too small a buffer: 0, not a cut line. */
	assert_int_equal(magic_format(line, 5), 0);
	assert_string_equal(line, "");
}

static void test_magic_after_junk(void **state)
{
	static const char s[] = "Welcome to host\r\n\nLast login: \x01\xff\n"
		"SSHTUN is great\n SSHTUN/1 x\nSSHTUN/1 sshtun-9.9\n\x01\x00\x00\x00\x00\x05hello";
	size_t magic_end = strstr(s, "9.9\n") + 4 - s;
	unsigned proto = 0;
	char sw[64];

	assert_int_equal(scan(s, sizeof(s) - 1, &proto, sw, sizeof(sw)), (long)magic_end);
	assert_int_equal(proto, 1);
	assert_string_equal(sw, "sshtun-9.9");
	for (size_t k = 0; k < magic_end; k++)
		assert_int_equal(scan(s, k, &proto, sw, sizeof(sw)), 0);
	assert_int_equal(fail_code(), 0);
}

static void test_magic_junk_limit(void **state)
{
	size_t n = MAGIC_MAX_JUNK + 64;
	char *s = malloc(n);
	const char *magic = "SSHTUN/1 s\n";
	unsigned proto;
	char sw[64];

	assert_non_null(s);
	/* Exactly MAGIC_MAX_JUNK bytes of junk lines, then the magic line. */
	memset(s, 'j', MAGIC_MAX_JUNK);
	for (size_t i = 99; i < MAGIC_MAX_JUNK; i += 100)
		s[i] = '\n';
	s[MAGIC_MAX_JUNK - 1] = '\n';
	memcpy(s + MAGIC_MAX_JUNK, magic, strlen(magic));
	assert_int_equal(scan(s, MAGIC_MAX_JUNK + strlen(magic), &proto, sw, sizeof(sw)),
			 MAGIC_MAX_JUNK + (long)strlen(magic));
	assert_int_equal(fail_code(), 0);

	/* One byte more of junk: refused, with the first line shown. */
	memset(s, 'j', n);
	for (size_t i = 99; i < MAGIC_MAX_JUNK; i += 100)
		s[i] = '\n';
	memcpy(s, "Hello \x1b[1mthere\t", 16);
	s[MAGIC_MAX_JUNK] = '\n';
	memcpy(s + MAGIC_MAX_JUNK + 1, magic, strlen(magic));
	assert_int_equal(scan(s, MAGIC_MAX_JUNK + 1 + strlen(magic), &proto, sw, sizeof(sw)), -1);
	assert_int_equal(fail_code(), EXIT_REFUSED);
	assert_contains(fail_msg(), "no sshtun helper answered");
	assert_contains(fail_msg(), "(first line: `Hello ?[1mthere?jjjjjjjjjjjj");
	assert_contains(fail_msg(), "is the remote command right?");
	fail_clear();

	/* A partial junk line: waits until it passes the limit... */
	memset(s, 'x', n);
	assert_int_equal(scan(s, MAGIC_MAX_JUNK, &proto, sw, sizeof(sw)), 0);
	assert_int_equal(fail_code(), 0);
	/* ...then refuses; the first line is cut at 60 characters. */
	assert_int_equal(scan(s, MAGIC_MAX_JUNK + 1, &proto, sw, sizeof(sw)), -1);
	assert_contains(fail_msg(), "the server sent 65537 bytes");
	assert_contains(fail_msg(), "`xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')");
	assert_true(strstr(fail_msg(), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") == NULL);
	free(s);
}

static void test_magic_partial(void **state)
{
	char sw[64], big[MAGIC_LINE_MAX + 8];
	unsigned proto;

	assert_int_equal(scan("", 0, &proto, sw, sizeof(sw)), 0);
	assert_int_equal(scan("S", 1, &proto, sw, sizeof(sw)), 0);
	assert_int_equal(scan("junk\nSSH", 8, &proto, sw, sizeof(sw)), 0);
	assert_int_equal(scan("SSHTUN/1 sshtun", 15, &proto, sw, sizeof(sw)), 0);
	assert_int_equal(fail_code(), 0);
	/* A started magic line longer than the limit is malformed. */
	memcpy(big, "SSHTUN/1 ", 9);
	memset(big + 9, 'a', sizeof(big) - 9);
	assert_int_equal(scan(big, MAGIC_LINE_MAX, &proto, sw, sizeof(sw)), 0);
	assert_int_equal(scan(big, MAGIC_LINE_MAX + 1, &proto, sw, sizeof(sw)), -1);
	assert_int_equal(fail_code(), EXIT_REFUSED);
	assert_contains(fail_msg(), "`SSHTUN/1 aaaa");
	fail_clear();
	/* A complete line of MAGIC_LINE_MAX bytes is fine; one more is not. */
	big[MAGIC_LINE_MAX - 1] = '\n';
	assert_int_equal(scan(big, MAGIC_LINE_MAX, &proto, sw, sizeof(sw)), MAGIC_LINE_MAX);
	big[MAGIC_LINE_MAX - 1] = 'a';
	big[MAGIC_LINE_MAX] = '\n';
	assert_int_equal(scan(big, MAGIC_LINE_MAX + 1, &proto, sw, sizeof(sw)), -1);
}

static void test_magic_bad(void **state)
{
	static const char *const bad[] = {
		"SSHTUN/\n", "SSHTUN/x sshtun\n", "SSHTUN/0 sshtun\n", "SSHTUN/01 sshtun\n",
		"SSHTUN/65536 sshtun\n", "SSHTUN/123456 sshtun\n", "SSHTUN/99999999999999999999 a\n",
		"SSHTUN/1\n", "SSHTUN/1\tsshtun\n", "SSHTUN/-1 sshtun\n", "SSHTUN/+1 sshtun\n",
		"SSHTUN/1x sshtun\n", "junk\nSSHTUN/ 1 sshtun\n",
	};
	unsigned proto;
	char sw[64];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fail_clear();
		assert_int_equal(scan(bad[i], strlen(bad[i]), &proto, sw, sizeof(sw)), -1);
		assert_int_equal(fail_code(), EXIT_REFUSED);
		assert_contains(fail_msg(), "malformed");
		assert_contains(fail_msg(), "`SSHTUN/");
	}
}

static void test_magic_versions(void **state)
{
	unsigned proto = 0;
	char sw[8];

	/* Another protocol version parses: the caller reports the mismatch. */
	assert_int_equal(scan("SSHTUN/65535 future-sshtun 2.0\n", 31, &proto, sw, sizeof(sw)), 31);
	assert_int_equal(proto, 65535);
	assert_string_equal(sw, "future-");	/* cut to the buffer */
	assert_int_equal(scan("SSHTUN/2 a\x01\xc3\xa9\r\n", 15, &proto, sw, sizeof(sw)), 15);
	assert_int_equal(proto, 2);
	assert_string_equal(sw, "a????");
	assert_int_equal(scan("SSHTUN/1 \n", 10, &proto, sw, sizeof(sw)), 10);
	assert_string_equal(sw, "");
	assert_int_equal(fail_code(), 0);
}

/* The one version check, both sides, magic line and hello alike. */
static void test_proto_check(void **state)
{
	char err[256] = "";

	assert_int_equal(proto_check(PROTO_VERSION, "the client", "server", err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(proto_check(2, "the server's hello", "client", err, sizeof(err)), -1);
	assert_string_equal(err, "version mismatch: the server's hello speaks sshtun protocol 2, this client "
				 "speaks 1; install matching sshtun versions");
	assert_int_equal(fail_code(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reader, setup),
		cmocka_unit_test_setup(test_put_get, setup),
		cmocka_unit_test_setup(test_sizes, setup),
		cmocka_unit_test_setup(test_too_big, setup),
		cmocka_unit_test_setup(test_split, setup),
		cmocka_unit_test_setup(test_back_to_back, setup),
		cmocka_unit_test_setup(test_unknown_types, setup),
		cmocka_unit_test_setup(test_magic_round_trip, setup),
		cmocka_unit_test_setup(test_magic_after_junk, setup),
		cmocka_unit_test_setup(test_magic_junk_limit, setup),
		cmocka_unit_test_setup(test_magic_partial, setup),
		cmocka_unit_test_setup(test_magic_bad, setup),
		cmocka_unit_test_setup(test_magic_versions, setup),
		cmocka_unit_test_setup(test_proto_check, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
