/* What the SSH transport is told: ssh's options, as the command line,
 * -o and ssh_config set them.  Types only. */
#ifndef SSHTUN_SSH_OPTS_H
#define SSHTUN_SSH_OPTS_H

#include <stdbool.h>
#include <sys/socket.h>

#define SSH_MAX_IDENTITIES 16
#define SSH_MAX_PINNED 16

enum strict_hostkey { SHK_ASK, SHK_YES, SHK_ACCEPT_NEW, SHK_NO };

struct ssh_opts {
	const char *host;		/* HostName: what we connect to and check */
	unsigned port;
	const char *user;
	const char *identities[SSH_MAX_IDENTITIES];	/* -i / IdentityFile */
	int nidentities;
	bool identities_only;
	const char *certificates[SSH_MAX_IDENTITIES];	/* CertificateFile */
	int ncertificates;
	const char *known_hosts;	/* UserKnownHostsFile, NULL: ~/.ssh/known_hosts */
	enum strict_hostkey strict;
	unsigned connect_timeout_s;	/* per address; 0: 15 */
	int family;			/* AF_UNSPEC, AF_INET, AF_INET6 */
	bool compression;		/* zlib@openssh.com transport compression */
	bool batch;			/* never prompt (reconnects, no terminal) */
	const char *proxy_command;	/* run by /bin/sh; its stdin/stdout carry ssh */
	unsigned dead_after_s;		/* TCP gives up on an unanswered peer; 0: 15 */
	const char *bind_addr;		/* -b / BindAddress: leave from this local address */
	const char *bind_dev;		/* -b IFNAME: leave through this interface (SO_BINDTODEVICE) */
	/* --kill-switch: the host's addresses when it started, the ones its
	 * guard lets out.  A connect whose name no longer resolves (the guard
	 * blocks DNS outside the tunnel) uses these. */
	struct sockaddr_storage pinned[SSH_MAX_PINNED];
	int npinned;
};

#endif
