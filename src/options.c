/* Command-line parsing for the client. */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common.h"
#include "compress.h"
#include "dns.h"
#include "sshconfig.h"
#include "fail.h"
#include "log.h"
#include "netlink.h"
#include "options.h"

void usage(void)
{
	fprintf(stderr,
		"usage: sshtun [-46fNqv] [-a ADDR] [-b ADDR] [-c COMMAND] [-F FILE] [-i FILE] [-l USER]\n"
		"              [-n NAME] [-o Key=Value] [-p PORT] [-r CIDR] [-S PATH] [-w IFNAME]\n"
		"              [--compress MODE] [--openssh] [--push] [--remote-command CMD] [--mtu N]\n"
		"              [--accept-routes] [--dns] [--dns-domain DOMAIN] [--user USER]\n"
		"              [--kill-switch [--allow-lan]] [-r CIDR --uid UID]\n"
		"              [--balance order|random] [--connections N] [user@]host[:port] [host...]\n"
		"       sshtun serve [options]\n"
		"       sshtun ctl [-n NAME | -S PATH] [COMMAND [ARG...]]\n"
		"       sshtun cleanup [-n NAME | -S PATH]\n"
		"       sshtun exec NAME -- COMMAND [ARG...]\n"
		"       sshtun --help | --version\n");
}

static int parse_uint(const char *what, const char *s, unsigned min, unsigned max, unsigned *out,
		      char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return errorf(err, errlen, "bad %s `%s' (%u..%u)", what, s, min, max);
	v = strtoul(s, &end, 10);
	if (*end || v < min || v > max)
		return errorf(err, errlen, "bad %s `%s' (%u..%u)", what, s, min, max);
	*out = (unsigned)v;
	return 0;
}

static int add_identity(struct client_opts *o, const char *path, char *err, size_t errlen)
{
	if (o->ssh.nidentities == SSH_MAX_IDENTITIES)
		return errorf(err, errlen, "too many identity files (max %d)", SSH_MAX_IDENTITIES);
	o->ssh.identities[o->ssh.nidentities++] = path;
	return 0;
}

static bool yes(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true");
}

/* A copy that lives as long as the options (config values are valid only
 * during the parser's callback). */
static const char *keep(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v) + 1;

	if (o->arena_len + n > sizeof(o->arena)) {
		errorf(err, errlen, "configuration values too long in total (max %zu bytes)", sizeof(o->arena));
		return NULL;
	}
	memcpy(o->arena + o->arena_len, v, n);
	o->arena_len += n;
	return o->arena + o->arena_len - n;
}

static int set_str(struct client_opts *o, const char *v, const char **dst, char *err, size_t errlen)
{
	return (*dst = keep(o, v, err, errlen)) ? 0 : -1;
}

static int kw_port(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	return parse_uint("Port", v, 1, 65535, &o->ssh.port, err, errlen);
}

static int kw_user(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	return set_str(o, v, &o->ssh.user, err, errlen);
}

static int kw_hostname(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	return set_str(o, v, &o->hostname, err, errlen);
}

static int kw_identity(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	const char *k = keep(o, v, err, errlen);

	return k ? add_identity(o, k, err, errlen) : -1;
}

static int kw_certificate(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	const char *k;

	if (o->ssh.ncertificates == SSH_MAX_IDENTITIES)
		return errorf(err, errlen, "too many certificate files (max %d)", SSH_MAX_IDENTITIES);
	k = keep(o, v, err, errlen);
	if (!k)
		return -1;
	o->ssh.certificates[o->ssh.ncertificates++] = k;
	return 0;
}

static int kw_identities_only(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	o->ssh.identities_only = yes(v);
	return 0;
}

static int kw_known_hosts(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	char first[512];
	size_t n = strcspn(v, " \t");

	/* ssh takes a list; the first file is the one we read and add to. */
	snprintf(first, sizeof(first), "%.*s", (int)n, v);
	return set_str(o, first, &o->known_hosts_raw, err, errlen);
}

static int kw_strict(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	if (yes(v))
		o->ssh.strict = SHK_YES;
	else if (!strcasecmp(v, "accept-new"))
		o->ssh.strict = SHK_ACCEPT_NEW;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "off"))
		o->ssh.strict = SHK_NO;
	else if (!strcasecmp(v, "ask"))
		o->ssh.strict = SHK_ASK;
	else
		return errorf(err, errlen, "bad StrictHostKeyChecking `%s' (yes, accept-new, no, ask)", v);
	return 0;
}

static int kw_timeout(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	return parse_uint("ConnectTimeout", v, 1, 3600, &o->ssh.connect_timeout_s, err, errlen);
}

static int kw_alive_interval(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	return parse_uint("ServerAliveInterval", v, 0, 3600, &o->alive_interval, err, errlen);
}

static int kw_alive_count(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	return parse_uint("ServerAliveCountMax", v, 1, 100, &o->alive_count, err, errlen);
}

static int kw_compression(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	o->ssh.compression = yes(v);
	return 0;
}

static int kw_batch(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	o->ssh.batch = yes(v);
	return 0;
}

/* A numeric address only, as ssh's -b: the connection leaves from it (one
 * uplink of several). */
static int kw_bind_address(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	struct inet_prefix p;

	if (inet_prefix_parse(v, &p) < 0 || strchr(v, '/'))
		return errorf(err, errlen, "bad BindAddress `%s' (an IPv4 or IPv6 address)", v);
	return set_str(o, v, &o->ssh.bind_addr, err, errlen);
}

/* -b NAME: not an address but an interface (SO_BINDTODEVICE). */
static bool bind_is_dev(const char *v)
{
	struct inet_prefix p;

	return inet_prefix_parse(v, &p) < 0 && net_ifname_ok(v);
}

static int kw_family(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	if (!strcasecmp(v, "inet"))
		o->ssh.family = AF_INET;
	else if (!strcasecmp(v, "inet6"))
		o->ssh.family = AF_INET6;
	else if (!strcasecmp(v, "any"))
		o->ssh.family = AF_UNSPEC;
	else
		return errorf(err, errlen, "bad AddressFamily `%s' (any, inet, inet6)", v);
	return 0;
}

/* ProxyCommand and ProxyJump are one setting in ssh: whichever comes
 * first wins, the other is dropped (see apply()). */
static int kw_proxy_command(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	o->proxy_jump = NULL;
	return set_str(o, strcasecmp(v, "none") ? v : "", &o->proxy_command, err, errlen);
}

static int kw_proxy_jump(struct client_opts *o, const char *v, char *err, size_t errlen)
{
	o->proxy_command = NULL;
	return set_str(o, strcasecmp(v, "none") ? v : "", &o->proxy_jump, err, errlen);
}

/* The ssh_config keywords we honour.  As in ssh, the first value obtained
 * for a keyword wins (command line first, then the files), except
 * IdentityFile, which accumulates. */
static const struct keyword {
	const char *name;
	int (*set)(struct client_opts *o, const char *v, char *err, size_t errlen);
	bool accumulates;
} keywords[] = {
	{ "Port", kw_port, false },
	{ "User", kw_user, false },
	{ "HostName", kw_hostname, false },
	{ "IdentityFile", kw_identity, true },
	{ "IdentitiesOnly", kw_identities_only, false },
	{ "CertificateFile", kw_certificate, true },
	{ "UserKnownHostsFile", kw_known_hosts, false },
	{ "StrictHostKeyChecking", kw_strict, false },
	{ "ConnectTimeout", kw_timeout, false },
	{ "ServerAliveInterval", kw_alive_interval, false },
	{ "ServerAliveCountMax", kw_alive_count, false },
	{ "Compression", kw_compression, false },
	{ "BatchMode", kw_batch, false },
	{ "AddressFamily", kw_family, false },
	{ "ProxyCommand", kw_proxy_command, false },
	{ "ProxyJump", kw_proxy_jump, false },
	{ "BindAddress", kw_bind_address, false },
};

_Static_assert(ARRAY_SIZE(keywords) <= 32, "one bit per keyword in client_opts.set");

static const struct keyword *find_keyword(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		if (strlen(keywords[i].name) == len && !strncasecmp(keywords[i].name, name, len))
			return &keywords[i];
	return NULL;
}

static int apply(struct client_opts *o, const struct keyword *k, const char *v, char *err, size_t errlen)
{
	uint32_t bit = 1u << (k - keywords);

	if (k->set == kw_proxy_jump)	/* one setting with ProxyCommand */
		bit = 1u << (find_keyword("ProxyCommand", 12) - keywords);

	if ((o->set & bit) && !k->accumulates)
		return 0;
	o->set |= bit;
	return k->set(o, v, err, errlen);
}

/* The command line and its files end the run on a bad value: where the
 * reason comes back in err (the keywords, which a config file's location
 * prefixes), these turn it into the run's usage failure. */
static int uint_arg(const char *what, const char *s, unsigned min, unsigned max, unsigned *out)
{
	char err[ERROR_MSG_MAX];

	return parse_uint(what, s, min, max, out, err, sizeof(err)) < 0 ? fail(EXIT_USAGE, "%s", err) : 0;
}

static int set_expanded(struct client_opts *o, const char *v, const char **dst)
{
	char err[ERROR_MSG_MAX];

	return set_str(o, v, dst, err, sizeof(err)) < 0 ? fail(EXIT_USAGE, "%s", err) : 0;
}

/* One -o Key=Value (or "Key Value"). Returns 0 or -1 with fail(). */
static int options_set_keyword(struct client_opts *o, const char *kv)
{
	size_t klen = strcspn(kv, "= \t");
	const struct keyword *k;
	const char *v;
	char err[ERROR_MSG_MAX];

	if (klen == 0 || !kv[klen])
		return fail(EXIT_USAGE, "bad -o option `%s' (want Key=Value)", kv);
	v = kv + klen + strspn(kv + klen, "= \t");
	k = find_keyword(kv, klen);
	if (!k)
		return fail(EXIT_USAGE, "unsupported -o keyword `%.*s' (see sshtun(1))", (int)klen, kv);
	return apply(o, k, v, err, sizeof(err)) < 0 ? fail(EXIT_USAGE, "%s", err) : 0;
}

static int from_config(void *ctx, const char *keyword, const char *value, const char *file, int line)
{
	const struct keyword *k = find_keyword(keyword, strlen(keyword));
	char err[ERROR_MSG_MAX];

	/* ssh's other keywords (SendEnv, HashKnownHosts, ...) mean nothing to
	 * a tunnel: skipped, as a file written for ssh must still work. */
	if (!k) {
		log_debug("%s:%d: %s ignored", file, line, keyword);
		return 0;
	}
	if (apply(ctx, k, value, err, sizeof(err)) < 0)
		return fail(EXIT_USAGE, "%s:%d: %s", file, line, err);
	return 0;
}

/* ~/.ssh/config then /etc/ssh/ssh_config, or the -F file alone ("none":
 * no file), for the host as typed. */
static int read_configs(struct client_opts *o)
{
	struct sshconfig_target t = { .host = o->host_buf, .user = o->ssh.user };
	const char *home = getenv("HOME");
	char path[512];

	if (o->config_file) {
		if (!strcmp(o->config_file, "none"))
			return 0;
		return sshconfig_read_target(o->config_file, &t, from_config, o);
	}
	t.missing_ok = true;
	t.check_perm = true;
	if (home) {
		snprintf(path, sizeof(path), "%s/.ssh/config", home);
		if (sshconfig_read_target(path, &t, from_config, o) < 0)
			return -1;
	}
	t.check_perm = false;
	return sshconfig_read_target("/etc/ssh/ssh_config", &t, from_config, o);
}

/* ProxyJump as ssh runs it: the last hop is where ssh -W connects, with
 * its user and port split out; earlier hops go to -J; our -F goes along. */
static int jump_command(struct client_opts *o, char *buf, size_t cap)
{
	const char *list = o->proxy_jump, *last = strrchr(list, ',');
	char hop[300], user[320] = "", port[16] = "", early[600] = "", conf[300] = "";
	const char *host = hop;
	char *at, *colon;
	int n;

	last = last ? last + 1 : list;
	if (strlen(last) >= sizeof(hop) || (size_t)(last - list) >= sizeof(early))
		return fail(EXIT_USAGE, "ProxyJump `%s' too long", list);
	/* Quoted into a /bin/sh command line: refuse what quoting cannot hold. */
	if (strpbrk(list, "'\\ \t\n") || strchr(o->ssh.host, '\'') ||
	    (o->config_file && strchr(o->config_file, '\'')))
		return fail(EXIT_USAGE, "bad ProxyJump `%s'", list);
	strcpy(hop, last);
	if (last != list)
		snprintf(early, sizeof(early), " -J '%.*s'", (int)(last - list - 1), list);
	if ((at = strrchr(hop, '@'))) {
		*at = '\0';
		snprintf(user, sizeof(user), " -l '%s'", hop);
		host = at + 1;
	}
	if (*host == '[') {
		char *close = strchr(host, ']');

		if (!close)
			return fail(EXIT_USAGE, "bad ProxyJump host `%s'", last);
		*close = '\0';
		colon = close[1] == ':' ? close + 1 : NULL;
		host++;
	} else {
		colon = strchr(host, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;	/* a bare IPv6 address */
	}
	if (colon) {
		unsigned p;

		*colon = '\0';
		/* Digits only: the command goes through /bin/sh. */
		if (uint_arg("ProxyJump port", colon + 1, 1, 65535, &p) < 0)
			return -1;
		snprintf(port, sizeof(port), " -p %u", p);
	}
	if (o->config_file && strlen(o->config_file) + 6 >= sizeof(conf))
		return fail(EXIT_USAGE, "-F path too long for ProxyJump");
	if (o->config_file)
		snprintf(conf, sizeof(conf), " -F '%s'", o->config_file);
	n = snprintf(buf, cap, "exec ssh%s%s%s%s -W '[%s]:%u' -- '%s'", user, port, early, conf, o->ssh.host,
		     o->ssh.port, host);
	if (n < 0 || (size_t)n >= cap)
		return fail(EXIT_USAGE, "ProxyJump `%s' too long", list);
	return 0;
}

/* Values that may hold ~ or %h-style tokens, expanded once all is known. */
static int expand(struct client_opts *o)
{
	char buf[1024];

	if (o->hostname) {
		if (sshconfig_expand(o->hostname, o->host_buf, o->ssh.port, o->ssh.user, buf, sizeof(buf)) < 0 ||
		    set_expanded(o, buf, &o->ssh.host) < 0)
			return -1;
	}
	if (o->known_hosts_raw) {
		if (sshconfig_expand(o->known_hosts_raw, o->ssh.host, o->ssh.port, o->ssh.user, buf, sizeof(buf)) < 0 ||
		    set_expanded(o, buf, &o->ssh.known_hosts) < 0)
			return -1;
	}
	for (int i = 0; i < o->ssh.nidentities; i++) {
		if (sshconfig_expand(o->ssh.identities[i], o->ssh.host, o->ssh.port, o->ssh.user, buf, sizeof(buf)) < 0 ||
		    set_expanded(o, buf, &o->ssh.identities[i]) < 0)
			return -1;
	}
	for (int i = 0; i < o->ssh.ncertificates; i++) {
		if (sshconfig_expand(o->ssh.certificates[i], o->ssh.host, o->ssh.port, o->ssh.user, buf, sizeof(buf)) < 0 ||
		    set_expanded(o, buf, &o->ssh.certificates[i]) < 0)
			return -1;
	}
	if (o->proxy_command && o->proxy_command[0]) {
		/* %h and %r land in a /bin/sh command line unquoted (as in ssh):
		 * a name that could be shell syntax is refused. */
		const char *safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:-_";

		if (strspn(o->ssh.host, safe) != strlen(o->ssh.host) || o->ssh.host[0] == '-' ||
		    strspn(o->ssh.user, safe) != strlen(o->ssh.user) || o->ssh.user[0] == '-')
			return fail(EXIT_USAGE, "host `%s' or user `%s' has characters not allowed with a ProxyCommand",
				    o->ssh.host, o->ssh.user);
		if (sshconfig_expand(o->proxy_command, o->ssh.host, o->ssh.port, o->ssh.user, buf, sizeof(buf)) < 0 ||
		    set_expanded(o, buf, &o->ssh.proxy_command) < 0)
			return -1;
	} else if (o->proxy_jump && o->proxy_jump[0]) {
		if (jump_command(o, buf, sizeof(buf)) < 0 || set_expanded(o, buf, &o->ssh.proxy_command) < 0)
			return -1;
	}
	return 0;
}

/* [user@]host[:port]; an IPv6 literal takes brackets for a port. */
static int split_target(struct client_opts *o, const char *arg)
{
	const char *at = strrchr(arg, '@');
	const char *host = at ? at + 1 : arg;
	size_t hlen;

	snprintf(o->host_arg, sizeof(o->host_arg), "%s", arg);
	if (at) {
		if ((size_t)(at - arg) >= sizeof(o->user_buf) || at == arg)
			return fail(EXIT_USAGE, "bad user in `%s'", arg);
		memcpy(o->user_buf, arg, (size_t)(at - arg));
		o->user_buf[at - arg] = '\0';
		if (!o->ssh.user)
			o->ssh.user = o->user_buf;
	}
	if (*host == '[') {
		const char *close = strchr(host, ']');

		if (!close)
			return fail(EXIT_USAGE, "bad host `%s' (unclosed [)", host);
		hlen = (size_t)(close - host - 1);
		if (hlen >= sizeof(o->host_buf))
			return fail(EXIT_USAGE, "host name too long: `%s'", host);
		memcpy(o->host_buf, host + 1, hlen);
		o->host_buf[hlen] = '\0';
		if (close[1] == ':')
			return uint_arg("port", close + 2, 1, 65535, &o->ssh.port);
		if (close[1])
			return fail(EXIT_USAGE, "bad host `%s'", host);
		return 0;
	}
	const char *colon = strchr(host, ':');

	if (colon && strchr(colon + 1, ':'))
		colon = NULL;	/* a bare IPv6 address */
	hlen = colon ? (size_t)(colon - host) : strlen(host);
	if (hlen == 0 || hlen >= sizeof(o->host_buf))
		return fail(EXIT_USAGE, "bad host `%s'", host);
	memcpy(o->host_buf, host, hlen);
	o->host_buf[hlen] = '\0';
	if (colon)
		return uint_arg("port", colon + 1, 1, 65535, &o->ssh.port);
	return 0;
}

int options_parse(int argc, char **argv, struct client_opts *o)
{
	return options_parse_nth(argc, argv, 0, o);
}

int options_parse_nth(int argc, char **argv, int nth, struct client_opts *o)
{
	enum { OPT_COMPRESS = 256, OPT_OPENSSH, OPT_REMOTE, OPT_MTU, OPT_ACCEPT, OPT_DNS, OPT_DNSDOM, OPT_USER,
	       OPT_KILL, OPT_LAN, OPT_PUSH, OPT_UID, OPT_BALANCE, OPT_CONNS };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "openssh", no_argument, NULL, OPT_OPENSSH },
		{ "remote-command", required_argument, NULL, OPT_REMOTE },
		{ "mtu", required_argument, NULL, OPT_MTU },
		{ "accept-routes", no_argument, NULL, OPT_ACCEPT },
		{ "dns", no_argument, NULL, OPT_DNS },
		{ "dns-domain", required_argument, NULL, OPT_DNSDOM },
		{ "user", required_argument, NULL, OPT_USER },
		{ "kill-switch", no_argument, NULL, OPT_KILL },
		{ "allow-lan", no_argument, NULL, OPT_LAN },
		{ "push", no_argument, NULL, OPT_PUSH },
		{ "uid", required_argument, NULL, OPT_UID },
		{ "balance", required_argument, NULL, OPT_BALANCE },
		{ "connections", required_argument, NULL, OPT_CONNS },
		{ NULL, 0, NULL, 0 },
	};
	unsigned port_opt = 0;
	char err[ERROR_MSG_MAX];
	int c;

	memset(o, 0, sizeof(*o));
	o->ssh.strict = SHK_ASK;
	o->ssh.connect_timeout_s = 15;
	o->compress = COMPRESS_AUTO;
	o->remote_command = "sshtun serve";
	o->mtu = MTU_DEFAULT;
	/* 4 s x 3: a dead server is noticed within 15 s, with room for the
	 * pings' own timing (ServerAliveInterval/CountMax change it). */
	o->alive_interval = 4;
	o->alive_count = 3;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+46a:b:c:fF:hi:l:n:No:p:qr:S:vVw:", longopts, NULL)) != -1) {
		switch (c) {
		case '4': o->ssh.family = AF_INET; break;
		case '6': o->ssh.family = AF_INET6; break;
		case 'a': {
			struct inet_prefix p;

			if (inet_prefix_parse(optarg, &p) < 0)
				return fail(EXIT_USAGE, "bad address `%s' for -a", optarg);
			if (p.family == AF_INET)
				o->want4 = p;
			else
				o->want6 = p;
			break;
		}
		case 'c':
			if (o->ncommands == OPT_MAX_COMMANDS)
				return fail(EXIT_USAGE, "too many -c commands (max %d)", OPT_MAX_COMMANDS);
			o->commands[o->ncommands++] = optarg;
			break;
		case 'f': o->background = true; break;
		case 'F': o->config_file = optarg; break;
		case 'h': usage(); return 1;
		case 'i':
			if (add_identity(o, optarg, err, sizeof(err)) < 0)
				return fail(EXIT_USAGE, "%s", err);
			break;
		case 'b':
			if (o->nbinds == OPT_MAX_CONNS)
				return fail(EXIT_USAGE, "too many -b (max %d, one per connection)", OPT_MAX_CONNS);
			if (!bind_is_dev(optarg) &&
			    apply(o, find_keyword("BindAddress", 11), optarg, err, sizeof(err)) < 0)
				return fail(EXIT_USAGE, "bad -b `%s' (an IPv4 or IPv6 address, or an interface name)",
					    optarg);
			o->bind_is_dev[o->nbinds] = bind_is_dev(optarg);
			o->binds[o->nbinds++] = optarg;
			break;
		case 'l':
			if (apply(o, find_keyword("User", 4), optarg, err, sizeof(err)) < 0)
				return fail(EXIT_USAGE, "%s", err);
			break;
		case 'n':
			if (!*optarg || strchr(optarg, '/'))
				return fail(EXIT_USAGE, "bad instance name `%s' (no '/', not empty)", optarg);
			o->name = optarg;
			break;
		case 'N': o->no_shell = true; break;
		case 'o':
			if (options_set_keyword(o, optarg) < 0)
				return -1;
			break;
		case 'p':
			if (uint_arg("port", optarg, 1, 65535, &port_opt) < 0)
				return -1;
			break;
		case 'q': o->verbosity = -1; break;
		case 'r':
			if (o->nroutes == OPT_MAX_ROUTES)
				return fail(EXIT_USAGE, "too many -r routes (max %d)", OPT_MAX_ROUTES);
			o->routes[o->nroutes++] = optarg;
			break;
		case 'S': o->sock_path = optarg; break;
		case 'v': if (o->verbosity >= 0) o->verbosity++; break;
		case 'V': printf("sshtun %s\n", sshtun_version); return 1;
		case 'w':
			if (!net_ifname_ok(optarg))
				return fail(EXIT_USAGE,
					    "bad interface name `%s' (1..%d characters of A-Z a-z 0-9 . _ -, not starting with '-')",
					    optarg, IFNAMSIZ - 1);
			snprintf(o->ifname, sizeof(o->ifname), "%s", optarg);
			break;
		case OPT_COMPRESS:
			if (compress_mode_parse(optarg, &o->compress) < 0)
				return -1;
			break;
		case OPT_OPENSSH: o->openssh = true; break;
		case OPT_PUSH: o->push = true; break;
		case OPT_ACCEPT: o->accept_routes = true; break;
		case OPT_DNS: o->dns = true; break;
		case OPT_DNSDOM:
			if (dns_domain_check(optarg) < 0)
				return fail(EXIT_USAGE, "bad --dns-domain `%s'", optarg);
			if (o->ndns_domains == (int)ARRAY_SIZE(o->dns_domains))
				return fail(EXIT_USAGE, "too many --dns-domain (max %zu)", ARRAY_SIZE(o->dns_domains));
			o->dns_domains[o->ndns_domains++] = optarg;
			o->dns = true;
			break;
		case OPT_REMOTE: o->remote_command = optarg; break;
		case OPT_USER: o->run_as = optarg; break;
		case OPT_KILL: o->kill_switch = true; break;
		case OPT_LAN: o->allow_lan = true; break;
		case OPT_UID:
			/* -r CIDR --uid UID: that -r is for one user's traffic. */
			if (!o->nroutes || o->route_has_uid[o->nroutes - 1])
				return fail(EXIT_USAGE, "--uid %s: it goes right after the -r CIDR it is for", optarg);
			if (uint_arg("--uid", optarg, 0, 0xfffffffeu, &o->route_uid[o->nroutes - 1]) < 0)
				return -1;
			o->route_has_uid[o->nroutes - 1] = true;
			break;
		case OPT_BALANCE:
			if (!strcmp(optarg, "order"))
				o->balance = BALANCE_ORDER;
			else if (!strcmp(optarg, "random"))
				o->balance = BALANCE_RANDOM;
			else
				return fail(EXIT_USAGE, "bad --balance `%s' (order or random)", optarg);
			break;
		case OPT_CONNS:
			if (uint_arg("--connections", optarg, 1, OPT_MAX_CONNS, &o->connections) < 0)
				return -1;
			break;
		case OPT_MTU:
			if (uint_arg("MTU", optarg, MTU_MIN, MTU_MAX, &o->mtu) < 0)
				return -1;
			break;
		default:
			usage();
			return fail(EXIT_USAGE, "bad option (see sshtun --help)");
		}
	}
	if (optind >= argc) {
		usage();
		return fail(EXIT_USAGE, "no host given");
	}
	if (o->allow_lan && !o->kill_switch)
		return fail(EXIT_USAGE, "--allow-lan goes with --kill-switch");
	if (o->connections > 1 && o->openssh)
		return fail(EXIT_USAGE, "--connections %u needs sshtun's helper on the server (not --openssh)",
			    o->connections);
	if (!o->connections)
		o->connections = 1;
	if ((unsigned)o->nbinds > o->connections)
		return fail(EXIT_USAGE, "%d -b for %u connection%s (at most one -b per connection; see --connections)",
			    o->nbinds, o->connections, o->connections == 1 ? "" : "s");
	if (argc - optind > OPT_MAX_SERVERS)
		return fail(EXIT_USAGE, "too many hosts: `%s' (max %d)", argv[optind + OPT_MAX_SERVERS],
			    OPT_MAX_SERVERS);
	for (int i = optind; i < argc; i++)
		o->hosts[o->nhosts++] = argv[i];
	if (nth >= o->nhosts)
		return fail(EXIT_USAGE, "no host number %d", nth + 1);
	if (split_target(o, argv[optind + nth]) < 0)
		return -1;
	if (o->ssh.user)
		o->set |= 1u << (find_keyword("User", 4) - keywords);
	if (port_opt)
		o->ssh.port = port_opt;
	if (o->ssh.port)
		o->set |= 1u << (find_keyword("Port", 4) - keywords);
	if (!o->name) {
		o->name = o->host_buf;
		if (strchr(o->name, '/'))
			return fail(EXIT_USAGE, "host `%s' cannot name an instance; use -n NAME", o->name);
	}
	return 0;
}

int options_resolve(struct client_opts *o)
{
	if (read_configs(o) < 0)
		return -1;
	o->ssh.host = o->host_buf;
	if (!o->ssh.port)
		o->ssh.port = 22;
	if (!o->ssh.user) {
		const struct passwd *pw = getpwuid(getuid());

		if (!pw)
			return fail(EXIT_USAGE, "who are you? (no passwd entry for uid %u; use -l USER)",
				    (unsigned)getuid());
		snprintf(o->user_buf, sizeof(o->user_buf), "%s", pw->pw_name);
		o->ssh.user = o->user_buf;
	}
	if (expand(o) < 0)
		return -1;
	/* ServerAliveInterval x ServerAliveCountMax, from wherever they came:
	 * when a silent server is declared dead, by our pings and TCP alike. */
	o->ssh.dead_after_s = o->alive_interval ? o->alive_interval * o->alive_count : 0;
	return 0;
}
