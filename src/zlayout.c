/* The header layout of compressed frames.  See zlayout.h. */
#include <string.h>

#include "zlayout.h"

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

size_t zlayout_head_len(const uint8_t *pkt, size_t len, size_t prefix)
{
	const uint8_t *ip = pkt + prefix;
	size_t n = len > prefix ? len - prefix : 0, ihl, l4 = 0;
	uint8_t proto;

	if (n >= 20 && ip[0] >> 4 == 4) {
		ihl = (size_t)(ip[0] & 0x0f) * 4;
		proto = ((ip[6] & 0x1f) | ip[7]) ? 0 : ip[9];	/* a later fragment: no L4 header */
	} else if (n >= 40 && ip[0] >> 4 == 6) {
		ihl = 40;
		proto = ip[6];	/* extension headers: their bytes go with the body */
	} else {
		return min_size(len, min_size(prefix + 20, ZLAYOUT_HEAD_MAX));
	}
	if (ihl < 20 || ihl > n)
		ihl = 20;
	if (proto == 6 && n >= ihl + 13)
		l4 = (size_t)(ip[ihl + 12] >> 4) * 4 < 20 ? 20 : (size_t)(ip[ihl + 12] >> 4) * 4;
	else if (proto == 17 || proto == 1 || proto == 58)
		l4 = 8;
	return min_size(len, min_size(prefix + ihl + l4, ZLAYOUT_HEAD_MAX));
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

long zlayout_pack(const uint8_t *buf, size_t len, const uint32_t *offsets, int count, size_t prefix,
		  uint8_t *stage)
{
	size_t table = 1 + 5 * (size_t)count, heads = table, bodies, plen[ZLAYOUT_PKTS_MAX];
	uint8_t head[ZLAYOUT_PKTS_MAX];

	if (count < 1 || count > ZLAYOUT_PKTS_MAX || offsets[0] != 0 || len > UINT32_MAX)
		return -1;
	for (int i = 0; i < count; i++) {
		size_t end = i + 1 < count ? offsets[i + 1] : len;

		if (end <= offsets[i] || end > len)
			return -1;
		plen[i] = end - offsets[i];
		head[i] = (uint8_t)zlayout_head_len(buf + offsets[i], plen[i], prefix);
	}
	stage[0] = (uint8_t)count;
	bodies = heads;
	for (int i = 0; i < count; i++) {
		stage[1 + 5 * i] = head[i];
		put_u32(stage + 2 + 5 * i, (uint32_t)plen[i]);
		bodies += head[i];
	}
	for (int i = 0; i < count; i++) {
		const uint8_t *p = buf + offsets[i], *prev = i ? buf + offsets[i - 1] : NULL;
		size_t both = prev ? min_size(head[i], head[i - 1]) : 0;

		for (size_t k = 0; k < head[i]; k++)
			stage[heads + k] = (uint8_t)(k < both ? p[k] - prev[k] : p[k]);
		heads += head[i];
		memcpy(stage + bodies, p + head[i], plen[i] - head[i]);
		bodies += plen[i] - head[i];
	}
	return (long)bodies;
}

long zlayout_unpack(const uint8_t *stage, size_t n, uint8_t *out, size_t cap, const char **why)
{
	size_t count, table, total = 0, heads, bodies, off = 0, prev_off = 0, prev_head = 0;

	if (n < 1 || (count = stage[0]) < 1 || count > ZLAYOUT_PKTS_MAX) {
		*why = "its packet count is not 1..64";
		return -1;
	}
	table = 1 + 5 * count;
	if (n < table) {
		*why = "its table is cut short";
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		size_t head = stage[1 + 5 * i], plen = get_u32(stage + 2 + 5 * i);

		if (plen == 0 || head > plen) {
			*why = "a packet in its table is empty or shorter than its head";
			return -1;
		}
		if (plen > cap - total) {
			*why = "its packets add up past the limit";
			return -1;
		}
		total += plen;
	}
	if (n - table != total) {
		*why = "its table does not add up to its bytes";
		return -1;
	}
	heads = table;
	bodies = table;
	for (size_t i = 0; i < count; i++)
		bodies += stage[1 + 5 * i];
	for (size_t i = 0; i < count; i++) {
		size_t head = stage[1 + 5 * i], plen = get_u32(stage + 2 + 5 * i);
		size_t both = i ? min_size(head, prev_head) : 0;

		for (size_t k = 0; k < head; k++)
			out[off + k] = (uint8_t)(k < both ? stage[heads + k] + out[prev_off + k] : stage[heads + k]);
		memcpy(out + off + head, stage + bodies, plen - head);
		heads += head;
		bodies += plen - head;
		prev_off = off;
		prev_head = head;
		off += plen;
	}
	return (long)total;
}
