/* serve_control: the client's CONTROL lines as the helper reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "compress.h"
#include "log.h"
#include "serve_hello.h"

static char warned[1024];

static void sink(enum log_level level, const char *line, void *ctx)
{
	size_t n = strlen(warned);

	(void)ctx;
	if (level == LOG_WARN)
		snprintf(warned + n, sizeof(warned) - n, "%s\n", line);
}

static int control(const char *text, unsigned *lost)
{
	int mode = COMPRESS_OFF;

	warned[0] = '\0';
	return serve_control((const uint8_t *)text, strlen(text), &mode, lost);
}

/* lost=K sets bit K; several lines add up. */
static void test_lost_bits(void **state)
{
	unsigned lost = 0;

	(void)state;
	assert_int_equal(control("lost=1\nlost=3\n", &lost), 0);
	assert_int_equal(lost, (1u << 1) | (1u << 3));
	assert_string_equal(warned, "");
}

/* A bad K is ignored with one log line, and the client's bytes reach the
 * log as printable ASCII only: no escape sequence from a hostile client. */
static void test_bad_lost_logged_printable(void **state)
{
	unsigned lost = 0;

	(void)state;
	assert_int_equal(control("lost=9\n", &lost), 0);
	assert_int_equal(lost, 0);
	assert_non_null(strstr(warned, "lost=9 ignored: not a connection (0..7)"));
	assert_int_equal(control("lost=\x1b[2J\x07x\n", &lost), 0);
	assert_int_equal(lost, 0);
	assert_non_null(strstr(warned, "lost=?[2J?x ignored"));
	for (const char *p = warned; *p; p++)
		assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_bits),
		cmocka_unit_test(test_bad_lost_logged_printable),
	};

	log_set_sink(sink, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
