/* Flows to connections (steer.h) on arbitrary packets, liveness and time.
 *
 * Input: records of [op][arg][len][len bytes of packet].  op & 3: 0 picks
 * a connection for the packet among arg's alive bits; 1 forgets connection
 * arg % 10 (out of range too); 2 moves the clock by arg * 97 ms; 3 picks
 * with all 8 alive and checks that the packet's reply (addresses and ports
 * swapped) has the same key and the same connection.  Checks: a pick names
 * a live connection, -1 only when none is; a flow's second packet goes where
 * its first went (unless the table had no room); the per-connection counts
 * add up to the table's live entries of flows with ports. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "steer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static struct steer st;

static void swap(uint8_t *a, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t x = a[i];

		a[i] = b[i];
		b[i] = x;
	}
}

/* The reply to p (a copy in r), where the ports' place is plain to see: an
 * unfragmented IPv4 packet, or IPv6 with TCP/UDP right behind its header.
 * False when it is not such a packet. */
static bool reply(const uint8_t *p, size_t n, uint8_t *r)
{
	size_t off;
	uint8_t proto;

	memcpy(r, p, n);
	if (n >= 20 && p[0] >> 4 == 4) {
		off = (size_t)(p[0] & 15) * 4;
		if ((p[6] & 0x3f) || p[7])
			return false;
		proto = p[9];
		swap(r + 12, r + 16, 4);
	} else if (n >= 40 && p[0] >> 4 == 6 && (p[6] == 6 || p[6] == 17)) {
		off = 40;
		proto = p[6];
		swap(r + 8, r + 24, 16);
	} else {
		return false;
	}
	if ((proto == 6 || proto == 17 || proto == 132 || proto == 136) && off + 4 <= n)
		swap(r + off, r + off + 2, 2);
	return true;
}

static void check_counts(void)
{
	unsigned sum = 0, live = 0;

	for (int c = 0; c < STEER_CONNS; c++)
		sum += steer_flows(&st, c);
	for (size_t i = 0; i < STEER_SLOTS; i++)
		live += st.e[i].key && st.e[i].counted;
	CHECK(sum == live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[256], rev[256];
	uint64_t now = 0xfffff000u, k1, k2;
	int ops = 0;

	steer_init(&st, 0x5eed);
	while (size >= 3) {
		uint8_t op = data[0] & 3, arg = data[1];
		size_t n = data[2] < size - 3 ? data[2] : size - 3;
		int c, d;

		memcpy(pkt, data + 3, n);
		data += 3 + n;
		size -= 3 + n;
		switch (op) {
		case 0:
			c = steer_pick(&st, pkt, n, arg, now);
			CHECK(arg ? c >= 0 && (arg & 1u << c) : c == -1);
			if (c >= 0 && steer_key(&st, pkt, n, &k1) <= STEER_OTHER) {
				uint64_t full = st.table_full;

				d = steer_pick(&st, pkt, n, arg, now);
				CHECK(d == c || st.table_full != full);
			}
			break;
		case 1:
			steer_forget(&st, (int)(arg % 10));
			CHECK(arg % 10 >= STEER_CONNS || steer_flows(&st, arg % 10) == 0);
			break;
		case 2:
			now += (uint64_t)arg * 97;
			break;
		default:
			c = steer_pick(&st, pkt, n, 0xff, now);
			CHECK(c >= 0 && c < STEER_CONNS);
			if (reply(pkt, n, rev) && steer_key(&st, pkt, n, &k1) <= STEER_OTHER) {
				uint64_t full = st.table_full;

				CHECK(steer_key(&st, rev, n, &k2) == steer_key(&st, pkt, n, &k1) && k1 == k2);
				d = steer_pick(&st, rev, n, 0xff, now);
				CHECK(d == c || st.table_full != full);
			}
			break;
		}
		if (++ops % 64 == 0)
			check_counts();
	}
	check_counts();
	return 0;
}
