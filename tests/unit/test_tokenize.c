/* The shell's tokenizer: quotes, escapes, comments, errors and caps, and
 * tok_quote() giving back what tokenize() splits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tokenize.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

static struct tokens t;
static char err[128];

/* Splits line and checks the words against the NULL-terminated list. */
static void expect_words(const char *line, ...)
{
	va_list ap;
	int i = 0;
	const char *w;

	err[0] = '\0';
	assert_int_equal(tokenize(line, &t, 0, err, sizeof(err)), 0);
	va_start(ap, line);
	while ((w = va_arg(ap, const char *))) {
		assert_true(i < t.argc);
		assert_string_equal(t.argv[i], w);
		i++;
	}
	va_end(ap);
	assert_int_equal(t.argc, i);
	assert_null(t.argv[t.argc]);
}

static void expect_error(const char *line, const char *msg)
{
	err[0] = '\0';
	assert_int_equal(tokenize(line, &t, 0, err, sizeof(err)), -1);
	assert_string_equal(err, msg);
}

static void test_blanks(void **state)
{
	expect_words("", NULL);
	expect_words("   \t  ", NULL);
	expect_words("status", "status", NULL);
	expect_words("  route   add\t198.51.100.0/24  ", "route", "add", "198.51.100.0/24", NULL);
	expect_words("a\r\n", "a", NULL);
}

static void test_quotes(void **state)
{
	expect_words("'a b' c", "a b", "c", NULL);
	expect_words("\"a b\" c", "a b", "c", NULL);
	expect_words("'a \\\" b'", "a \\\" b", NULL);	/* literal in '...' */
	expect_words("\"x\\\"y\\\\z\"", "x\"y\\z", NULL);
	expect_words("\"a\\nb\"", "a\\nb", NULL);	/* other escapes stay as typed */
	expect_words("a'b c'\"d\"", "ab cd", NULL);	/* pieces join, as in sh */
	expect_words("'' \"\"", "", "", NULL);
	expect_words("\"it's\"", "it's", NULL);
}

static void test_backslash(void **state)
{
	expect_words("a\\ b", "a b", NULL);
	expect_words("\\'x\\'", "'x'", NULL);
	expect_words("\\\\", "\\", NULL);
	expect_words("\\#not", "#not", NULL);
}

static void test_comments(void **state)
{
	expect_words("# all comment", NULL);
	expect_words("status # why", "status", NULL);
	expect_words("a#b", "a#b", NULL);
	expect_words("'#x'", "#x", NULL);
}

static void test_errors(void **state)
{
	expect_error("'abc", "unterminated ' quote");
	expect_error("say \"abc", "unterminated \" quote");
	expect_error("\"abc\\\"", "unterminated \" quote");
	expect_error("abc\\", "trailing backslash");
}

static void test_caps(void **state)
{
	char line[CTL_LINE_MAX + 8];
	size_t n = 0;

	for (int i = 0; i < TOK_MAX_WORDS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "w%d ", i);
	assert_int_equal(tokenize(line, &t, 0, err, sizeof(err)), 0);
	assert_int_equal(t.argc, TOK_MAX_WORDS);
	assert_string_equal(t.argv[63], "w63");
	snprintf(line + n, sizeof(line) - n, "one-more");
	expect_error(line, "too many words (max 64)");

	/* CTL_LINE_MAX - 1 bytes fit, one more does not. */
	memset(line, 'a', CTL_LINE_MAX - 1);
	line[CTL_LINE_MAX - 1] = '\0';
	assert_int_equal(tokenize(line, &t, 0, err, sizeof(err)), 0);
	assert_int_equal(strlen(t.argv[0]), CTL_LINE_MAX - 1);
	memset(line, 'a', CTL_LINE_MAX);
	line[CTL_LINE_MAX] = '\0';
	expect_error(line, "line too long (max 4095 bytes)");
	/* The most words a full line can hold still fit in the copy. */
	for (size_t i = 0; i + 1 < CTL_LINE_MAX; i++)
		line[i] = i % 2 ? ' ' : 'x';
	line[CTL_LINE_MAX - 1] = '\0';
	expect_error(line, "too many words (max 64)");
}

static void test_partial(void **state)
{
	assert_int_equal(tokenize("route de", &t, TOK_PARTIAL, NULL, 0), 0);
	assert_int_equal(t.argc, 2);
	assert_true(t.open_word);
	assert_int_equal(tokenize("route ", &t, TOK_PARTIAL, NULL, 0), 0);
	assert_int_equal(t.argc, 1);
	assert_false(t.open_word);
	assert_int_equal(tokenize("log 'deb", &t, TOK_PARTIAL, NULL, 0), 0);
	assert_int_equal(t.argc, 2);
	assert_string_equal(t.argv[1], "deb");
	assert_true(t.open_word);
	assert_int_equal(tokenize("a\\", &t, TOK_PARTIAL, NULL, 0), 0);
	assert_string_equal(t.argv[0], "a");
}

static void roundtrip(const char *word)
{
	char q[256];
	size_t n = tok_quote(word, q, sizeof(q));

	assert_int_equal(n, strlen(q));
	assert_int_equal(tokenize(q, &t, 0, err, sizeof(err)), 0);
	assert_int_equal(t.argc, 1);
	assert_string_equal(t.argv[0], word);
}

static void test_quote(void **state)
{
	char small[4];

	roundtrip("plain");
	roundtrip("");
	roundtrip("two words");
	roundtrip("it's");
	roundtrip("say \"hi\"");
	roundtrip("back\\slash");
	roundtrip("#hash");
	roundtrip("tab\there");
	assert_int_equal(tok_quote("plain", NULL, 0), 5);
	assert_int_equal(tok_quote("a b", small, sizeof(small)), 5);
	assert_string_equal(small, "\"a ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blanks),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_backslash),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
