/* The hello parser on arbitrary payloads.  Whatever hello_parse() accepts,
 * hello_format() must write (we never send what we would not accept) and
 * hello_parse() must read back to the same struct; formatting again gives
 * the same bytes.  A refusal always says why.  The same round trip for
 * inet_prefix_parse() / inet_prefix_str() on the input as a string. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "fuzz.h"
#include "hello.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void check_prefix_eq(const struct inet_prefix *a, const struct inet_prefix *b)
{
	CHECK(a->family == b->family);
	CHECK(a->plen == b->plen);
	if (a->family == AF_INET)
		CHECK(!memcmp(&a->addr.v4, &b->addr.v4, sizeof(a->addr.v4)));
	else if (a->family == AF_INET6)
		CHECK(!memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)));
}

static void check_hello_eq(const struct hello *a, const struct hello *b)
{
	CHECK(a->proto == b->proto);
	CHECK(!strcmp(a->software, b->software));
	CHECK(a->mtu == b->mtu);
	CHECK(a->compress == b->compress);
	CHECK(!strcmp(a->compress_mode, b->compress_mode));
	CHECK(!strcmp(a->id, b->id));
	check_prefix_eq(&a->client4, &b->client4);
	check_prefix_eq(&a->server4, &b->server4);
	check_prefix_eq(&a->client6, &b->client6);
	check_prefix_eq(&a->server6, &b->server6);
	CHECK(a->conns == b->conns);
	CHECK(!strcmp(a->join, b->join));
}

static void check_err(const char *err, size_t cap)
{
	size_t n = strnlen(err, cap);

	CHECK(n < cap);
	CHECK(n > 0);
	CHECK(!strncmp(err, "hello: ", 7));
	CHECK(!memchr(err, '\n', n));
}

static void round_trip_hello(const uint8_t *data, size_t size)
{
	static uint8_t out[HELLO_MAX], out2[HELLO_MAX];
	struct hello h, h2;
	char err[256], tiny[8];
	int n, n2;

	memset(err, 'X', sizeof(err));
	if (hello_parse(data, size, &h, err, sizeof(err)) < 0) {
		check_err(err, sizeof(err));
		/* A short error buffer truncates; no buffer is fine too. */
		CHECK(hello_parse(data, size, &h, tiny, sizeof(tiny)) < 0);
		CHECK(strnlen(tiny, sizeof(tiny)) < sizeof(tiny));
		CHECK(hello_parse(data, size, &h, NULL, 0) < 0);
		return;
	}
	CHECK(h.proto >= 1 && h.proto <= 65535);
	CHECK(h.mtu == 0 || (h.mtu >= MTU_MIN && h.mtu <= MTU_MAX));
	CHECK(strnlen(h.software, sizeof(h.software)) < sizeof(h.software));
	CHECK(strnlen(h.id, sizeof(h.id)) < sizeof(h.id));
	CHECK(h.conns <= HELLO_CONNS_MAX);
	CHECK(strnlen(h.join, sizeof(h.join)) < sizeof(h.join));
	CHECK(strnlen(h.compress_mode, sizeof(h.compress_mode)) < sizeof(h.compress_mode));

	n = hello_format(&h, out, sizeof(out));
	CHECK(n > 0 && n <= HELLO_MAX);
	CHECK(hello_parse(out, (size_t)n, &h2, err, sizeof(err)) == 0);
	check_hello_eq(&h, &h2);
	n2 = hello_format(&h2, out2, sizeof(out2));
	CHECK(n2 == n && !memcmp(out, out2, (size_t)n));
	/* Too small an output buffer is refused, not overrun. */
	CHECK(hello_format(&h, out2, (size_t)n - 1) < 0);
}

static void round_trip_prefix(const uint8_t *data, size_t size)
{
	char s[80], str[INET6_ADDRSTRLEN + 8];
	struct inet_prefix p, p2;

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (inet_prefix_parse(s, &p) < 0) {
		CHECK(p.family == 0);
		return;
	}
	CHECK(p.family == AF_INET ? p.plen <= 32 : p.family == AF_INET6 && p.plen <= 128);
	inet_prefix_str(&p, true, str, sizeof(str));
	CHECK(inet_prefix_parse(str, &p2) == 0);
	check_prefix_eq(&p, &p2);
	inet_prefix_str(&p, false, str, sizeof(str));
	CHECK(inet_prefix_parse(str, &p2) == 0);
	CHECK(p2.family == p.family && p2.plen == (p.family == AF_INET ? 32u : 128u));
	/* Truncation, never overflow. */
	inet_prefix_str(&p, true, str, 5);
	CHECK(strnlen(str, 5) < 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	round_trip_hello(data, size);
	round_trip_prefix(data, size);
	return 0;
}
