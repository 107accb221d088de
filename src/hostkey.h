/* The server's host key against known_hosts, the way OpenSSH checks it
 * (StrictHostKeyChecking, UserKnownHostsFile). */
#ifndef SSHTUN_HOSTKEY_H
#define SSHTUN_HOSTKEY_H

#include <libssh2.h>
#include <stddef.h>

#include "known_hosts.h"
#include "ssh_opts.h"

struct hostkeys {
	LIBSSH2_KNOWNHOSTS *kh;
	LIBSSH2_SESSION *tmp;		/* libssh2 wants a session for knownhost_init */
	char path[512];
	int known_types;		/* bit per LIBSSH2_HOSTKEY_TYPE_* found for this host */
	struct known_markers markers;	/* @cert-authority, @revoked for this host */
};

int hostkeys_load(const struct ssh_opts *opts, struct hostkeys *hk);
/* Host key algorithms, the types known_hosts holds for this host first (so
 * a server with several keys shows us the one we can check). */
void hostkeys_pref(const struct hostkeys *hk, char *out, size_t cap);
int hostkeys_verify(struct hostkeys *hk, const struct ssh_opts *opts, LIBSSH2_SESSION *s);
void hostkeys_free(struct hostkeys *hk);

#endif
