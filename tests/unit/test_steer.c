/* Flows to connections (steer.c): new flows spread by count, a flow sticks
 * (both directions), idle flows expire, a dead connection's flows move,
 * IPv6 with extension headers, fragments and junk go by hash. */
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

#include "steer.h"

static struct steer st;

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 packet of proto from 198.18.0.<a>:sport to 203.0.113.<b>:dport,
 * 60 bytes.  Returns its length. */
static size_t v4(uint8_t *p, uint8_t proto, uint8_t a, uint16_t sport, uint8_t b, uint16_t dport)
{
	memset(p, 0, 60);
	p[0] = 0x45;
	be16(p + 2, 60);
	p[8] = 64;
	p[9] = proto;
	p[12] = 198, p[13] = 18, p[14] = 0, p[15] = a;
	p[16] = 203, p[17] = 0, p[18] = 113, p[19] = b;
	be16(p + 20, sport);
	be16(p + 22, dport);
	return 60;
}

/* The same flow the other way. */
static size_t v4_reply(uint8_t *p, uint8_t proto, uint8_t a, uint16_t sport, uint8_t b, uint16_t dport)
{
	size_t n = v4(p, proto, a, sport, b, dport);

	for (int i = 0; i < 4; i++) {
		uint8_t x = p[12 + i];

		p[12 + i] = p[16 + i];
		p[16 + i] = x;
	}
	be16(p + 20, dport);
	be16(p + 22, sport);
	return n;
}

/* IPv6 TCP from 2001:db8::<a>:sport to 2001:db8:1::<b>:dport, behind a
 * hop-by-hop header (8 bytes) when hbh. */
static size_t v6(uint8_t *p, uint8_t a, uint16_t sport, uint8_t b, uint16_t dport, bool hbh)
{
	size_t off = 40;

	memset(p, 0, 100);
	p[0] = 0x60;
	p[6] = hbh ? 0 : 6;
	p[7] = 64;
	p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = a;
	p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[29] = 1, p[39] = b;
	if (hbh) {
		p[40] = 6;	/* next: TCP */
		p[41] = 0;	/* 8 bytes */
		off = 48;
	}
	be16(p + off, sport);
	be16(p + off + 2, dport);
	be16(p + 4, (uint16_t)(off + 20 - 40));
	return off + 20;
}

static int pick(const uint8_t *p, size_t n, unsigned alive, uint64_t now)
{
	int c = steer_pick(&st, p, n, alive, now);

	assert_true(c >= 0 && c < STEER_CONNS && (alive & 1u << c));
	return c;
}

/* The case: 4 TCP flows over 2 connections are 2 and 2, whatever
 * the ports and the seed (the kernel's hash put all 4 on one queue in 1
 * start of 8); 8 over 3 are 3, 3 and 2. */
static void test_spread(void **state)
{
	uint8_t p[100];
	unsigned r = 12345;

	for (int run = 0; run < 2000; run++) {
		int on[STEER_CONNS] = { 0 };

		steer_init(&st, (uint64_t)run * 0x9e3779b97f4a7c15ull);
		for (int f = 0; f < 4; f++) {
			r = r * 1103515245u + 12345u;
			on[pick(p, v4(p, 6, 2, (uint16_t)(r >> 12), 1, 5201), 3, 1000)]++;
		}
		assert_int_equal(on[0], 2);
		assert_int_equal(on[1], 2);
		assert_int_equal(steer_flows(&st, 0), 2);
		assert_int_equal(steer_flows(&st, 1), 2);
	}
	{
		int on[STEER_CONNS] = { 0 };

		steer_init(&st, 7);
		for (int f = 0; f < 8; f++)
			on[pick(p, v4(p, 17, 2, (uint16_t)(40000 + f), 1, 53), 0x13, 1000)]++;
		assert_int_equal(on[0], 3);
		assert_int_equal(on[1], 3);
		assert_int_equal(on[4], 2);
	}
}

/* A flow keeps its connection, both ways, while other flows come and go;
 * ties between equal counts go to the connection with fewer bytes. */
static void test_sticky(void **state)
{
	uint8_t p[100];
	int c, d;

	steer_init(&st, 1);
	c = pick(p, v4(p, 6, 2, 40000, 1, 22), 3, 0);
	for (int i = 0; i < 50; i++) {
		pick(p, v4(p, 6, 3, (uint16_t)(1000 + i), 1, 80), 3, (uint64_t)i * 100);
		assert_int_equal(pick(p, v4(p, 6, 2, 40000, 1, 22), 3, (uint64_t)i * 100), c);
		assert_int_equal(pick(p, v4_reply(p, 6, 2, 40000, 1, 22), 3, (uint64_t)i * 100), c);
	}
	/* Bytes break a tie: the connection that carried less lately. */
	steer_init(&st, 1);
	c = pick(p, v4(p, 6, 2, 1, 1, 1), 3, 0);
	d = pick(p, v4(p, 6, 2, 2, 1, 1), 3, 0);
	assert_int_not_equal(c, d);
	for (int i = 0; i < 10; i++)
		pick(p, v4(p, 6, 2, 1, 1, 1), 3, 0);
	assert_int_equal(pick(p, v4(p, 6, 2, 3, 1, 1), 3, 0), d);
	/* ICMP: by addresses and protocol, one flow both ways. */
	c = pick(p, v4(p, 1, 9, 0x0800, 1, 0), 3, 0);
	assert_int_equal(pick(p, v4_reply(p, 1, 9, 0, 1, 0x0800), 3, 0), c);
}

/* Pings and the kernel's ICMPv6 chatter stick, but do not count as load:
 * with some of them on one connection, 4 TCP flows are still 2 and 2. */
static void test_other_not_counted(void **state)
{
	uint8_t p[100];
	int on[STEER_CONNS] = { 0 }, c;

	steer_init(&st, 21);
	c = pick(p, v4(p, 1, 9, 0x0800, 1, 0), 1, 0);	/* while only conn 0 was up */
	assert_int_equal(pick(p, v4(p, 1, 9, 0x0800, 1, 0), 3, 0), c);
	pick(p, v4(p, 58, 9, 0, 2, 0), 1, 0);
	pick(p, v4(p, 47, 9, 0, 3, 0), 1, 0);
	assert_int_equal(pick(p, v4(p, 47, 9, 0, 3, 0), 3, 0), 0);
	assert_int_equal(steer_flows(&st, 0) + steer_flows(&st, 1), 0);
	for (int f = 0; f < 4; f++)
		on[pick(p, v4(p, 6, 2, (uint16_t)(7000 + f), 1, 80), 3, 0)]++;
	assert_int_equal(on[0], 2);
	assert_int_equal(on[1], 2);
}

/* A flow idle for STEER_IDLE_MS is let go (the sweep counts it off); one
 * that keeps talking is not, and the clock may wrap its 32 bits. */
static void test_expiry(void **state)
{
	uint8_t p[100];
	uint64_t t0 = 0xfffff000ull;	/* the low 32 bits wrap on the way */

	steer_init(&st, 3);
	pick(p, v4(p, 17, 2, 1000, 1, 53), 3, t0);	/* 0 */
	pick(p, v4(p, 17, 2, 1001, 1, 53), 3, t0);	/* 1 */
	assert_int_equal(steer_flows(&st, 0) + steer_flows(&st, 1), 2);
	for (uint64_t t = t0; t <= t0 + STEER_IDLE_MS + 2 * STEER_SWEEP_MS; t += 500)
		pick(p, v4(p, 17, 2, 1001, 1, 53), 3, t);
	assert_int_equal(steer_flows(&st, 0) + steer_flows(&st, 1), 1);
	/* The idle one is new again: it goes to the emptier connection. */
	{
		int busy = steer_flows(&st, 0) ? 0 : 1;
		uint64_t t = t0 + STEER_IDLE_MS + 3 * STEER_SWEEP_MS;

		assert_int_equal(pick(p, v4(p, 17, 2, 1000, 1, 53), 3, t), !busy);
	}
	/* Found idle before any sweep saw it: also new. */
	steer_init(&st, 3);
	pick(p, v4(p, 17, 2, 1000, 1, 53), 3, 10);
	pick(p, v4(p, 17, 2, 1001, 1, 53), 3, 10);
	st.next_sweep_ms = UINT64_MAX;
	pick(p, v4(p, 17, 2, 1001, 1, 53), 3, 10 + STEER_IDLE_MS + 1);
	pick(p, v4(p, 17, 2, 1000, 1, 53), 3, 10 + STEER_IDLE_MS + 1);
	assert_int_equal(steer_flows(&st, 0) + steer_flows(&st, 1), 2);
}

/* A connection that is not alive: its flows move to the live ones (and
 * stay there when it comes back; new flows fill it up); steer_forget lets
 * a connection's flows pick anew.  No connection alive: -1. */
static void test_dead_conn(void **state)
{
	uint8_t p[100];

	steer_init(&st, 5);
	for (int f = 0; f < 6; f++)
		pick(p, v4(p, 6, 2, (uint16_t)(2000 + f), 1, 443), 3, 0);
	for (int f = 0; f < 6; f++)
		assert_int_equal(pick(p, v4(p, 6, 2, (uint16_t)(2000 + f), 1, 443), 2, 100), 1);
	assert_int_equal(steer_flows(&st, 0), 0);
	assert_int_equal(steer_flows(&st, 1), 6);
	for (int f = 0; f < 6; f++)
		assert_int_equal(pick(p, v4(p, 6, 2, (uint16_t)(2000 + f), 1, 443), 3, 200), 1);
	for (int f = 0; f < 3; f++)
		assert_int_equal(pick(p, v4(p, 6, 2, (uint16_t)(3000 + f), 1, 443), 3, 200), 0);
	steer_forget(&st, 1);
	assert_int_equal(steer_flows(&st, 1), 0);
	for (int f = 0; f < 6; f++)
		pick(p, v4(p, 6, 2, (uint16_t)(2000 + f), 1, 443), 3, 300);
	/* The forgotten 6 fill conn 1 up to conn 0's 3, then alternate. */
	assert_int_equal(steer_flows(&st, 0) + steer_flows(&st, 1), 9);
	assert_true(steer_flows(&st, 0) >= 4 && steer_flows(&st, 1) >= 4);
	assert_int_equal(steer_pick(&st, p, 60, 0, 300), -1);
	assert_int_equal(steer_pick(&st, p, 60, 1u << STEER_CONNS, 300), -1);
	steer_forget(&st, -1);
	steer_forget(&st, STEER_CONNS);
}

/* IPv6, behind an extension header too: one flow both ways; a fragment is
 * not a flow (by hash, never in the table), neither is an IPv4 one. */
static void test_ipv6_and_fragments(void **state)
{
	uint8_t p[100], q[100];
	uint64_t k1, k2;
	size_t n;
	int c;

	steer_init(&st, 9);
	n = v6(p, 2, 5000, 1, 22, true);
	assert_int_equal(steer_key(&st, p, n, &k1), STEER_FLOW);
	n = v6(q, 1, 22, 2, 5000, false);
	memcpy(q + 8, p + 24, 16);	/* the reply: addresses swapped */
	memcpy(q + 24, p + 8, 16);
	assert_int_equal(steer_key(&st, q, n, &k2), STEER_FLOW);
	assert_int_equal(k1, k2);
	c = pick(p, v6(p, 2, 5000, 1, 22, true), 3, 0);
	assert_int_equal(pick(q, n, 3, 0), c);
	assert_int_equal(pick(p, v6(p, 2, 5001, 1, 22, false), 3, 0), !c);
	assert_int_equal(steer_flows(&st, 0) + steer_flows(&st, 1), 2);

	/* An IPv6 fragment (offset 8). */
	n = v6(p, 2, 5000, 1, 22, true);
	p[6] = 44;
	p[40] = 6, p[41] = 0, p[42] = 0, p[43] = 8;
	assert_int_equal(steer_key(&st, p, n, &k1), STEER_FRAGMENT);
	c = pick(p, n, 3, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(pick(p, n, 3, 0), c);
	/* An atomic fragment (offset 0, no more): a flow. */
	p[43] = 0;
	assert_int_equal(steer_key(&st, p, n, &k1), STEER_FLOW);
	/* IPv4: more fragments, or an offset. */
	n = v4(p, 17, 2, 1, 1, 2);
	p[6] = 0x20;
	assert_int_equal(steer_key(&st, p, n, &k1), STEER_FRAGMENT);
	p[6] = 0, p[7] = 1;
	assert_int_equal(steer_key(&st, p, n, &k1), STEER_FRAGMENT);
	p[6] = 0x40, p[7] = 0;	/* don't fragment: a flow */
	assert_int_equal(steer_key(&st, p, n, &k1), STEER_FLOW);
	assert_int_equal(steer_flows(&st, 0) + steer_flows(&st, 1), 2);
	assert_true(st.fragments >= 11);
}

/* Junk never crashes and always names a live connection; a header that
 * runs past the packet is junk, not read past. */
static void test_malformed(void **state)
{
	uint8_t p[128];
	unsigned r = 99;
	uint64_t k;

	steer_init(&st, 11);
	for (int i = 0; i < 200000; i++) {
		size_t n = 0;

		r = r * 1103515245u + 12345u;
		n = (r >> 8) % sizeof(p);
		for (size_t j = 0; j < n; j++) {
			r = r * 1103515245u + 12345u;
			p[j] = (uint8_t)(r >> 16);
		}
		if (n && (r & 1))
			p[0] = (uint8_t)((r & 2 ? 0x40 : 0x60) | (p[0] & 15));
		pick(p, n, 1 + (r >> 4) % 255, (uint64_t)i);
	}
	assert_int_equal(steer_key(&st, p, 0, &k), STEER_BAD);
	assert_true(k != 0);
	{
		size_t n = v4(p, 6, 1, 1, 2, 2);

		assert_int_equal(steer_key(&st, p, 23, &k), STEER_BAD);	/* ports cut */
		p[0] = 0x4f;						/* IHL 60 */
		assert_int_equal(steer_key(&st, p, 59, &k), STEER_BAD);
		assert_int_equal(steer_key(&st, p, 60, &k), STEER_BAD);	/* no room for ports */
		p[0] = 0x44;						/* IHL 16 */
		assert_int_equal(steer_key(&st, p, n, &k), STEER_BAD);
		n = v6(p, 1, 1, 2, 2, true);
		p[41] = 200;						/* hop-by-hop past the end */
		assert_int_equal(steer_key(&st, p, n, &k), STEER_BAD);
	}
}

/* More flows than slots: the counts stay true (each live entry counted
 * once), picks stay live, and the overflow goes by hash. */
static void test_full_table(void **state)
{
	uint8_t p[100];
	unsigned sum, live;

	steer_init(&st, 13);
	for (unsigned f = 0; f < 3 * STEER_SLOTS; f++)
		pick(p, v4(p, 17, (uint8_t)(f >> 16), (uint16_t)f, 1, 53), 0x0f, 1000);
	sum = live = 0;
	for (int c = 0; c < STEER_CONNS; c++)
		sum += steer_flows(&st, c);
	for (size_t i = 0; i < STEER_SLOTS; i++)
		live += st.e[i].key && st.e[i].counted;
	assert_int_equal(sum, live);
	assert_true(live > STEER_SLOTS / 2);
	assert_true(st.table_full > 0);
	for (int c = 0; c < 4; c++)
		assert_true(steer_flows(&st, c) >= live / 4 - 1 && steer_flows(&st, c) <= live / 4 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_other_not_counted),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_dead_conn),
		cmocka_unit_test(test_ipv6_and_fragments),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_full_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
