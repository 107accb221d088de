/* What `sshtun serve` offers and allows: its options, given in the sshd
 * Subsystem line or in /etc/sshtun/serve.conf (one "option value" a line,
 * the long option names without dashes; the command line comes after the
 * file, so it wins for single values and adds to lists). */
#ifndef SSHTUN_SERVE_CONFIG_H
#define SSHTUN_SERVE_CONFIG_H

#include <stdbool.h>

#include "hello.h"

#define SERVE_CONFIG_FILE "/etc/sshtun/serve.conf"

struct serve_config {
	char pool4[64], pool6[64];
	char lease_file[256];
	unsigned mtu;
	unsigned max_per_user;		/* leases per account (pool.h) */
	unsigned lease_grace;		/* seconds a released pair waits for its client */
	bool nat;
	char nat_out[16];		/* IFNAMSIZ; empty: the default route's */
	bool client_to_client;
	bool userspace;			/* --userspace: libslirp, not a TUN (userspace.h) */
	bool sandbox_optional;		/* the worker may run without its seccomp filter */
	struct prefix_list routes;	/* offered to clients */
	struct prefix_list dns;		/* offered resolvers; empty: our resolv.conf's */
	char domains[HELLO_DOMAINS_MAX];
	bool dns_set, domains_set;
	char worker_user[64];		/* "": chosen by monitor_worker_user() */
	int verbosity;
};

/* Parses the config file (missing is fine) and argv.  Returns 0, 1 for
 * --help (printed), or -1 with a one-line reason in err. */
int serve_config_load(struct serve_config *c, int argc, char **argv, char *err, size_t errlen);

/* Fills dns/domains from /etc/resolv.conf unless configured: loopback
 * resolvers (a local stub such as 127.0.0.53) cannot be reached by clients
 * and are left out. */
void serve_config_default_dns(struct serve_config *c);

#endif
