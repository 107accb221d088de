/* Splitting a command line into words, quote-aware, without wordexp(3)
 * (which would run command substitution on what a peer or a script sends).
 *
 *   whitespace separates words      'single quotes' are literal
 *   "double" quotes know \" and \\  a backslash outside quotes escapes the
 *   # at the start of a word         next character
 *     begins a comment
 *
 * Adjacent pieces join into one word, as in sh: a'b c'"d" is `ab cd'.  The
 * words live in the struct (one copy of the line): nothing to free. */
#ifndef SSHTUN_TOKENIZE_H
#define SSHTUN_TOKENIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#define TOK_MAX_WORDS 64

struct tokens {
	int argc;
	char *argv[TOK_MAX_WORDS + 1];	/* NULL-terminated */
	/* With TOK_PARTIAL: the line ended inside the last word (no space
	 * after it), so that word is the one being completed. */
	bool open_word;
	char buf[CTL_LINE_MAX];
};

/* Tolerate an unterminated quote or a trailing backslash (a line being
 * completed is unfinished by nature). */
#define TOK_PARTIAL 1

/* Returns 0, or -1 with a one-line reason in err: unterminated quote,
 * trailing backslash, more than TOK_MAX_WORDS words, a line of
 * CTL_LINE_MAX bytes or more. */
int tokenize(const char *line, struct tokens *t, int flags, char *err, size_t errlen);

/* Writes word to out so that tokenize() gives it back as one word: as is
 * when that is safe, else in double quotes.  Returns the length it needs
 * (like snprintf); out is NUL-terminated whenever cap > 0. */
size_t tok_quote(const char *word, char *out, size_t cap);

#endif
