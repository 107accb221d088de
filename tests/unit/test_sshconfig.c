/* The ssh_config reader: line forms, Host and Match, Include, errors with
 * FILE:LINE, and token expansion.  Each test gets a fresh directory from
 * mkdtemp(3) that is also $HOME, so relative Includes land in its .ssh. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "fail.h"
#include "log.h"
#include "sshconfig.h"

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

static char dir[64];
static char warnings[4096];
static int nwarn;

/* What the callback saw: "keyword=value;" each, and the lines. */
static struct seen {
	char text[16384];
	int calls;
	int lines[64];
	char file[PATH_MAX];
	int fail_line;		/* refuse this line */
	bool fail_sets;		/* ... with a fail() of our own */
} seen;

static int collect(void *ctx, const char *kw, const char *value, const char *file, int line)
{
	struct seen *s = ctx;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s=%s;", kw, value);
	if (s->calls < (int)ARRAY_SIZE(s->lines))
		s->lines[s->calls] = line;
	s->calls++;
	snprintf(s->file, sizeof(s->file), "%s", file);
	if (line == s->fail_line) {
		if (s->fail_sets)
			(fail)(EXIT_USAGE, "%s:%d: bad %s `%s'", file, line, kw, value);
		return -1;
	}
	return 0;
}

static void sink(enum log_level level, const char *line, void *ctx)
{
	size_t n = strlen(warnings);

	if (level != LOG_WARN)
		return;
	nwarn++;
	snprintf(warnings + n, sizeof(warnings) - n, "%s\n", line);
}

/* dir/rel, in one of a few rotating buffers. */
static const char *at(const char *rel)
{
	static char bufs[4][PATH_MAX];
	static int i;
	char *p = bufs[i++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", dir, rel);
	return p;
}

static void put_len(const char *rel, const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(at(rel), "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(at(rel), mode), 0);
}

static void put(const char *rel, const char *text)
{
	put_len(rel, text, strlen(text), 0600);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_sshconfig.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	setenv("HOME", dir, 1);
	if (mkdir(at(".ssh"), 0700) < 0)
		return -1;
	memset(&seen, 0, sizeof(seen));
	warnings[0] = '\0';
	nwarn = 0;
	log_set_sink(sink, NULL);
	(fail_clear)();
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	log_set_sink(NULL, NULL);
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int read_target(const char *rel, const struct sshconfig_target *t)
{
	memset(seen.text, 0, sizeof(seen.text));
	seen.calls = 0;
	(fail_clear)();
	return sshconfig_read_target(at(rel), t, collect, &seen);
}

static int read_for(const char *rel, const char *host)
{
	const struct sshconfig_target t = { .host = host };

	return read_target(rel, &t);
}

#define EXPECT(rel, host, want) do { \
		if (read_for((rel), (host)) != 0) { \
			print_error("failed: %s\n", (fail_msg)()); \
			_fail(__FILE__, __LINE__); \
		} \
		assert_string_equal(seen.text, (want)); \
	} while (0)

/* Reading rel fails with "DIR/file:LINE: reason..." (line 0: "DIR/file: "). */
static void expect_error(const char *rel, const char *file, int line, const char *reason)
{
	char want[PATH_MAX + 600];

	if (line)
		snprintf(want, sizeof(want), "%s:%d: %s", at(file), line, reason);
	else
		snprintf(want, sizeof(want), "%s: %s", at(file), reason);
	assert_int_equal(read_for(rel, "host"), -1);
	assert_int_equal((fail_code)(), EXIT_USAGE);
	if (strncmp((fail_msg)(), want, strlen(want))) {
		print_error("got `%s'\nwant `%s...'\n", (fail_msg)(), want);
		_fail(__FILE__, __LINE__);
	}
}

static const char *me(void)
{
	const struct passwd *pw = getpwuid(getuid());

	assert_non_null(pw);
	return pw->pw_name;
}

static void test_forms(void **state)
{
	put("cfg",
	    "# a comment\n"
	    "\n"
	    "Port 2222\n"
	    "user=alice\n"
	    "HostName = example.com\n"
	    "   IdentityFile \"~/my keys/id\"   \n"
	    "\tCompression\tyes\t\n"
	    "ConnectTimeout 10 # trailing comment\n"
	    "ServerAliveInterval =5\n"
	    "User 'bob'\n"
	    "IdentityFile a\\ b\n"
	    "UserKnownHostsFile \"a b\" c   # two words stay as written\n"
	    "ProxyCommand ssh -W \"%h:%p\" jump # the shell's comment\n"
	    "pOrT 1\r\n"
	    "      # indented comment\n"
	    "BatchMode no");	/* no final newline */
	EXPECT("cfg", "any",
	       "Port=2222;user=alice;HostName=example.com;IdentityFile=~/my keys/id;"
	       "Compression=yes;ConnectTimeout=10;ServerAliveInterval=5;User=bob;"
	       "IdentityFile=a b;UserKnownHostsFile=\"a b\" c;"
	       "ProxyCommand=ssh -W \"%h:%p\" jump # the shell's comment;pOrT=1;BatchMode=no;");
	assert_int_equal(seen.calls, 13);
	assert_int_equal(seen.lines[0], 3);
	assert_int_equal(seen.lines[12], 16);
	assert_string_equal(seen.file, at("cfg"));
}

static void test_host_patterns(void **state)
{
	put("cfg",
	    "Host *.example.com\n"
	    "  User wild\n"
	    "Host !bad.example.com *.example.com\n"
	    "  Port 2222\n"
	    "Host foo bar\n"
	    "  HostName multi\n"
	    "Host b?z\n"
	    "  Port 1\n"
	    "Host !nothing\n"
	    "  Port 9\n"
	    "Host=*\n"
	    "  Compression yes\n");
	EXPECT("cfg", "good.example.com", "User=wild;Port=2222;Compression=yes;");
	EXPECT("cfg", "bad.example.com", "User=wild;Compression=yes;");
	EXPECT("cfg", "foo", "HostName=multi;Compression=yes;");
	EXPECT("cfg", "bar", "HostName=multi;Compression=yes;");
	EXPECT("cfg", "baz", "Port=1;Compression=yes;");
	EXPECT("cfg", "bz", "Compression=yes;");
	EXPECT("cfg", "example.com", "Compression=yes;");
	/* Host is case-sensitive in ssh (match_pattern), unlike Match host. */
	EXPECT("cfg", "FOO", "Compression=yes;");
}

static void test_global_lines(void **state)
{
	put("cfg",
	    "User global\n"
	    "Port 1\n"
	    "Host other\n"
	    "  Port 2\n"
	    "Host *\n"
	    "  Port 3\n");
	EXPECT("cfg", "me", "User=global;Port=1;Port=3;");
	EXPECT("cfg", "other", "User=global;Port=1;Port=2;Port=3;");
}

static void test_match(void **state)
{
	char text[1024];
	struct sshconfig_target t = { .host = "short", .user = "corpuser" };

	snprintf(text, sizeof(text),
		 "Match all\n"
		 "  Compression yes\n"
		 "Match host *.corp,!secret.corp\n"
		 "  User corpuser\n"
		 "Match originalhost short\n"
		 "  Port 10\n"
		 "Match user corpuser\n"
		 "  ConnectTimeout 7\n"
		 "Match !user corpuser\n"
		 "  ConnectTimeout 8\n"
		 "Match localuser %s\n"
		 "  BatchMode yes\n"
		 "Match host WWW.corp user corpuser\n"
		 "  ServerAliveInterval 1\n"
		 "Match !all\n"
		 "  Port 0\n"
		 "Host *\n"
		 "  IdentitiesOnly yes\n", me());
	put("cfg", text);
	/* Match user sees the User line that applied before it. */
	EXPECT("cfg", "www.corp",
	       "Compression=yes;User=corpuser;ConnectTimeout=7;BatchMode=yes;"
	       "ServerAliveInterval=1;IdentitiesOnly=yes;");
	/* A negated pattern vetoes; the remote user defaults to the local one. */
	EXPECT("cfg", "secret.corp",
	       "Compression=yes;ConnectTimeout=8;BatchMode=yes;IdentitiesOnly=yes;");
	EXPECT("cfg", "short",
	       "Compression=yes;Port=10;ConnectTimeout=8;BatchMode=yes;IdentitiesOnly=yes;");
	/* -l corpuser */
	assert_int_equal(read_target("cfg", &t), 0);
	assert_string_equal(seen.text,
			    "Compression=yes;Port=10;ConnectTimeout=7;BatchMode=yes;IdentitiesOnly=yes;");
}

static void test_match_hostname(void **state)
{
	struct sshconfig_target t = { .host = "alias", .hostname = "other" };

	put("cfg",
	    "Host alias\n"
	    "  HostName %h.example.net\n"
	    "Match host alias.example.net\n"
	    "  Port 99\n"
	    "Match originalhost alias\n"
	    "  User o\n");
	/* As ssh: Match host is the HostName set so far, %h expanded. */
	EXPECT("cfg", "alias", "HostName=%h.example.net;Port=99;User=o;");
	/* -o HostName=other was there first. */
	assert_int_equal(read_target("cfg", &t), 0);
	assert_string_equal(seen.text, "HostName=%h.example.net;User=o;");
	EXPECT("cfg", "stranger", "");
}

static void test_match_unsupported(void **state)
{
	char want[PATH_MAX + 64];

	put("cfg",
	    "Match exec \"test -e /\"\n"
	    "  Port 1\n"
	    "Host *\n"
	    "  Port 2\n"
	    "Match canonical\n"
	    "  Port 3\n"
	    "Match final all\n"
	    "  Port 4\n"
	    "Match host x localnetwork 10.0.0.0/8\n"
	    "  Port 5\n"
	    "Host nomatch\n"
	    "  Include execs\n"
	    "Match all\n"
	    "  Port 6\n");
	/* Where the Include does not apply, its Match exec would not matter:
	 * no warning for it. */
	put(".ssh/execs", "Match exec true\n  Port 7\n");
	EXPECT("cfg", "x", "Port=2;Port=6;");
	assert_int_equal(nwarn, 4);
	snprintf(want, sizeof(want), "%s:1: Match exec is not supported", at("cfg"));
	assert_contains(warnings, want);
	snprintf(want, sizeof(want), "%s:5: Match canonical", at("cfg"));
	assert_contains(warnings, want);
	snprintf(want, sizeof(want), "%s:9: Match localnetwork", at("cfg"));
	assert_contains(warnings, want);
}

static void test_match_errors(void **state)
{
	put("a", "Match bogus x\n");
	expect_error("a", "a", 1, "unknown Match criterion `bogus'");
	put("b", "Port 1\nMatch host\n");
	expect_error("b", "b", 2, "Match host needs patterns");
	put("c", "Match all host x\n");
	expect_error("c", "c", 1, "Match all cannot be combined");
	put("d", "Match\n");
	expect_error("d", "d", 1, "no value after Match");
	put("e", "Match user \"x\n");
	expect_error("e", "e", 1, "unterminated quote");
	put("f", "Host\n");
	expect_error("f", "f", 1, "no value after Host");
}

static void test_include(void **state)
{
	char text[PATH_MAX + 512];

	assert_int_equal(mkdir(at(".ssh/conf.d"), 0700), 0);
	assert_int_equal(mkdir(at(".ssh/conf.d/dir.conf"), 0700), 0);	/* globbed, skipped */
	put(".ssh/rel", "Port 1\n");
	put(".ssh/conf.d/b.conf", "User b\n");
	put(".ssh/conf.d/a.conf", "User a\n");
	put(".ssh/conf.d/ignored.txt", "User no\n");
	put(".ssh/tilde", "IdentityFile t\n");
	put("abs.conf", "Compression yes\n");
	put(".ssh/hosted",
	    "BatchMode yes\n"
	    "Host *\n"
	    "  ConnectTimeout 3\n"
	    "Host inner\n"
	    "  Port 7\n");	/* ends in a block that does not apply to h */
	snprintf(text, sizeof(text),
		 "Include rel\n"
		 "Include conf.d/*.conf nomatch*.conf\n"
		 "Include ~/.ssh/tilde \"%s\"\n"
		 "Host other\n"
		 "  Include hosted\n"
		 "  Port 50\n"
		 "Host h\n"
		 "  Include hosted\n"
		 "  Port 60\n", at("abs.conf"));
	put("cfg", text);
	/* Include inside Host h: the file starts applying, its Host lines
	 * switch within it, and Port 60 after it still applies.  Inside Host
	 * other it is read for syntax only: its `Host *' does not apply. */
	EXPECT("cfg", "h",
	       "Port=1;User=a;User=b;IdentityFile=t;Compression=yes;"
	       "BatchMode=yes;ConnectTimeout=3;Port=60;");
	EXPECT("cfg", "inner",
	       "Port=1;User=a;User=b;IdentityFile=t;Compression=yes;");
	assert_string_equal(seen.file, at("abs.conf"));

	/* A syntax error is one even where the Include does not apply. */
	put(".ssh/bad", "Port 1\nUser \"x\n");
	put("cfg2", "Host nomatch\n  Include bad\n");
	expect_error("cfg2", ".ssh/bad", 2, "unterminated quote");

	/* Included files are checked like ~/.ssh/config. */
	put_len(".ssh/open", "Port 1\n", 7, 0620);
	put("cfg3", "Include open\n");
	expect_error("cfg3", ".ssh/open", 0, "bad owner or permissions");
}

static void test_include_depth(void **state)
{
	char name[32], text[64];

	/* d1 .. d17 is 16 nested Includes, as many as ssh allows; d0 is one
	 * more. */
	for (int i = 0; i < 17; i++) {
		snprintf(name, sizeof(name), ".ssh/d%d", i);
		snprintf(text, sizeof(text), "Include d%d\n", i + 1);
		put(name, text);
	}
	put(".ssh/d17", "Port 17\n");
	EXPECT(".ssh/d1", "h", "Port=17;");
	expect_error(".ssh/d0", ".ssh/d16", 1, "Include nested more than 16 deep");

	put(".ssh/loop", "Port 1\nInclude loop\n");
	expect_error(".ssh/loop", ".ssh/loop", 2, "Include nested more than 16 deep");
}

static void test_syntax_errors(void **state)
{
	static char text[SSHCONFIG_LINE_MAX + 64];
	static char big[SSHCONFIG_FILE_MAX + 200];
	size_t n;

	put("quote", "Port 1\nUser \"bob\n");
	expect_error("quote", "quote", 2, "unterminated quote");
	put("quote2", "Host nomatch\n  User 'x\n");
	expect_error("quote2", "quote2", 2, "unterminated quote");

	/* 4096 bytes is a line; 4097 is not. */
	n = (size_t)snprintf(text, sizeof(text), "Port 1\nUser ");
	memset(text + n, 'x', SSHCONFIG_LINE_MAX - 5);
	strcpy(text + n + SSHCONFIG_LINE_MAX - 5, "\n");
	put("long", text);
	assert_int_equal(read_for("long", "h"), 0);
	assert_int_equal(strlen(seen.text), strlen("Port=1;User=;") + SSHCONFIG_LINE_MAX - 5);
	n = (size_t)snprintf(text, sizeof(text), "Port 1\nPort 2\nUser ");
	memset(text + n, 'x', SSHCONFIG_LINE_MAX - 4);
	strcpy(text + n + SSHCONFIG_LINE_MAX - 4, "\n");
	put("toolong", text);
	expect_error("toolong", "toolong", 3, "line longer than 4096 bytes");

	put_len("nul", "Port 1\nPort 2\0\n", 15, 0600);
	expect_error("nul", "nul", 2, "NUL byte");
	put("novalue", "User\n");
	expect_error("novalue", "novalue", 1, "no value after User");
	put("novalue2", "User = # nothing\n");
	expect_error("novalue2", "novalue2", 1, "no value after User");
	put("nokey", "=x\n");
	expect_error("nokey", "nokey", 1, "no keyword");

	for (n = 0; n <= SSHCONFIG_FILE_MAX; n += 100) {
		memset(big + n, '#', 99);
		big[n + 99] = '\n';
	}
	put_len("big", big, n, 0600);
	expect_error("big", "big", 0, "larger than 1048576 bytes");
}

/* How options.c reads ~/.ssh/config (default_file: may be missing, owner
 * and mode checked) and a -F file (neither). */
static int read_as(const char *path, const char *host, bool default_file)
{
	const struct sshconfig_target t = {
		.host = host, .missing_ok = default_file, .check_perm = default_file,
	};

	return sshconfig_read_target(path, &t, collect, &seen);
}

static void test_missing(void **state)
{
	char want[PATH_MAX];

	(fail_clear)();
	assert_int_equal(read_as(at("none"), "h", true), 0);
	assert_int_equal(seen.calls, 0);
	assert_int_equal((fail_code)(), 0);
	assert_int_equal(read_as(at("none"), "h", false), -1);
	snprintf(want, sizeof(want), "%s: cannot read: %s", at("none"), strerror(ENOENT));
	assert_string_equal((fail_msg)(), want);
}

static void test_permissions(void **state)
{
	put_len("cfg", "Port 1\n", 7, 0666);
	/* The default file is checked as ssh checks ~/.ssh/config ... */
	(fail_clear)();
	assert_int_equal(read_as(at("cfg"), "h", true), -1);
	assert_contains((fail_msg)(), "bad owner or permissions");
	/* ... a -F file is not (ssh -F /dev/null is common). */
	(fail_clear)();
	assert_int_equal(read_as(at("cfg"), "h", false), 0);
	assert_string_equal(seen.text, "Port=1;");
}

static void test_callback_error(void **state)
{
	char want[PATH_MAX + 64];

	put("cfg", "Port 1\nPort bad\nPort 3\n");
	seen.fail_line = 2;
	seen.fail_sets = true;
	assert_int_equal(read_for("cfg", "h"), -1);
	assert_int_equal(seen.calls, 2);
	snprintf(want, sizeof(want), "%s:2: bad Port `bad'", at("cfg"));
	assert_string_equal((fail_msg)(), want);

	seen.fail_sets = false;
	assert_int_equal(read_for("cfg", "h"), -1);
	snprintf(want, sizeof(want), "%s:2: bad Port line", at("cfg"));
	assert_string_equal((fail_msg)(), want);
}

static void expand_ok(const char *value, const char *want)
{
	char out[PATH_MAX];

	(fail_clear)();
	assert_int_equal(sshconfig_expand(value, "example", 2222, "bob", out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void expand_bad(const char *value, size_t cap, const char *why)
{
	char out[PATH_MAX];

	(fail_clear)();
	assert_int_equal(sshconfig_expand(value, "example", 2222, "bob", out, cap), -1);
	assert_contains((fail_msg)(), why);
	if (cap)
		assert_string_equal(out, "");
}

static void test_expand(void **state)
{
	char want[PATH_MAX + 64], tilde_user[300], out[16];
	const struct passwd *pw;

	expand_ok("plain", "plain");
	expand_ok("~", dir);
	snprintf(want, sizeof(want), "%s/.ssh/id_example", dir);
	expand_ok("~/.ssh/id_%h", want);
	snprintf(want, sizeof(want), "example:2222:bob:%s:%%:50%%", me());
	expand_ok("%h:%p:%r:%u:%%:50%%", want);
	snprintf(want, sizeof(want), "%s/x", dir);
	expand_ok("%d/x", want);
	expand_ok("a~b", "a~b");	/* only a leading ~ */
	pw = getpwuid(getuid());
	assert_non_null(pw);
	snprintf(tilde_user, sizeof(tilde_user), "~%s/x", pw->pw_name);
	snprintf(want, sizeof(want), "%s/x", pw->pw_dir);	/* ~user: passwd, not $HOME */
	expand_ok(tilde_user, want);

	expand_bad("a%x", PATH_MAX, "unknown token %x");
	expand_bad("a%", PATH_MAX, "lone %");
	expand_bad("~no-such-user-here/x", PATH_MAX, "no such user");
	/* "example" is 7 bytes: 8 fit it, 7 do not. */
	assert_int_equal(sshconfig_expand("%h", "example", 22, NULL, out, 8), 0);
	assert_string_equal(out, "example");
	expand_bad("%h", 7, "too long once expanded");
	expand_bad("x", 0, "too long once expanded");
	(fail_clear)();
	assert_int_equal(sshconfig_expand("%r", "h", 22, NULL, out, sizeof(out)), -1);
	assert_contains((fail_msg)(), "%r");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_forms),
		T(test_host_patterns),
		T(test_global_lines),
		T(test_match),
		T(test_match_hostname),
		T(test_match_unsupported),
		T(test_match_errors),
		T(test_include),
		T(test_include_depth),
		T(test_syntax_errors),
		T(test_missing),
		T(test_permissions),
		T(test_callback_error),
		T(test_expand),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
