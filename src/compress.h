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
 * Each end picks its own level and may change it at any frame; the receiver
 * never needs to know it.  A frame that inflates past the receiver's cap or
 * does not decode is an error: the caller closes the session. */
#ifndef SSHTUN_COMPRESS_H
#define SSHTUN_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum compress_mode { COMPRESS_OFF = 0, COMPRESS_AUTO = -1 /* levels 1..9 are themselves */ };

#define COMPRESS_SLACK 64	/* out cap needed beyond the packet length */
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

/* Whether to compress this packet: never when off or shorter than
 * COMPRESS_MIN_LEN; in auto only when congested (the round trip of our
 * pings says the channel, not the CPU, is the bottleneck: pressure.h); and not
 * when its flow's recent packets did not compress (a retry every
 * COMPRESS_PROBE_EVERY packets lets such a flow recover).  false counts
 * the packet as skipped. */
bool compressor_should(struct compressor *c, const uint8_t *pkt, size_t len, bool congested);

/* Deflates one frame's batch, buf[0..len) (1 <= len <= MTU_MAX), which
 * holds count whole packets starting at offsets[] (offsets[0] == 0; the
 * frame inflates to all of them), into out; cap must be at least
 * len + COMPRESS_SLACK.  Returns the output length (> 0, at most
 * len + COMPRESS_SLACK), or -1 with fail().  A bad len or cap fails without
 * touching the stream.  After an error inside zlib (out of memory; nothing
 * else is expected) the stream is lost: nothing of it has reached the peer,
 * so the caller may close the session, or send the packets uncompressed and
 * go on: compressor_should() says no from then on. */
long compressor_run_batch(struct compressor *c, const uint8_t *buf, size_t len,
			  const uint32_t *offsets, int count, uint8_t *out, size_t cap);

struct compress_stats { uint64_t in_bytes, out_bytes, frames_compressed, frames_skipped; };
/* in_bytes: packet bytes that went through deflate; out_bytes: what came
 * out; frames_skipped: compressor_should() said no. */
void compressor_stats(const struct compressor *c, struct compress_stats *st);

/* NULL with fail() on OOM. */
struct decompressor *decompressor_new(void);
void decompressor_free(struct decompressor *d);

/* Inflates one frame into out, at most cap bytes: pass the negotiated MTU,
 * not the buffer size.  Returns the packet length (> 0), or -1 with
 * fail(EXIT_ERROR, ...) when the frame inflates past cap, is corrupt, holds
 * no packet, or does not end on a flush boundary; the stream is lost then
 * and every later call fails.  Allocates nothing that the peer controls. */
long decompressor_run(struct decompressor *d, const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* The receiving side's view: in_bytes are the packet bytes inflated,
 * out_bytes the frame bytes they came from, frames_compressed the frames;
 * frames_skipped stays 0 (the tunnel counts uncompressed frames). */
void decompressor_stats(const struct decompressor *d, struct compress_stats *st);

#endif
