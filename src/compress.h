/* Compression of DATA frames.
 *
 * One raw-deflate stream per direction.  Each compressed DATA frame carries
 * a batch of whole IP packets (tunnel.h), deflated and ended with
 * Z_SYNC_FLUSH, so the receiver inflates frame by frame while both ends keep
 * the shared history (a far better ratio on small packets than a stream per
 * packet).  A packet sent uncompressed never passes through deflate, or the
 * two histories would differ: decide with compressor_should() first, then
 * deflate and send the output whatever its size (never more than the input
 * + COMPRESS_SLACK).
 *
 * The header layout (`zlib-hdr' in both hellos, sshtun-protocol(7)): a
 * frame's packets go through deflate as a table of their lengths, then
 * their headers, each as a byte-wise difference from the one before, then
 * their bodies.  Headers of one flow differ in a few bytes (sequence
 * numbers, checksums): side by side and as differences they cost a few
 * bytes each, where between bodies they cost some 27 (10% of a 1400-byte
 * packet of text compressed 5:1), and the bodies join up as the sender's
 * stream was.  Both ends switch it on together, after the hellos.
 *
 * Each end picks its own level and may change it at any frame; the receiver
 * never needs to know it.  A frame that inflates past the receiver's cap or
 * does not decode is an error: the caller closes the session. */
#ifndef SSHTUN_COMPRESS_H
#define SSHTUN_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zlayout.h"

enum compress_mode { COMPRESS_OFF = 0, COMPRESS_AUTO = -1 /* levels 1..9 are themselves */ };

#define COMPRESS_BATCH_MAX ZLAYOUT_PKTS_MAX	/* packets in one frame at most */
#define COMPRESS_TABLE_MAX ZLAYOUT_TABLE_MAX	/* the header layout's table */
#define COMPRESS_IN_MAX (128 * 1024)	/* bytes of packets in one frame at most */
#define COMPRESS_SLACK (64 + COMPRESS_TABLE_MAX)	/* out cap needed beyond the batch */
#define COMPRESS_MIN_LEN 64	/* shorter packets are never worth it */
#define COMPRESS_AUTO_LEVEL 6	/* the zlib level auto compresses with */
#define COMPRESS_PROBE_EVERY 64	/* a flow judged incompressible is retried this often */

#define COMPRESS_MODES "auto, off, 1..9"
/* The one check of a mode's name: "off", "auto", "1".."9".  true (and *mode
 * set, when mode is not NULL) or false. */
bool compress_mode_ok(const char *s, int *mode);
/* The same, failing with fail(EXIT_USAGE, "bad compression mode `%s'
 * (auto, off, 1..9)"). */
int compress_mode_parse(const char *s, int *mode);
/* "off", "auto" or the level; returns buf. */
const char *compress_mode_str(int mode, char *buf, size_t cap);

struct compressor;
struct decompressor;

/* NULL with fail() on OOM or a bad mode. */
struct compressor *compressor_new(int mode);
void compressor_free(struct compressor *c);
/* Takes effect at the next frame; off keeps the stream (and its history).
 * Returns 0, or -1 with fail() for a mode that is none of the above. */
int compressor_set_mode(struct compressor *c, int mode);
int compressor_mode(const struct compressor *c);
/* The header layout from the next frame on (true only when both hellos
 * listed zlib-hdr).  Returns 0, or -1 with fail() when out of memory. */
int compressor_set_layout(struct compressor *c, bool hdr);

/* Whether to compress this packet: never when off or shorter than
 * COMPRESS_MIN_LEN; in auto only when congested (the round trip of our
 * pings says the channel, not the CPU, is the bottleneck: pressure.h); and not
 * when its flow's recent packets did not compress (a retry every
 * COMPRESS_PROBE_EVERY packets lets such a flow recover).  false counts
 * the packet as skipped. */
bool compressor_should(struct compressor *c, const uint8_t *pkt, size_t len, bool congested);

/* Deflates one frame's batch, buf[0..len) (1 <= len <= COMPRESS_IN_MAX),
 * which holds count (1..COMPRESS_BATCH_MAX) whole packets starting at
 * offsets[] (offsets[0] == 0, rising; the frame inflates to all of them),
 * into out; cap must be at least len + COMPRESS_SLACK.  Each packet may
 * begin with prefix bytes of its own (a virtio-net header) before the IP
 * header: the flow predictor and the header layout look past them.
 * Returns the output length (> 0, at most len + COMPRESS_SLACK), or -1 with
 * fail().  Bad arguments fail without touching the stream.  After an error inside zlib (out of memory; nothing
 * else is expected) the stream is lost: nothing of it has reached the peer,
 * so the caller may close the session, or send the packets uncompressed and
 * go on: compressor_should() says no from then on. */
long compressor_run_batch(struct compressor *c, const uint8_t *buf, size_t len,
			  const uint32_t *offsets, int count, size_t prefix, uint8_t *out,
			  size_t cap);

struct compress_stats { uint64_t in_bytes, out_bytes, frames_compressed, frames_skipped; };
/* in_bytes: packet bytes that went through deflate; out_bytes: what came
 * out; frames_skipped: compressor_should() said no. */
void compressor_stats(const struct compressor *c, struct compress_stats *st);

/* NULL with fail() on OOM. */
struct decompressor *decompressor_new(void);
void decompressor_free(struct decompressor *d);
/* Frames from the peer come in the header layout from now on (both hellos
 * listed zlib-hdr).  Returns 0, or -1 with fail() when out of memory. */
int decompressor_set_layout(struct decompressor *d, bool hdr);

/* Inflates one frame into out, at most cap (<= COMPRESS_IN_MAX) bytes of
 * packets, back to back as the sender's batch was.  Returns their length
 * (> 0), or -1 with fail(EXIT_ERROR, ...) when the frame inflates past cap
 * (plus the layout's table), is corrupt, holds no packet, has a table that
 * does not add up, or does not end on a flush boundary; the stream is lost
 * then and every later call fails.  Allocates nothing that the peer
 * controls. */
long decompressor_run(struct decompressor *d, const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* The receiving side's view: in_bytes are the packet bytes inflated,
 * out_bytes the frame bytes they came from, frames_compressed the frames;
 * frames_skipped stays 0 (the tunnel counts uncompressed frames). */
void decompressor_stats(const struct decompressor *d, struct compress_stats *st);

#endif
