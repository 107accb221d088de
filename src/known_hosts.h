/* Reading an OpenSSH known_hosts file into libssh2, line by line.
 * libssh2 1.10 knows no marker lines (@cert-authority, @revoked: it takes
 * the marker for a host name, so they never apply) and its own reader
 * stops at the first line it cannot parse, losing every line after it.
 * Here marker lines are kept aside for our checks, and a bad line costs
 * only itself. */
#ifndef SSHTUN_KNOWN_HOSTS_H
#define SSHTUN_KNOWN_HOSTS_H

#include <libssh2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KNOWN_HOSTS_REVOKED_MAX 16
#define KNOWN_HOSTS_KEY_MAX 1024

struct known_markers {
	int ca_line;		/* line of a @cert-authority entry for the host; 0: none */
	int nrevoked;		/* @revoked keys for the host */
	uint8_t revoked[KNOWN_HOSTS_REVOKED_MAX][KNOWN_HOSTS_KEY_MAX];
	size_t revoked_len[KNOWN_HOSTS_REVOKED_MAX];
	int bad_lines;		/* lines neither libssh2 nor we could read */
	int first_bad;
};

/* name: the host as known_hosts names it ("host" or "[host]:port").
 * Returns 0, or -1 when the file cannot be opened (errno set). */
int known_hosts_read(LIBSSH2_KNOWNHOSTS *kh, const char *path, const char *name,
		     struct known_markers *m);

/* Does a host field ("pat,pat,!pat", wildcards * and ?) match name?
 * Case-insensitive, as ssh. */
bool known_hosts_match(const char *patterns, size_t len, const char *name);

/* Is key (the server's raw host key) one of m's @revoked keys? */
bool known_hosts_revoked(const struct known_markers *m, const void *key, size_t len);

#endif
