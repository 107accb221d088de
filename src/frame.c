/* The frame codec and the magic line (man/sshtun-protocol.7).  Everything
 * here reads peer bytes: every length is checked before it is used and
 * nothing is allocated. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "fail.h"
#include "frame.h"

static const char *const type_names[] = {
	[FRAME_HELLO] = "hello",
	[FRAME_DATA] = "data",
	[FRAME_PING] = "ping",
	[FRAME_PONG] = "pong",
	[FRAME_ERROR] = "error",
	[FRAME_CONTROL] = "control",
};

static int type_known(uint8_t type)
{
	return type < ARRAY_SIZE(type_names) && type_names[type];
}

const char *frame_type_name(uint8_t type)
{
	return type_known(type) ? type_names[type] : "unknown";
}

long frame_decode(const uint8_t *p, size_t avail, uint32_t max_payload, struct frame *f)
{
	uint8_t type;
	uint32_t len;

	if (avail < FRAME_HDR_LEN)
		return 0;
	type = p[0];
	len = get_u32(p + 2);
	/* Judge the header before the payload arrives: a bad length must not
	 * make us wait for gigabytes. */
	if (type < FRAME_IGNORABLE_MIN && !type_known(type))
		return fail(EXIT_ERROR, "peer sent a frame of unknown type 0x%02x; "
			    "it speaks a protocol this sshtun does not know", type);
#if LONG_MAX < UINT32_MAX + FRAME_HDR_LEN
	/* The return value must be able to hold any frame's span. */
	if (len > LONG_MAX - FRAME_HDR_LEN)
		max_payload = LONG_MAX - FRAME_HDR_LEN;
#endif
	/* A hello is small (man/sshtun-protocol.7): refuse a big one now. */
	if (type == FRAME_HELLO && max_payload > HELLO_MAX)
		max_payload = HELLO_MAX;
	if (len > max_payload)
		return fail(EXIT_ERROR, "peer sent a %u-byte %s frame, over the %u-byte limit",
			    len, frame_type_name(type), max_payload);
	if (avail - FRAME_HDR_LEN < len)
		return 0;
	f->type = type;
	f->flags = p[1];
	f->len = len;
	f->payload = p + FRAME_HDR_LEN;
	return (long)(FRAME_HDR_LEN + (size_t)len);
}

void frame_put_header(uint8_t *dst, uint8_t type, uint8_t flags, uint32_t len)
{
	dst[0] = type;
	dst[1] = flags;
	put_u32(dst + 2, len);
}

static const char magic_prefix[] = "SSHTUN/";
#define MAGIC_PREFIX_LEN (sizeof(magic_prefix) - 1)

/* Returns 0 (and writes nothing) when cap is too small. */
size_t magic_format(char *dst, size_t cap)
{
	int n = snprintf(dst, cap, "%s%d sshtun-%s\n", magic_prefix, PROTO_VERSION, sshtun_version);

	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			dst[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/* Peer text for a message or a log: printable ASCII only, at most cap-1. */
static void sanitize(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t i;

	if (!cap)
		return;
	for (i = 0; i < n && i < cap - 1; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	dst[i] = '\0';
}

static long junk_fail(const uint8_t *p, size_t avail)
{
	const uint8_t *nl = memchr(p, '\n', avail);
	char first[61];

	sanitize(first, sizeof(first), p, nl ? (size_t)(nl - p) : avail);
	return fail(EXIT_REFUSED, "no sshtun helper answered: the server sent %zu bytes that "
		    "are not the sshtun protocol (first line: `%s') — is the remote command right?",
		    avail, first);
}

/* line[0..n) is "SSHTUN/...\n".  Proto: 1-5 decimal digits, no leading
 * zero, 1..65535; then one space and the software text. */
static long magic_parse(const uint8_t *line, size_t n, unsigned *proto, char *software,
			size_t swcap)
{
	size_t i = MAGIC_PREFIX_LEN;
	unsigned v = 0;
	char shown[61];

	if (n > MAGIC_LINE_MAX)
		goto bad;
	for (; i < n && line[i] >= '0' && line[i] <= '9'; i++) {
		if (i - MAGIC_PREFIX_LEN == 5 || (v == 0 && i > MAGIC_PREFIX_LEN))
			goto bad;
		v = v * 10 + (unsigned)(line[i] - '0');
	}
	if (v == 0 || v > 65535 || line[i] != ' ')
		goto bad;
	*proto = v;
	sanitize(software, swcap, line + i + 1, n - i - 2);
	return 0;
bad:
	sanitize(shown, sizeof(shown), line, n - 1);
	return fail(EXIT_REFUSED, "the peer's protocol line `%s' is malformed "
		    "(want SSHTUN/<version> <software>)", shown);
}

long magic_scan(const uint8_t *p, size_t avail, unsigned *proto, char *software, size_t swcap)
{
	size_t start = 0;

	while (start < avail) {
		const uint8_t *line = p + start;
		size_t left = avail - start;
		const uint8_t *nl = memchr(line, '\n', left);
		size_t n = nl ? (size_t)(nl - line) + 1 : left;

		/* A partial line that could still become the magic line is
		 * left for later, unless it is already too long to be one. */
		if (!memcmp(line, magic_prefix, left < MAGIC_PREFIX_LEN ? left : MAGIC_PREFIX_LEN)) {
			if (!nl && left <= MAGIC_LINE_MAX)
				return 0;
			if (magic_parse(line, n, proto, software, swcap) < 0)
				return -1;
			return (long)(start + n);
		}
		if (!nl)
			break;
		start += n;
		if (start > MAGIC_MAX_JUNK)
			return junk_fail(p, avail);
	}
	if (avail > MAGIC_MAX_JUNK)
		return junk_fail(p, avail);
	return 0;
}

int proto_check(unsigned proto, const char *peer, const char *self, char *err, size_t errlen)
{
	if (proto == PROTO_VERSION)
		return 0;
	return errorf(err, errlen,
		      "version mismatch: %s speaks sshtun protocol %u, this %s speaks %u; install matching sshtun versions",
		      peer, proto, self, PROTO_VERSION);
}
