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
#include "fail.h"
#include "log.h"
#include "options.h"

void usage(void)
{
	fprintf(stderr,
		"usage: sshtun [-46fNqv] [-a ADDR] [-c COMMAND] [-F FILE] [-i FILE] [-l USER]\n"
		"              [-n NAME] [-o Key=Value] [-p PORT] [-r CIDR] [-S PATH] [-w IFNAME]\n"
		"              [--compress MODE] [--openssh] [--remote-command CMD] [user@]host[:port]\n"
		"       sshtun serve [options]\n"
		"       sshtun ctl [-n NAME | -S PATH] [COMMAND [ARG...]]\n"
		"       sshtun cleanup [-n NAME]\n"
		"       sshtun --help | --version\n");
}

static int parse_uint(const char *what, const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return fail(EXIT_USAGE, "bad %s `%s' (%u..%u)", what, s, min, max);
	v = strtoul(s, &end, 10);
	if (*end || v < min || v > max)
		return fail(EXIT_USAGE, "bad %s `%s' (%u..%u)", what, s, min, max);
	*out = (unsigned)v;
	return 0;
}

static int add_identity(struct client_opts *o, const char *path)
{
	if (o->ssh.nidentities == SSH_MAX_IDENTITIES)
		return fail(EXIT_USAGE, "too many identity files (max %d)", SSH_MAX_IDENTITIES);
	o->ssh.identities[o->ssh.nidentities++] = path;
	return 0;
}

static bool yes(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true");
}

int options_set_keyword(struct client_opts *o, const char *kv)
{
	char key[64];
	const char *v;
	size_t klen = strcspn(kv, "= \t");

	if (klen == 0 || klen >= sizeof(key) || !kv[klen])
		return fail(EXIT_USAGE, "bad -o option `%s' (want Key=Value)", kv);
	memcpy(key, kv, klen);
	key[klen] = '\0';
	v = kv + klen + strspn(kv + klen, "= \t");
	if (!strcasecmp(key, "Port"))
		return parse_uint("port", v, 1, 65535, &o->ssh.port);
	if (!strcasecmp(key, "User")) {
		o->ssh.user = v;
		return 0;
	}
	if (!strcasecmp(key, "HostName")) {
		o->ssh.host = v;
		return 0;
	}
	if (!strcasecmp(key, "IdentityFile"))
		return add_identity(o, v);
	if (!strcasecmp(key, "IdentitiesOnly")) {
		o->ssh.identities_only = yes(v);
		return 0;
	}
	if (!strcasecmp(key, "UserKnownHostsFile")) {
		o->ssh.known_hosts = v;
		return 0;
	}
	if (!strcasecmp(key, "StrictHostKeyChecking")) {
		if (yes(v))
			o->ssh.strict = SHK_YES;
		else if (!strcasecmp(v, "accept-new"))
			o->ssh.strict = SHK_ACCEPT_NEW;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "off"))
			o->ssh.strict = SHK_NO;
		else if (!strcasecmp(v, "ask"))
			o->ssh.strict = SHK_ASK;
		else
			return fail(EXIT_USAGE, "bad StrictHostKeyChecking `%s' (yes, accept-new, no, ask)", v);
		return 0;
	}
	if (!strcasecmp(key, "ConnectTimeout"))
		return parse_uint("ConnectTimeout", v, 1, 3600, &o->ssh.connect_timeout_s);
	if (!strcasecmp(key, "ServerAliveInterval"))
		return parse_uint("ServerAliveInterval", v, 0, 3600, &o->alive_interval);
	if (!strcasecmp(key, "ServerAliveCountMax"))
		return parse_uint("ServerAliveCountMax", v, 1, 100, &o->alive_count);
	if (!strcasecmp(key, "Compression")) {
		o->ssh.compression = yes(v);
		return 0;
	}
	if (!strcasecmp(key, "BatchMode")) {
		o->ssh.batch = yes(v);
		return 0;
	}
	if (!strcasecmp(key, "AddressFamily")) {
		if (!strcasecmp(v, "inet"))
			o->ssh.family = AF_INET;
		else if (!strcasecmp(v, "inet6"))
			o->ssh.family = AF_INET6;
		else
			o->ssh.family = AF_UNSPEC;
		return 0;
	}
	return fail(EXIT_USAGE, "unsupported -o keyword `%s'", key);
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
			return parse_uint("port", close + 2, 1, 65535, &o->ssh.port);
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
		return parse_uint("port", colon + 1, 1, 65535, &o->ssh.port);
	return 0;
}

int options_parse(int argc, char **argv, struct client_opts *o)
{
	enum { OPT_COMPRESS = 256, OPT_OPENSSH, OPT_REMOTE, OPT_MTU };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "openssh", no_argument, NULL, OPT_OPENSSH },
		{ "remote-command", required_argument, NULL, OPT_REMOTE },
		{ "mtu", required_argument, NULL, OPT_MTU },
		{ NULL, 0, NULL, 0 },
	};
	unsigned port_opt = 0;
	int c;

	memset(o, 0, sizeof(*o));
	o->ssh.strict = SHK_ASK;
	o->ssh.connect_timeout_s = 15;
	o->compress = COMPRESS_AUTO;
	o->remote_command = "sshtun serve";
	o->mtu = MTU_DEFAULT;
	o->alive_interval = 5;
	o->alive_count = 3;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+46a:c:fF:hi:l:n:No:p:qr:S:vVw:", longopts, NULL)) != -1) {
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
		case 'F': break;	/* ssh_config files: see README (not read yet) */
		case 'h': usage(); return 1;
		case 'i':
			if (add_identity(o, optarg) < 0)
				return -1;
			break;
		case 'l': o->ssh.user = optarg; break;
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
			if (parse_uint("port", optarg, 1, 65535, &port_opt) < 0)
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
			if (!*optarg || strlen(optarg) >= IFNAMSIZ || strchr(optarg, '/') || strchr(optarg, ' '))
				return fail(EXIT_USAGE, "bad interface name `%s' (1..%d characters)", optarg, IFNAMSIZ - 1);
			snprintf(o->ifname, sizeof(o->ifname), "%s", optarg);
			break;
		case OPT_COMPRESS:
			if (compress_mode_parse(optarg, &o->compress) < 0)
				return -1;
			break;
		case OPT_OPENSSH: o->openssh = true; break;
		case OPT_REMOTE: o->remote_command = optarg; break;
		case OPT_MTU:
			if (parse_uint("MTU", optarg, MTU_MIN, MTU_MAX, &o->mtu) < 0)
				return -1;
			break;
		default:
			usage();
			return fail(EXIT_USAGE, "bad option (see sshtun --help)");
		}
	}
	if (optind != argc - 1) {
		usage();
		return fail(EXIT_USAGE, optind >= argc ? "no host given" : "too many arguments: `%s'",
			    optind < argc ? argv[optind + 1] : "");
	}
	/* ServerAliveInterval x ServerAliveCountMax: when a silent server is
	 * declared dead, by our pings and by TCP alike. */
	o->ssh.dead_after_s = o->alive_interval ? o->alive_interval * o->alive_count : 0;
	if (split_target(o, argv[optind]) < 0)
		return -1;
	if (!o->ssh.host)
		o->ssh.host = o->host_buf;
	if (port_opt)
		o->ssh.port = port_opt;
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
	if (!o->name) {
		o->name = o->host_buf;
		if (strchr(o->name, '/'))
			return fail(EXIT_USAGE, "host `%s' cannot name an instance; use -n NAME", o->name);
	}
	return 0;
}
