/* An IPv4 or IPv6 address with a prefix length: what addresses, routes,
 * pools and leases are made of. */
#ifndef SSHTUN_PREFIX_H
#define SSHTUN_PREFIX_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct inet_prefix {
	int family;		/* AF_INET, AF_INET6, or 0 when absent */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	unsigned plen;
};

/* "198.51.100.3/31" <-> struct inet_prefix; parse accepts a bare address
 * (plen = 32 or 128).  Returns 0 or -1. */
int inet_prefix_parse(const char *s, struct inet_prefix *pfx);
/* A network the user names (route add, route exclude): parsed as above,
 * its host bits cleared. */
int inet_prefix_parse_net(const char *s, struct inet_prefix *pfx);
/* Do a and b share an address (one contains the other)?  Families differ:
 * no. */
bool inet_prefix_overlaps(const struct inet_prefix *a, const struct inet_prefix *b);
/* Writes "addr/plen" (with_plen) or "addr".  Returns dst.  Family 0
 * writes "". */
struct sockaddr_storage;
/* An address as a /32 or /128; -1 for a family other than IPv4 and IPv6. */
int inet_prefix_from_sockaddr(const struct sockaddr_storage *ss, struct inet_prefix *p);
char *inet_prefix_str(const struct inet_prefix *pfx, bool with_plen, char *dst, size_t cap);

/* A decimal number as prefix lengths and the hello's fields write it:
 * digits only, no sign, no leading zero, at most max.  0 or -1. */
int dec_parse(const char *s, unsigned max, unsigned *out);

#endif
