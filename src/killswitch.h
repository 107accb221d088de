/* The client's guard table: an nftables table of the instance's own (inet
 * sshtun_guard_PID, PID the root side's) that keeps traffic from leaving
 * other than through the tunnel.
 *
 *   KS_KILL      --kill-switch: nothing leaves except through the tunnel,
 *                to an SSH server's address and port, on loopback, or
 *                DHCP and IPv6 neighbour discovery (the physical link keeps
 *                its address and reaches its gateway); forwarded traffic
 *                likewise.
 *   KS_ALLOW_LAN --allow-lan: also the local networks (this machine's
 *                connected prefixes, RFC 1918, link-local, ULA, multicast).
 *   KS_DNS       a full tunnel with --dns: DNS (port 53) only through the
 *                tunnel or to a resolver on loopback.
 *
 * The table is replaced as a whole in one nft transaction, so there is no
 * moment without it.  It is not tied to the process: it stays after a
 * crash (fail closed) until the state file's record is undone. */
#ifndef SSHTUN_KILLSWITCH_H
#define SSHTUN_KILLSWITCH_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

#define KS_TABLE_PREFIX "sshtun_guard_"
#define KS_MAX_SERVERS 32
#define KS_MAX_LAN 64

enum { KS_KILL = 1, KS_ALLOW_LAN = 2, KS_DNS = 4, KS_FLAGS = 7 };

struct ks_server {
	struct inet_prefix addr;	/* one address */
	uint16_t port;
};

struct killswitch {
	char table[32];			/* "" : not installed */
	char ifname[IFNAMSIZ];		/* the tunnel */
	unsigned flags;
	struct ks_server servers[KS_MAX_SERVERS];
	int nservers;
};

/* Is name one of our tables (sshtun_guard_ or sshtun_exec_, and digits)?  A state file's
 * record names it and root deletes it. */
bool ks_table_ok(const char *name);

/* The nft script that replaces table k->table with what k says; the LAN
 * prefixes matter with KS_ALLOW_LAN.  Returns 0, or -1 when it does not
 * fit in cap. */
int ks_script(const struct killswitch *k, const struct inet_prefix *lan, int nlan, char *s, size_t cap);

/* Installs or replaces the table (k->table must be set); flags 0 removes
 * it.  Returns 0, or -1 with the reason in err. */
int ks_apply(const struct killswitch *k, char *err, size_t errlen);
/* Deletes table name (no error if it is gone).  0 or -1. */
int ks_remove(const char *name);

#endif
