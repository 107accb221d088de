/* Host key verification against OpenSSH known_hosts, with ssh's policies:
 * StrictHostKeyChecking yes / accept-new / no / ask. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "log.h"
#include "hostkey.h"
#include "ssh_err.h"
#include "tty.h"

static const struct keytype {
	int hostkey_type;	/* LIBSSH2_HOSTKEY_TYPE_* */
	int kh_type;		/* LIBSSH2_KNOWNHOST_KEY_* */
	const char *methods;	/* host key algorithm names for it */
	const char *label;
} keytypes[] = {
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519", "ED25519" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256", "ECDSA" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384", "ECDSA" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521", "ECDSA" },
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "rsa-sha2-512,rsa-sha2-256,ssh-rsa", "RSA" },
};

static const struct keytype *keytype_of(int hostkey_type)
{
	for (size_t i = 0; i < ARRAY_SIZE(keytypes); i++)
		if (keytypes[i].hostkey_type == hostkey_type)
			return &keytypes[i];
	return NULL;
}

static void known_hosts_path(const struct ssh_opts *opts, char *out, size_t cap)
{
	const char *home = getenv("HOME");

	if (opts->known_hosts)
		snprintf(out, cap, "%s", opts->known_hosts);
	else
		snprintf(out, cap, "%s/.ssh/known_hosts", home ? home : "");
}

static const char *entry_name(const struct ssh_opts *opts, char *name, size_t cap)
{
	if (opts->port == 22)
		snprintf(name, cap, "%s", opts->host);
	else
		snprintf(name, cap, "[%s]:%u", opts->host, opts->port);
	return name;
}

int hostkeys_load(const struct ssh_opts *opts, struct hostkeys *hk)
{
	struct libssh2_knownhost *found;

	memset(hk, 0, sizeof(*hk));
	known_hosts_path(opts, hk->path, sizeof(hk->path));
	hk->tmp = libssh2_session_init();
	if (!hk->tmp)
		return fail(EXIT_ERROR, "out of memory");
	hk->kh = libssh2_knownhost_init(hk->tmp);
	if (!hk->kh)
		return fail(EXIT_ERROR, "out of memory");
	if (access(hk->path, F_OK) == 0) {
		char name[300];

		if (known_hosts_read(hk->kh, hk->path, entry_name(opts, name, sizeof(name)), &hk->markers) < 0)
			log_warn("cannot read %s: %s", hk->path, strerror(errno));
		else if (hk->markers.bad_lines)
			log_verbose("%s: %d line%s libssh2 cannot read, the first on line %d", hk->path,
				    hk->markers.bad_lines, hk->markers.bad_lines > 1 ? "s" : "",
				    hk->markers.first_bad);
	}
	/* Which key types are on file for this host?  A check with a key that
	 * cannot match answers MISMATCH exactly when an entry of that type
	 * exists (libssh2 skips entries of other types). */
	for (size_t i = 0; i < ARRAY_SIZE(keytypes); i++) {
		static const char dummy[] = "\0";
		int r = libssh2_knownhost_checkp(hk->kh, opts->host, (int)opts->port, dummy, 1,
						 LIBSSH2_KNOWNHOST_TYPE_PLAIN |
							 LIBSSH2_KNOWNHOST_KEYENC_RAW |
							 keytypes[i].kh_type,
						 &found);

		if (r == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
			hk->known_types |= 1 << keytypes[i].hostkey_type;
	}
	return 0;
}

void hostkeys_pref(const struct hostkeys *hk, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ARRAY_SIZE(keytypes); i++) {
			bool known = hk->known_types & (1 << keytypes[i].hostkey_type);

			if (known != (pass == 0))
				continue;
			len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "",
						keytypes[i].methods);
			if (len >= cap) {
				out[0] = '\0';	/* cannot happen with this table */
				return;
			}
		}
	}
}

void hostkeys_free(struct hostkeys *hk)
{
	if (hk->kh)
		libssh2_knownhost_free(hk->kh);
	if (hk->tmp)
		libssh2_session_free(hk->tmp);
	hk->kh = NULL;
	hk->tmp = NULL;
}

/* "SHA256:<unpadded base64>", as ssh prints fingerprints. */
static void fingerprint(LIBSSH2_SESSION *s, char *out, size_t cap)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *h = (const unsigned char *)libssh2_hostkey_hash(s, LIBSSH2_HOSTKEY_HASH_SHA256);
	size_t o = 0;

	if (!h || cap < 52) {
		snprintf(out, cap, "SHA256:?");
		return;
	}
	o = (size_t)snprintf(out, cap, "SHA256:");
	for (int i = 0; i < 32; i += 3) {
		uint32_t v = (uint32_t)h[i] << 16 | (i + 1 < 32 ? (uint32_t)h[i + 1] << 8 : 0) |
			     (i + 2 < 32 ? h[i + 2] : 0);
		int chars = i + 2 < 32 ? 4 : (i + 1 < 32 ? 3 : 2);

		for (int j = 0; j < chars; j++)
			out[o++] = b64[(v >> (18 - 6 * j)) & 63];
	}
	out[o] = '\0';
}

/* How known_hosts names host:port. */
/* Appends one entry (ssh's own format) rather than rewriting the user's file
 * with libssh2_knownhost_writefile, which would drop lines it cannot parse. */
static int add_known_host(struct hostkeys *hk, const struct ssh_opts *opts, const char *key,
			  size_t keylen, const struct keytype *kt)
{
	struct libssh2_knownhost *entry;
	char name[300], line[4096];
	size_t outlen = 0;
	int fd, rc = -1;

	entry_name(opts, name, sizeof(name));
	if (libssh2_knownhost_addc(hk->kh, name, NULL, key, keylen, NULL, 0,
				   LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
					   kt->kh_type,
				   &entry) < 0 ||
	    libssh2_knownhost_writeline(hk->kh, entry, line, sizeof(line), &outlen,
					LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		log_warn("cannot format a known_hosts line for %s: %s", name, ssh_errmsg(hk->tmp));
		return -1;
	}
	fd = open(hk->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && write(fd, line, outlen) == (ssize_t)outlen)
		rc = 0;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		log_warn("cannot add the host key to %s: %s", hk->path, strerror(errno));
	else
		log_warn("Permanently added '%s' (%s) to the list of known hosts.", name, kt->label);
	return rc;
}

static bool ask_accept(const struct ssh_opts *opts, const char *label, const char *fp)
{
	char answer[128];

	if (opts->batch || !tty_available())
		return false;
	fprintf(stderr,
		"The authenticity of host '%s (port %u)' can't be established.\n"
		"%s key fingerprint is %s.\n"
		"This key is not known by any other names.\n",
		opts->host, opts->port, label, fp);
	for (;;) {
		if (tty_ask("Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
			    true, answer, sizeof(answer)) < 0)
			return false;
		if (!strcasecmp(answer, "yes") || !strcmp(answer, fp))
			return true;
		if (!strcasecmp(answer, "no"))
			return false;
	}
}

int hostkeys_verify(struct hostkeys *hk, const struct ssh_opts *opts, LIBSSH2_SESSION *s)
{
	struct libssh2_knownhost *found = NULL;
	const struct keytype *kt;
	const char *key;
	size_t keylen;
	int type, r;
	char fp[64], name[300];

	key = libssh2_session_hostkey(s, &keylen, &type);
	kt = keytype_of(type);
	if (!key || !kt)
		return fail(EXIT_HOSTKEY, "%s sent a host key of a type we cannot check", opts->host);
	fingerprint(s, fp, sizeof(fp));
	log_verbose("server host key: %s %s", kt->label, fp);
	if (known_hosts_revoked(&hk->markers, key, keylen))
		return fail(EXIT_HOSTKEY, "the %s host key of %s (%s) is marked @revoked in %s: do not connect; ask the server's admin",
			    kt->label, opts->host, fp, hk->path);
	r = libssh2_knownhost_checkp(hk->kh, opts->host, (int)opts->port, key, keylen,
				     LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
					     kt->kh_type,
				     &found);
	switch (r) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		if (opts->strict == SHK_NO) {
			log_warn("the %s host key for %s has CHANGED (now %s); continuing because StrictHostKeyChecking=no",
				 kt->label, opts->host, fp);
			return 0;
		}
		return fail(EXIT_HOSTKEY,
			    "host key for %s has CHANGED (%s key now %s, not the one in %s): someone may be intercepting; if the change is expected, run: ssh-keygen -f '%s' -R '%s'",
			    opts->host, kt->label, fp, hk->path, hk->path, entry_name(opts, name, sizeof(name)));
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		/* Known, but with keys of other types only: we asked for those
		 * first, so a server that shows a new type is suspect. */
		if (hk->known_types && opts->strict != SHK_NO)
			return fail(EXIT_HOSTKEY,
				    "%s sent a %s host key (%s), but %s has only keys of other types for it: check with the server's admin, then add it (ssh-keyscan) or remove the old ones",
				    opts->host, kt->label, fp, hk->path);
		break;
	default:
		return fail(EXIT_HOSTKEY, "cannot check the host key of %s against %s: %s", opts->host,
			    hk->path, ssh_errmsg(hk->tmp));
	}
	/* ssh would check the server's host certificate against the CA; libssh2
	 * 1.10 offers no certificate host-key algorithm, so the server shows its
	 * plain key, which only a line of its own can vouch for. */
	if (hk->markers.ca_line && (opts->strict == SHK_YES || opts->strict == SHK_ACCEPT_NEW))
		return fail(EXIT_HOSTKEY,
			    "%s is known only through the @cert-authority line %s:%d, and libssh2 %s cannot check host certificates: add the server's own key after comparing its fingerprint (%s key %s), e.g. ssh-keyscan -t %s %s >> %s",
			    opts->host, hk->path, hk->markers.ca_line, libssh2_version(0), kt->label, fp,
			    kt->label[0] == 'E' && kt->label[1] == 'D' ? "ed25519" : kt->label[0] == 'E' ? "ecdsa" : "rsa",
			    opts->host, hk->path);
	if (hk->markers.ca_line)
		log_warn("%s is known only through the @cert-authority line %s:%d, which libssh2 %s cannot use",
			 opts->host, hk->path, hk->markers.ca_line, libssh2_version(0));
	switch (opts->strict) {
	case SHK_YES:
		return fail(EXIT_HOSTKEY,
			    "no host key known for %s in %s (%s key %s) and StrictHostKeyChecking=yes: check the fingerprint, then add it (ssh once, or -o StrictHostKeyChecking=accept-new)",
			    opts->host, hk->path, kt->label, fp);
	case SHK_ASK:
		if (!ask_accept(opts, kt->label, fp))
			return fail(EXIT_HOSTKEY,
				    "host key for %s (%s %s) not accepted%s: check the fingerprint, then connect on a terminal or use -o StrictHostKeyChecking=accept-new",
				    opts->host, kt->label, fp,
				    opts->batch || !tty_available() ? " (no terminal to ask on)" : "");
		break;
	case SHK_ACCEPT_NEW:
	case SHK_NO:
		break;
	}
	add_known_host(hk, opts, key, keylen, kt);
	return 0;
}
