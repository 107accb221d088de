/* User authentication in ssh's order: agent, identity files (asking for a
 * passphrase when a key is encrypted), keyboard-interactive, password.
 * Secrets are wiped after use and never logged. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "certs.h"
#include "common.h"
#include "fail.h"
#include "log.h"
#include "auth.h"
#include "ssh_err.h"
#include "tty.h"

#define KEYFILE_MAX (64 * 1024)

struct attempt {
	char tried[400];	/* for the final message: what we tried */
	bool rsa_refused;
	const char *rsa_path;
	char cert_why[1024];	/* why a certificate was (or will be) refused */
};

__attribute__((format(printf, 2, 3)))
static void note(struct attempt *a, const char *fmt, ...)
{
	size_t len = strlen(a->tried);

	if (len + 2 >= sizeof(a->tried))
		return;
	snprintf(a->tried + len, sizeof(a->tried) - len, len ? ", " : "");
	len = strlen(a->tried);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->tried + len, sizeof(a->tried) - len, fmt, ap);
	va_end(ap);
}

/* What a private key file is, read without the passphrase: its key type and
 * whether it is encrypted.  OpenSSH's format keeps both in the clear. */
struct keyinfo {
	bool encrypted;
	bool rsa;
};

static int key_inspect(const char *path, struct keyinfo *ki)
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	char text[KEYFILE_MAX];
	uint8_t bin[KEYFILE_MAX];
	ssize_t n;
	int fd, blen;

	memset(ki, 0, sizeof(*ki));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -1;
	text[n] = '\0';
	if (strstr(text, "BEGIN RSA PRIVATE KEY"))
		ki->rsa = true;
	if (strstr(text, "ENCRYPTED"))
		ki->encrypted = true;
	char *p = strstr(text, begin);

	if (p) {
		struct reader r;
		const uint8_t *s;
		uint32_t len;
		char *end = strstr(p, "-----END");

		p += sizeof(begin) - 1;
		blen = b64_decode(p, end ? (size_t)(end - p) : strlen(p), bin, sizeof(bin));
		/* "openssh-key-v1\0" ciphername kdfname kdfoptions nkeys pubkey */
		reader_init(&r, bin, blen > 0 ? (size_t)blen : 0);
		if (reader_bytes(&r, 15, &s) == 0 && !memcmp(s, "openssh-key-v1", 15) &&
		    reader_u32(&r, &len) == 0 && reader_bytes(&r, len, &s) == 0) {
			ki->encrypted = !(len == 4 && !memcmp(s, "none", 4));
			if (reader_u32(&r, &len) == 0 && reader_bytes(&r, len, &s) == 0 &&
			    reader_u32(&r, &len) == 0 && reader_bytes(&r, len, &s) == 0 &&
			    reader_u32(&r, &len) == 0 && reader_u32(&r, &len) == 0 &&
			    reader_u32(&r, &len) == 0 && reader_bytes(&r, len, &s) == 0)
				ki->rsa = len == 7 && !memcmp(s, "ssh-rsa", 7);
		}
	}
	explicit_bzero(text, sizeof(text));
	explicit_bzero(bin, sizeof(bin));
	return 0;
}

/* A certificate's problems, noted for the final message (the server gives
 * no reason).  True: do not offer it, libssh2 cannot sign for it. */
static bool cert_check(const struct ssh_opts *opts, const struct cert_info *ci, const char *where,
		       struct attempt *a)
{
	char why[400];

	if (strlen(where) > 600)
		where = "a certificate";

	if (cert_signable(ci, why, sizeof(why)) < 0) {
		log_verbose("not offering %s: %s", where, why);
		snprintf(a->cert_why, sizeof(a->cert_why), "%.600s: %s", where, why);
		return true;
	}
	if (cert_problem(ci, opts->user, time(NULL), why, sizeof(why)) == 0) {
		log_verbose("%s: %s", where, why);
		snprintf(a->cert_why, sizeof(a->cert_why), "%.600s: %s", where, why);
	}
	return false;
}

static bool agent_cert_skip(const struct ssh_opts *opts, const struct libssh2_agent_publickey *id,
			    struct attempt *a)
{
	struct cert_info ci;
	char err[200], where[300];

	if (id->blob_len < 4 || get_u32(id->blob) > id->blob_len - 4 ||
	    !cert_type_is((const char *)id->blob + 4, get_u32(id->blob)))
		return false;
	if (cert_parse(id->blob, id->blob_len, &ci, err, sizeof(err)) < 0) {
		log_verbose("agent key %s: %s", id->comment ? id->comment : "", err);
		return false;	/* the server may know it better */
	}
	snprintf(where, sizeof(where), "agent certificate %s", id->comment ? id->comment : ci.key_id);
	return cert_check(opts, &ci, where, a);
}

static int try_agent(const struct ssh_opts *opts, LIBSSH2_SESSION *s, struct attempt *a)
{
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int rc = -1, count = 0;

	if (!getenv("SSH_AUTH_SOCK"))
		return -1;
	agent = libssh2_agent_init(s);
	if (!agent)
		return -1;
	if (libssh2_agent_connect(agent) || libssh2_agent_list_identities(agent)) {
		log_verbose("agent: %s", ssh_errmsg(s));
		goto out;
	}
	while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
		count++;
		prev = id;
		if (agent_cert_skip(opts, id, a))
			continue;
		log_verbose("trying agent key %s", id->comment ? id->comment : "");
		if (libssh2_agent_userauth(agent, opts->user, id) == 0) {
			log_verbose("authenticated with agent key %s", id->comment ? id->comment : "");
			rc = 0;
			break;
		}
	}
	if (rc)
		note(a, "agent (%s keys refused)", count ? "all" : "no");
out:
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return rc;
}

#define CERTS_PER_KEY 4

/* Does the certificate ci certify the key in key_path?  KEY.pub holds the
 * same key fields, or (no KEY.pub) the certificate is KEY-cert.pub. */
static bool cert_pairs(const char *cert_path, const struct cert_info *ci, const char *key_path)
{
	static uint8_t blob[CERT_BLOB_MAX];
	char pub[600], err[200];
	struct reader r;
	const uint8_t *p;
	uint32_t n;
	long len;

	snprintf(pub, sizeof(pub), "%s.pub", key_path);
	len = cert_read_pub(pub, blob, sizeof(blob), err, sizeof(err));
	if (len < 0) {
		snprintf(pub, sizeof(pub), "%s-cert.pub", key_path);
		return !strcmp(pub, cert_path);
	}
	reader_init(&r, blob, (size_t)len);
	if (reader_u32(&r, &n) < 0 || reader_bytes(&r, n, &p) < 0)
		return false;
	return r.len - r.off == ci->pubkey_len && !memcmp(r.p + r.off, ci->pubkey, ci->pubkey_len);
}

/* The certificates to offer before the key in key_path, in ssh's order:
 * CertificateFile entries for this key, then KEY-cert.pub beside it. */
static int certs_for(const struct ssh_opts *opts, const char *key_path, char (*paths)[512], int max)
{
	static uint8_t blob[CERT_BLOB_MAX];
	struct cert_info ci;
	char err[300], own[512];
	int n = 0;
	long len;

	for (int i = 0; i < opts->ncertificates && n < max; i++) {
		len = cert_read_pub(opts->certificates[i], blob, sizeof(blob), err, sizeof(err));
		if (len < 0 || cert_parse(blob, (size_t)len, &ci, err, sizeof(err)) < 0) {
			log_verbose("CertificateFile %s: %s", opts->certificates[i], err);
			continue;
		}
		if (cert_pairs(opts->certificates[i], &ci, key_path))
			snprintf(paths[n++], sizeof(paths[0]), "%s", opts->certificates[i]);
	}
	snprintf(own, sizeof(own), "%s-cert.pub", key_path);
	for (int i = 0; i < n; i++)
		if (!strcmp(paths[i], own))
			return n;
	if (n < max && access(own, F_OK) == 0)
		snprintf(paths[n++], sizeof(paths[0]), "%s", own);
	return n;
}

/* 0: authenticated; 1: not offered (see a->cert_why); else libssh2's error. */
static int try_cert(const struct ssh_opts *opts, LIBSSH2_SESSION *s, const char *key_path,
		    const char *cert_path, const char *pass, struct attempt *a)
{
	static uint8_t blob[CERT_BLOB_MAX];
	struct cert_info ci;
	char err[300], where[600];
	long len;
	int rc;

	len = cert_read_pub(cert_path, blob, sizeof(blob), err, sizeof(err));
	if (len < 0 || cert_parse(blob, (size_t)len, &ci, err, sizeof(err)) < 0) {
		note(a, "%s (%s)", cert_path, err);
		return 1;
	}
	snprintf(where, sizeof(where), "certificate %s", cert_path);
	if (cert_check(opts, &ci, where, a))
		return 1;
	log_verbose("trying certificate %s with key %s", cert_path, key_path);
	rc = libssh2_userauth_publickey_fromfile_ex(s, opts->user, (unsigned)strlen(opts->user), cert_path,
						    key_path, pass);
	if (rc == 0)
		log_verbose("authenticated with certificate %s (ID %s)", cert_path, ci.key_id);
	return rc;
}

static int try_keyfile(const struct ssh_opts *opts, LIBSSH2_SESSION *s, const char *path,
		       bool explicit, struct attempt *a)
{
	struct keyinfo ki;
	char pass[512] = "", prompt[600], certs[CERTS_PER_KEY][512];
	int rc, ncerts, certs_refused = 0;

	if (key_inspect(path, &ki) < 0) {
		if (explicit)
			log_warn("identity file %s not accessible: %s", path, strerror(errno));
		return -1;
	}
	ncerts = certs_for(opts, path, certs, CERTS_PER_KEY);
	for (int tries = 0; tries < 3; tries++) {
		if (ki.encrypted) {
			if (opts->batch || !tty_available()) {
				note(a, "%s (encrypted, no terminal for its passphrase)", path);
				return -1;
			}
			snprintf(prompt, sizeof(prompt), "Enter passphrase for key '%s': ", path);
			if (tty_ask(prompt, false, pass, sizeof(pass)) < 0 || !pass[0])
				break;
		}
		/* As ssh: the certificates first, then the plain key (which
		 * also tells a wrong passphrase apart). */
		certs_refused = 0;
		for (int c = 0; c < ncerts; c++) {
			rc = try_cert(opts, s, path, certs[c], pass, a);
			if (rc == 0) {
				explicit_bzero(pass, sizeof(pass));
				return 0;
			}
			certs_refused |= rc != 1 ? 1 << c : 0;
		}
		log_verbose("trying key %s", path);
		rc = libssh2_userauth_publickey_fromfile_ex(s, opts->user, (unsigned)strlen(opts->user),
							    NULL, path, pass);
		explicit_bzero(pass, sizeof(pass));
		if (rc == 0) {
			log_verbose("authenticated with %s", path);
			return 0;
		}
		if (rc == LIBSSH2_ERROR_FILE && ki.encrypted) {
			fprintf(stderr, "Bad passphrase, try again.\n");
			continue;
		}
		if (rc == LIBSSH2_ERROR_FILE) {
			note(a, "%s (unreadable key format)", path);
			return -1;
		}
		if (ki.rsa) {
			a->rsa_refused = true;
			a->rsa_path = path;
		}
		for (int c = 0; c < ncerts; c++)
			if (certs_refused & 1 << c)
				note(a, "%s (refused)", certs[c]);
		note(a, "%s (refused)", path);
		return -1;
	}
	note(a, "%s (no passphrase)", path);
	return -1;
}

static int try_keys(const struct ssh_opts *opts, LIBSSH2_SESSION *s, struct attempt *a)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	const char *home = getenv("HOME");
	char path[512];

	for (int i = 0; i < opts->nidentities; i++)
		if (try_keyfile(opts, s, opts->identities[i], true, a) == 0)
			return 0;
	if (opts->nidentities && opts->identities_only)
		return -1;
	if (opts->nidentities)
		return -1;	/* like ssh -i with IdentitiesOnly: default keys
				 * only when none was named */
	for (size_t i = 0; i < ARRAY_SIZE(defaults) && home; i++) {
		snprintf(path, sizeof(path), "%s/.ssh/%s", home, defaults[i]);
		if (access(path, F_OK) == 0 && try_keyfile(opts, s, path, false, a) == 0)
			return 0;
	}
	return -1;
}

static void kbd_callback(const char *name, int name_len, const char *instruction,
			 int instruction_len, int num_prompts,
			 const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts,
			 LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses, void **abstract)
{
	for (int i = 0; i < num_prompts; i++) {
		char prompt[256], answer[512];
		int plen = prompts[i].length > 200 ? 200 : (int)prompts[i].length;

		snprintf(prompt, sizeof(prompt), "%.*s", plen, prompts[i].text);
		/* The server's text goes to a terminal: no escape sequences. */
		for (char *c = prompt; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		responses[i].text = NULL;
		responses[i].length = 0;
		if (tty_ask(prompt, prompts[i].echo, answer, sizeof(answer)) < 0)
			continue;
		responses[i].text = strdup(answer);	/* libssh2 frees it */
		responses[i].length = responses[i].text ? (unsigned)strlen(answer) : 0;
		explicit_bzero(answer, sizeof(answer));
	}
}

static int try_interactive(const struct ssh_opts *opts, LIBSSH2_SESSION *s, const char *methods,
			   struct attempt *a)
{
	char prompt[400], pass[512];

	if (opts->batch || !tty_available())
		return -1;
	if (strstr(methods, "keyboard-interactive")) {
		if (libssh2_userauth_keyboard_interactive(s, opts->user, kbd_callback) == 0)
			return 0;
		note(a, "%s", "keyboard-interactive");
	}
	if (strstr(methods, "password")) {
		for (int i = 0; i < 3; i++) {
			snprintf(prompt, sizeof(prompt), "%s@%s's password: ", opts->user, opts->host);
			if (tty_ask(prompt, false, pass, sizeof(pass)) < 0)
				break;
			int rc = libssh2_userauth_password(s, opts->user, pass);

			explicit_bzero(pass, sizeof(pass));
			if (rc == 0)
				return 0;
			fprintf(stderr, "Permission denied, please try again.\n");
		}
		note(a, "%s", "password");
	}
	return -1;
}

int auth_run(const struct ssh_opts *opts, LIBSSH2_SESSION *s)
{
	struct attempt a = { .tried = "" };
	const char *methods;

	methods = libssh2_userauth_list(s, opts->user, (unsigned)strlen(opts->user));
	if (!methods) {
		if (libssh2_userauth_authenticated(s))
			return 0;
		return fail(EXIT_AUTH, "authentication as %s on %s failed: %s", opts->user,
			    opts->host, ssh_errmsg(s));
	}
	log_verbose("server accepts: %s", methods);
	if (strstr(methods, "publickey")) {
		if (!opts->identities_only && try_agent(opts, s, &a) == 0)
			return 0;
		if (try_keys(opts, s, &a) == 0)
			return 0;
	}
	if (try_interactive(opts, s, methods, &a) == 0)
		return 0;
	if (a.cert_why[0])
		return fail(EXIT_AUTH, "permission denied for %s@%s: %s (tried %s)", opts->user, opts->host,
			    a.cert_why, a.tried[0] ? a.tried : "nothing else");
	if (a.rsa_refused)
		return fail(EXIT_AUTH,
			    "%s refused RSA key %s: libssh2 1.10 signs RSA only with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later reject; use an ed25519 or ecdsa key",
			    opts->host, a.rsa_path);
	if (!a.tried[0])
		return fail(EXIT_AUTH,
			    "no usable key for %s@%s: no agent (SSH_AUTH_SOCK) and no ~/.ssh/id_ed25519 or id_ecdsa; name one with -i FILE (server accepts: %s)",
			    opts->user, opts->host, methods);
	return fail(EXIT_AUTH, "permission denied for %s@%s: tried %s (server accepts: %s)",
		    opts->user, opts->host, a.tried, methods);
}
