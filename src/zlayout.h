/* The header layout of a compressed DATA frame (sshtun-protocol(7),
 * `zlib-hdr'): what goes through deflate is not the packets back to back
 * but a table of their lengths, then their headers, then their bodies:
 *
 *   u8 count (1..ZLAYOUT_PKTS_MAX)
 *   count x { u8 head length, u32 packet length (>= head length, >= 1) }
 *   count heads: each byte-wise minus the one before, over the bytes both
 *                have (the first as it is)
 *   count bodies: each packet's bytes after its head
 *
 * The sender picks each head length (any is valid: the table says); the
 * receiver only checks that the table adds up.  Pure functions on caller
 * buffers: no allocation, no state. */
#ifndef SSHTUN_ZLAYOUT_H
#define SSHTUN_ZLAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define ZLAYOUT_PKTS_MAX 64
#define ZLAYOUT_TABLE_MAX (1 + 5 * ZLAYOUT_PKTS_MAX)
#define ZLAYOUT_HEAD_MAX 255

/* How many leading bytes of pkt[0..len) to treat as its head: its own
 * prefix bytes (a virtio-net header), the IP header, and the TCP, UDP or
 * ICMP header after it; at most len and ZLAYOUT_HEAD_MAX. */
size_t zlayout_head_len(const uint8_t *pkt, size_t len, size_t prefix);

/* Lays out buf[0..len), count packets starting at offsets[] (offsets[0] ==
 * 0, rising, each < len; 1 <= count <= ZLAYOUT_PKTS_MAX) into stage, which
 * has room for ZLAYOUT_TABLE_MAX + len bytes.  Returns the bytes written, or
 * -1 when the offsets or count are not so (nothing then is written). */
long zlayout_pack(const uint8_t *buf, size_t len, const uint32_t *offsets, int count, size_t prefix,
		  uint8_t *stage);

/* The packets of a laid-out stage[0..n) (the peer's) back to back into out,
 * at most cap bytes.  Returns their length, or -1 with *why saying what does
 * not add up. */
long zlayout_unpack(const uint8_t *stage, size_t n, uint8_t *out, size_t cap, const char **why);

#endif
