/* See serve_config.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fail.h"
#include "log.h"
#include "pool.h"
#include "serve_config.h"

#define LINE_MAX_LEN 1024

static int add_prefix(struct prefix_list *l, const char *what, const char *v, char *err, size_t errlen)
{
	if (l->n == HELLO_MAX_PREFIXES)
		return errorf(err, errlen, "too many %s (max %d)", what, HELLO_MAX_PREFIXES);
	if (inet_prefix_parse(v, &l->p[l->n]) < 0)
		return errorf(err, errlen, "bad %s `%s'", what, v);
	l->n++;
	return 0;
}

static int add_domain(struct serve_config *c, const char *v, char *err, size_t errlen)
{
	size_t len = strlen(c->domains);
	struct hello probe;
	char line[HELLO_DOMAINS_MAX + 16], e[128];
	int n;

	if (len + strlen(v) + 2 > sizeof(c->domains))
		return errorf(err, errlen, "too many DNS domains (max %d characters)", HELLO_DOMAINS_MAX - 1);
	/* Validate with the hello's own rules, which the client applies. */
	n = snprintf(line, sizeof(line), "proto=1\ndomains=%s\n", v);
	if (strchr(v, ',') || hello_parse((const uint8_t *)line, (size_t)n, &probe, e, sizeof(e)) < 0)
		return errorf(err, errlen, "bad DNS domain `%s'", v);
	snprintf(c->domains + len, sizeof(c->domains) - len, "%s%s", len ? "," : "", v);
	c->domains_set = true;
	return 0;
}

static int copy(char *dst, size_t cap, const char *what, const char *v, char *err, size_t errlen)
{
	if (strlen(v) >= cap)
		return errorf(err, errlen, "%s too long: `%s'", what, v);
	strcpy(dst, v);
	return 0;
}

static int yes_no(bool *flag, const char *name, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "yes"))
		*flag = true;
	else if (!strcmp(v, "no"))
		*flag = false;
	else
		return errorf(err, errlen, "bad %s `%s' (yes or no)", name, v);
	return 0;
}

/* A decimal in min..max, nothing else around it. */
static int number(unsigned *out, const char *what, const char *v, unsigned long min,
		  unsigned long max, char *err, size_t errlen)
{
	unsigned long n = 0;
	const char *p = v;

	for (; *p >= '0' && *p <= '9' && n <= max; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (!*v || *p || n < min || n > max)
		return errorf(err, errlen, "bad %s `%s' (%lu..%lu)", what, v, min, max);
	*out = (unsigned)n;
	return 0;
}

/* One option by its long name; from argv or a config line. */
static int set(struct serve_config *c, const char *name, const char *v, char *err, size_t errlen)
{
	if (!strcmp(name, "pool"))
		return copy(c->pool4, sizeof(c->pool4), "pool", v, err, errlen);
	if (!strcmp(name, "pool6"))
		return copy(c->pool6, sizeof(c->pool6), "pool6", v, err, errlen);
	if (!strcmp(name, "worker-user"))
		return copy(c->worker_user, sizeof(c->worker_user), "worker-user", v, err, errlen);
	if (!strcmp(name, "lease-file"))
		return copy(c->lease_file, sizeof(c->lease_file), "lease-file", v, err, errlen);
	if (!strcmp(name, "mtu"))
		return number(&c->mtu, "mtu", v, MTU_MIN, MTU_MAX, err, errlen);
	if (!strcmp(name, "max-sessions-per-user"))
		return number(&c->max_per_user, "max-sessions-per-user", v, 1, POOL_MAX_LEASES, err,
			      errlen);
	if (!strcmp(name, "lease-grace"))
		return number(&c->lease_grace, "lease-grace", v, 0, 7 * 86400, err, errlen);
	if (!strcmp(name, "route"))
		return add_prefix(&c->routes, "route", v, err, errlen);
	if (!strcmp(name, "dns")) {
		c->dns_set = true;
		return add_prefix(&c->dns, "dns server", v, err, errlen);
	}
	if (!strcmp(name, "dns-domain"))
		return add_domain(c, v, err, errlen);
	if (!strcmp(name, "nat"))
		return yes_no(&c->nat, name, v, err, errlen);
	if (!strcmp(name, "client-to-client"))
		return yes_no(&c->client_to_client, name, v, err, errlen);
	if (!strcmp(name, "userspace"))
		return yes_no(&c->userspace, name, v, err, errlen);
	if (!strcmp(name, "sandbox-optional"))
		return yes_no(&c->sandbox_optional, name, v, err, errlen);
	if (!strcmp(name, "nat-out"))
		return copy(c->nat_out, sizeof(c->nat_out), "nat-out", v, err, errlen);
	return errorf(err, errlen, "unknown option `%s'", name);
}

static int read_file(struct serve_config *c, const char *path, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN + 2], e[256];
	FILE *f = fopen(path, "re");
	int lineno = 0, rc = 0;

	if (!f)
		return errno == ENOENT ? 0 : errorf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *p = line, *name, *v;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = errorf(err, errlen, "%s:%d: line too long", path, lineno);
			break;
		}
		p[strcspn(p, "#\r\n")] = '\0';
		name = p + strspn(p, " \t");
		if (!*name)
			continue;
		v = name + strcspn(name, " \t");
		if (*v)
			*v++ = '\0';
		v += strspn(v, " \t");
		v[strcspn(v, " \t")] = '\0';
		if (!*v) {
			rc = errorf(err, errlen, "%s:%d: `%s' needs a value", path, lineno, name);
			break;
		}
		if (set(c, name, v, e, sizeof(e)) < 0)
			rc = errorf(err, errlen, "%s:%d: %s", path, lineno, e);
	}
	fclose(f);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sshtun serve [--config FILE] [--pool CIDR|none] [--pool6 CIDR|none]\n"
		"                    [--lease-file PATH] [--mtu N] [--route CIDR]...\n"
		"                    [--nat [--nat-out IFACE] [--client-to-client]]\n"
		"                    [--dns ADDR]... [--dns-domain DOMAIN]... [--worker-user USER]\n"
		"                    [--max-sessions-per-user N] [--lease-grace SECONDS] [--userspace]\n"
		"                    [--sandbox-optional] [-v]\n");
}

int serve_config_load(struct serve_config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "pool", required_argument, NULL, 'P' },
		{ "pool6", required_argument, NULL, 'Q' },
		{ "lease-file", required_argument, NULL, 'L' },
		{ "worker-user", required_argument, NULL, 'U' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "route", required_argument, NULL, 'R' },
		{ "dns", required_argument, NULL, 'D' },
		{ "dns-domain", required_argument, NULL, 'O' },
		{ "nat", no_argument, NULL, 'N' },
		{ "nat-out", required_argument, NULL, 'I' },
		{ "client-to-client", no_argument, NULL, 'c' },
		{ "userspace", no_argument, NULL, 'u' },
		{ "sandbox-optional", no_argument, NULL, 'o' },
		{ "max-sessions-per-user", required_argument, NULL, 'S' },
		{ "lease-grace", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = SERVE_CONFIG_FILE;
	int ch, idx;

	memset(c, 0, sizeof(*c));
	snprintf(c->pool4, sizeof(c->pool4), "%s", POOL_DEFAULT4);
	snprintf(c->pool6, sizeof(c->pool6), "%s", POOL_DEFAULT6);
	snprintf(c->lease_file, sizeof(c->lease_file), "%s", POOL_LEASE_FILE);
	c->mtu = MTU_DEFAULT;
	c->max_per_user = POOL_PER_ACCOUNT_DEFAULT;
	c->lease_grace = POOL_GRACE_DEFAULT;
	/* --config first: the file comes before every other option. */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			config = argv[i + 1];
	if (read_file(c, config, err, errlen) < 0)
		return -1;
	optind = 0;	/* 0, not 1: glibc starts afresh, forgetting a half-read "-vh" */
	while ((ch = getopt_long(argc, argv, "hv", longopts, &idx)) != -1) {
		switch (ch) {
		case 'C': break;
		case 'N': c->nat = true; break;
		case 'c': c->client_to_client = true; break;
		case 'u': c->userspace = true; break;
		case 'o': c->sandbox_optional = true; break;
		case 'v': c->verbosity++; break;
		case 'h': usage(); return 1;
		case '?': usage(); return errorf(err, errlen, "bad option (see sshtun serve --help)");
		default:
			if (set(c, longopts[idx].name, optarg, err, errlen) < 0)
				return -1;
		}
	}
	if (optind != argc)
		return errorf(err, errlen, "unexpected argument `%s'", argv[optind]);
	return 0;
}

void serve_config_default_dns(struct serve_config *c)
{
	char line[LINE_MAX_LEN];
	FILE *f;

	if (c->dns_set && c->domains_set)
		return;
	f = fopen("/etc/resolv.conf", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char word[16], v[HELLO_DOMAINS_MAX];
		struct inet_prefix p;

		if (sscanf(line, "%15s %511s", word, v) != 2)
			continue;
		if (!c->dns_set && !strcmp(word, "nameserver") && inet_prefix_parse(v, &p) == 0 &&
		    c->dns.n < HELLO_MAX_PREFIXES) {
			bool loop4 = p.family == AF_INET && (ntohl(p.addr.v4.s_addr) >> 24) == 127;
			bool loop6 = p.family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&p.addr.v6);

			if (loop4 || loop6)
				log_verbose("not offering resolver %s: clients cannot reach a loopback address", v);
			else
				c->dns.p[c->dns.n++] = p;
		} else if (!c->domains_set && (!strcmp(word, "search") || !strcmp(word, "domain"))) {
			char e[64];

			/* Only the first: the rest of the line is more of them. */
			if (add_domain(c, v, e, sizeof(e)) < 0)
				log_verbose("not offering search domain %s", v);
			c->domains_set = false;
		}
	}
	fclose(f);
}
