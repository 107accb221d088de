/* The frame codec on arbitrary bytes: magic_scan() skips to the magic line,
 * then frame_decode() walks the frames after it, as tunnel.c does with what
 * the peer sends.  Besides memory errors, checks what the callers rely on:
 * spans stay inside the input, a result never changes as more bytes arrive
 * (the stream is cut anywhere), every -1 comes with a fail() message, and
 * the header re-encodes to the bytes it came from. */
#include <string.h>

#include "buf.h"
#include "common.h"
#include "fail.h"
#include "frame.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void check_software(const char *sw, size_t cap)
{
	size_t n = strnlen(sw, cap);

	CHECK(n < cap);
	for (size_t i = 0; i < n; i++)
		CHECK(sw[i] >= 0x20 && sw[i] < 0x7f);
}

/* A prefix of the input may say "need more" or what the whole says, never
 * something else: the peer's bytes arrive in pieces of any size. */
static void check_magic_prefix(const uint8_t *data, size_t k, long whole)
{
	unsigned proto = 0;
	char sw[64];
	long r;

	fail_clear();
	r = magic_scan(data, k, &proto, sw, sizeof(sw));
	if (r < 0)
		CHECK(fail_code() != 0 && fail_msg()[0]);
	if (whole > 0 && (size_t)whole <= k)
		CHECK(r == whole);
	else if (whole >= 0)
		CHECK(r == 0);
}

static long scan_magic(const uint8_t *data, size_t size)
{
	unsigned proto = 0;
	char sw[64];
	long used;

	fail_clear();
	used = magic_scan(data, size, &proto, sw, sizeof(sw));
	CHECK(used <= (long)size);
	if (used < 0) {
		CHECK(fail_code() != 0 && fail_msg()[0]);
		return used;
	}
	if (used > 0) {
		CHECK(proto >= 1 && proto <= 65535);
		CHECK(data[used - 1] == '\n');
		CHECK(used <= MAGIC_MAX_JUNK + MAGIC_LINE_MAX);
		check_software(sw, sizeof(sw));
		/* A tiny buffer for the software text truncates, nothing more. */
		char tiny[4];

		CHECK(magic_scan(data, size, &proto, tiny, sizeof(tiny)) == used);
		check_software(tiny, sizeof(tiny));
	}
	/* Every prefix for short inputs; a few for long ones. */
	if (size <= 300) {
		for (size_t k = 0; k < size; k++)
			check_magic_prefix(data, k, used);
	} else {
		check_magic_prefix(data, size / 2, used);
		check_magic_prefix(data, size - 1, used);
		if (used > 0) {
			check_magic_prefix(data, (size_t)used - 1, used);
			check_magic_prefix(data, (size_t)used, used);
		}
	}
	return used;
}

static void walk_frames(const uint8_t *p, size_t avail)
{
	static const uint32_t limits[] = { FRAME_MAX_PAYLOAD, HELLO_MAX, 0 };

	while (avail) {
		struct frame f;
		uint8_t hdr[FRAME_HDR_LEN];
		long n;

		fail_clear();
		n = frame_decode(p, avail, FRAME_MAX_PAYLOAD, &f);
		if (n < 0) {
			CHECK(avail >= FRAME_HDR_LEN);
			CHECK(fail_code() != 0 && fail_msg()[0]);
			return;
		}
		if (n == 0) {
			/* Only when the header or the payload is incomplete. */
			CHECK(avail < FRAME_HDR_LEN || get_u32(p + 2) > avail - FRAME_HDR_LEN);
			return;
		}
		CHECK((size_t)n <= avail);
		CHECK((size_t)n == FRAME_HDR_LEN + (size_t)f.len);
		CHECK(f.len <= FRAME_MAX_PAYLOAD);
		CHECK(f.type != FRAME_HELLO || f.len <= HELLO_MAX);
		CHECK(f.payload == p + FRAME_HDR_LEN);
		CHECK(f.type == p[0] && f.flags == p[1]);
		CHECK(f.type >= FRAME_IGNORABLE_MIN || strcmp(frame_type_name(f.type), "unknown"));
		frame_put_header(hdr, f.type, f.flags, f.len);
		CHECK(!memcmp(hdr, p, FRAME_HDR_LEN));
		/* One byte short: need more, whatever the frame. */
		CHECK(frame_decode(p, (size_t)n - 1, FRAME_MAX_PAYLOAD, &f) == 0);
		/* A smaller limit refuses exactly the longer frames. */
		for (size_t i = 1; i < ARRAY_SIZE(limits); i++) {
			long r;

			fail_clear();
			r = frame_decode(p, avail, limits[i], &f);
			CHECK(f.len > limits[i] ? r < 0 : r == n);
		}
		p += n;
		avail -= (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long used = scan_magic(data, size);

	/* Frames after the magic line, or the whole input read as frames
	 * (which reaches the codec without a valid magic line first). */
	if (used > 0)
		walk_frames(data + used, size - (size_t)used);
	else
		walk_frames(data, size);
	fail_clear();
	return 0;
}
