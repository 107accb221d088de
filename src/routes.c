/* Which prefixes a route request means, and which it must not touch. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"

/* Does prefix p contain address a? */
static bool contains(const struct inet_prefix *p, int family, const void *a)
{
	const uint8_t *x = (const uint8_t *)&p->addr, *y = a;
	unsigned bits = p->plen;

	if (p->family != family)
		return false;
	for (unsigned i = 0; bits; i++) {
		unsigned take = bits < 8 ? bits : 8;
		uint8_t mask = (uint8_t)(0xff << (8 - take));

		if ((x[i] ^ y[i]) & mask)
			return false;
		bits -= take;
	}
	return true;
}

static void mask_host_bits(struct inet_prefix *p)
{
	uint8_t *x = (uint8_t *)&p->addr;
	unsigned total = p->family == AF_INET ? 32 : 128;

	for (unsigned bit = p->plen; bit < total; bit++)
		x[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

int routes_parse(struct engine *eng, const char *cidr, struct inet_prefix *out, int *n, char *err,
		 size_t errlen)
{
	const struct sockaddr_storage *ss = &eng->conn.peer_addr;
	char s[ENGINE_CIDR_STRLEN];

	*n = 0;
	if (!strcmp(cidr, "default")) {
		/* Two halves beat the default route without replacing it, so the
		 * original stays for the SSH connection itself. */
		static const char *const halves[] = { "0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1" };

		for (size_t i = 0; i < 4; i++)
			inet_prefix_parse(halves[i], &out[(*n)++]);
	} else if (inet_prefix_parse(cidr, &out[0]) < 0) {
		snprintf(err, errlen, "bad CIDR `%s' (want e.g. 10.20.0.0/16, 2001:db8::/32 or default)", cidr);
		return -1;
	} else {
		mask_host_bits(&out[0]);
		*n = 1;
	}
	for (int i = 0; i < *n; i++) {
		const void *server = NULL;
		int fam = ss->ss_family;

		if (fam == AF_INET)
			server = &((const struct sockaddr_in *)ss)->sin_addr;
		else if (fam == AF_INET6)
			server = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (server && contains(&out[i], fam, server)) {
			snprintf(err, errlen,
				 "route %s would capture the SSH server's own address %s: the tunnel would carry itself (use a narrower prefix)",
				 inet_prefix_str(&out[i], true, s, sizeof(s)), eng->conn.peer);
			return -1;
		}
	}
	return 0;
}
