/* The client's checks of a server's hello (peer_check.c) on arbitrary
 * hellos and arbitrary machines.  Input layout:
 *
 *   u8 knobs      bit 0: --dns; bits 1-3: number of facts k (0..7)
 *   k x 19 bytes  a fact: u8 kind (mod 4: network, gateway, resolver, the
 *                 SSH server), u8 family (even IPv4, odd IPv6), u8 prefix
 *                 length (mod max+1; gateways etc. are hosts), 16 address
 *                 bytes
 *   17 bytes      a packet source for peer_src_allowed: u8 family, 16 bytes
 *   rest          the hello payload (hello_parse)
 *
 * Whatever peer_check_hello accepts is checked here against a reference
 * written bit by bit: a /31 and /127 pair of mates, outside the special
 * ranges, overlapping no fact;
 * resolvers are hosts, and with --dns neither the server nor in a network.
 * A refusal is one line that names why.  peer_src_allowed agrees with the
 * reference too. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "fuzz.h"
#include "peer_check.h"

#define FACT_LEN 19
#define SRC_LEN 17

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static unsigned bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Reference: does the first plen bits of a equal b's? */
static bool same_bits(const void *a, const void *b, unsigned plen)
{
	const uint8_t *x = a, *y = b;

	for (unsigned i = 0; i < plen; i++)
		if (((x[i / 8] >> (7 - i % 8)) & 1) != ((y[i / 8] >> (7 - i % 8)) & 1))
			return false;
	return true;
}

static bool ref_overlap(const struct inet_prefix *a, const struct inet_prefix *b)
{
	return a->family == b->family && same_bits(&a->addr, &b->addr, a->plen < b->plen ? a->plen : b->plen);
}

static bool ref_any(const struct inet_prefix *p, const struct inet_prefix *l, int n)
{
	for (int i = 0; i < n; i++)
		if (ref_overlap(p, &l[i]))
			return true;
	return false;
}

/* Reference for the special ranges, byte by byte, for a /31 or /127. */
static bool ref_special(const struct inet_prefix *p)
{
	static const uint8_t zero[15], mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *a = (const uint8_t *)&p->addr;

	if (p->family == AF_INET)
		return a[0] == 0 || a[0] == 127 || (a[0] == 169 && a[1] == 254) || a[0] >= 224;
	return !memcmp(a, zero, 15) || !memcmp(a, mapped, 12) || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	       a[0] == 0xff;
}

static bool ref_pair_ok(const struct inet_prefix *c, const struct inet_prefix *s, const struct peer_facts *f)
{
	unsigned n = bits(c->family);
	const uint8_t *x = (const uint8_t *)&c->addr, *y = (const uint8_t *)&s->addr;

	if (!c->family)
		return !s->family;
	return s->family == c->family && c->plen == n - 1 && s->plen == n - 1 &&
	       same_bits(x, y, n - 1) && (x[n / 8 - 1] & 1) != (y[n / 8 - 1] & 1) && !ref_special(c) &&
	       !(f->server.family && ref_overlap(c, &f->server)) && !ref_any(c, f->gateways, f->ngateways) &&
	       !ref_any(c, f->resolvers, f->nresolvers) && !ref_any(c, f->nets, f->nnets);
}

static void read_facts(const uint8_t *p, int k, struct peer_facts *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < k; i++, p += FACT_LEN) {
		struct inet_prefix x = { .family = p[1] & 1 ? AF_INET6 : AF_INET };

		memcpy(&x.addr, p + 3, x.family == AF_INET ? 4 : 16);
		x.plen = p[2] % (bits(x.family) + 1);
		switch (p[0] % 4) {
		case 0: f->nets[f->nnets++] = x; break;
		case 1: x.plen = bits(x.family); f->gateways[f->ngateways++] = x; break;
		case 2: x.plen = bits(x.family); f->resolvers[f->nresolvers++] = x; break;
		default: x.plen = bits(x.family); f->server = x; break;
		}
	}
}

static void check_err(const char *err, size_t cap)
{
	size_t n = strnlen(err, cap);

	CHECK(n > 0 && n < cap);
	CHECK(!memchr(err, '\n', n));
	CHECK(strstr(err, "refusing") || strstr(err, "no address"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct peer_facts f;
	struct inet_prefix src = { 0 };
	char err[ERROR_MSG_MAX], tiny[12];
	bool want_dns, ok;
	struct hello h;
	int k, rc;

	if (size < 1 + SRC_LEN)
		return 0;
	want_dns = data[0] & 1;
	k = (data[0] >> 1) & 7;
	if (size < 1 + (size_t)k * FACT_LEN + SRC_LEN)
		return 0;
	read_facts(data + 1, k, &f);
	data += 1 + (size_t)k * FACT_LEN;
	size -= 1 + (size_t)k * FACT_LEN;
	src.family = data[0] & 1 ? AF_INET6 : AF_INET;
	memcpy(&src.addr, data + 1, 16);
	src.plen = bits(src.family);
	data += SRC_LEN;
	size -= SRC_LEN;
	if (hello_parse(data, size, &h, NULL, 0) < 0)
		return 0;

	memset(err, 'X', sizeof(err));
	rc = peer_check_hello(&h, &f, want_dns, err, sizeof(err));
	ok = (h.client4.family || h.client6.family) && ref_pair_ok(&h.client4, &h.server4, &f) &&
	     ref_pair_ok(&h.client6, &h.server6, &f);
	for (int i = 0; i < h.dns.n; i++) {
		const struct inet_prefix *r = &h.dns.p[i];

		ok = ok && r->plen == bits(r->family);
		if (want_dns)
			ok = ok && !(f.server.family && ref_overlap(r, &f.server)) && !ref_any(r, f.nets, f.nnets);
	}
	if (rc == 0) {
		CHECK(ok);
	} else {
		CHECK(rc == -1 && !ok);
		check_err(err, sizeof(err));
		/* A short buffer truncates; none at all is fine. */
		CHECK(peer_check_hello(&h, &f, want_dns, tiny, sizeof(tiny)) == -1);
		CHECK(strnlen(tiny, sizeof(tiny)) < sizeof(tiny));
		CHECK(peer_check_hello(&h, &f, want_dns, NULL, 0) == -1);
	}

	/* The facts' networks stand in for the routes through the tunnel. */
	{
		const struct inet_prefix *pair = src.family == AF_INET ? &h.client4 : &h.client6;
		bool want = (pair->family && ref_overlap(&src, pair)) || ref_any(&src, f.nets, f.nnets);

		CHECK(peer_src_allowed(src.family, &src.addr, &h, f.nets, f.nnets) == want);
	}
	return 0;
}
