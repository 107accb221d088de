/* known_hosts, line by line (known_hosts.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "certs.h"
#include "known_hosts.h"

/* ssh's wildcards: * and ? only ("[host]:port" is literal).  One
 * backtracking point, the last star: linear in practice, never exponential
 * whatever the pattern. */
static bool glob(const char *p, const char *s)
{
	const char *star = NULL, *retry = NULL;

	while (*s) {
		if (*p == '*') {
			star = ++p;
			retry = s;
		} else if (*p && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star) {
			p = star;
			s = ++retry;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

bool known_hosts_match(const char *patterns, size_t len, const char *name)
{
	char pat[256], lname[256];
	bool matched = false;
	size_t i = 0;

	snprintf(lname, sizeof(lname), "%s", name);
	for (char *c = lname; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	while (i < len) {
		size_t n = 0;
		bool negated = patterns[i] == '!';

		i += negated;
		while (i < len && patterns[i] != ',') {
			if (n < sizeof(pat) - 1)
				pat[n++] = (char)tolower((unsigned char)patterns[i]);
			i++;
		}
		i++;	/* the comma */
		pat[n] = '\0';
		if (n && glob(pat, lname)) {
			if (negated)
				return false;	/* a negated match wins, as in ssh */
			matched = true;
		}
	}
	return matched;
}

bool known_hosts_revoked(const struct known_markers *m, const void *key, size_t len)
{
	for (int i = 0; i < m->nrevoked; i++)
		if (m->revoked_len[i] == len && !memcmp(m->revoked[i], key, len))
			return true;
	return false;
}

/* "@marker hosts keytype base64 ...": keeps what concerns name. */
static void marker_line(const char *line, int lineno, const char *name, struct known_markers *m)
{
	const char *hosts, *keytype, *b64;
	size_t hlen, mlen = strcspn(line, " \t");
	bool ca = mlen == 15 && !strncmp(line, "@cert-authority", 15);
	bool revoked = mlen == 8 && !strncmp(line, "@revoked", 8);
	int klen;

	hosts = line + mlen + strspn(line + mlen, " \t");
	hlen = strcspn(hosts, " \t");
	keytype = hosts + hlen + strspn(hosts + hlen, " \t");
	b64 = keytype + strcspn(keytype, " \t");
	b64 += strspn(b64, " \t");
	if ((!ca && !revoked) || !hlen || !known_hosts_match(hosts, hlen, name))
		return;
	if (ca && !m->ca_line)
		m->ca_line = lineno;
	if (revoked && m->nrevoked < KNOWN_HOSTS_REVOKED_MAX) {
		klen = b64_decode(b64, strcspn(b64, " \t\r\n"), m->revoked[m->nrevoked], KNOWN_HOSTS_KEY_MAX);
		if (klen > 0)
			m->revoked_len[m->nrevoked++] = (size_t)klen;
	}
}

int known_hosts_read(LIBSSH2_KNOWNHOSTS *kh, const char *path, const char *name,
		     struct known_markers *m)
{
	char line[8192];
	int lineno = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t");

		lineno++;
		if (*p == '@') {
			marker_line(p, lineno, name, m);
			continue;
		}
		if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
			continue;
		if (libssh2_knownhost_readline(kh, line, strlen(line), LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
			if (!m->bad_lines++)
				m->first_bad = lineno;
		}
	}
	fclose(f);
	return 0;
}
