/* The hello: "key=value\n" lines, parsed strictly (hello.h). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "compress.h"
#include "fail.h"
#include "hello.h"

#define STR_(x) #x
#define STR(x) STR_(x)

_Static_assert(HELLO_CONN_LAST == HELLO_CONNS_MAX - 1, "conn= counts from 0");

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* One known key: its parser gets the field (at off in struct hello) and
 * the value as a C string; a failure is reported as
 * "hello: bad <key> `<value>' (<want>)". */
struct key {
	const char *name;
	int (*parse)(void *field, char *v);
	size_t off;
	const char *want;
};

static int parse_proto(void *field, char *v)
{
	unsigned *proto = field;

	return dec_parse(v, 65535, proto) < 0 || *proto == 0 ? -1 : 0;
}

_Static_assert(sizeof(((struct hello *)0)->software) == 64, "software: 63 characters");

static int parse_software(void *field, char *v)
{
	char *software = field;

	if (strlen(v) > 63 || !printable(v))
		return -1;
	strcpy(software, v);
	return 0;
}

static int parse_mtu(void *field, char *v)
{
	unsigned *mtu = field;

	return dec_parse(v, MTU_MAX, mtu) < 0 || *mtu < MTU_MIN ? -1 : 0;
}

/* Names we do not know are skipped: the peer lists what it can decompress,
 * and we pick from what we know. */
static int parse_compress(void *field, char *v)
{
	uint32_t *compress = field;
	char *save, *name;

	for (name = strtok_r(v, ",", &save); name; name = strtok_r(NULL, ",", &save))
		if (!strcmp(name, "zlib"))
			*compress |= COMPRESS_ZLIB;
		else if (!strcmp(name, "zlib-hdr"))
			*compress |= COMPRESS_ZLIB_HDR;
	return 0;
}

/* As compress: names we do not know are a newer peer's, and skipped. */
static int parse_gso(void *field, char *v)
{
	unsigned *gso = field;

	*gso = vnet_caps_parse(v);
	return 0;
}

static int parse_compress_mode(void *field, char *v)
{
	if (!compress_mode_ok(v, NULL))
		return -1;
	strcpy(field, v);	/* at most 4 characters + NUL: checked above */
	return 0;
}

/* id= and join=: HELLO_ID_LEN lowercase hex digits. */
static int parse_id(void *field, char *v)
{
	if (strlen(v) != HELLO_ID_LEN || strspn(v, "0123456789abcdef") != HELLO_ID_LEN)
		return -1;
	memcpy(field, v, HELLO_ID_LEN + 1);
	return 0;
}

static int parse_conns(void *field, char *v)
{
	unsigned *conns = field;

	return dec_parse(v, HELLO_CONNS_MAX, conns) < 0 || *conns == 0 ? -1 : 0;
}

static int parse_conn(void *field, char *v)
{
	return dec_parse(v, HELLO_CONN_LAST, field) < 0 ? -1 : 0;
}

/* The prefix length is required: it is half of what the field says. */
static int parse_addr(struct inet_prefix *pfx, char *v, int family)
{
	if (!strchr(v, '/') || inet_prefix_parse(v, pfx) < 0 || pfx->family != family) {
		memset(pfx, 0, sizeof(*pfx));
		return -1;
	}
	return 0;
}

static int parse_addr4(void *field, char *v)
{
	return parse_addr(field, v, AF_INET);
}

static int parse_addr6(void *field, char *v)
{
	return parse_addr(field, v, AF_INET6);
}

/* "P,P,..." of at most HELLO_MAX_PREFIXES prefixes (a bare address is a
 * host prefix). */
static int parse_prefixes(void *field, char *v)
{
	struct prefix_list *l = field;
	char *save = NULL, *w;

	l->n = 0;
	for (w = strtok_r(v, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (l->n == HELLO_MAX_PREFIXES || inet_prefix_parse(w, &l->p[l->n]) < 0)
			return -1;
		l->n++;
	}
	return 0;
}

/* Domain names: letters, digits, '-', '_', '.', labels of 1..63. */
static int parse_domains(void *field, char *v)
{
	size_t label = 0;

	if (strlen(v) >= HELLO_DOMAINS_MAX)
		return -1;
	for (const char *c = v; *c; c++) {
		if (*c == '.' || *c == ',') {
			if (!label)
				return -1;
			label = 0;
		} else if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			   (*c >= '0' && *c <= '9') || *c == '-' || *c == '_') {
			/* A leading '-' would read as an option to resolvectl. */
			if ((label == 0 && *c == '-') || ++label > 63)
				return -1;
		} else {
			return -1;
		}
	}
	strcpy(field, v);
	return 0;
}

static int parse_stack(void *field, char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 15 || strspn(v, "abcdefghijklmnopqrstuvwxyz") != n)
		return -1;
	strcpy(field, v);
	return 0;
}

#define WANT4 "A.B.C.D/LEN, LEN 0..32"
#define WANT6 "IPv6-address/LEN, LEN 0..128"
#define KEY(name, fn, want) { #name, fn, offsetof(struct hello, name), want }

static const struct key keys[] = {
	KEY(proto, parse_proto, "1..65535"),	/* first: bit 0 of `seen' */
	KEY(software, parse_software, "at most 63 printable ASCII characters"),
	KEY(mtu, parse_mtu, STR(MTU_MIN) ".." STR(MTU_MAX)),
	KEY(compress, parse_compress, ""),
	KEY(compress_mode, parse_compress_mode, "off, auto or 1..9"),
	KEY(id, parse_id, STR(HELLO_ID_LEN) " lowercase hex digits"),
	KEY(client4, parse_addr4, WANT4),
	KEY(server4, parse_addr4, WANT4),
	KEY(client6, parse_addr6, WANT6),
	KEY(server6, parse_addr6, WANT6),
	KEY(routes, parse_prefixes, "comma list of at most " STR(HELLO_MAX_PREFIXES) " prefixes"),
	KEY(dns, parse_prefixes, "comma list of at most " STR(HELLO_MAX_PREFIXES) " addresses"),
	KEY(domains, parse_domains, "comma list of domain names"),
	KEY(avoid, parse_prefixes, "comma list of at most " STR(HELLO_MAX_PREFIXES) " prefixes"),
	KEY(stack, parse_stack, "at most 15 lowercase letters"),
	KEY(gso, parse_gso, ""),
	KEY(conns, parse_conns, "1.." STR(HELLO_CONNS_MAX)),
	KEY(join, parse_id, STR(HELLO_ID_LEN) " lowercase hex digits"),
	KEY(conn, parse_conn, "0.." STR(HELLO_CONN_LAST)),
};
_Static_assert(ARRAY_SIZE(keys) <= 32, "`seen' has a bit per key");

/* Peer text shown in a message: printable ASCII, at most 60 characters. */
static const char *shown(const uint8_t *p, size_t n, char dst[static 61])
{
	size_t i;

	for (i = 0; i < n && i < 60; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	dst[i] = '\0';
	return dst;
}

static const struct key *find_key(const uint8_t *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strlen(keys[i].name) == n && !memcmp(keys[i].name, name, n))
			return &keys[i];
	return NULL;
}

int hello_parse(const uint8_t *p, size_t len, struct hello *h, char *err, size_t errlen)
{
	char val[HELLO_MAX + 1], show[61];
	unsigned seen = 0, lineno = 0;
	const uint8_t *nul;
	size_t off = 0;

	memset(h, 0, sizeof(*h));
	if (len > HELLO_MAX)
		return errorf(err, errlen, "hello: %zu bytes, over the %d-byte limit", len, HELLO_MAX);
	if (len && (nul = memchr(p, '\0', len)))
		return errorf(err, errlen, "hello: NUL byte at offset %zu", (size_t)(nul - p));
	if (len && p[len - 1] != '\n') {
		const uint8_t *last = p + len;

		while (last > p && last[-1] != '\n')
			last--;
		return errorf(err, errlen, "hello: last line `%s' does not end in a newline",
			     shown(last, (size_t)(p + len - last), show));
	}
	while (off < len) {
		const uint8_t *line = p + off;
		const uint8_t *nl = memchr(line, '\n', len - off);
		size_t n = (size_t)(nl - line);
		const uint8_t *eq = memchr(line, '=', n);
		const struct key *k;
		size_t klen;

		lineno++;
		off += n + 1;
		if (!eq)
			return errorf(err, errlen, "hello: line %u `%s' has no '='", lineno,
				     shown(line, n, show));
		klen = (size_t)(eq - line);
		if (!klen)
			return errorf(err, errlen, "hello: line %u `%s' has an empty key", lineno,
				     shown(line, n, show));
		k = find_key(line, klen);
		if (!k)
			continue;	/* a capability from a newer peer */
		if (seen & 1u << (k - keys))
			return errorf(err, errlen, "hello: duplicate key `%s'", k->name);
		seen |= 1u << (k - keys);
		memcpy(val, eq + 1, n - klen - 1);
		val[n - klen - 1] = '\0';
		if (k->parse((char *)h + k->off, val) < 0)
			return errorf(err, errlen, "hello: bad %s `%s' (%s)", k->name,
				     shown(eq + 1, n - klen - 1, show), k->want);
	}
	if (!(seen & 1u))
		return errorf(err, errlen, "hello: missing proto");
	/* conn=0 is a connection too: absent is said apart. */
	h->has_conn = seen & 1u << (find_key((const uint8_t *)"conn", 4) - keys);
	return 0;
}

struct out {
	uint8_t *p;
	size_t cap, len;
	bool over;
};

static void put_line(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_line(struct out *o, const char *fmt, ...)
{
	char line[HELLO_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) || (size_t)n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, line, (size_t)n);
	o->len += (size_t)n;
}

static void put_addr(struct out *o, const char *key, const struct inet_prefix *pfx)
{
	char a[INET6_ADDRSTRLEN + 4];

	if (pfx->family)
		put_line(o, "%s=%s\n", key, inet_prefix_str(pfx, true, a, sizeof(a)));
}

static void put_list(struct out *o, const char *key, const struct prefix_list *l)
{
	char line[HELLO_MAX], a[INET6_ADDRSTRLEN + 4];
	size_t len = 0;

	if (!l->n)
		return;
	for (int i = 0; i < l->n && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", i ? "," : "",
					inet_prefix_str(&l->p[i], true, a, sizeof(a)));
	if (len >= sizeof(line)) {
		o->over = true;
		return;
	}
	put_line(o, "%s=%s\n", key, line);
}

/* Also -1 when software or id would break the line format: we never send
 * a hello that we would not accept. */
int hello_format(const struct hello *h, uint8_t *out, size_t cap)
{
	struct out o = { out, cap, 0, false };

	if (!printable(h->software) || !printable(h->id) || !printable(h->stack) ||
	    !printable(h->join) || (h->has_conn && h->conn > HELLO_CONN_LAST))
		return -1;
	put_line(&o, "proto=%u\n", h->proto);
	if (h->software[0])
		put_line(&o, "software=%s\n", h->software);
	if (h->mtu)
		put_line(&o, "mtu=%u\n", h->mtu);
	/* Each name as parsed, so that what we accept round-trips: zlib-hdr
	 * alone is a peer's (useless) word, and hello_compress_layout wants both. */
	if (h->compress & (COMPRESS_ZLIB | COMPRESS_ZLIB_HDR))
		put_line(&o, "compress=%s%s%s\n", h->compress & COMPRESS_ZLIB ? "zlib" : "",
			 (h->compress & COMPRESS_ZLIB) && (h->compress & COMPRESS_ZLIB_HDR) ? "," : "",
			 h->compress & COMPRESS_ZLIB_HDR ? "zlib-hdr" : "");
	if (h->compress_mode[0])
		put_line(&o, "compress_mode=%s\n", h->compress_mode);
	if (h->id[0])
		put_line(&o, "id=%s\n", h->id);
	put_addr(&o, "client4", &h->client4);
	put_addr(&o, "server4", &h->server4);
	put_addr(&o, "client6", &h->client6);
	put_addr(&o, "server6", &h->server6);
	put_list(&o, "routes", &h->routes);
	put_list(&o, "dns", &h->dns);
	if (h->domains[0])
		put_line(&o, "domains=%s\n", h->domains);
	put_list(&o, "avoid", &h->avoid);
	if (h->stack[0])
		put_line(&o, "stack=%s\n", h->stack);
	if (h->gso) {
		char caps[40];

		put_line(&o, "gso=%s\n", vnet_caps_str(h->gso, caps, sizeof(caps)));
	}
	if (h->conns)
		put_line(&o, "conns=%u\n", h->conns);
	if (h->join[0])
		put_line(&o, "join=%s\n", h->join);
	if (h->has_conn)
		put_line(&o, "conn=%u\n", h->conn);
	return o.over || o.len > HELLO_MAX ? -1 : (int)o.len;
}

uint32_t hello_compress_ours(void)
{
	const char *v = getenv("SSHTUN_ZLIB_HDR");

	return COMPRESS_ZLIB | (v && !strcmp(v, "0") ? 0 : COMPRESS_ZLIB_HDR);
}

bool hello_compress_layout(const struct hello *peer)
{
	return (peer->compress & COMPRESS_ZLIB) && (peer->compress & COMPRESS_ZLIB_HDR) &&
	       (hello_compress_ours() & COMPRESS_ZLIB_HDR);
}
