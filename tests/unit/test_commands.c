/* The command interpreter against a fake engine: argument checking and
 * parsing of every command, help from the table, JSON validity, units,
 * completion, the waiting commands (ping, stats --watch) on a real loop,
 * and the man page section. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "format.h"
#include "log.h"
#include "loop.h"
#include "shell.h"
#include "shell_fakes.h"

/* After our headers: cmocka's fail() is a macro (see test_netlink.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

static struct cap {
	char out[65536], err[8192];
	size_t olen, elen;
	int dones, status;
	bool stop_loop;		/* done stops the loop */
} cap;

static struct loop *loop;

static void cap_write(void *ctx, int stream, const char *text, size_t len)
{
	char *buf = stream == 2 ? cap.err : cap.out;
	size_t *n = stream == 2 ? &cap.elen : &cap.olen;
	size_t room = (stream == 2 ? sizeof(cap.err) : sizeof(cap.out)) - *n - 1;

	assert_ptr_equal(ctx, &cap);
	assert_true(len <= room);
	memcpy(buf + *n, text, len);
	*n += len;
	buf[*n] = '\0';
}

static void cap_done(void *ctx, int status)
{
	assert_ptr_equal(ctx, &cap);
	cap.dones++;
	cap.status = status;
	if (cap.stop_loop)
		loop_stop(loop);
}

static const struct shell_out_ops cap_ops = { cap_write, cap_done };

/* Runs a line that answers at once; returns its status. */
static int run(const char *line)
{
	int st;

	memset(&cap, 0, sizeof(cap));
	st = shell_run(FAKE_ENG, line, &cap_ops, &cap);
	assert_int_not_equal(st, SHELL_PENDING);
	assert_int_equal(cap.dones, 1);
	assert_int_equal(cap.status, st);
	return st;
}

static void expect_usage(const char *line, const char *usage)
{
	assert_int_equal(run(line), 2);
	assert_non_null(strstr(cap.err, usage));
	assert_int_equal(cap.olen, 0);
}

static int setup(void **state)
{
	loop = loop_new();
	fake_reset(loop);
	return loop ? 0 : -1;
}

static int teardown(void **state)
{
	loop_free(loop);
	return 0;
}

static void test_unknown(void **state)
{
	assert_int_equal(run("frobnicate now"), 2);
	assert_string_equal(cap.err, "unknown command `frobnicate' (try help)\n");
	assert_int_equal(run("route frob"), 2);
	assert_string_equal(cap.err, "unknown command `route frob' (try help route)\n");
	assert_int_equal(run("route"), 2);
	assert_string_equal(cap.err, "usage: route add <CIDR> [--uid UID]\n       route del <CIDR> [--uid UID]\n"
				     "       route list [--json]\n       route exclude <CIDR>\n");
	assert_int_equal(run(""), 0);
	assert_int_equal(run("   # a comment"), 0);
	assert_int_equal(run("status 'oops"), 2);
	assert_string_equal(cap.err, "unterminated ' quote\n");
}

static void test_arg_counts(void **state)
{
	expect_usage("status now", "usage: status [--json]\n");
	expect_usage("stats 1", "usage: stats [--json] [--watch]\n");
	expect_usage("route add", "usage: route add <CIDR> [--uid UID]\n");
	expect_usage("route add 10.0.0.0/8 10.1.0.0/16", "usage: route add <CIDR> [--uid UID]\n");
	expect_usage("route del", "usage: route del <CIDR> [--uid UID]\n");
	expect_usage("route add 10.0.0.0/8 --uid", "option `--uid' needs a value");
	expect_usage("route list all", "usage: route list [--json]\n");
	expect_usage("ping 1 2", "usage: ping [COUNT] [--json]\n");
	expect_usage("reconnect a b", "usage: reconnect [HOST]\n");
	expect_usage("compress", "usage: compress <auto|off|LEVEL>\n");
	expect_usage("compress 1 2", "usage: compress <auto|off|LEVEL>\n");
	expect_usage("log a b", "usage: log [LEVEL]\n");
	expect_usage("help a b", "usage: help [COMMAND]\n");
	expect_usage("quit now", "usage: quit\n");
	assert_int_equal(F.quits, 0);
}

static void test_options(void **state)
{
	assert_int_equal(run("status --yaml"), 2);
	assert_string_equal(cap.err, "unknown option `--yaml' for status\nusage: status [--json]\n");
	expect_usage("route add --json 10.0.0.0/8", "unknown option `--json' for route add");
	/* Flags go anywhere. */
	assert_int_equal(run("--json status"), 2);	/* but not before the command */
	assert_int_equal(run("stats --json"), 0);
	assert_true(json_one_object_line(cap.out));
}

static void test_route(void **state)
{
	static const char *const good[] = {
		"198.51.100.0/24", "2001:db8::/32", "203.0.113.1", "::1", "default", "0.0.0.0/0",
		"::/0", "10.0.0.0/32", "2001:db8::/128",
	};
	static const char *const bad[] = {
		"198.51.100.0/33", "2001:db8::/129", "300.1.1.1/8", "10.0.0.0/", "10.0.0.0/x",
		"10.0.0.0/-1", "foo", "", "10.0.0.0/0008", "10.0.0.0/24/1",
	};
	char line[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(line, sizeof(line), "route add '%s'", good[i]);
		assert_int_equal(run(line), 0);
		snprintf(line, sizeof(line), "add %s", good[i]);
		assert_string_equal(F.last_cidr, line);
		snprintf(line, sizeof(line), "route %s added\n", good[i]);
		assert_string_equal(cap.out, line);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		F.last_cidr[0] = '\0';
		snprintf(line, sizeof(line), "route del '%s'", bad[i]);
		assert_int_equal(run(line), 2);
		snprintf(line, sizeof(line), "bad CIDR `%s'", bad[i]);
		assert_non_null(strstr(cap.err, line));
		assert_string_equal(F.last_cidr, "");	/* never reached the engine */
	}
	/* --uid UID, before or after the CIDR; a uid is a number. */
	assert_int_equal(run("route add 198.51.100.0/24 --uid 1000"), 0);
	assert_string_equal(F.last_cidr, "add 198.51.100.0/24 uid 1000");
	assert_string_equal(cap.out, "route 198.51.100.0/24 for uid 1000 added\n");
	assert_int_equal(run("route del --uid 0 default"), 0);
	assert_string_equal(F.last_cidr, "del default uid 0");
	F.last_cidr[0] = '\0';
	assert_int_equal(run("route add 10.0.0.0/8 --uid root"), 2);
	assert_non_null(strstr(cap.err, "bad uid `root'"));
	assert_int_equal(run("route add 10.0.0.0/8 --uid 4294967295"), 2);
	assert_int_equal(run("route add 10.0.0.0/8 --uid -1"), 2);
	assert_string_equal(F.last_cidr, "");
	F.fail_next = true;
	assert_int_equal(run("route del 198.51.100.0/24"), 1);
	assert_string_equal(cap.err, "route `del 198.51.100.0/24' refused by the fake\n");
	assert_int_equal(cap.olen, 0);
}

/* route exclude and dns reach the engine (the fake) directly through api.h. */
static void test_route_exclude(void **state)
{
	assert_int_equal(run("route exclude 203.0.113.0/24"), 0);
	assert_string_equal(F.last_cidr, "exclude 203.0.113.0/24");
	assert_string_equal(cap.out, "203.0.113.0/24 stays on the original path\n");
	F.last_cidr[0] = '\0';
	assert_int_equal(run("route exclude default"), 2);
	assert_non_null(strstr(cap.err, "bad CIDR `default'"));
	assert_string_equal(F.last_cidr, "");	/* never reached the engine */
	F.fail_next = true;
	assert_int_equal(run("route exclude 2001:db8::/32"), 1);
	assert_string_equal(cap.err, "route `exclude 2001:db8::/32' refused by the fake\n");
	assert_int_equal(cap.olen, 0);
}

static void test_dns(void **state)
{
	assert_int_equal(run("dns"), 0);
	assert_string_equal(cap.out, "dns          off\nservers      198.51.100.53\n"
			    "domains      ex\"ample.test (only these)\n");
	assert_int_equal(run("dns on"), 0);
	assert_string_equal(F.last_cidr, "dns on");
	assert_non_null(strstr(cap.out, "dns          on (resolvconf)\n"));
	assert_int_equal(run("dns --json"), 0);
	assert_true(json_one_object_line(cap.out));
	assert_string_equal(cap.out, "{\"active\":true,\"method\":\"resolvconf\","
			    "\"servers\":\"198.51.100.53\",\"domains\":\"ex\\\"ample.test\","
			    "\"split\":true}\n");
	F.last_cidr[0] = '\0';
	assert_int_equal(run("dns maybe"), 2);
	assert_non_null(strstr(cap.err, "bad value `maybe' for dns"));
	assert_string_equal(F.last_cidr, "");
	F.fail_next = true;
	assert_int_equal(run("dns off"), 1);
	assert_string_equal(cap.err, "dns `dns off' refused by the fake\n");
	assert_true(F.dns.active);	/* the failed off changed nothing */
	assert_int_equal(run("dns off"), 0);
	assert_false(F.dns.active);
}

static void test_route_list(void **state)
{
	assert_int_equal(run("route list"), 0);
	assert_string_equal(cap.out, "198.51.100.0/24\n2001:db8::/32\n");
	assert_int_equal(run("route list --json"), 0);
	assert_string_equal(cap.out, "{\"routes\":[\"198.51.100.0/24\",\"2001:db8::/32\"],\"uid_routes\":[]}\n");
	F.nroutes = 0;
	assert_int_equal(run("route list --json"), 0);
	assert_string_equal(cap.out, "{\"routes\":[],\"uid_routes\":[]}\n");
	assert_int_equal(run("route list"), 0);
	assert_string_equal(cap.out, "no routes through the tunnel\n");
}

static void test_status(void **state)
{
	static const char *const keys[] = {
		"state", "server", "ifname", "local_addr", "peer_addr", "local_addr6", "peer_addr6",
		"mode", "compression", "uptime_s", "reconnects", "routes", "servers",
	};
	char key[64];

	assert_int_equal(run("status --json"), 0);
	assert_true(json_one_object_line(cap.out));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(key, sizeof(key), "\"%s\":", keys[i]);
		assert_non_null(strstr(cap.out, key));
	}
	assert_non_null(strstr(cap.out, "\"server\":\"h\\\"o\\\\st\\u0001\\ufffd:22\""));
	assert_non_null(strstr(cap.out, "\"uptime_s\":3723,\"reconnects\":2,"));
	assert_non_null(strstr(cap.out, "\"routes\":[\"198.51.100.0/24\",\"2001:db8::/32\"],\"uid_routes\":[],"));
	assert_non_null(strstr(cap.out, "\"servers\":[{\"host\":\"root@a\",\"state\":\"failed\","
					"\"error\":\"cannot reach \\\"a\\\"\"},{\"host\":\"b:2222\","
					"\"state\":\"up\",\"error\":\"\"}]}\n"));

	assert_int_equal(run("status"), 0);
	assert_non_null(strstr(cap.out, "state        up\n"));
	assert_non_null(strstr(cap.out, "interface    sshtun0 (mtu 1400)\n"));
	assert_non_null(strstr(cap.out, "address      10.77.0.2 -> 10.77.0.1\n"));
	assert_non_null(strstr(cap.out, "servers      root@a failed: cannot reach \"a\"\n"
					"             b:2222 up\n"));
	assert_non_null(strstr(cap.out, "uptime       1h02m03s\n"));
	assert_non_null(strstr(cap.out, "routes       198.51.100.0/24 2001:db8::/32\n"));

	/* Not connected yet: NULL strings, nothing measured. */
	memset(&F.st, 0, sizeof(F.st));
	F.nroutes = 0;
	assert_int_equal(run("status --json"), 0);
	assert_true(json_one_object_line(cap.out));
	assert_non_null(strstr(cap.out, "\"state\":\"\""));
	assert_int_equal(run("status"), 0);
	assert_non_null(strstr(cap.out, "routes       none\n"));
}

static void test_stats(void **state)
{
	static const char *const keys[] = {
		"tx_packets", "rx_packets", "tx_bytes", "rx_bytes", "tx_wire_bytes",
		"rx_wire_bytes", "drops", "rtt_ms", "rtt_avg_ms", "tx_rate_bps", "rx_rate_bps",
		"reconnects", "uptime_s", "rx_window",
	};
	char key[64];

	assert_int_equal(run("stats --json"), 0);
	assert_true(json_one_object_line(cap.out));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(key, sizeof(key), "\"%s\":", keys[i]);
		assert_non_null(strstr(cap.out, key));
	}
	assert_non_null(strstr(cap.out, "\"rtt_ms\":0.420,\"rtt_avg_ms\":null,"));
	assert_non_null(strstr(cap.out, "\"tx_rate_bps\":840000000,"));
	F.stats.rtt_ms = NAN;
	F.stats.tx_rate_bps = INFINITY;
	assert_int_equal(run("stats --json"), 0);
	assert_true(json_one_object_line(cap.out));

	F.stats.tx_rate_bps = 840e6;
	assert_int_equal(run("stats"), 0);
	assert_non_null(strstr(cap.out, "bytes        12.3 MiB       1.0 KiB\n"));
	assert_non_null(strstr(cap.out, "rate         840 Mbit/s     12.3 kbit/s\n"));
	assert_non_null(strstr(cap.out, "compressed   10 of 30 packets\n"));
}

static void test_units(void **state)
{
	char b[32];

	assert_string_equal(fmt_bytes(b, sizeof(b), 0), "0 B");
	assert_string_equal(fmt_bytes(b, sizeof(b), 1023), "1023 B");
	assert_string_equal(fmt_bytes(b, sizeof(b), 1536), "1.5 KiB");
	assert_string_equal(fmt_bytes(b, sizeof(b), 12897485), "12.3 MiB");
	assert_string_equal(fmt_bytes(b, sizeof(b), 500ull << 30), "500 GiB");
	assert_string_equal(fmt_bytes(b, sizeof(b), UINT64_MAX), "16.0 EiB");
	assert_string_equal(fmt_rate(b, sizeof(b), 0), "0 bit/s");
	assert_string_equal(fmt_rate(b, sizeof(b), 999), "999 bit/s");
	assert_string_equal(fmt_rate(b, sizeof(b), 840e6), "840 Mbit/s");
	assert_string_equal(fmt_rate(b, sizeof(b), 1.26e9), "1.3 Gbit/s");
	assert_string_equal(fmt_rate(b, sizeof(b), -5), "0 bit/s");
	assert_string_equal(fmt_duration(b, sizeof(b), 0), "0s");
	assert_string_equal(fmt_duration(b, sizeof(b), 59), "59s");
	assert_string_equal(fmt_duration(b, sizeof(b), 61), "1m01s");
	assert_string_equal(fmt_duration(b, sizeof(b), 3723), "1h02m03s");
	assert_string_equal(fmt_duration(b, sizeof(b), 2 * 86400 + 3723), "2d01h02m03s");
}

static void test_json_escape(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_str(f, "a\"b\\c\n\t\r\x1f\x7f é \xe2\x82\xac \xf0\x9f\x98\x80 \xc0\xaf \xed\xa0\x80 \xff");
	json_str(f, NULL);
	fclose(f);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\n\\t\\r\\u001f\\u007f é € \xf0\x9f\x98\x80 "
				 "\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\"\"\"");
	free(buf);
}

static void test_compress_log(void **state)
{
	static const char *const bad[] = { "0", "10", "fast", "-1", "66" };
	char line[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "compress %s", bad[i]);
		assert_int_equal(run(line), 2);
		snprintf(line, sizeof(line), "bad compression `%s'", bad[i]);
		assert_non_null(strstr(cap.err, line));
	}
	assert_string_equal(F.compress, "");
	assert_int_equal(run("compress 6"), 0);
	assert_string_equal(F.compress, "6");
	assert_int_equal(run("compress off"), 0);
	assert_string_equal(F.compress, "off");
	F.fail_next = true;
	assert_int_equal(run("compress auto"), 1);
	assert_int_equal(cap.olen, 0);

	assert_int_equal(run("log loud"), 2);
	assert_non_null(strstr(cap.err, "bad log level `loud'"));
	assert_int_equal(run("log debug2"), 0);
	assert_int_equal(log_level, LOG_DEBUG2);
	assert_int_equal(run("log warn"), 0);
	assert_int_equal(log_level, LOG_WARN);
	assert_int_equal(run("log"), 0);
	assert_string_equal(cap.out, "log level warn\n");
	log_level = LOG_ERROR;

	assert_int_equal(run("reconnect"), 0);
	assert_int_equal(F.reconnects, 1);
	assert_string_equal(F.reconnect_to, "(same)");
	assert_int_equal(run("reconnect b:2222"), 0);
	assert_string_equal(F.reconnect_to, "b:2222");
	assert_string_equal(cap.out, "reconnecting to b:2222\n");
	F.fail_next = true;
	assert_int_equal(run("reconnect"), 1);
}

static void test_help(void **state)
{
	static const char *const names[] = {
		"status", "stats", "route add", "route del", "route list", "ping", "reconnect",
		"compress", "log", "help", "quit",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(run("help"), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "  %s ", names[i]);
		assert_non_null(strstr(cap.out, want));
	}
	assert_non_null(strstr(cap.out, "  route add <CIDR> [--uid UID]  "));
	assert_int_equal(run("help route"), 0);
	assert_non_null(strstr(cap.out, "usage: route add <CIDR> [--uid UID]\n"));
	assert_non_null(strstr(cap.out, "usage: route del <CIDR> [--uid UID]\n"));
	assert_non_null(strstr(cap.out, "usage: route list [--json]\n"));
	assert_int_equal(run("help ping"), 0);
	assert_non_null(strstr(cap.out, "default 4"));
	assert_int_equal(run("help nosuch"), 2);
	assert_string_equal(cap.err, "unknown command `nosuch' (try help)\n");
	assert_true(shell_is_command("route"));
	assert_true(shell_is_command("status"));
	assert_false(shell_is_command("myhost"));

	/* The man page section comes from the same table. */
	f = open_memstream(&buf, &len);
	shell_print_mdoc(f);
	fclose(f);
	assert_true(!strncmp(buf, ".Sh COMMANDS\n", 13));
	assert_non_null(strstr(buf, "\n.It Ic route add Ar CIDR Oo Fl -uid Ar UID Oc\n"));
	assert_non_null(strstr(buf, "\n.It Ic stats Oo Fl -json Oc Oo Fl -watch Oc\n"));
	assert_non_null(strstr(buf, "\n.It Ic compress Cm auto | Cm off | Ar LEVEL\n"));
	assert_non_null(strstr(buf, "\n.It Ic ping Oo Ar COUNT Oc Oo Fl -json Oc\n"));
	assert_non_null(strstr(buf, "\n.It Ic quit\n"));
	assert_true(strlen(buf) > 6 && !strcmp(buf + strlen(buf) - 4, ".El\n"));
	free(buf);
}

static struct { char words[32][64]; int n; } got;

static void got_word(void *ctx, const char *word)
{
	assert_true(got.n < 32);
	snprintf(got.words[got.n++], sizeof(got.words[0]), "%s", word);
}

/* Completes line and checks the candidates, in table order. */
static void expect_completion(const char *line, const char *want)
{
	char all[1024] = "";

	got.n = 0;
	shell_complete(FAKE_ENG, line, got_word, NULL);
	for (int i = 0; i < got.n; i++) {
		strcat(all, i ? " " : "");
		strcat(all, got.words[i]);
	}
	assert_string_equal(all, want);
}

static void test_complete(void **state)
{
	expect_completion("", "status stats route dns ping events reconnect compress log help quit");
	expect_completion("st", "status stats");
	expect_completion("ro", "route");
	expect_completion("route ", "add del list exclude");
	expect_completion("route d", "del");
	expect_completion("route del ", "198.51.100.0/24 2001:db8::/32");
	expect_completion("route del 2", "2001:db8::/32");
	expect_completion("route del 2001:db8::/32 ", "");
	expect_completion("reconnect ", "root@a b:2222");
	expect_completion("reconnect b", "b:2222");
	expect_completion("route add ", "");
	expect_completion("route list ", "--json");
	expect_completion("compress ", "auto off");
	expect_completion("compress o", "off");
	expect_completion("log d", "debug debug2");
	expect_completion("log ", "error warn info verbose debug debug2");
	expect_completion("help ", "status stats route dns ping events reconnect compress log help quit");
	expect_completion("help r", "route reconnect");
	expect_completion("stats --", "--json --watch");
	expect_completion("stats --w", "--watch");
	expect_completion("status ", "--json");
	expect_completion("quit ", "");
	expect_completion("nosuch ", "");
	expect_completion("log 'de", "debug debug2");
}

/* --- commands that wait, on the real loop --- */

static int start(const char *line)
{
	memset(&cap, 0, sizeof(cap));
	cap.stop_loop = true;
	return shell_run(FAKE_ENG, line, &cap_ops, &cap);
}

/* shell_drive: a status when the command finished before it returned, with
 * no done; SHELL_PENDING for one that waits, and done later from the loop,
 * once. */
static void test_driver(void **state)
{
	struct shell_driver d;

	memset(&cap, 0, sizeof(cap));
	cap.stop_loop = true;
	shell_driver_init(&d, FAKE_ENG, &cap_ops, &cap);
	assert_int_equal(shell_drive(&d, "route list"), 0);
	assert_int_equal(shell_drive(&d, "nosuch"), 2);
	F.fail_next = true;	/* a ping the engine refuses at once */
	assert_int_equal(shell_drive(&d, "ping"), 1);
	assert_int_equal(cap.dones, 0);
	assert_false(shell_pending(&d));

	assert_int_equal(shell_drive(&d, "ping 1"), SHELL_PENDING);
	assert_true(shell_pending(&d));
	assert_int_equal(cap.dones, 0);
	loop_run(loop);
	assert_int_equal(cap.dones, 1);
	assert_int_equal(cap.status, 0);
	assert_false(shell_pending(&d));
}

static void test_ping(void **state)
{
	uint64_t t0 = now_ms();

	assert_int_equal(start("ping 2"), SHELL_PENDING);
	assert_true(shell_pending(&cap));
	assert_int_equal(cap.dones, 0);
	/* One command at a time per caller. */
	{
		struct cap saved = cap;

		assert_int_equal(shell_run(FAKE_ENG, "status", &cap_ops, &cap), 1);
		assert_non_null(strstr(cap.err, "a command is still running"));
		cap = saved;
	}
	loop_run(loop);
	assert_int_equal(cap.dones, 1);
	assert_int_equal(cap.status, 0);
	assert_true(now_ms() - t0 >= 1000);	/* one a second */
	assert_string_equal(cap.out, "reply from tunnel: time=0.50 ms\n"
				     "reply from tunnel: time=0.50 ms\n"
				     "2 sent, 2 received, 0% loss, rtt min/avg/max 0.50/0.50/0.50 ms\n");
	assert_false(shell_pending(&cap));

	assert_int_equal(start("ping --json 2"), SHELL_PENDING);
	F.ping_delay_ms = 0;
	loop_run(loop);
	assert_int_equal(cap.status, 0);
	assert_true(json_one_object_line(cap.out));
	assert_non_null(strstr(cap.out, "\"sent\":2,\"received\":2,\"loss_pct\":0,"));

	F.ping_rtt = -1;	/* timeouts */
	assert_int_equal(start("ping 1"), SHELL_PENDING);
	loop_run(loop);
	assert_int_equal(cap.status, 1);
	assert_string_equal(cap.out, "no reply within 2 s\n1 sent, 0 received, 100% loss\n");

	F.fail_next = true;	/* the engine refuses at once: done before shell_run returns */
	start("ping");
	assert_int_equal(cap.dones, 1);
	assert_int_equal(cap.status, 1);
	assert_string_equal(cap.err, "the tunnel is not up\n");
	assert_false(shell_pending(&cap));

	expect_usage("ping 0", "bad count `0' (want 1 to 3600)");
	expect_usage("ping x", "bad count `x'");
	expect_usage("ping 3601", "bad count `3601'");
	expect_usage("ping -1", "bad count `-1'");
}

static void test_ping_stop_cancel(void **state)
{
	F.ping_rtt = -1;
	assert_int_equal(start("ping 5"), SHELL_PENDING);
	shell_stop(&cap);	/* Ctrl-C: the summary, then done */
	assert_int_equal(cap.dones, 1);
	assert_int_equal(cap.status, 1);
	assert_string_equal(cap.out, "1 sent, 0 received, 100% loss\n");
	assert_int_equal(F.ping_cancels, 1);

	assert_int_equal(start("ping 5"), SHELL_PENDING);
	shell_cancel(&cap);	/* the caller went away: nothing more */
	assert_int_equal(cap.dones, 0);
	assert_int_equal(cap.olen, 0);
	assert_int_equal(F.ping_cancels, 2);
	assert_false(shell_pending(&cap));
	shell_cancel(&cap);
	shell_stop(&cap);
	assert_int_equal(cap.dones, 0);
}

static void stop_watch(struct loop *l, void *ctx)
{
	shell_stop(&cap);
}

static void test_watch(void **state)
{
	long id;

	assert_int_equal(start("stats --watch"), SHELL_PENDING);
	assert_true(shell_watching(&cap));
	id = loop_timer(loop, 1500, stop_watch, NULL);
	assert_true(id > 0);
	loop_run(loop);
	assert_int_equal(cap.dones, 1);
	assert_int_equal(cap.status, 0);
	/* The header and two rows: at once and a second later. */
	assert_true(!strncmp(cap.out, "uptime ", 7));
	assert_non_null(strstr(cap.out, "1h02m03s"));
	{
		int lines = 0;

		for (const char *p = cap.out; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, 3);
	}

	assert_int_equal(start("stats --watch --json"), SHELL_PENDING);
	assert_true(json_one_object_line(cap.out));
	shell_cancel(&cap);
	assert_int_equal(cap.dones, 0);
	assert_false(shell_watching(&cap));
}

/* Last: quit is for good. */
static void test_quit(void **state)
{
	assert_false(shell_quit_requested());
	assert_int_equal(run("quit"), 0);
	assert_int_equal(F.quits, 1);
	assert_true(shell_quit_requested());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arg_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_exclude, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test_setup_teardown(test_compress_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_stop_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
