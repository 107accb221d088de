/* See prefix.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>

#include "prefix.h"

/* See prefix.h. */
int dec_parse(const char *s, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int inet_prefix_parse(const char *s, struct inet_prefix *pfx)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char a[INET6_ADDRSTRLEN];
	unsigned max;

	memset(pfx, 0, sizeof(*pfx));
	if (alen >= sizeof(a))
		return -1;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, &pfx->addr.v4) == 1) {
		pfx->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, a, &pfx->addr.v6) == 1) {
		pfx->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	pfx->plen = max;
	if (slash && dec_parse(slash + 1, max, &pfx->plen) < 0) {
		memset(pfx, 0, sizeof(*pfx));
		return -1;
	}
	return 0;
}

int inet_prefix_parse_net(const char *s, struct inet_prefix *pfx)
{
	uint8_t *x = (uint8_t *)&pfx->addr;
	unsigned total;

	if (inet_prefix_parse(s, pfx) < 0)
		return -1;
	total = pfx->family == AF_INET ? 32 : 128;
	for (unsigned bit = pfx->plen; bit < total; bit++)
		x[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return 0;
}

bool inet_prefix_overlaps(const struct inet_prefix *a, const struct inet_prefix *b)
{
	unsigned plen = a->plen < b->plen ? a->plen : b->plen;
	const uint8_t *x = (const uint8_t *)&a->addr, *y = (const uint8_t *)&b->addr;

	if (a->family != b->family)
		return false;
	for (unsigned i = 0; plen; i++) {
		unsigned take = plen < 8 ? plen : 8;

		if ((x[i] ^ y[i]) & (uint8_t)(0xff << (8 - take)))
			return false;
		plen -= take;
	}
	return true;
}

char *inet_prefix_str(const struct inet_prefix *pfx, bool with_plen, char *dst, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	if (!cap)
		return dst;
	dst[0] = '\0';
	if ((pfx->family != AF_INET && pfx->family != AF_INET6) ||
	    !inet_ntop(pfx->family, &pfx->addr, a, sizeof(a)))
		return dst;
	if (with_plen)
		snprintf(dst, cap, "%s/%u", a, pfx->plen);
	else
		snprintf(dst, cap, "%s", a);
	return dst;
}

int inet_prefix_from_sockaddr(const struct sockaddr_storage *ss, struct inet_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = ss->ss_family;
	if (p->family == AF_INET) {
		p->addr.v4 = ((const struct sockaddr_in *)ss)->sin_addr;
		p->plen = 32;
	} else if (p->family == AF_INET6) {
		p->addr.v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		p->plen = 128;
	} else {
		return -1;
	}
	return 0;
}
