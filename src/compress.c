/* Compression of DATA frames (compress.h).
 *
 * Why DEFLATE_SLACK beyond what goes in is always enough room (the caller's
 * COMPRESS_SLACK adds the header layout's table): zlib ends a block when its
 * symbol buffer fills (16383 symbols at memLevel 8, each covering at least
 * one byte) or at a flush, and emits each block in the cheapest of dynamic,
 * fixed or stored form.  A stored block costs its bytes + 5 (3 header bits,
 * alignment, LEN/NLEN), so a block never costs more than that -- provided
 * stored form is possible, which needs the block's bytes still in the
 * window.  They are unless the window slides while the block is open, and a
 * block started at least 32506 bytes before that slide (block_start goes
 * negative in deflate.c).  Every packet starts a block (the previous one
 * ended with a flush); packets longer than CHUNK are fed in pieces ended
 * with Z_BLOCK, so no block spans more than CHUNK < 32506 bytes.  Hence at
 * most two blocks per piece, three pieces for MTU_MAX: at most five blocks,
 * 25 bytes, plus 5 for the empty stored block of Z_SYNC_FLUSH and one byte
 * of leftover bits = len + 31 (random 65535-byte packets measure +30); five
 * pieces (COMPRESS_IN_MAX and the layout's table) at most len + 56, within
 * DEFLATE_SLACK.
 * Without the pieces, a block past the slide could only be bounded by its
 * fixed-code cost, which at levels 1-3 (3-byte matches far back: 25 bits
 * for 24) is some 2 KB over the bytes for a crafted jumbo packet; zlib's
 * dynamic codes stay far below that in practice, but a crafted packet must
 * not be able to end the session.  The room is checked anyway: if it ever
 * ran out, the stream is declared lost, never overrun. */
#define ZLIB_CONST
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common.h"
#include "compress.h"
#include "fail.h"

#define WINDOW_BITS	(-15)	/* raw deflate: no header, no checksum (ssh has a MAC) */
#define MEM_LEVEL	8
#define CHUNK		32000	/* bytes per block at most, see above */
#define DEFLATE_SLACK	64	/* deflate's output beyond its input, see above */
#define STAGE_MAX	(COMPRESS_TABLE_MAX + COMPRESS_IN_MAX)	/* a frame in the layout */

/* The flow table: which flows have lately not compressed.  Fixed size, no
 * allocation per packet; a flow that lands on a slot held by another takes
 * it over and starts from scratch (optimistic: compress). */
#define FLOWS		256
#define RATIO_ONE	4096	/* fixed point 1.0 */
#define RATIO_SKIP	(RATIO_ONE * 9 / 10)	/* worse than this: skip the flow */
#define RATIO_MAX	(2 * RATIO_ONE)

struct flow {
	uint32_t tag;		/* the flow's full hash */
	uint16_t ratio;		/* moving average of out/in over its compressed packets */
	uint8_t known;		/* ratio holds a measurement */
	uint8_t skipped;	/* packets skipped since the last probe */
};

struct compressor {
	z_stream z;
	int mode;
	int level;		/* the level the stream runs at */
	int want;		/* the level the next frame runs at */
	bool broken;
	uint8_t *stage;		/* the header layout's input; NULL: layout off */
	struct compress_stats st;
	struct flow flows[FLOWS];
};

struct decompressor {
	z_stream z;
	bool broken;
	uint8_t *stage;		/* inflated in the header layout; NULL: layout off */
	struct compress_stats st;
};

static bool valid_mode(int mode)
{
	return mode == COMPRESS_OFF || mode == COMPRESS_AUTO || (mode >= 1 && mode <= 9);
}

bool compress_mode_ok(const char *s, int *mode)
{
	int m;

	if (!s)
		return false;
	if (strcmp(s, "off") == 0)
		m = COMPRESS_OFF;
	else if (strcmp(s, "auto") == 0)
		m = COMPRESS_AUTO;
	else if (s[0] >= '1' && s[0] <= '9' && s[1] == '\0')
		m = s[0] - '0';
	else
		return false;
	if (mode)
		*mode = m;
	return true;
}

int compress_mode_parse(const char *s, int *mode)
{
	if (!compress_mode_ok(s, mode))
		return fail(EXIT_USAGE, "bad compression mode `%s' (%s)", s ? s : "", COMPRESS_MODES);
	return 0;
}

const char *compress_mode_str(int mode, char *buf, size_t cap)
{
	if (!cap)
		return "";
	if (mode == COMPRESS_OFF)
		snprintf(buf, cap, "off");
	else if (mode == COMPRESS_AUTO)
		snprintf(buf, cap, "auto");
	else
		snprintf(buf, cap, "%d", mode);
	return buf;
}

/* --- the flow predictor --- */

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;
}

/* IP version, addresses, protocol and ports where the protocol has them at
 * the start of its header.  Reads only inside pkt[0..len). */
static uint32_t flow_hash(const uint8_t *p, size_t len)
{
	uint8_t version = p[0] >> 4, proto = 0;
	const uint8_t *ports = NULL;
	uint32_t h = fnv(2166136261u, &version, 1);

	if (version == 4 && len >= 20) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		bool first_fragment = ((p[6] & 0x1f) | p[7]) == 0;

		proto = p[9];
		h = fnv(h, p + 12, 8);
		if (ihl >= 20 && len >= ihl + 4 && first_fragment)
			ports = p + ihl;
	} else if (version == 6 && len >= 40) {
		proto = p[6];	/* extension headers hide the ports: fine */
		h = fnv(h, p + 8, 32);
		if (len >= 44)
			ports = p + 40;
	}
	h = fnv(h, &proto, 1);
	if (ports && has_ports(proto))
		h = fnv(h, ports, 4);
	h ^= h >> 16;	/* FNV's low bits are weak; the slot comes from them */
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

static struct flow *flow_of(struct compressor *c, const uint8_t *pkt, size_t len)
{
	uint32_t h = flow_hash(pkt, len);
	struct flow *f = &c->flows[h % FLOWS];

	if (f->tag != h)
		*f = (struct flow){ .tag = h };
	return f;
}

static void flow_learn(struct compressor *c, const uint8_t *pkt, size_t len, size_t out)
{
	struct flow *f = flow_of(c, pkt, len);
	uint64_t sample = (uint64_t)out * RATIO_ONE / len;

	if (sample > RATIO_MAX)
		sample = RATIO_MAX;
	if (!f->known)
		f->ratio = (uint16_t)sample;
	else	/* weight 1/4: one good probe brings a skipped flow back */
		f->ratio = (uint16_t)(f->ratio + ((int32_t)sample - (int32_t)f->ratio) / 4);
	f->known = 1;
}

/* --- the compressor --- */

static int level_of(int mode, int current)
{
	if (mode == COMPRESS_AUTO)
		return COMPRESS_AUTO_LEVEL;
	return mode == COMPRESS_OFF ? current : mode;
}

struct compressor *compressor_new(int mode)
{
	struct compressor *c;

	if (!valid_mode(mode)) {
		fail(EXIT_ERROR, "bad compression mode %d", mode);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		fail(EXIT_ERROR, "out of memory for the compressor");
		return NULL;
	}
	c->mode = mode;
	c->level = c->want = level_of(mode, COMPRESS_AUTO_LEVEL);
	if (deflateInit2(&c->z, c->level, Z_DEFLATED, WINDOW_BITS, MEM_LEVEL,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(c);
		fail(EXIT_ERROR, "out of memory for the compressor");
		return NULL;
	}
	return c;
}

void compressor_free(struct compressor *c)
{
	if (!c)
		return;
	deflateEnd(&c->z);
	free(c->stage);
	free(c);
}

/* A stage for the header layout: our own fixed size, never the peer's. */
static int set_stage(uint8_t **stage, bool on)
{
	if (!on) {
		free(*stage);
		*stage = NULL;
	} else if (!*stage && !(*stage = malloc(STAGE_MAX))) {
		return fail(EXIT_ERROR, "out of memory for the header layout");
	}
	return 0;
}

int compressor_set_layout(struct compressor *c, bool hdr)
{
	return set_stage(&c->stage, hdr);
}

int compressor_set_mode(struct compressor *c, int mode)
{
	if (!valid_mode(mode))
		return fail(EXIT_ERROR, "bad compression mode %d", mode);
	c->mode = mode;
	c->want = level_of(mode, c->want);
	return 0;
}

int compressor_mode(const struct compressor *c)
{
	return c->mode;
}

static bool decide(struct compressor *c, const uint8_t *pkt, size_t len, bool congested)
{
	struct flow *f;

	if (c->broken || c->mode == COMPRESS_OFF || len < COMPRESS_MIN_LEN || len > MTU_MAX)
		return false;
	if (c->mode == COMPRESS_AUTO && !congested)
		return false;	/* the CPU is the limit: every cycle saved counts */
	f = flow_of(c, pkt, len);
	if (!f->known || f->ratio <= RATIO_SKIP)
		return true;
	if (++f->skipped < COMPRESS_PROBE_EVERY)
		return false;
	f->skipped = 0;
	return true;
}

bool compressor_should(struct compressor *c, const uint8_t *pkt, size_t len, bool congested)
{
	bool yes = decide(c, pkt, len, congested);

	if (!yes)
		c->st.frames_skipped++;
	return yes;
}

/* The stream state no longer matches what the peer has seen. */
static long lost(struct compressor *c, const char *what, int rc)
{
	c->broken = true;
	return fail(EXIT_ERROR, "compression stream lost: %s (zlib %d%s%s)", what, rc,
		    c->z.msg ? ": " : "", c->z.msg ? c->z.msg : "");
}

/* Deflates in[0..len) (at most STAGE_MAX) as one frame into out, which
 * has room for len + DEFLATE_SLACK. */
static long deflate_frame(struct compressor *c, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t room = len + DEFLATE_SLACK, done = 0;
	int rc;

	c->z.next_in = in;
	c->z.avail_in = 0;
	c->z.next_out = out;
	c->z.avail_out = (uInt)room;
	if (c->want != c->level) {
		/* The last frame ended with a flush, so nothing is pending and
		 * the new level applies from this frame on. */
		rc = deflateParams(&c->z, c->want, Z_DEFAULT_STRATEGY);
		if (rc != Z_OK)
			return lost(c, "changing the level", rc);
		c->level = c->want;
	}
	do {
		size_t n = len - done < CHUNK ? len - done : CHUNK;

		c->z.next_in = in + done;
		c->z.avail_in = (uInt)n;
		done += n;
		rc = deflate(&c->z, done == len ? Z_SYNC_FLUSH : Z_BLOCK);
		if (rc != Z_OK || c->z.avail_in)
			return lost(c, "deflate failed", rc);
		/* Full output may hide more: it cannot happen (see the top). */
		if (!c->z.avail_out)
			return lost(c, "output outgrew its bound", rc);
	} while (done < len);
	return (long)(room - c->z.avail_out);
}

/* The caller's own mistakes, caught before the stream is touched. */
static int check_batch(const struct compressor *c, size_t len, const uint32_t *offsets, int count,
		       size_t cap)
{
	if (c->broken)
		return fail(EXIT_ERROR, "compression stream lost after an earlier error");
	if (len == 0 || len > COMPRESS_IN_MAX)
		return fail(EXIT_ERROR, "cannot compress a %zu-byte batch (1..%d)", len, COMPRESS_IN_MAX);
	if (count < 1 || count > COMPRESS_BATCH_MAX)
		return fail(EXIT_ERROR, "cannot compress a batch of %d packets (1..%d)", count,
			    COMPRESS_BATCH_MAX);
	if (cap < len + COMPRESS_SLACK)
		return fail(EXIT_ERROR, "compressing a %zu-byte batch needs %zu bytes of room, not %zu",
			    len, len + COMPRESS_SLACK, cap);
	for (int i = 0; i < count; i++) {
		size_t start = offsets[i], end = i + 1 < count ? offsets[i + 1] : len;

		if ((i == 0 && start != 0) || end <= start || end > len)
			return fail(EXIT_ERROR, "packet %d of a %zu-byte batch at bad offset %zu", i, len,
				    start);
	}
	return 0;
}

long compressor_run_batch(struct compressor *c, const uint8_t *buf, size_t len,
			  const uint32_t *offsets, int count, size_t prefix, uint8_t *out,
			  size_t cap)
{
	long n;

	if (check_batch(c, len, offsets, count, cap) < 0)
		return -1;
	if (c->stage) {
		long staged = zlayout_pack(buf, len, offsets, count, prefix, c->stage);

		if (staged < 0)	/* check_batch vouched for the offsets */
			return fail(EXIT_ERROR, "cannot lay out a %zu-byte batch (internal error)", len);
		n = deflate_frame(c, c->stage, (size_t)staged, out);
	} else {
		n = deflate_frame(c, buf, len, out);
	}
	if (n < 0)
		return -1;
	c->st.in_bytes += len;
	c->st.out_bytes += (uint64_t)n;
	c->st.frames_compressed++;
	/* Per-packet sizes are not known inside one deflate run: each flow
	 * in the batch is credited with the batch's ratio. */
	for (int i = 0; i < count; i++) {
		size_t end = i + 1 < count ? offsets[i + 1] : len;
		size_t plen = end - offsets[i];

		if (plen > prefix)
			flow_learn(c, buf + offsets[i] + prefix, plen - prefix,
				   (size_t)((uint64_t)plen * (uint64_t)n / len));
	}
	return n;
}

void compressor_stats(const struct compressor *c, struct compress_stats *st)
{
	*st = c->st;
}

/* --- the decompressor --- */

struct decompressor *decompressor_new(void)
{
	struct decompressor *d = calloc(1, sizeof(*d));

	if (!d) {
		fail(EXIT_ERROR, "out of memory for the decompressor");
		return NULL;
	}
	if (inflateInit2(&d->z, WINDOW_BITS) != Z_OK) {
		free(d);
		fail(EXIT_ERROR, "out of memory for the decompressor");
		return NULL;
	}
	return d;
}

void decompressor_free(struct decompressor *d)
{
	if (!d)
		return;
	inflateEnd(&d->z);
	free(d->stage);
	free(d);
}

int decompressor_set_layout(struct decompressor *d, bool hdr)
{
	return set_stage(&d->stage, hdr);
}

static long corrupt(struct decompressor *d, const char *why)
{
	d->broken = true;
	return fail(EXIT_ERROR, "corrupt compressed frame: %s", why);
}

/* Inflates one frame into out[0..cap): the bytes that came out, or -1. */
static long inflate_frame(struct decompressor *d, const uint8_t *in, size_t len, uint8_t *out,
			  size_t cap)
{
	size_t n;
	int rc, where;

	d->z.next_in = in;
	d->z.avail_in = (uInt)len;
	d->z.next_out = out;
	d->z.avail_out = (uInt)cap;
	rc = inflate(&d->z, Z_SYNC_FLUSH);
	n = cap - d->z.avail_out;
	/* Where inflate() stopped: data_type holds the unused bits of the
	 * last byte read, +128 right after a block ended (zlib.h).  Frames end
	 * with Z_SYNC_FLUSH's empty stored block, on a block and a byte
	 * boundary; any other end is a truncated frame, or one that the next
	 * frame would not continue. */
	where = d->z.data_type;
	if (rc == Z_OK && !d->z.avail_out) {
		/* Exactly full, or more to come (even with all input read: a
		 * match may go on)?  One byte more tells. */
		uint8_t extra;

		d->z.next_out = &extra;
		d->z.avail_out = 1;
		rc = inflate(&d->z, Z_SYNC_FLUSH);
		if (!d->z.avail_out) {
			d->broken = true;
			return fail(EXIT_ERROR, "a compressed frame from the peer inflates past %zu bytes",
				    cap);
		}
		/* No progress leaves the stream where the first call did, but
		 * not data_type (inflate() enters a boundary as TYPEDO). */
		if (rc == Z_BUF_ERROR)
			rc = Z_OK;
		else
			where = d->z.data_type;	/* it went on: where it stopped now */
	}
	switch (rc) {
	case Z_OK:
		break;
	case Z_STREAM_END:
		return corrupt(d, "it ends the stream");
	case Z_DATA_ERROR:
		return corrupt(d, d->z.msg ? d->z.msg : "invalid deflate data");
	case Z_MEM_ERROR:
		d->broken = true;
		return fail(EXIT_ERROR, "out of memory decompressing a frame");
	default:
		return corrupt(d, d->z.msg ? d->z.msg : "inflate failed");
	}
	if (d->z.avail_in)
		return corrupt(d, "bytes left over after the packet");
	if (!(where & 128))
		return corrupt(d, "truncated (it ends inside a deflate block)");
	if (where & 63)
		return corrupt(d, "it does not end on a byte boundary");
	if (n == 0)
		return corrupt(d, "it holds no packet");
	return (long)n;
}

long decompressor_run(struct decompressor *d, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	const char *why;
	long n;

	if (d->broken)
		return fail(EXIT_ERROR, "compressed stream from the peer lost after an earlier error");
	if (cap == 0 || cap > COMPRESS_IN_MAX || len > UINT_MAX)
		return fail(EXIT_ERROR, "decompressing %zu bytes into %zu: bad sizes", len, cap);
	if (len == 0)
		return corrupt(d, "empty");
	if (!d->stage) {
		n = inflate_frame(d, in, len, out, cap);
	} else {
		/* The table comes on top of the packets' cap: a bomb stops
		 * there too (STAGE_MAX, ours). */
		n = inflate_frame(d, in, len, d->stage, cap + COMPRESS_TABLE_MAX);
		if (n > 0 && (n = zlayout_unpack(d->stage, (size_t)n, out, cap, &why)) < 0)
			return corrupt(d, why);
	}
	if (n < 0)
		return -1;
	d->st.in_bytes += (uint64_t)n;
	d->st.out_bytes += len;
	d->st.frames_compressed++;
	return n;
}

void decompressor_stats(const struct decompressor *d, struct compress_stats *st)
{
	*st = d->st;
}
