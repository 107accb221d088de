/* OpenSSH certificates (PROTOCOL.certkeys), read only as far as a client
 * needs: which key a certificate is for, whom and when it is valid, and
 * whether this libssh2 can sign with it.  The server decides; these facts
 * explain its refusal, which SSH does not (USERAUTH_FAILURE has no reason). */
#ifndef SSHTUN_CERTS_H
#define SSHTUN_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CERT_BLOB_MAX (16 * 1024)	/* OpenSSH's own certificates stay far below */
#define CERT_PRINCIPALS_MAX 16

struct cert_info {
	char type[48];		/* "ssh-ed25519-cert-v01@openssh.com" */
	char key_type[24];	/* the plain key's: "ssh-ed25519" */
	bool user;		/* a user certificate (not a host one) */
	char key_id[64];
	char principals[CERT_PRINCIPALS_MAX][64];
	int nprincipals;	/* 0: any principal */
	bool more_principals;	/* more than we keep */
	uint64_t valid_after, valid_before;
	const uint8_t *pubkey;	/* the certified key's fields, inside the blob */
	size_t pubkey_len;
};

/* Is name a certificate key type ("...-cert-v01@openssh.com")? */
bool cert_type_is(const char *name, size_t len);

/* Parses a certificate blob; ci points into it.  0, or -1 with err. */
int cert_parse(const uint8_t *blob, size_t len, struct cert_info *ci, char *err, size_t errlen);

/* Reads "TYPE BASE64 [COMMENT]" from path into blob (cap bytes): a
 * certificate .pub file, or a plain public key's.  Returns the blob's
 * length, or -1 with err. */
long cert_read_pub(const char *path, uint8_t *blob, size_t cap, char *err, size_t errlen);

/* Why the server will refuse ci for user at now, as far as this machine
 * can tell (expired, not yet valid, another principal, a host
 * certificate): 0 and why[] set, or -1 when nothing is wrong. */
int cert_problem(const struct cert_info *ci, const char *user, time_t now, char *why, size_t cap);

/* Can this libssh2 sign for a certificate of this type?  1.10 names an
 * ED25519 or RSA certificate's signature by the certificate's type, which
 * sshd rejects; only ECDSA certificates work before 1.11.  0, or -1 with
 * why[] set. */
int cert_signable(const struct cert_info *ci, char *why, size_t cap);

/* Decodes base64 (skipping newlines and padding) into out.  Returns the
 * length, or -1 when it does not fit. */
int b64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap);

#endif
