/* A small quote-aware tokenizer; see tokenize.h for the rules. */
#include <stdio.h>
#include <string.h>

#include "tokenize.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int tok_error(char *err, size_t errlen, const char *msg)
{
	if (errlen)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

int tokenize(const char *line, struct tokens *t, int flags, char *err, size_t errlen)
{
	const char *p = line;
	char *w = t->buf;	/* unquoting only shrinks: buf never overflows */
	bool partial = flags & TOK_PARTIAL;

	t->argc = 0;
	t->argv[0] = NULL;
	t->open_word = false;
	if (strnlen(line, CTL_LINE_MAX) >= CTL_LINE_MAX) {
		char msg[64];

		snprintf(msg, sizeof(msg), "line too long (max %d bytes)", CTL_LINE_MAX - 1);
		return tok_error(err, errlen, msg);
	}
	for (;;) {
		while (is_space(*p))
			p++;
		if (!*p || *p == '#')
			break;
		if (t->argc == TOK_MAX_WORDS) {
			char msg[64];

			snprintf(msg, sizeof(msg), "too many words (max %d)", TOK_MAX_WORDS);
			return tok_error(err, errlen, msg);
		}
		t->argv[t->argc++] = w;
		while (*p && !is_space(*p)) {
			char q = *p;

			if (q == '\\') {
				if (!p[1]) {
					if (!partial)
						return tok_error(err, errlen, "trailing backslash");
					p++;
					break;
				}
				*w++ = p[1];
				p += 2;
			} else if (q == '\'' || q == '"') {
				p++;
				while (*p && *p != q) {
					/* In "..." only \" and \\ are escapes, as in sh. */
					if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					*w++ = *p++;
				}
				if (!*p) {
					if (!partial)
						return tok_error(err, errlen, q == '\'' ?
							"unterminated ' quote" : "unterminated \" quote");
					break;
				}
				p++;
			} else {
				*w++ = *p++;
			}
		}
		*w++ = '\0';
		if (!*p)
			t->open_word = true;
	}
	t->argv[t->argc] = NULL;
	return 0;
}

/* Characters that make a word need quotes. */
static bool needs_quotes(const char *word)
{
	if (!*word || *word == '#')
		return true;
	for (const char *c = word; *c; c++)
		if (is_space(*c) || *c == '\'' || *c == '"' || *c == '\\')
			return true;
	return false;
}

size_t tok_quote(const char *word, char *out, size_t cap)
{
	size_t n = 0;

#define PUT(ch) do { if (n + 1 < cap) out[n] = (ch); n++; } while (0)
	if (!needs_quotes(word)) {
		for (const char *c = word; *c; c++)
			PUT(*c);
	} else {
		PUT('"');
		for (const char *c = word; *c; c++) {
			if (*c == '"' || *c == '\\')
				PUT('\\');
			PUT(*c);
		}
		PUT('"');
	}
#undef PUT
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	return n;
}
