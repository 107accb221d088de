/* The event ring behind `events': escaping, numbers, and a watcher that
 * fell behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "events.h"

static void test_format(void **state)
{
	uint64_t seq = events_head();
	char out[EVENT_JSON_MAX];

	events_note("route", "action", "add", "cidr", "10.0.0.0/8", (char *)NULL);
	events_note("state", "detail", "a \"quoted\"\\ \n\x01 \xc3\xa9", "#reconnects", "3", (char *)NULL);
	assert_int_equal(engine_event_next(NULL, &seq, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "{\"event\":\"route\",\"time\":"));
	assert_non_null(strstr(out, ",\"action\":\"add\",\"cidr\":\"10.0.0.0/8\"}"));
	assert_int_equal(engine_event_next(NULL, &seq, out, sizeof(out)), 1);
	assert_non_null(strstr(out, ",\"detail\":\"a \\\"quoted\\\"\\\\ \\u000a\\u0001 ??\",\"reconnects\":3}"));
	assert_int_equal(engine_event_next(NULL, &seq, out, sizeof(out)), 0);
	assert_int_equal(seq, events_head());
}

/* A long value is cut, the object still closed. */
static void test_long_value(void **state)
{
	uint64_t seq = events_head();
	char big[2000], out[EVENT_JSON_MAX + 64];

	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	events_note("state", "detail", big, (char *)NULL);
	assert_int_equal(engine_event_next(NULL, &seq, out, sizeof(out)), 1);
	assert_true(strlen(out) < EVENT_JSON_MAX);
	assert_int_equal(out[strlen(out) - 1], '}');
}

static void test_lost(void **state)
{
	uint64_t seq = events_head();
	char out[EVENT_JSON_MAX], n[16];
	int got = 0;

	for (int i = 0; i < EVENTS_RING + 5; i++) {
		snprintf(n, sizeof(n), "%d", i);
		events_note("reconnect", "#reconnects", n, (char *)NULL);
	}
	assert_int_equal(engine_event_next(NULL, &seq, out, sizeof(out)), 1);
	assert_string_equal(out, "{\"event\":\"lost\",\"count\":5}");
	while (engine_event_next(NULL, &seq, out, sizeof(out)))
		got++;
	assert_int_equal(got, EVENTS_RING);
	assert_non_null(strstr(out, "\"reconnects\":132}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
