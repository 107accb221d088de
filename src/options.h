/* The client's command line (sshtun(1): ssh's letters where ssh has the same
 * meaning) and the ssh_config keywords that -o takes. */
#ifndef SSHTUN_OPTIONS_H
#define SSHTUN_OPTIONS_H

#include <net/if.h>
#include <stdbool.h>

#include "hello.h"
#include "ssh.h"

#define OPT_MAX_ROUTES 64
#define OPT_MAX_COMMANDS 32
#define OPT_MAX_ADDRS 4
#define OPT_MAX_SERVERS 8
#define OPT_MAX_CONNS 8		/* --connections: queues of one TUN (tun.h) */

enum balance { BALANCE_ORDER, BALANCE_RANDOM };

struct client_opts {
	struct ssh_opts ssh;
	char host_arg[256];		/* as typed: names the instance */
	const char *hosts[OPT_MAX_SERVERS];	/* every HOST argument, in order */
	int nhosts;
	enum balance balance;		/* --balance */
	char user_buf[64], host_buf[256];
	const char *name;		/* -n */
	const char *sock_path;		/* -S */
	char ifname[IFNAMSIZ];		/* -w */
	struct inet_prefix want4, want6;	/* -a */
	const char *routes[OPT_MAX_ROUTES];	/* -r */
	unsigned route_uid[OPT_MAX_ROUTES];	/* -r CIDR --uid UID */
	bool route_has_uid[OPT_MAX_ROUTES];
	int nroutes;
	const char *commands[OPT_MAX_COMMANDS];	/* -c */
	int ncommands;
	int compress;			/* --compress: COMPRESS_OFF, _AUTO or a level */
	const char *remote_command;	/* --remote-command */
	bool openssh;			/* --openssh */
	unsigned connections;		/* --connections: 1..OPT_MAX_CONNS */
	/* -b, repeatable: connection i leaves from binds[i % nbinds], an
	 * address or (SO_BINDTODEVICE) an interface name. */
	const char *binds[OPT_MAX_CONNS];
	bool bind_is_dev[OPT_MAX_CONNS];
	int nbinds;
	bool push;			/* --push: no helper there, send this binary (push.h) */
	bool accept_routes;		/* --accept-routes */
	bool dns;			/* --dns */
	const char *dns_domains[8];	/* --dns-domain: split DNS */
	int ndns_domains;
	bool no_shell;			/* -N */
	bool background;		/* -f */
	const char *run_as;		/* --user: who the network side runs as */
	bool kill_switch, allow_lan;	/* --kill-switch, --allow-lan */
	unsigned mtu;
	unsigned alive_interval, alive_count;	/* ServerAlive* */
	int verbosity;

	const char *config_file;	/* -F */
	const char *hostname;		/* HostName as given, before %h expansion */
	const char *known_hosts_raw;	/* UserKnownHostsFile before expansion */
	const char *proxy_command, *proxy_jump;	/* "" = none */
	uint32_t set;			/* keywords given a value (first wins) */
	char arena[16384];		/* copies of configuration values */
	size_t arena_len;
};

/* Parses argv for `sshtun [options] host [host...]`, for the first host.
 * Returns 0, 1 when --help or --version was handled (exit 0), or -1 with
 * fail() set (exit 2).  Reads no file: options_resolve does, as the user
 * the client runs as. */
int options_parse(int argc, char **argv, struct client_opts *o);
/* The same argv for its nth host (0: options_parse): each server of a
 * list gets its own ssh_config resolution, the rest is the same. */
int options_parse_nth(int argc, char **argv, int nth, struct client_opts *o);
/* ~/.ssh/config and /etc/ssh/ssh_config for the host; defaults; %-tokens
 * expanded.  0 or -1 with fail(). */
int options_resolve(struct client_opts *o);
void usage(void);

#endif
