/* The virtio-net header: judging it, and doing in user space what it asks
 * of the hardware when the peer cannot take it (vnet.h). */
#include <stdio.h>
#include <string.h>

#include "fail.h"
#include "vnet.h"

#define PROTO_TCP 6
#define PROTO_UDP 17
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void vnet_hdr_get(const uint8_t *p, struct vnet_hdr *h)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = le16(p + 2);
	h->gso_size = le16(p + 4);
	h->csum_start = le16(p + 6);
	h->csum_offset = le16(p + 8);
}

void vnet_hdr_put(uint8_t *p, const struct vnet_hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	put_le16(p + 2, h->hdr_len);
	put_le16(p + 4, h->gso_size);
	put_le16(p + 6, h->csum_start);
	put_le16(p + 8, h->csum_offset);
}

bool vnet_hdr_plain(const struct vnet_hdr *h)
{
	return !(h->flags & ~VNET_F_DATA_VALID) && h->gso_type == VNET_GSO_NONE;
}

unsigned vnet_hdr_needs(const struct vnet_hdr *h)
{
	switch (h->gso_type & ~VNET_GSO_ECN) {
	case VNET_GSO_TCPV4:
		return VNET_CAP_TCP4;
	case VNET_GSO_TCPV6:
		return VNET_CAP_TCP6;
	case VNET_GSO_UDP_L4:
		return VNET_CAP_UDP;
	default:
		return h->flags & VNET_F_NEEDS_CSUM ? VNET_CAP_CSUM : 0;
	}
}

/* Where the transport header is, when it is TCP or UDP right behind the IP
 * header (no IPv4 fragment, no IPv6 extension header): what the kernel's
 * offloads produce. */
struct layout {
	unsigned version;
	uint8_t proto;
	size_t l3;		/* IP header length: where TCP/UDP starts */
	size_t l4hdr;		/* TCP/UDP header length; 0: not TCP/UDP we can read */
};

static int ip_layout(const uint8_t *p, size_t len, struct layout *lo, char *err, size_t errlen)
{
	bool frag = false;

	memset(lo, 0, sizeof(*lo));
	lo->version = p[0] >> 4;
	if (lo->version == 4) {
		lo->l3 = (size_t)(p[0] & 0x0f) * 4;
		if (lo->l3 < 20 || lo->l3 > len)
			return errorf(err, errlen, "an IPv4 header of %zu bytes in a %zu-byte packet", lo->l3, len);
		if (be16(p + 2) != len)
			return errorf(err, errlen, "IPv4 total length %u in a %zu-byte packet", be16(p + 2), len);
		frag = (p[6] & 0x3f) || p[7];
		lo->proto = p[9];
	} else if (lo->version == 6) {
		if (len < 40 || 40 + (size_t)be16(p + 4) != len)
			return errorf(err, errlen, "IPv6 payload length %u in a %zu-byte packet",
				      len < 40 ? 0 : be16(p + 4), len);
		lo->l3 = 40;
		lo->proto = p[6];
	} else {
		return errorf(err, errlen, "IP version %u", lo->version);
	}
	if (frag)
		return 0;
	if (lo->proto == PROTO_TCP && len >= lo->l3 + 20) {
		size_t doff = (size_t)(p[lo->l3 + 12] >> 4) * 4;

		if (doff >= 20 && lo->l3 + doff <= len)
			lo->l4hdr = doff;
	} else if (lo->proto == PROTO_UDP && len >= lo->l3 + 8) {
		lo->l4hdr = 8;
	}
	return 0;
}

static const char *gso_name(uint8_t base)
{
	switch (base) {
	case VNET_GSO_NONE:
		return "none";
	case VNET_GSO_TCPV4:
		return "tcpv4";
	case VNET_GSO_TCPV6:
		return "tcpv6";
	case VNET_GSO_UDP_L4:
		return "udp_l4";
	default:
		return "unknown";
	}
}

/* The GSO part, for a header with NEEDS_CSUM on a TCP/UDP layout. */
static int check_gso(struct vnet_hdr *h, const struct layout *lo, size_t len, unsigned mtu,
		     char *err, size_t errlen)
{
	uint8_t base = h->gso_type & ~VNET_GSO_ECN;
	size_t hdrs = lo->l3 + lo->l4hdr, payload = len - hdrs, segs;
	bool fits = (base == VNET_GSO_TCPV4 && lo->version == 4 && lo->proto == PROTO_TCP) ||
		    (base == VNET_GSO_TCPV6 && lo->version == 6 && lo->proto == PROTO_TCP) ||
		    (base == VNET_GSO_UDP_L4 && lo->proto == PROTO_UDP);

	if (!fits)
		return errorf(err, errlen, "gso_type %s on an IPv%u packet of protocol %u",
			      gso_name(base), lo->version, lo->proto);
	if (h->gso_size < VNET_GSO_SIZE_MIN)
		return errorf(err, errlen, "gso_size %u (at least %d)", h->gso_size, VNET_GSO_SIZE_MIN);
	if (hdrs + h->gso_size > mtu)
		return errorf(err, errlen, "gso_size %u: segments of %zu bytes, over the MTU %u",
			      h->gso_size, hdrs + h->gso_size, mtu);
	if (!payload)
		return errorf(err, errlen, "gso_type %s on a packet without payload", gso_name(base));
	segs = (payload + h->gso_size - 1) / h->gso_size;
	if (segs > VNET_SEGS_MAX)
		return errorf(err, errlen, "gso_size %u cuts %zu bytes into %zu segments (at most %d)",
			      h->gso_size, payload, segs, VNET_SEGS_MAX);
	return 0;
}

int vnet_check(struct vnet_hdr *h, const uint8_t *pkt, size_t len, unsigned mtu, char *err,
	       size_t errlen)
{
	uint8_t base = h->gso_type & ~VNET_GSO_ECN;
	struct layout lo;

	if (len < 20 || len > VNET_PKT_MAX)
		return errorf(err, errlen, "a %zu-byte packet (20..%d)", len, VNET_PKT_MAX);
	if (h->flags & ~(VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID))
		return errorf(err, errlen, "flags 0x%02x (only NEEDS_CSUM 0x01, DATA_VALID 0x02)", h->flags);
	/* DATA_VALID would have the kernel skip checking the checksum: a
	 * claim about the peer's network that ours does not take. */
	h->flags &= (uint8_t)~VNET_F_DATA_VALID;
	if (base != VNET_GSO_NONE && base != VNET_GSO_TCPV4 && base != VNET_GSO_TCPV6 &&
	    base != VNET_GSO_UDP_L4)
		return errorf(err, errlen, "gso_type 0x%02x (none, tcpv4, tcpv6 or udp_l4)", h->gso_type);
	if ((h->gso_type & VNET_GSO_ECN) && base != VNET_GSO_TCPV4 && base != VNET_GSO_TCPV6)
		return errorf(err, errlen, "gso_type 0x%02x: the ECN bit on %s", h->gso_type, gso_name(base));
	if (base == VNET_GSO_NONE && h->gso_size)
		return errorf(err, errlen, "gso_size %u with gso_type none", h->gso_size);
	if (base == VNET_GSO_NONE && len > mtu)
		return errorf(err, errlen, "a %zu-byte packet without GSO, over the MTU %u", len, mtu);
	if (ip_layout(pkt, len, &lo, err, errlen) < 0)
		return -1;
	if (!(h->flags & VNET_F_NEEDS_CSUM)) {
		if (base != VNET_GSO_NONE)
			return errorf(err, errlen, "gso_type %s without NEEDS_CSUM", gso_name(base));
		h->hdr_len = h->csum_start = h->csum_offset = 0;
		return 0;
	}
	if (!lo.l4hdr)
		return errorf(err, errlen, "NEEDS_CSUM on an IPv%u packet of protocol %u that is not "
			      "whole TCP or UDP right behind the IP header", lo.version, lo.proto);
	if (h->csum_start != lo.l3)
		return errorf(err, errlen, "csum_start %u (the %s header is at %zu)", h->csum_start,
			      lo.proto == PROTO_TCP ? "TCP" : "UDP", lo.l3);
	if (h->csum_offset != (lo.proto == PROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF))
		return errorf(err, errlen, "csum_offset %u (the %s checksum is at %d)", h->csum_offset,
			      lo.proto == PROTO_TCP ? "TCP" : "UDP",
			      lo.proto == PROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);
	if (lo.proto == PROTO_UDP && be16(pkt + lo.l3 + 4) != len - lo.l3)
		return errorf(err, errlen, "UDP length %u in a %zu-byte datagram", be16(pkt + lo.l3 + 4),
			      len - lo.l3);
	if (base != VNET_GSO_NONE && check_gso(h, &lo, len, mtu, err, errlen) < 0)
		return -1;
	h->hdr_len = (uint16_t)(lo.l3 + lo.l4hdr);
	return 0;
}

static uint64_t sum16(const uint8_t *p, size_t n, uint64_t s)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint64_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint64_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* CHECKSUM_PARTIAL: the field already holds the pseudo-header's sum, so
 * the one's complement of the sum from csum_start to the end is the
 * checksum (tuntap.rst, virtio 5.1.6.2).  UDP sends 0 as 0xffff. */
void vnet_finish_csum(struct vnet_hdr *h, uint8_t *pkt, size_t len)
{
	uint16_t c;

	if (!(h->flags & VNET_F_NEEDS_CSUM))
		return;
	c = (uint16_t)~fold(sum16(pkt + h->csum_start, len - h->csum_start, 0));
	if (h->csum_offset == UDP_CSUM_OFF && !c)
		c = 0xffff;
	put_be16(pkt + h->csum_start + h->csum_offset, c);
	h->flags &= (uint8_t)~VNET_F_NEEDS_CSUM;
}

size_t vnet_segments(const struct vnet_hdr *h, size_t len)
{
	if ((h->gso_type & ~VNET_GSO_ECN) == VNET_GSO_NONE || !h->gso_size || len <= h->hdr_len)
		return 1;
	return (len - h->hdr_len + h->gso_size - 1) / h->gso_size;
}

size_t vnet_segment(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, size_t i, uint8_t *out)
{
	size_t hdrs = h->hdr_len, l3 = h->csum_start, off = hdrs + i * h->gso_size;
	size_t plen = len - off < h->gso_size ? len - off : h->gso_size, n = hdrs + plen, l4len;
	bool tcp = h->csum_offset == TCP_CSUM_OFF, last = i + 1 == vnet_segments(h, len);
	uint8_t *l4 = out + l3;
	uint64_t pseudo;
	uint16_t c;

	memcpy(out, pkt, hdrs);
	memcpy(out + hdrs, pkt + off, plen);
	l4len = n - l3;
	if (out[0] >> 4 == 4) {
		put_be16(out + 2, (uint16_t)n);
		put_be16(out + 4, (uint16_t)(be16(pkt + 4) + i));
		out[10] = out[11] = 0;
		put_be16(out + 10, (uint16_t)~fold(sum16(out, l3, 0)));
		pseudo = sum16(out + 12, 8, 0);
	} else {
		put_be16(out + 4, (uint16_t)(n - 40));
		pseudo = sum16(out + 8, 32, 0);
	}
	pseudo += (uint64_t)(tcp ? PROTO_TCP : PROTO_UDP) + l4len;
	if (tcp) {
		uint32_t seq = (uint32_t)be16(pkt + l3 + 4) << 16 | be16(pkt + l3 + 6);

		seq += (uint32_t)(i * h->gso_size);
		put_be16(l4 + 4, (uint16_t)(seq >> 16));
		put_be16(l4 + 6, (uint16_t)seq);
		if (!last)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i)
			l4[13] &= (uint8_t)~TCP_CWR;
	} else {
		put_be16(l4 + 4, (uint16_t)l4len);
	}
	put_be16(l4 + h->csum_offset, 0);
	c = (uint16_t)~fold(sum16(l4, l4len, pseudo));
	if (!tcp && !c)
		c = 0xffff;
	put_be16(l4 + h->csum_offset, c);
	return n;
}

static const struct {
	const char *name;
	unsigned bit;
} cap_names[] = {
	{ "csum", VNET_CAP_CSUM },
	{ "tcp4", VNET_CAP_TCP4 },
	{ "tcp6", VNET_CAP_TCP6 },
	{ "udp", VNET_CAP_UDP },
};

unsigned vnet_caps_parse(const char *s)
{
	unsigned caps = 0;

	while (*s) {
		size_t n = strcspn(s, ",");

		for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
			if (strlen(cap_names[i].name) == n && !strncmp(s, cap_names[i].name, n))
				caps |= cap_names[i].bit;
		s += n;
		if (*s)
			s++;
	}
	return caps;
}

char *vnet_caps_str(unsigned caps, char *dst, size_t cap)
{
	size_t len = 0;

	if (cap)
		dst[0] = '\0';
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (caps & cap_names[i].bit) {
			int n = snprintf(dst + len, cap - len, "%s%s", len ? "," : "", cap_names[i].name);

			if (n < 0 || (size_t)n >= cap - len)
				break;
			len += (size_t)n;
		}
	return dst;
}
