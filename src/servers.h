/* The client's server list: `sshtun HOST [HOST...]`, each with its own
 * ssh_config resolution; which one is in use, and the walk through the
 * others when it fails (sshtun(1) FAILOVER). */
#ifndef SSHTUN_SERVERS_H
#define SSHTUN_SERVERS_H

#include <stdbool.h>

#include "common.h"
#include "options.h"

enum server_state {
	SRV_STANDBY,	/* not tried since the list was last walked */
	SRV_CONNECTING,
	SRV_UP,		/* in use */
	SRV_FAILED,	/* the last attempt failed: error says why */
	SRV_BUSY,	/* the helper was at its session or pool limit */
};

struct server {
	struct client_opts *opts;	/* resolved for this host */
	enum server_state state;
	char error[ERROR_MSG_MAX];	/* the last failure, "" when none */
};

struct servers {
	struct server s[OPT_MAX_SERVERS];
	int n;
	int pref[OPT_MAX_SERVERS];	/* the list's order: as given, or shuffled once */
	int order[OPT_MAX_SERVERS];	/* this walk: indexes into s[] */
	int pos;			/* order[pos] is the one tried now */
};

/* first: the options already parsed and resolved for hosts[0].  The others
 * are parsed from the same argv and resolved here (as the user: their
 * ~/.ssh/config).  --balance random shuffles the list once.  0, or -1 with
 * fail() set. */
int servers_init(struct servers *sv, struct client_opts *first, int argc, char **argv);
/* Frees what servers_init made (at the process's end). */
void servers_free(struct servers *sv);
/* The server tried now. */
struct server *servers_current(struct servers *sv);
/* Its options: what the connection uses. */
const struct client_opts *servers_opts(struct servers *sv);
/* The one tried now is connecting / up. */
void servers_connecting(struct servers *sv);
void servers_up(struct servers *sv);
/* The attempt on the current one failed (why: fail_msg()).  Moves to the
 * next of this walk and returns true, or returns false when every server
 * of the walk has been tried; then the next walk begins with the list's
 * order (the one that failed last). */
bool servers_failed(struct servers *sv, const char *why, bool busy);
/* The server in use went away: a new walk, the list in order with that
 * one last. */
void servers_lost(struct servers *sv, const char *why);
/* A walk that starts with server i (reconnect HOST), the others after it
 * in the list's order. */
void servers_begin_with(struct servers *sv, int i);
/* The index of host as typed (or as its HostName), or -1. */
int servers_find(const struct servers *sv, const char *host);
/* Never prompt from now on (reconnects: nobody may be at the terminal). */
void servers_batch(struct servers *sv);
const char *server_state_name(enum server_state st);

#endif
