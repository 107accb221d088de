/* The connection groups' file (group.h).  The caller holds the lease
 * file's lock for a read, the changes and the write. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common.h"
#include "fail.h"
#include "group.h"
#include "log.h"
#include "safefile.h"

#define GROUP_LINE_MAX 512	/* a full line of 8 members is under 450 */
#define GROUP_LINES_MAX 65536	/* bounds the work a damaged file costs */
#define MAX_WARNINGS 10

static const char hex[] = "0123456789abcdef";

int group_token_new(char token[HELLO_ID_LEN + 1], char *err, size_t errlen)
{
	uint8_t raw[HELLO_ID_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return errorf(err, errlen, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(raw); i++) {
		token[2 * i] = hex[raw[i] >> 4];
		token[2 * i + 1] = hex[raw[i] & 15];
	}
	token[HELLO_ID_LEN] = '\0';
	return 0;
}

void group_token_hash(const char *token, uint8_t hash[GROUP_HASH_LEN])
{
	unsigned len = 0;

	/* SHA-256 is always there in libcrypto; a failure would be a broken
	 * library, and then no hash matches (all ones is no token's). */
	if (!EVP_Digest(token, strnlen(token, HELLO_ID_LEN), hash, &len, EVP_sha256(), NULL) ||
	    len != GROUP_HASH_LEN)
		memset(hash, 0xff, GROUP_HASH_LEN);
}

bool group_token_ok(const struct group *g, const char *token)
{
	uint8_t h[GROUP_HASH_LEN];

	group_token_hash(token, h);
	return CRYPTO_memcmp(h, g->hash, sizeof(h)) == 0;
}

struct group *groups_find(struct groups *gs, unsigned index)
{
	for (unsigned i = 0; i < gs->n; i++)
		if (gs->g[i].index == index)
			return &gs->g[i];
	return NULL;
}

struct group *groups_add(struct groups *gs, unsigned index)
{
	struct group *g = groups_find(gs, index);

	if (!g) {
		if (gs->n == gs->cap) {
			unsigned cap = gs->cap ? 2 * gs->cap : 8;
			struct group *v = realloc(gs->g, cap * sizeof(*v));

			if (!v)
				return NULL;
			gs->g = v;
			gs->cap = cap;
		}
		g = &gs->g[gs->n++];
	}
	memset(g, 0, sizeof(*g));
	g->index = index;
	return g;
}

void groups_drop(struct groups *gs, struct group *g)
{
	*g = gs->g[--gs->n];
}

bool group_leave(struct group *g, pid_t pid)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->m[i].pid == pid) {
			memmove(&g->m[i], &g->m[i + 1], (g->n - i - 1) * sizeof(g->m[0]));
			g->n--;
			return true;
		}
	return false;
}

struct group_member *group_conn(struct group *g, int conn, pid_t except)
{
	for (unsigned i = 0; conn >= 0 && i < g->n; i++)
		if (g->m[i].conn == conn && g->m[i].pid != except)
			return &g->m[i];
	return NULL;
}

void groups_free(struct groups *gs)
{
	free(gs->g);
	memset(gs, 0, sizeof(*gs));
}

/* Strict decimal of at most 19 digits, no sign, no leading zero. */
int group_parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 19)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

unsigned group_split_fields(char *line, char **f, unsigned max)
{
	unsigned n = 0;

	for (char *s = line; n < max; n++) {
		f[n] = s;
		s = strchr(s, ' ');
		if (!s)
			break;
		*s++ = '\0';
	}
	return n + 1;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *a = memchr(hex, s[2 * i], 16), *b = memchr(hex, s[2 * i + 1], 16);

		if (!s[2 * i] || !s[2 * i + 1] || !a || !b)
			return -1;
		out[i] = (uint8_t)((a - hex) << 4 | (b - hex));
	}
	return 0;
}

static const char *parse_members(char *s, struct group *g)
{
	char *save = NULL, *w;

	for (w = strtok_r(s, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(w, ':'), *colon2;
		unsigned long long pid, start, conn = 0;

		if (g->n == GROUP_MAX_MEMBERS)
			return "too many members";
		if (!colon)
			return "bad member";
		*colon = '\0';
		colon2 = strchr(colon + 1, ':');	/* a line from before conn= has none */
		if (colon2)
			*colon2 = '\0';
		if (group_parse_num(w, INT_MAX, &pid) < 0 || !pid ||
		    group_parse_num(colon + 1, LLONG_MAX, &start) < 0 ||
		    (colon2 && group_parse_num(colon2 + 1, HELLO_CONN_LAST, &conn) < 0))
			return "bad member";
		g->m[g->n].pid = (pid_t)pid;
		g->m[g->n].conn = colon2 ? (int)conn : -1;
		g->m[g->n++].start = start;
	}
	return g->n ? NULL : "no members";
}

static const char *parse_line(char *line, unsigned size, struct groups *gs)
{
	struct group g = { 0 };
	unsigned long long index, uid, ifindex, mtu;
	char *f[8];
	size_t idlen;

	if (group_split_fields(line, f, 8) != 8)
		return "not eight fields";
	idlen = strlen(f[2]);
	if (group_parse_num(f[0], UINT_MAX, &index) < 0 ||
	    group_parse_num(f[1], (uid_t)-2, &uid) < 0 ||
	    idlen != HELLO_ID_LEN || strspn(f[2], hex) != idlen ||
	    unhex(f[3], g.hash, sizeof(g.hash)) < 0 || !*f[4] || strlen(f[4]) >= IFNAMSIZ ||
	    group_parse_num(f[5], INT_MAX, &ifindex) < 0 || group_parse_num(f[6], MTU_MAX, &mtu) < 0)
		return "bad field";
	if (index >= size)
		return "index outside the pool";
	if (groups_find(gs, (unsigned)index))
		return "index given twice";
	g.index = (unsigned)index;
	g.uid = (uid_t)uid;
	memcpy(g.id, f[2], HELLO_ID_LEN + 1);
	snprintf(g.ifname, sizeof(g.ifname), "%s", f[4]);
	g.ifindex = (int)ifindex;
	g.mtu = (unsigned)mtu;
	{
		const char *why = parse_members(f[7], &g);
		struct group *slot;

		if (why)
			return why;
		slot = groups_add(gs, g.index);
		if (!slot)
			return "out of memory";
		*slot = g;
	}
	return NULL;
}

int groups_read(const char *path, unsigned size, struct groups *gs, char *err, size_t errlen)
{
	char line[GROUP_LINE_MAX + 1];
	unsigned lineno = 0, warnings = 0;
	FILE *f;
	int fd = safe_open(path, O_RDONLY, 0, err, errlen);

	memset(gs, 0, sizeof(*gs));
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return errorf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	}
	while (lineno < GROUP_LINES_MAX && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		const char *why;
		int c;

		lineno++;
		if (n && line[n - 1] == '\n') {
			line[--n] = '\0';
			why = parse_line(line, size, gs);
		} else {
			why = "line too long or unterminated";
			while ((c = getc(f)) != EOF && c != '\n')
				;
		}
		if (why && ++warnings <= MAX_WARNINGS)
			log_warn("%s:%u: ignoring malformed group (%s)", path, lineno, why);
	}
	fclose(f);
	return 0;
}

int groups_write(const char *path, const struct groups *gs, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, rc = 0;

	if (!gs->n) {
		if (unlink(path) < 0 && errno != ENOENT)
			return errorf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return errorf(err, errlen, "group file path too long: %s", path);
	fd = safe_create(tmp, 0600, err, errlen);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return errorf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
	}
	for (unsigned i = 0; i < gs->n; i++) {
		const struct group *g = &gs->g[i];

		fprintf(f, "%u %u %s ", g->index, (unsigned)g->uid, g->id);
		for (size_t k = 0; k < sizeof(g->hash); k++)
			fprintf(f, "%02x", g->hash[k]);
		fprintf(f, " %s %d %u ", g->ifname, g->ifindex, g->mtu);
		for (unsigned k = 0; k < g->n; k++) {
			fprintf(f, "%s%d:%llu", k ? "," : "", (int)g->m[k].pid, g->m[k].start);
			if (g->m[k].conn >= 0 && g->m[k].conn <= HELLO_CONN_LAST)
				fprintf(f, ":%d", g->m[k].conn);
		}
		fputc('\n', f);
	}
	if (ferror(f))
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0) {
		errorf(err, errlen, "cannot write group file %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}
