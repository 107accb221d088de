/* Resolver settings for the tunnel: the servers and search domains the
 * server offers, for all names (--dns) or only some (--dns-domain, split
 * DNS).  Applied the way the machine manages DNS: systemd-resolved
 * (resolvectl, per link, split DNS native), else resolvconf, else
 * /etc/resolv.conf rewritten in place (it may be a bind mount, as under
 * `ip netns exec`) with the original kept beside the state file.  Every
 * change is recorded in the state file so that exit, and cleanup after a
 * crash, put the original back. */
#ifndef SSHTUN_DNS_H
#define SSHTUN_DNS_H

#include <stdbool.h>

#include "prefix.h"

#define DNS_MAX_SERVERS 4
#define DNS_MAX_DOMAINS 8
#define DNS_DOMAIN_MAX 254

struct state;

struct dns_config {
	struct inet_prefix servers[DNS_MAX_SERVERS];
	int nservers;
	char domains[DNS_MAX_DOMAINS][DNS_DOMAIN_MAX];	/* search domains */
	int ndomains;
	bool split;		/* only the domains go to these servers */
};

/* Checks a domain name (letters, digits, '-', '.'; labels of 1..63).
 * Returns 0 or -1. */
int dns_domain_check(const char *d);

/* Applies cfg for the tunnel interface ifname.  backup: where the original
 * /etc/resolv.conf is kept if that method is used.  Returns 0, or -1 with
 * fail() set. */
int dns_apply(const char *ifname, const char *backup, const struct dns_config *cfg, struct state *st);
/* Undoes everything dns_apply recorded in st. */
void dns_revert(struct state *st);
/* Undoes one "dns ..." state record (args: after "dns "). 0 or -1. */
int dns_undo_record(char *args, bool verbose);
/* The method dns_apply used last, for status: "resolved", "resolvconf",
 * "file", or "" when DNS is not ours. */
const char *dns_method(void);

#endif
