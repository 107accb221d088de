/* The virtio-net header that a TUN with IFF_VNET_HDR puts before each packet
 * (Documentation/networking/tuntap.rst, the virtio 1.x spec, 5.1.6), and
 * what sshtun does with it: GSO super-packets and checksums the kernel left
 * to its "hardware" (CHECKSUM_PARTIAL).  Pure: no system calls, so the unit
 * tests and the fuzz targets run exactly what the tunnel runs.
 *
 * On the wire (man/sshtun-protocol.7) the header travels as the kernel
 * writes it: 10 bytes, little-endian 16-bit fields (virtio 1.x):
 *
 *   u8 flags, u8 gso_type, u16 hdr_len, u16 gso_size, u16 csum_start,
 *   u16 csum_offset
 *
 * A header from the peer is judged by vnet_check before the kernel sees it:
 * only what our own kernel would have produced passes, and the fields the
 * kernel trusts (hdr_len) are recomputed here, not taken. */
#ifndef SSHTUN_VNET_H
#define SSHTUN_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN	10
/* The largest packet carried, super-packet or not: what an IPv6 header
 * can say (40 + a payload length of 65535; an IPv4 total length stops at
 * 65535).  The kernel's GSO stays within that unless BIG TCP is configured
 * (gso_max_size above 64 KiB); such a packet is dropped and counted. */
#define VNET_PKT_MAX	(40 + 65535)
/* At most this many segments per super-packet: a peer must not be able to
 * turn one frame into tens of thousands of tiny packets. */
#define VNET_SEGS_MAX	1024
#define VNET_GSO_SIZE_MIN 8

#define VNET_F_NEEDS_CSUM	0x01
#define VNET_F_DATA_VALID	0x02

#define VNET_GSO_NONE	0
#define VNET_GSO_TCPV4	1
#define VNET_GSO_TCPV6	4
#define VNET_GSO_UDP_L4	5
#define VNET_GSO_ECN	0x80

/* What a receiver takes (the hello's gso= list, a bit each). */
#define VNET_CAP_CSUM	0x01	/* NEEDS_CSUM without GSO */
#define VNET_CAP_TCP4	0x02
#define VNET_CAP_TCP6	0x04
#define VNET_CAP_UDP	0x08	/* UDP_L4, both families */

struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

void vnet_hdr_get(const uint8_t *p, struct vnet_hdr *h);
void vnet_hdr_put(uint8_t *p, const struct vnet_hdr *h);
/* All zero (no flags, GSO_NONE) once DATA_VALID is set aside: a plain
 * packet, sent as such. */
bool vnet_hdr_plain(const struct vnet_hdr *h);
/* The VNET_CAP_* bit a packet with this header needs from the receiver
 * (0 for a plain one). */
unsigned vnet_hdr_needs(const struct vnet_hdr *h);

/* Judges h against the IP packet pkt[0..len) it precedes: the rules in
 * man/sshtun-protocol.7 (flags, gso_type against the packet's own headers,
 * gso_size, csum_start/csum_offset on the TCP or UDP checksum, every length
 * inside the packet, segments of at most mtu bytes and VNET_SEGS_MAX of
 * them).  On success h is normalised for the kernel (DATA_VALID cleared,
 * hdr_len the real header length) and 0 returned; else -1 with a one-line
 * reason in err that names the bad field and value. */
int vnet_check(struct vnet_hdr *h, const uint8_t *pkt, size_t len, unsigned mtu, char *err,
	       size_t errlen);

/* For a header vnet_check accepted: fills in the checksum NEEDS_CSUM left
 * to us, in place, and clears the flag. */
void vnet_finish_csum(struct vnet_hdr *h, uint8_t *pkt, size_t len);

/* For a GSO header vnet_check accepted: the number of segments, and
 * segment i (0 <= i < count) written to out (at most mtu bytes, as the
 * check made sure), headers fixed up as the kernel's GSO does (lengths,
 * IPv4 id and checksum, TCP sequence, FIN/PSH on the last and CWR on the
 * first segment only) with a full TCP/UDP checksum.  Returns its length. */
size_t vnet_segments(const struct vnet_hdr *h, size_t len);
size_t vnet_segment(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, size_t i, uint8_t *out);

/* The hello's list ("csum,tcp4,tcp6,udp") to and from VNET_CAP_* bits;
 * unknown names are skipped (a newer peer's).  vnet_caps_str returns dst. */
unsigned vnet_caps_parse(const char *s);
char *vnet_caps_str(unsigned caps, char *dst, size_t cap);

#endif
