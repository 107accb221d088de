/* The virtio-net header (vnet.c): every rule of vnet_check on its own, the
 * checksum NEEDS_CSUM leaves, and GSO cut in user space, checked against a
 * reference checksum written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "vnet.h"

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The reference: RFC 1071, over a buffer, with the pseudo-header apart. */
static uint32_t add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The pseudo-header's sum for the transport part of pkt. */
static uint32_t pseudo(const uint8_t *pkt, size_t len)
{
	bool v4 = pkt[0] >> 4 == 4;
	size_t l3 = v4 ? 20 : 40;

	return v4 ? add(0, pkt + 12, 8) + pkt[9] + (uint32_t)(len - l3)
		  : add(0, pkt + 8, 32) + pkt[6] + (uint32_t)(len - l3);
}

/* Is the transport checksum of pkt right (the sum over all is 0xffff)? */
static bool l4_ok(const uint8_t *pkt, size_t len)
{
	size_t l3 = pkt[0] >> 4 == 4 ? 20 : 40;

	return fold(add(pseudo(pkt, len), pkt + l3, len - l3)) == 0xffff;
}

static bool ip4_ok(const uint8_t *pkt)
{
	return fold(add(0, pkt, 20)) == 0xffff;
}

/* An IPv4 or IPv6 TCP (proto 6) or UDP (17) packet with plen payload bytes
 * (payload[i] = i * 7), its checksums filled in; the TCP flags given. */
static size_t make(uint8_t *p, int version, int proto, size_t plen, uint8_t tcp_flags)
{
	size_t l3 = version == 4 ? 20 : 40, l4 = proto == 6 ? 20 : 8, len = l3 + l4 + plen;
	uint8_t *t = p + l3;

	memset(p, 0, len);
	if (version == 4) {
		p[0] = 0x45;
		put16(p + 2, (unsigned)len);
		put16(p + 4, 0x1234);
		p[8] = 64;
		p[9] = (uint8_t)proto;
		memcpy(p + 12, "\xc6\x12\x00\x01\xc6\x12\x00\x02", 8);
		put16(p + 10, (uint16_t)~fold(add(0, p, 20)));
	} else {
		p[0] = 0x60;
		put16(p + 4, (unsigned)(len - 40));
		p[6] = (uint8_t)proto;
		p[7] = 64;
		memcpy(p + 8, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		memcpy(p + 24, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
	}
	put16(t, 40000);
	put16(t + 2, 5001);
	if (proto == 6) {
		put16(t + 4, 0x1000);	/* seq 0x10000000 */
		t[12] = 5 << 4;
		t[13] = tcp_flags;
		put16(t + 14, 65535);
	} else {
		put16(t + 4, (unsigned)(l4 + plen));
	}
	for (size_t i = 0; i < plen; i++)
		t[l4 + i] = (uint8_t)(i * 7);
	put16(t + (proto == 6 ? 16 : 6), (uint16_t)~fold(add(pseudo(p, len), t, l4 + plen)));
	return len;
}

/* The packet as the kernel hands it with CHECKSUM_PARTIAL: the field holds
 * the pseudo-header's sum. */
static struct vnet_hdr partial(uint8_t *p, size_t len, uint8_t gso_type, uint16_t gso_size)
{
	size_t l3 = p[0] >> 4 == 4 ? 20 : 40;
	bool tcp = (p[0] >> 4 == 4 ? p[9] : p[6]) == 6;
	struct vnet_hdr h = { VNET_F_NEEDS_CSUM, gso_type, 0, gso_size, (uint16_t)l3, tcp ? 16 : 6 };

	put16(p + l3 + h.csum_offset, fold(pseudo(p, len)));
	return h;
}

static char err[256];

static int check(struct vnet_hdr h, const uint8_t *p, size_t len, unsigned mtu)
{
	err[0] = '\0';
	return vnet_check(&h, p, len, mtu, err, sizeof(err));
}

static void refused(struct vnet_hdr h, const uint8_t *p, size_t len, unsigned mtu, const char *why)
{
	assert_int_equal(check(h, p, len, mtu), -1);
	assert_contains(err, why);
}

static uint8_t pkt[70000], out[70000];

static void test_hdr_codec(void **state)
{
	struct vnet_hdr h = { 1, 0x81, 0x1234, 1448, 20, 16 }, g;
	uint8_t b[VNET_HDR_LEN];

	vnet_hdr_put(b, &h);
	assert_memory_equal(b, "\x01\x81\x34\x12\xa8\x05\x14\x00\x10\x00", VNET_HDR_LEN);
	vnet_hdr_get(b, &g);
	assert_memory_equal(&g, &h, sizeof(h));
	assert_int_equal(vnet_hdr_needs(&g), VNET_CAP_TCP4);
	g.gso_type = VNET_GSO_UDP_L4;
	assert_int_equal(vnet_hdr_needs(&g), VNET_CAP_UDP);
	g.gso_type = VNET_GSO_NONE;
	assert_int_equal(vnet_hdr_needs(&g), VNET_CAP_CSUM);
	g.flags = VNET_F_DATA_VALID;
	assert_true(vnet_hdr_plain(&g));
	assert_int_equal(vnet_hdr_needs(&g), 0);
}

static void test_plain(void **state)
{
	size_t len = make(pkt, 4, 17, 100, 0);
	struct vnet_hdr h = { VNET_F_DATA_VALID, 0, 999, 0, 7, 9 };

	assert_int_equal(vnet_check(&h, pkt, len, 1400, err, sizeof(err)), 0);
	/* DATA_VALID is the peer's word only: cleared; unused fields zero. */
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.hdr_len + h.csum_start + h.csum_offset, 0);
	refused((struct vnet_hdr){ 0 }, pkt, len, 100, "a 128-byte packet without GSO, over the MTU 100");
	refused((struct vnet_hdr){ 0, 0, 0, 100, 0, 0 }, pkt, len, 1400, "gso_size 100 with gso_type none");
	refused((struct vnet_hdr){ 0x04, 0, 0, 0, 0, 0 }, pkt, len, 1400, "flags 0x04");
	refused((struct vnet_hdr){ 0x81, 0, 0, 0, 0, 0 }, pkt, len, 1400, "flags 0x81");
}

static void test_lengths(void **state)
{
	size_t len = make(pkt, 4, 6, 100, 0);
	struct vnet_hdr h = partial(pkt, len, 0, 0);

	refused(h, pkt, 19, 1400, "a 19-byte packet");
	refused(h, pkt, 70000, 70000, "a 70000-byte packet");
	refused(h, pkt, len - 1, 1400, "IPv4 total length 140 in a 139-byte packet");
	len = make(pkt, 4, 6, 0, 0);
	pkt[0] = 0x4f;
	refused(h, pkt, len, 1400, "an IPv4 header of 60 bytes in a 40-byte packet");
	pkt[0] = 0x44;
	refused(h, pkt, len, 1400, "an IPv4 header of 16 bytes");
	pkt[0] = 0x55;
	refused(h, pkt, len, 1400, "IP version 5");
	len = make(pkt, 6, 6, 100, 0);
	h = partial(pkt, len, 0, 0);
	refused(h, pkt, len + 1, 1400, "IPv6 payload length 120 in a 161-byte packet");
	refused(h, pkt, 30, 1400, "IPv6 payload length 0 in a 30-byte packet");
	assert_int_equal(check(h, pkt, len, 1400), 0);
}

static void test_csum_fields(void **state)
{
	size_t len = make(pkt, 4, 17, 100, 0);
	struct vnet_hdr h = partial(pkt, len, 0, 0), g;

	assert_int_equal(check(h, pkt, len, 1400), 0);
	g = h, g.csum_start = 60000;
	refused(g, pkt, len, 1400, "csum_start 60000 (the UDP header is at 20)");
	g = h, g.csum_start = 0;
	refused(g, pkt, len, 1400, "csum_start 0");
	g = h, g.csum_offset = 200;
	refused(g, pkt, len, 1400, "csum_offset 200 (the UDP checksum is at 6)");
	g = h, g.csum_offset = 16;
	refused(g, pkt, len, 1400, "csum_offset 16");
	put16(pkt + 24, 50);
	refused(h, pkt, len, 1400, "UDP length 50 in a 108-byte datagram");
	/* Not TCP or UDP: nothing to checksum for the kernel. */
	len = make(pkt, 4, 17, 100, 0);
	pkt[9] = 1;
	refused(h, pkt, len, 1400, "NEEDS_CSUM on an IPv4 packet of protocol 1");
	/* A fragment: no whole transport header behind the IP header. */
	len = make(pkt, 4, 17, 100, 0);
	pkt[6] = 0x20;
	refused(h, pkt, len, 1400, "NEEDS_CSUM on an IPv4 packet of protocol 17");
	/* A TCP header whose data offset points past the packet. */
	len = make(pkt, 4, 6, 10, 0);
	h = partial(pkt, len, 0, 0);
	pkt[32] = 15 << 4;
	refused(h, pkt, len, 1400, "NEEDS_CSUM on an IPv4 packet of protocol 6");
	pkt[32] = 4 << 4;
	refused(h, pkt, len, 1400, "NEEDS_CSUM on an IPv4 packet of protocol 6");
}

static void test_gso_rules(void **state)
{
	size_t len = make(pkt, 4, 6, 3000, 0);
	struct vnet_hdr h = partial(pkt, len, VNET_GSO_TCPV4, 1000), g;

	assert_int_equal(check(h, pkt, len, 1400), 0);
	g = h, g.hdr_len = 65535;	/* recomputed, not taken */
	assert_int_equal(vnet_check(&g, pkt, len, 1400, err, sizeof(err)), 0);
	assert_int_equal(g.hdr_len, 40);
	g = h, g.gso_type = VNET_GSO_TCPV4 | VNET_GSO_ECN;
	assert_int_equal(check(g, pkt, len, 1400), 0);
	g = h, g.gso_type = VNET_GSO_TCPV6;
	refused(g, pkt, len, 1400, "gso_type tcpv6 on an IPv4 packet of protocol 6");
	g = h, g.gso_type = VNET_GSO_UDP_L4;
	refused(g, pkt, len, 1400, "gso_type udp_l4 on an IPv4 packet of protocol 6");
	g = h, g.gso_type = 3;
	refused(g, pkt, len, 1400, "gso_type 0x03");
	g = h, g.gso_type = 0x7f;
	refused(g, pkt, len, 1400, "gso_type 0x7f");
	g = h, g.flags = 0;
	refused(g, pkt, len, 1400, "gso_type tcpv4 without NEEDS_CSUM");
	g = h, g.gso_size = 0;
	refused(g, pkt, len, 1400, "gso_size 0 (at least 8)");
	g = h, g.gso_size = 7;
	refused(g, pkt, len, 1400, "gso_size 7");
	g = h, g.gso_size = 1361;
	refused(g, pkt, len, 1400, "gso_size 1361: segments of 1401 bytes, over the MTU 1400");
	g = h, g.gso_size = 1360;
	assert_int_equal(check(g, pkt, len, 1400), 0);
	len = make(pkt, 4, 6, 0, 0);
	refused(partial(pkt, len, VNET_GSO_TCPV4, 1000), pkt, len, 1400, "without payload");
	len = make(pkt, 4, 6, 65000, 0);
	refused(partial(pkt, len, VNET_GSO_TCPV4, 8), pkt, len, 1400, "into 8125 segments (at most 1024)");
	len = make(pkt, 4, 17, 3000, 0);
	h = partial(pkt, len, VNET_GSO_UDP_L4 | VNET_GSO_ECN, 1000);
	refused(h, pkt, len, 1400, "the ECN bit on udp_l4");
	len = make(pkt, 6, 17, 3000, 0);
	assert_int_equal(check(partial(pkt, len, VNET_GSO_UDP_L4, 1000), pkt, len, 1400), 0);
	/* A super-packet may be bigger than the MTU, a plain one not. */
	assert_int_equal(check(partial(pkt, len, 0, 0), pkt, len, 1400), -1);
}

static void test_finish_csum(void **state)
{
	static const int kinds[][2] = { { 4, 6 }, { 4, 17 }, { 6, 6 }, { 6, 17 } };

	for (size_t k = 0; k < 4; k++) {
		for (size_t plen = 0; plen < 40; plen += 13) {
			size_t len = make(pkt, kinds[k][0], kinds[k][1], plen, 0x18);
			struct vnet_hdr h;

			memcpy(out, pkt, len);
			h = partial(pkt, len, 0, 0);
			assert_int_equal(vnet_check(&h, pkt, len, 1400, err, sizeof(err)), 0);
			vnet_finish_csum(&h, pkt, len);
			assert_int_equal(h.flags, 0);
			assert_memory_equal(pkt, out, len);
			assert_true(l4_ok(pkt, len));
		}
	}
}

/* Cuts pkt[0..len) at gso_size and checks each segment and the whole. */
static void cut_and_check(int version, int proto, size_t plen, uint16_t gso_size, unsigned mtu)
{
	size_t len = make(pkt, version, proto, plen, 0x80 | 0x08 | 0x01);	/* CWR PSH FIN */
	uint8_t type = proto == 17 ? VNET_GSO_UDP_L4 : version == 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
	struct vnet_hdr h = partial(pkt, len, type, gso_size);
	size_t l3 = version == 4 ? 20 : 40, hdrs = l3 + (proto == 6 ? 20 : 8), segs, got = 0;
	static uint8_t whole[70000];

	assert_int_equal(vnet_check(&h, pkt, len, mtu, err, sizeof(err)), 0);
	segs = vnet_segments(&h, len);
	assert_int_equal(segs, (plen + gso_size - 1) / gso_size);
	for (size_t i = 0; i < segs; i++) {
		size_t n = vnet_segment(&h, pkt, len, i, out), want = plen - got < gso_size ? plen - got : gso_size;
		uint8_t *t = out + l3;

		assert_int_equal(n, hdrs + want);
		assert_true(n <= mtu);
		if (version == 4) {
			assert_int_equal(get16(out + 2), n);
			assert_int_equal(get16(out + 4), 0x1234 + i);
			assert_true(ip4_ok(out));
		} else {
			assert_int_equal(get16(out + 4), n - 40);
		}
		if (proto == 6) {
			assert_int_equal(get32(t + 4), 0x10000000u + got);
			/* CWR on the first only, FIN and PSH on the last. */
			assert_int_equal(t[13] & 0x80, i == 0 ? 0x80 : 0);
			assert_int_equal(t[13] & 0x09, i + 1 == segs ? 0x09 : 0);
		} else {
			assert_int_equal(get16(t + 4), n - l3);
		}
		assert_true(l4_ok(out, n));
		memcpy(whole + got, out + hdrs, want);
		got += want;
	}
	assert_int_equal(got, plen);
	assert_memory_equal(whole, pkt + hdrs, plen);
}

static void test_segment(void **state)
{
	cut_and_check(4, 6, 3000, 1000, 1500);
	cut_and_check(4, 6, 2999, 1000, 1500);
	cut_and_check(6, 6, 64000, 1220, 1280);
	cut_and_check(4, 17, 2500, 1000, 1400);
	cut_and_check(6, 17, 65000, 1432, 1500);
	cut_and_check(6, 17, 65535 - 8, 1432, 1500);	/* the largest IPv6 can say */
	cut_and_check(4, 6, 1, 1000, 1500);
	cut_and_check(6, 17, 8 * 1024, 8, 1500);
}

static void test_caps(void **state)
{
	char b[40];

	assert_int_equal(vnet_caps_parse("csum,tcp4,tcp6,udp"), 0x0f);
	assert_int_equal(vnet_caps_parse("tcp6,quic9,,csum"), VNET_CAP_TCP6 | VNET_CAP_CSUM);
	assert_int_equal(vnet_caps_parse(""), 0);
	assert_int_equal(vnet_caps_parse("tcp"), 0);
	assert_string_equal(vnet_caps_str(0x0f, b, sizeof(b)), "csum,tcp4,tcp6,udp");
	assert_string_equal(vnet_caps_str(VNET_CAP_UDP | VNET_CAP_CSUM, b, sizeof(b)), "csum,udp");
	assert_string_equal(vnet_caps_str(0, b, sizeof(b)), "");
	assert_string_equal(vnet_caps_str(0x0f, b, 10), "csum,tcp4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_codec),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_csum_fields),
		cmocka_unit_test(test_gso_rules),
		cmocka_unit_test(test_finish_csum),
		cmocka_unit_test(test_segment),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
