/* OpenSSH certificates, as far as a client needs them (certs.h).  The
 * layout is PROTOCOL.certkeys: string type, string nonce, the key's own
 * fields, uint64 serial, uint32 type, string key id, string principals,
 * uint64 valid after, uint64 valid before, then options, extensions,
 * reserved, the CA key and its signature, which only the server checks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libssh2.h>

#include "buf.h"
#include "certs.h"
#include "fail.h"

#define CERT_SUFFIX "-cert-v01@openssh.com"
#define CERT_TYPE_USER 1

int b64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < inlen; i++) {
		const char c = in[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else
			continue;	/* newlines, padding */
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)o;
}

bool cert_type_is(const char *name, size_t len)
{
	size_t sl = sizeof(CERT_SUFFIX) - 1;

	return len > sl && !memcmp(name + len - sl, CERT_SUFFIX, sl);
}

static int get_string(struct reader *r, const uint8_t **p, uint32_t *len)
{
	return reader_u32(r, len) < 0 || reader_bytes(r, *len, p) < 0 ? -1 : 0;
}

/* A printable copy of a string field, cut to cap - 1. */
static void copy_text(char *dst, size_t cap, const uint8_t *p, uint32_t n)
{
	size_t i;

	for (i = 0; i < n && i < cap - 1; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	dst[i] = '\0';
}

/* The certified key's own fields: how many strings each key type has. */
static int key_fields(const char *key_type)
{
	if (!strcmp(key_type, "ssh-ed25519"))
		return 1;		/* pk */
	if (!strncmp(key_type, "ecdsa-sha2-", 11))
		return 2;		/* curve, Q */
	if (!strcmp(key_type, "ssh-rsa"))
		return 2;		/* e, n (mpints are strings) */
	if (!strcmp(key_type, "ssh-dss"))
		return 4;		/* p, q, g, y */
	return -1;
}

int cert_parse(const uint8_t *blob, size_t len, struct cert_info *ci, char *err, size_t errlen)
{
	struct reader r, pr;
	const uint8_t *p, *start;
	uint32_t n, kind;
	uint64_t serial;
	int fields;

	memset(ci, 0, sizeof(*ci));
	reader_init(&r, blob, len);
	/* A NUL inside would make the name we keep another one than we checked. */
	if (get_string(&r, &p, &n) < 0 || n >= sizeof(ci->type) || memchr(p, '\0', n) ||
	    !cert_type_is((const char *)p, n))
		return errorf(err, errlen, "not an OpenSSH certificate");
	memcpy(ci->type, p, n);
	ci->type[n] = '\0';
	snprintf(ci->key_type, sizeof(ci->key_type), "%.*s", (int)(n - (sizeof(CERT_SUFFIX) - 1)), ci->type);
	fields = key_fields(ci->key_type);
	if (fields < 0)
		return errorf(err, errlen, "certificate of unknown key type %s", ci->type);
	if (get_string(&r, &p, &n) < 0)	/* nonce */
		goto short_blob;
	start = r.p + r.off;
	for (int i = 0; i < fields; i++)
		if (get_string(&r, &p, &n) < 0)
			goto short_blob;
	ci->pubkey = start;
	ci->pubkey_len = (size_t)(r.p + r.off - start);
	if (reader_u64(&r, &serial) < 0 || reader_u32(&r, &kind) < 0)
		goto short_blob;
	ci->user = kind == CERT_TYPE_USER;
	if (get_string(&r, &p, &n) < 0)
		goto short_blob;
	copy_text(ci->key_id, sizeof(ci->key_id), p, n);
	if (get_string(&r, &p, &n) < 0)
		goto short_blob;
	reader_init(&pr, p, n);
	while (pr.off < pr.len) {
		const uint8_t *q;
		uint32_t m;

		if (get_string(&pr, &q, &m) < 0)
			goto short_blob;
		if (ci->nprincipals == CERT_PRINCIPALS_MAX) {
			ci->more_principals = true;
			continue;
		}
		copy_text(ci->principals[ci->nprincipals++], sizeof(ci->principals[0]), q, m);
	}
	if (reader_u64(&r, &ci->valid_after) < 0 || reader_u64(&r, &ci->valid_before) < 0)
		goto short_blob;
	return 0;
short_blob:
	return errorf(err, errlen, "certificate %s is cut short (%zu bytes)", ci->type, len);
}

long cert_read_pub(const char *path, uint8_t *blob, size_t cap, char *err, size_t errlen)
{
	char text[CERT_BLOB_MAX * 4 / 3 + 256], *b64, *end;
	ssize_t n;
	int fd, len;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errorf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return errorf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	text[n] = '\0';
	b64 = strchr(text, ' ');
	if (!b64 || b64 == text)
		return errorf(err, errlen, "%s is not a public key file (want `TYPE BASE64 [COMMENT]')", path);
	b64++;
	end = b64 + strcspn(b64, " \t\r\n");
	len = b64_decode(b64, (size_t)(end - b64), blob, cap);
	if (len <= 0)
		return errorf(err, errlen, "%s: the key is empty or over %zu bytes", path, cap);
	return len;
}

static void date_of(uint64_t t, char *out, size_t cap)
{
	time_t tt = t > (uint64_t)INT64_MAX ? (time_t)INT64_MAX : (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, cap, "%llu", (unsigned long long)t);
}

int cert_problem(const struct cert_info *ci, const char *user, time_t now, char *why, size_t cap)
{
	char date[64];
	uint64_t t = now < 0 ? 0 : (uint64_t)now;
	bool listed = ci->nprincipals == 0 || ci->more_principals;

	if (!ci->user) {
		snprintf(why, cap, "certificate %s is a host certificate, not a user one", ci->key_id);
		return 0;
	}
	if (t >= ci->valid_before) {
		date_of(ci->valid_before, date, sizeof(date));
		snprintf(why, cap, "certificate `%s' expired on %s (by this machine's clock)", ci->key_id, date);
		return 0;
	}
	if (t < ci->valid_after) {
		date_of(ci->valid_after, date, sizeof(date));
		snprintf(why, cap, "certificate `%s' is not valid before %s (by this machine's clock)", ci->key_id, date);
		return 0;
	}
	for (int i = 0; i < ci->nprincipals && !listed; i++)
		listed = !strcmp(ci->principals[i], user);
	if (!listed) {
		size_t o = (size_t)snprintf(why, cap, "certificate `%s' names principal%s ", ci->key_id,
					    ci->nprincipals > 1 ? "s" : "");
		for (int i = 0; i < ci->nprincipals && o < cap; i++)
			o += (size_t)snprintf(why + o, cap - o, "%s%s", i ? "," : "", ci->principals[i]);
		if (o < cap)
			snprintf(why + o, cap - o, ", not %s (unless the server maps it: AuthorizedPrincipalsFile)", user);
		return 0;
	}
	return -1;
}

int cert_signable(const struct cert_info *ci, char *why, size_t cap)
{
	if (!strncmp(ci->key_type, "ecdsa-sha2-", 11) || libssh2_version(0x010b00))
		return 0;
	snprintf(why, cap, "%s certificates need libssh2 1.11 or later (this is %s: it names the signature %s, which sshd rejects); use an ECDSA key's certificate (ssh-keygen -t ecdsa)",
		 ci->key_type, libssh2_version(0), ci->type);
	return -1;
}
