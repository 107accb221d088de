/* The server list's walk (servers.c): the order of tries, the failed one
 * last, busy and failed states, reconnect HOST, --balance random. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "options.h"
#include "servers.h"

static struct client_opts first;

/* sshtun -F none [extra] a b:2222 c: every host parsed and resolved. */
static void list_of(struct servers *sv, const char *extra)
{
	char *argv[12] = { "sshtun", "-F", "none", "-l", "u" };
	int argc = 5;

	if (extra) {
		argv[argc++] = "--balance";
		argv[argc++] = (char *)extra;
	}
	argv[argc++] = "a";
	argv[argc++] = "b:2222";
	argv[argc] = "c";
	assert_int_equal(options_parse(argc + 1, argv, &first), 0);
	assert_int_equal(options_resolve(&first), 0);
	assert_int_equal(first.nhosts, 3);
	assert_int_equal(servers_init(sv, &first, argc + 1, argv), 0);
	assert_int_equal(sv->n, 3);
}

static const char *cur(struct servers *sv)
{
	return servers_opts(sv)->host_arg;
}

static void test_walk(void **state)
{
	struct servers sv;

	list_of(&sv, NULL);
	assert_string_equal(cur(&sv), "a");
	assert_int_equal(sv.s[1].opts->ssh.port, 2222);
	assert_string_equal(sv.s[1].opts->ssh.host, "b");
	/* The first walk: a fails, then b (busy), then c: the walk is over. */
	servers_connecting(&sv);
	assert_true(servers_failed(&sv, "cannot reach a", false));
	assert_string_equal(cur(&sv), "b:2222");
	assert_true(servers_failed(&sv, "full", true));
	assert_string_equal(cur(&sv), "c");
	assert_false(servers_failed(&sv, "refused", false));
	assert_string_equal(server_state_name(sv.s[0].state), "failed");
	assert_string_equal(sv.s[0].error, "cannot reach a");
	assert_string_equal(server_state_name(sv.s[1].state), "busy");
	/* The next walk: the list's order, the last one to fail (c) last. */
	assert_string_equal(cur(&sv), "a");
	servers_up(&sv);
	assert_string_equal(server_state_name(sv.s[0].state), "up");
	assert_string_equal(sv.s[0].error, "");
	/* a dies: b, c, then a. */
	servers_lost(&sv, "connection lost");
	assert_string_equal(cur(&sv), "b:2222");
	assert_true(servers_failed(&sv, "x", false));
	assert_string_equal(cur(&sv), "c");
	servers_up(&sv);
	/* c dies: a, b, c. */
	servers_lost(&sv, "connection lost");
	assert_string_equal(cur(&sv), "a");
	assert_true(servers_failed(&sv, "x", false));
	assert_string_equal(cur(&sv), "b:2222");
	assert_true(servers_failed(&sv, "x", false));
	assert_string_equal(cur(&sv), "c");
	servers_free(&sv);
}

static void test_begin_with(void **state)
{
	struct servers sv;

	list_of(&sv, "order");
	assert_int_equal(servers_find(&sv, "b:2222"), 1);
	assert_int_equal(servers_find(&sv, "b"), 1);	/* the name without the port */
	assert_int_equal(servers_find(&sv, "z"), -1);
	servers_begin_with(&sv, 2);
	assert_string_equal(cur(&sv), "c");
	assert_true(servers_failed(&sv, "x", false));
	assert_string_equal(cur(&sv), "a");
	assert_true(servers_failed(&sv, "x", false));
	assert_string_equal(cur(&sv), "b:2222");
	assert_false(servers_failed(&sv, "x", false));
	servers_batch(&sv);
	for (int i = 0; i < sv.n; i++)
		assert_true(sv.s[i].opts->ssh.batch);
	servers_free(&sv);
}

static void test_random(void **state)
{
	int firsts[3] = { 0 };

	/* 60 shuffles: each server comes first sometimes (all three missing
	 * one: 3 x (2/3)^60, about 1e-10), and every walk holds each once. */
	for (int k = 0; k < 60; k++) {
		struct servers sv;
		int seen[3] = { 0 };

		list_of(&sv, "random");
		firsts[sv.order[0]]++;
		for (int i = 0; i < 3; i++)
			seen[sv.order[i]]++;
		for (int i = 0; i < 3; i++)
			assert_int_equal(seen[i], 1);
		servers_free(&sv);
	}
	for (int i = 0; i < 3; i++)
		assert_true(firsts[i] > 0);
}

static void test_one_server(void **state)
{
	char *argv[] = { "sshtun", "-F", "none", "-l", "u", "only" };
	struct servers sv;

	assert_int_equal(options_parse(6, argv, &first), 0);
	assert_int_equal(options_resolve(&first), 0);
	assert_int_equal(servers_init(&sv, &first, 6, argv), 0);
	assert_int_equal(sv.n, 1);
	assert_false(servers_failed(&sv, "x", false));
	assert_string_equal(cur(&sv), "only");
	servers_lost(&sv, "y");
	assert_string_equal(cur(&sv), "only");
	servers_free(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_begin_with),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_one_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
