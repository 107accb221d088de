/* See killswitch.h.  The root side builds and applies the table; nothing
 * here comes from the network: the servers and the interface were checked
 * by the root side's request handler. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "fail.h"
#include "killswitch.h"
#include "nft.h"

#define KS_SCRIPT_MAX 16384

/* The local networks every --allow-lan allows, whatever the interfaces. */
static const char *const private_nets[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
	"fe80::/10", "fc00::/7", "ff00::/8",
};

static bool table_named(const char *name, const char *prefix)
{
	size_t n = strlen(prefix), len = strlen(name);

	return len > n && len < sizeof(((struct killswitch *)0)->table) && !strncmp(name, prefix, n) &&
	       strspn(name + n, "0123456789") == len - n;
}

/* An exec namespace's NAT table (execns.h) is recorded and removed the
 * same way. */
bool ks_table_ok(const char *name)
{
	return table_named(name, KS_TABLE_PREFIX) || table_named(name, "sshtun_exec_");
}

struct out {
	char *s;
	size_t cap, len;
	int over;
};

static void add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->over)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= o->cap - o->len)
		o->over = 1;
	else
		o->len += (size_t)w;
}

/* "ip daddr { a, b } accept" for one family's LAN prefixes, if any. */
static void lan_rule(struct out *o, int family, const struct inet_prefix *lan, int nlan)
{
	char p[INET6_ADDRSTRLEN + 8];
	int n = 0;

	for (int i = 0; i < nlan; i++) {
		if (lan[i].family != family)
			continue;
		add(o, "%s%s", n++ ? ", " : family == AF_INET ? "\t\tip daddr { " : "\t\tip6 daddr { ",
		    inet_prefix_str(&lan[i], true, p, sizeof(p)));
	}
	if (n)
		add(o, " } accept\n");
}

static void chain_output(struct out *o, const struct killswitch *k, const struct inet_prefix *lan, int nlan)
{
	char a[INET6_ADDRSTRLEN];

	add(o, "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n"
	       "\t\toifname \"lo\" accept\n\t\toifname \"%s\" accept\n", k->ifname);
	for (int i = 0; i < k->nservers; i++)
		add(o, "\t\t%s daddr %s tcp dport %u accept\n", k->servers[i].addr.family == AF_INET ? "ip" : "ip6",
		    inet_prefix_str(&k->servers[i].addr, false, a, sizeof(a)), k->servers[i].port);
	/* Before the LAN: a resolver on the LAN is outside the tunnel too. */
	if (k->flags & KS_DNS)
		add(o, "\t\tmeta l4proto { tcp, udp } th dport 53 counter reject with icmpx type admin-prohibited\n");
	if (!(k->flags & KS_KILL)) {
		add(o, "\t}\n");
		return;
	}
	if (k->flags & KS_ALLOW_LAN) {
		lan_rule(o, AF_INET, lan, nlan);
		lan_rule(o, AF_INET6, lan, nlan);
	}
	/* The physical link keeps its lease and finds its gateway. */
	add(o, "\t\tudp sport 68 udp dport 67 accept\n\t\tudp sport 546 udp dport 547 accept\n"
	       "\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept\n"
	       "\t\tcounter reject with icmpx type admin-prohibited\n\t}\n");
}

/* What this machine forwards (containers, `sshtun exec'): into the
 * tunnel, and the answers out of it. */
static void chain_forward(struct out *o, const struct killswitch *k, const struct inet_prefix *lan, int nlan)
{
	add(o, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
	       "\t\toifname \"%s\" accept\n\t\tiifname \"%s\" ct state established,related accept\n",
	    k->ifname, k->ifname);
	if (k->flags & KS_ALLOW_LAN) {
		lan_rule(o, AF_INET, lan, nlan);
		lan_rule(o, AF_INET6, lan, nlan);
	}
	add(o, "\t\tcounter reject with icmpx type admin-prohibited\n\t}\n");
}

int ks_script(const struct killswitch *k, const struct inet_prefix *lan, int nlan, char *s, size_t cap)
{
	struct out o = { s, cap, 0, 0 };

	/* Declare, delete, re-create: one transaction, idempotent. */
	add(&o, "table inet %s\ndelete table inet %s\n", k->table, k->table);
	if (k->flags) {
		add(&o, "table inet %s {\n", k->table);
		chain_output(&o, k, lan, nlan);
		if (k->flags & KS_KILL)
			chain_forward(&o, k, lan, nlan);
		add(&o, "}\n");
	}
	return o.over ? -1 : 0;
}

static void mask(struct inet_prefix *p)
{
	uint8_t *b = (uint8_t *)&p->addr;
	size_t alen = p->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < alen; i++) {
		unsigned keep = p->plen > i * 8 ? p->plen - i * 8 : 0;

		if (keep < 8)
			b[i] &= (uint8_t)(0xff00 >> keep);
	}
}

static unsigned plen_of(const struct sockaddr *m)
{
	const uint8_t *b = m->sa_family == AF_INET ? (const uint8_t *)&((const struct sockaddr_in *)m)->sin_addr
						    : (const uint8_t *)&((const struct sockaddr_in6 *)m)->sin6_addr;
	size_t alen = m->sa_family == AF_INET ? 4 : 16;
	unsigned n = 0;

	for (size_t i = 0; i < alen; i++)
		n += (unsigned)__builtin_popcount(b[i]);
	return n;
}

/* The fixed private ranges, then the networks of this machine's own
 * addresses (but the tunnel's and loopback's). */
static int lan_prefixes(const struct killswitch *k, struct inet_prefix *lan, int cap)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	for (size_t j = 0; j < ARRAY_SIZE(private_nets) && n < cap; j++)
		if (inet_prefix_parse(private_nets[j], &lan[n]) == 0)
			n++;
	if (getifaddrs(&ifa) < 0)
		return n;
	for (i = ifa; i && n < cap; i = i->ifa_next) {
		struct inet_prefix *p = &lan[n];

		if (!i->ifa_addr || !i->ifa_netmask || !strcmp(i->ifa_name, k->ifname) || !strcmp(i->ifa_name, "lo") ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) ||
		    i->ifa_netmask->sa_family != i->ifa_addr->sa_family)
			continue;
		memset(p, 0, sizeof(*p));
		p->family = i->ifa_addr->sa_family;
		if (p->family == AF_INET)
			p->addr.v4 = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else
			p->addr.v6 = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		p->plen = plen_of(i->ifa_netmask);
		/* A host address (a /32 point-to-point) is no network. */
		if (p->plen == 0 || p->plen == (p->family == AF_INET ? 32u : 128u))
			continue;
		mask(p);
		n++;
	}
	freeifaddrs(ifa);
	return n;
}

int ks_apply(const struct killswitch *k, char *err, size_t errlen)
{
	static char script[KS_SCRIPT_MAX];
	struct inet_prefix lan[KS_MAX_LAN];
	int nlan = 0;

	size_t n = strlen(k->ifname);

	if (!ks_table_ok(k->table))
		return errorf(err, errlen, "bad nftables table name `%s'", k->table);
	/* The name goes into the script between quotes. */
	if (!n || strspn(k->ifname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return errorf(err, errlen, "bad interface name `%s' for the kill switch", k->ifname);
	if (k->flags & KS_ALLOW_LAN)
		nlan = lan_prefixes(k, lan, KS_MAX_LAN);
	if (ks_script(k, lan, nlan, script, sizeof(script)) < 0)
		return errorf(err, errlen, "nft script for table inet %s too long", k->table);
	if (nft_run(script) < 0)
		return errorf(err, errlen, "nft could not %s the table inet %s%s", k->flags ? "add" : "remove",
			      k->table, errno == ENOENT ? " (nft is not installed)" : "");
	return 0;
}

int ks_remove(const char *name)
{
	char script[128];

	if (!ks_table_ok(name))
		return -1;
	snprintf(script, sizeof(script), "table inet %s\ndelete table inet %s\n", name, name);
	return nft_run(script);
}
