/* ssh_config(5) reading.  OpenSSH's readconf.c and misc.c (argv_split,
 * match_pattern_list) are the reference for each rule; sshconfig.h says
 * what is left out.  Memory: one fixed-size struct per open file (Include
 * nests at most SSHCONFIG_DEPTH_MAX of them) and one per read; nothing grows
 * with the input. */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "log.h"
#include "sshconfig.h"

/* One sshconfig_read_target() call. */
struct cfg_reader {
	const struct sshconfig_target *t;
	sshconfig_fn fn;
	void *ctx;
	/* Match user and Match host see what the lines read so far set, as
	 * ssh's see its options: the first value that applied. */
	bool have_user, have_hostname;
	char user[SSHCONFIG_LINE_MAX + 1];
	char hostname[SSHCONFIG_LINE_MAX + 1];
	char expanded[SSHCONFIG_LINE_MAX + 1];	/* hostname with %h done */
};

/* One open file.  The buffers are the size of a line, so a word or value
 * taken from the line always fits. */
struct cfile {
	const char *path;
	FILE *f;
	int line;
	size_t total;
	char buf[SSHCONFIG_LINE_MAX + 1];
	char word[SSHCONFIG_LINE_MAX + 1];
	char value[SSHCONFIG_LINE_MAX + 1];
	char pattern[PATH_MAX];
};

enum {
	F_MISSING_OK = 1,	/* ENOENT is an empty file */
	F_CHECK_PERM = 2,	/* owner and mode as ssh's SSHCONF_CHECKPERM */
	F_INCLUDED = 4,		/* a directory matched by a glob is skipped */
};

static int read_file(struct cfg_reader *r, const char *path, int depth,
		     bool *active, bool never, unsigned flags);

/* fail() with "FILE:LINE: " (or "FILE: ") in front when there is a file. */
__attribute__((format(printf, 3, 4)))
static int failat(const char *file, int line, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!file)
		return fail(EXIT_USAGE, "%s", msg);
	if (line > 0)
		return fail(EXIT_USAGE, "%s:%d: %s", file, line, msg);
	return fail(EXIT_USAGE, "%s: %s", file, msg);
}

static const char *local_user(void)
{
	const struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : NULL;
}

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	const struct passwd *pw;

	if (home && *home)
		return home;
	pw = getpwuid(getuid());
	return pw ? pw->pw_dir : NULL;
}

/* A bounded output string: too much sets over and keeps what fitted. */
struct out {
	char *buf;
	size_t cap, len;
	bool over;
};

static void out_init(struct out *o, char *buf, size_t cap)
{
	o->buf = buf;
	o->cap = cap;
	o->len = 0;
	o->over = cap == 0;
	if (cap)
		buf[0] = '\0';
}

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->over || n >= o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/* Writes the home directory a leading ~ or ~user of s names and returns
 * the rest of s (s itself without a ~), or NULL with fail(). */
static const char *put_tilde(struct out *o, const char *s, const char *file, int line)
{
	const struct passwd *pw;
	const char *home;
	char name[256];
	size_t n;

	if (*s != '~')
		return s;
	n = strcspn(s + 1, "/");
	if (n == 0) {
		home = home_dir();
		if (!home) {
			failat(file, line, "cannot expand ~ in `%s' (no HOME, no passwd entry)", s);
			return NULL;
		}
	} else {
		if (n >= sizeof(name)) {
			failat(file, line, "cannot expand `%s' (user name too long)", s);
			return NULL;
		}
		memcpy(name, s + 1, n);
		name[n] = '\0';
		pw = getpwnam(name);
		if (!pw) {
			failat(file, line, "cannot expand `~%s' (no such user)", name);
			return NULL;
		}
		home = pw->pw_dir;
	}
	out_put(o, home, strlen(home));
	return s + 1 + n;
}

int sshconfig_expand(const char *value, const char *host, unsigned port,
		     const char *ruser, char *out, size_t cap)
{
	struct out o;
	const char *s, *v;
	char num[16];

	out_init(&o, out, cap);
	s = put_tilde(&o, value, NULL, 0);
	if (!s)
		goto bad;
	for (; *s; s++) {
		if (*s != '%') {
			out_put(&o, s, 1);
			continue;
		}
		switch (*++s) {
		case '%': v = "%"; break;
		case 'h': v = host; break;
		case 'r': v = ruser; break;
		case 'u': v = local_user(); break;
		case 'd': v = home_dir(); break;
		case 'p':
			snprintf(num, sizeof(num), "%u", port);
			v = num;
			break;
		case '\0':
			fail(EXIT_USAGE, "`%s' ends in a lone %% (write %%%% for a %%)", value);
			goto bad;
		default:
			fail(EXIT_USAGE, "unknown token %%%c in `%s' (known: %%h %%p %%r %%u %%d %%%%)",
			     *s, value);
			goto bad;
		}
		if (!v) {
			fail(EXIT_USAGE, "nothing to expand %%%c to in `%s'", *s, value);
			goto bad;
		}
		out_put(&o, v, strlen(v));
	}
	if (o.over) {
		fail(EXIT_USAGE, "`%s' is too long once expanded (max %zu bytes)",
		     value, cap ? cap - 1 : 0);
		goto bad;
	}
	return 0;
bad:
	if (cap)
		out[0] = '\0';
	return -1;
}

/* ssh's match_pattern() on the pattern p[0..plen): '*' is any run, '?' any
 * one character.  Iterative with one backtrack point, so a hostile pattern
 * costs at most strlen(s) * plen steps. */
static bool wild_match(const char *s, const char *p, size_t plen, bool icase)
{
	const char *pend = p + plen, *star = NULL, *resume = NULL;

	while (*s) {
		if (p < pend && *p == '*') {
			star = p++;
			resume = s;
		} else if (p < pend && (*p == '?' || *p == *s ||
			   (icase && tolower((unsigned char)*p) == tolower((unsigned char)*s)))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (p < pend && *p == '*')
		p++;
	return p == pend;
}

/* ssh's match_pattern_list(): comma-separated patterns; one that matches
 * with a '!' in front vetoes the rest. */
static bool list_match(const char *s, const char *list, bool icase)
{
	bool positive = false;

	for (;;) {
		size_t n = strcspn(list, ",");
		bool neg = *list == '!';

		if (wild_match(s, list + neg, n - neg, icase)) {
			if (neg)
				return false;
			positive = true;
		}
		if (!list[n])
			return positive;
		list += n + 1;
	}
}

/* The next word of *sp by ssh's argv_split() rules, without its quotes and
 * escapes, into out (at least as large as the line).  Returns 1 and moves
 * *sp just past the word, 0 at the end of the line or a comment, -1 on an
 * unterminated quote. */
static int next_word(const char **sp, char *out, size_t cap)
{
	const char *s = *sp + strspn(*sp, " \t");
	size_t n = 0;
	char quote = 0;

	if (!*s || *s == '#') {
		*sp = s;
		return 0;
	}
	for (; *s; s++) {
		char c = *s;

		if (c == '\\' && (s[1] == '"' || s[1] == '\'' || s[1] == '\\' ||
				  (!quote && s[1] == ' '))) {
			c = *++s;
		} else if (!quote && (c == ' ' || c == '\t')) {
			break;
		} else if (!quote && (c == '"' || c == '\'')) {
			quote = c;
			continue;
		} else if (quote && c == quote) {
			quote = 0;
			continue;
		}
		if (n + 1 < cap)
			out[n++] = c;
	}
	if (quote)
		return -1;
	out[n] = '\0';
	*sp = s;
	return 1;
}

static int bad_quote(const struct cfile *cf)
{
	return failat(cf->path, cf->line, "unterminated quote");
}

/* Commands go to a shell, which wants the line as written. */
static bool raw_keyword(const char *kw)
{
	static const char *const raw[] = {
		"ProxyCommand", "LocalCommand", "RemoteCommand", "KnownHostsCommand",
	};

	for (size_t i = 0; i < ARRAY_SIZE(raw); i++)
		if (!strcasecmp(kw, raw[i]))
			return true;
	return false;
}

/* The value handed to the callback (see sshconfig.h), or NULL with fail(). */
static const char *line_value(struct cfile *cf, const char *kw, const char *rest)
{
	const char *s = rest, *end = rest;
	int n = 0, w;

	/* The first word lands in value; the others only need checking. */
	while ((w = next_word(&s, n ? cf->word : cf->value, sizeof(cf->value))) > 0) {
		n++;
		end = s;
	}
	if (w < 0) {
		bad_quote(cf);
		return NULL;
	}
	if (n == 0) {
		failat(cf->path, cf->line, "no value after %s", kw);
		return NULL;
	}
	if (raw_keyword(kw))
		return rest;
	if (n > 1) {
		memcpy(cf->value, rest, (size_t)(end - rest));
		cf->value[end - rest] = '\0';
	}
	return cf->value;
}

static int host_line(struct cfg_reader *r, struct cfile *cf, const char *rest,
		     bool *active, bool never)
{
	const char *s = rest;
	bool match = false, vetoed = false;
	int n = 0, w;

	while ((w = next_word(&s, cf->word, sizeof(cf->word))) > 0) {
		const char *p = cf->word;
		bool neg = *p == '!';

		n++;
		if (wild_match(r->t->host, p + neg, strlen(p + neg), false)) {
			if (neg)
				vetoed = true;
			else
				match = true;
		}
	}
	if (w < 0)
		return bad_quote(cf);
	if (n == 0)
		return failat(cf->path, cf->line, "Host needs a pattern");
	*active = !never && match && !vetoed;
	if (*active)
		log_debug("%s:%d: applying options for %s", cf->path, cf->line, r->t->host);
	return 0;
}

enum criterion {
	C_ALL, C_HOST, C_ORIGINALHOST, C_USER, C_LOCALUSER, C_UNSUPPORTED,
};

static const struct {
	const char *name;
	enum criterion kind;
	bool arg;
} criteria[] = {
	{ "all", C_ALL, false },
	{ "host", C_HOST, true },
	{ "originalhost", C_ORIGINALHOST, true },
	{ "user", C_USER, true },
	{ "localuser", C_LOCALUSER, true },
	/* ssh's, not evaluated here: exec runs a command, canonical and
	 * final need ssh's second pass, the others need state we lack. */
	{ "canonical", C_UNSUPPORTED, false },
	{ "final", C_UNSUPPORTED, false },
	{ "exec", C_UNSUPPORTED, true },
	{ "localnetwork", C_UNSUPPORTED, true },
	{ "tagged", C_UNSUPPORTED, true },
	{ "sessiontype", C_UNSUPPORTED, true },
	{ "command", C_UNSUPPORTED, true },
	{ "version", C_UNSUPPORTED, true },
};

/* HostName as ssh sees it for Match host: only %h and %% expand there. */
static const char *match_hostname(struct cfg_reader *r, const struct cfile *cf)
{
	struct out o;

	out_init(&o, r->expanded, sizeof(r->expanded));
	for (const char *s = r->hostname; *s; s++) {
		if (*s != '%') {
			out_put(&o, s, 1);
		} else if (s[1] == '%' || s[1] == 'h') {
			s++;
			out_put(&o, *s == 'h' ? r->t->host : "%", *s == 'h' ? strlen(r->t->host) : 1);
		} else {
			failat(cf->path, cf->line, "HostName `%s': only %%h and %%%% expand there",
			       r->hostname);
			return NULL;
		}
	}
	if (o.over) {
		failat(cf->path, cf->line, "HostName `%s' too long once expanded", r->hostname);
		return NULL;
	}
	return r->expanded;
}

/* What a criterion compares with, or NULL with fail(). */
static const char *subject(struct cfg_reader *r, const struct cfile *cf, enum criterion kind)
{
	const char *s;

	switch (kind) {
	case C_HOST:
		if (r->t->hostname)
			return r->t->hostname;
		return r->have_hostname ? match_hostname(r, cf) : r->t->host;
	case C_ORIGINALHOST:
		return r->t->original_host ? r->t->original_host : r->t->host;
	case C_USER:
		if (r->t->user)
			return r->t->user;
		if (r->have_user)
			return r->user;
		break;	/* ssh's default remote user is the local one */
	case C_LOCALUSER:
		break;
	default:
		return NULL;
	}
	s = local_user();
	if (!s)
		failat(cf->path, cf->line, "Match: no passwd entry for uid %u", (unsigned)getuid());
	return s;
}

static int find_criterion(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(criteria); i++)
		if (!strcasecmp(name, criteria[i].name))
			return (int)i;
	return -1;
}

/* Evaluates a Match line's criteria into *result; *unsupported names the
 * first one not evaluated.  Returns 0 or -1 with fail(). */
static int match_criteria(struct cfg_reader *r, struct cfile *cf, const char *s,
			  bool *result, const char **unsupported)
{
	int nattr = 0, w, i;

	while ((w = next_word(&s, cf->word, sizeof(cf->word))) > 0) {
		bool neg = cf->word[0] == '!';
		const char *subj;

		i = find_criterion(cf->word + neg);
		if (i < 0)
			return failat(cf->path, cf->line, "unknown Match criterion `%s'", cf->word + neg);
		if (criteria[i].kind == C_ALL) {
			/* ssh allows `all' alone, or after canonical or final */
			if (nattr > 1 || next_word(&s, cf->word, sizeof(cf->word)) != 0)
				return failat(cf->path, cf->line,
					      "Match all cannot be combined with other criteria");
			*result = *result && !neg;
			return 0;
		}
		nattr++;
		if (criteria[i].arg) {
			w = next_word(&s, cf->word, sizeof(cf->word));
			if (w < 0)
				return bad_quote(cf);
			if (w == 0)
				return failat(cf->path, cf->line, "Match %s needs patterns",
					      criteria[i].name);
		}
		if (criteria[i].kind == C_UNSUPPORTED) {
			if (!*unsupported)
				*unsupported = criteria[i].name;
			continue;
		}
		subj = subject(r, cf, criteria[i].kind);
		if (!subj)
			return -1;
		if (list_match(subj, cf->word, criteria[i].kind == C_HOST ||
			       criteria[i].kind == C_ORIGINALHOST) == neg)
			*result = false;
	}
	if (w < 0)
		return bad_quote(cf);
	if (nattr == 0)
		return failat(cf->path, cf->line, "Match needs a criterion (e.g. all, host, user)");
	return 0;
}

static int match_line(struct cfg_reader *r, struct cfile *cf, const char *rest,
		      bool *active, bool never)
{
	const char *unsupported = NULL;
	bool result = true;

	if (match_criteria(r, cf, rest, &result, &unsupported) < 0)
		return -1;
	if (unsupported) {
		/* Inside a block that does not apply it would not matter. */
		if (!never)
			log_warn("%s:%d: Match %s is not supported; its block does not apply",
				 cf->path, cf->line, unsupported);
		result = false;
	}
	*active = !never && result;
	if (*active)
		log_debug("%s:%d: Match applies", cf->path, cf->line);
	return 0;
}

/* One Include word: glob it and read what it names. */
static int include_pattern(struct cfg_reader *r, struct cfile *cf, const char *word,
			   int depth, bool *active)
{
	const bool was = *active;
	const char *home;
	struct out o;
	glob_t gl;
	int rc, ret = 0;

	out_init(&o, cf->pattern, sizeof(cf->pattern));
	if (*word == '~') {
		word = put_tilde(&o, word, cf->path, cf->line);
		if (!word)
			return -1;
	} else if (*word != '/') {
		home = home_dir();
		if (!home)
			return failat(cf->path, cf->line, "Include: no HOME for ~/.ssh");
		out_put(&o, home, strlen(home));
		out_put(&o, "/.ssh/", 6);
	}
	out_put(&o, word, strlen(word));
	if (o.over)
		return failat(cf->path, cf->line, "Include path too long");

	memset(&gl, 0, sizeof(gl));
	rc = glob(cf->pattern, 0, NULL, &gl);
	if (rc == GLOB_NOMATCH) {
		log_debug("%s:%d: Include %s matched no files", cf->path, cf->line, cf->pattern);
	} else if (rc != 0) {
		ret = failat(cf->path, cf->line, "Include %s: glob failed", cf->pattern);
	} else if (depth >= SSHCONFIG_DEPTH_MAX) {
		ret = failat(cf->path, cf->line, "Include nested more than %d deep (a loop?)",
			     SSHCONFIG_DEPTH_MAX);
	} else {
		for (size_t i = 0; i < gl.gl_pathc && ret == 0; i++) {
			ret = read_file(r, gl.gl_pathv[i], depth + 1, active, !was,
					F_MISSING_OK | F_CHECK_PERM | F_INCLUDED);
			/* A Host or Match in the included file ends with it. */
			*active = was;
		}
	}
	globfree(&gl);
	return ret;
}

static int include_line(struct cfg_reader *r, struct cfile *cf, const char *rest,
			int depth, bool *active)
{
	const char *s = rest;
	int w;

	/* cf->word is free again once include_pattern() has built the path,
	 * and nested files have their own cfile. */
	while ((w = next_word(&s, cf->word, sizeof(cf->word))) > 0)
		if (include_pattern(r, cf, cf->word, depth, active) < 0)
			return -1;
	return w < 0 ? bad_quote(cf) : 0;
}

static void remember(struct cfg_reader *r, const char *kw, const char *value)
{
	if (!r->have_user && !strcasecmp(kw, "User")) {
		snprintf(r->user, sizeof(r->user), "%s", value);
		r->have_user = true;
	} else if (!r->have_hostname && !strcasecmp(kw, "HostName")) {
		snprintf(r->hostname, sizeof(r->hostname), "%s", value);
		r->have_hostname = true;
	}
}

static int process_line(struct cfg_reader *r, struct cfile *cf, int depth,
			bool *active, bool never)
{
	char *s = cf->buf, *kw, *rest;
	const char *value;
	size_t len = strlen(s), klen;

	while (len && strchr(" \t\r\n\f", s[len - 1]))
		s[--len] = '\0';
	s += strspn(s, " \t");
	if (!*s || *s == '#')
		return 0;
	kw = s;
	klen = strcspn(s, " \t=");
	rest = s + klen + strspn(s + klen, " \t");
	if (*rest == '=')
		rest += 1 + strspn(rest + 1, " \t");
	kw[klen] = '\0';
	if (klen == 0)
		return failat(cf->path, cf->line, "no keyword before `='");
	if (!*rest || *rest == '#')
		return failat(cf->path, cf->line, "no value after %s", kw);

	if (!strcasecmp(kw, "Host"))
		return host_line(r, cf, rest, active, never);
	if (!strcasecmp(kw, "Match"))
		return match_line(r, cf, rest, active, never);
	if (!strcasecmp(kw, "Include"))
		return include_line(r, cf, rest, depth, active);
	value = line_value(cf, kw, rest);
	if (!value)
		return -1;
	if (!*active)
		return 0;
	if (r->fn(r->ctx, kw, value, cf->path, cf->line) < 0) {
		if (!fail_code())
			failat(cf->path, cf->line, "bad %s line", kw);
		return -1;
	}
	remember(r, kw, value);
	return 0;
}

/* The next line into cf->buf: 1, 0 at the end, -1 with fail(). */
static int read_line(struct cfile *cf)
{
	size_t n = 0;
	int c;

	cf->line++;
	while ((c = getc(cf->f)) != EOF) {
		if (++cf->total > SSHCONFIG_FILE_MAX)
			return failat(cf->path, 0, "larger than %d bytes", SSHCONFIG_FILE_MAX);
		if (c == '\n')
			break;
		if (c == '\0')
			return failat(cf->path, cf->line, "NUL byte in line");
		if (n == SSHCONFIG_LINE_MAX)
			return failat(cf->path, cf->line, "line longer than %d bytes",
				      SSHCONFIG_LINE_MAX);
		cf->buf[n++] = (char)c;
	}
	if (c == EOF && ferror(cf->f))
		return failat(cf->path, cf->line, "read error: %s", strerror(errno));
	if (c == EOF && n == 0)
		return 0;
	cf->buf[n] = '\0';
	return 1;
}

/* ssh's SSHCONF_CHECKPERM: someone else able to write the file could make
 * ssh run any ProxyCommand. */
static bool bad_perm(const struct stat *st)
{
	return (st->st_uid != 0 && st->st_uid != getuid()) || (st->st_mode & 022);
}

static int read_file(struct cfg_reader *r, const char *path, int depth,
		     bool *active, bool never, unsigned flags)
{
	struct cfile *cf = NULL;
	struct stat st;
	FILE *f;
	int ret = -1;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && (flags & F_MISSING_OK)) {
			log_debug("%s: not found", path);
			return 0;
		}
		return failat(path, 0, "cannot read: %s", strerror(errno));
	}
	if (fstat(fileno(f), &st) < 0) {
		failat(path, 0, "cannot stat: %s", strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		if (flags & F_INCLUDED)
			ret = 0;	/* ssh reads nothing from it either */
		else
			failat(path, 0, "is a directory");
	} else if ((flags & F_CHECK_PERM) && bad_perm(&st)) {
		failat(path, 0, "bad owner or permissions (must be yours or root's, "
		       "not writable by group or others)");
	} else if (S_ISREG(st.st_mode) && st.st_size > SSHCONFIG_FILE_MAX) {
		failat(path, 0, "larger than %d bytes", SSHCONFIG_FILE_MAX);
	} else if (!(cf = calloc(1, sizeof(*cf)))) {
		failat(path, 0, "out of memory");
	} else {
		cf->path = path;
		cf->f = f;
		log_debug("%s: reading%s", path, never ? " (syntax only)" : "");
		while ((ret = read_line(cf)) > 0)
			if (process_line(r, cf, depth, active, never) < 0) {
				ret = -1;
				break;
			}
	}
	free(cf);
	fclose(f);
	return ret;
}

int sshconfig_read_target(const char *path, const struct sshconfig_target *t,
			  sshconfig_fn fn, void *ctx)
{
	struct cfg_reader *r;
	bool active = true;	/* lines before any Host apply to all */
	int ret;

	if (!t->host || !*t->host)
		return fail(EXIT_USAGE, "%s: no host to read it for", path);
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(EXIT_ERROR, "out of memory");
	r->t = t;
	r->fn = fn;
	r->ctx = ctx;
	ret = read_file(r, path, 0, &active, false,
			(t->missing_ok ? F_MISSING_OK : 0) | (t->check_perm ? F_CHECK_PERM : 0));
	free(r);
	return ret;
}
