/* The control socket for real: a forked server (control_listen on a real
 * loop, fake engine behind it) in a temporary directory, and clients that
 * connect, send and read as `sshtun ctl` or a script would. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "paths.h"
#include "common.h"
#include "control.h"
#include "fail.h"
#include "loop.h"
#include "shell_fakes.h"

/* After fail.h: cmocka's fail() and fail_msg() are macros. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

static char top[32], sockdir[64], path[100];
static pid_t server;

static void on_signal(struct loop *l, int signo, void *ctx)
{
	loop_stop(l);
}

/* The server runs in a child, so that the test can be its clients. */
static void start_server(void)
{
	char msg[600];
	int p[2];
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	server = fork();
	assert_true(server >= 0);
	if (server == 0) {
		struct loop *l = loop_new();

		close(p[0]);
		fake_reset(l);
		loop_signals(l, on_signal, NULL);
		if (control_listen(FAKE_ENG, l, path) < 0) {
			dprintf(p[1], "%s", (fail_msg)());
			_exit(1);
		}
		n = write(p[1], "R", 1);
		close(p[1]);
		loop_run(l);
		control_close();
		loop_free(l);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	msg[n > 0 ? n : 0] = '\0';
	assert_string_equal(msg, "R");
}

static void stop_server(void)
{
	int status;

	if (server <= 0)
		return;
	kill(server, SIGTERM);
	assert_int_equal(waitpid(server, &status, 0), server);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	server = 0;
}

static int cli(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void cli_send(int fd, const char *s)
{
	size_t len = strlen(s);

	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

static int x_lines(const char *buf)
{
	int n = 0;

	for (const char *p = buf; (p = strstr(p, "x ")); p++)
		if ((p == buf || p[-1] == '\n') && strchr(p, '\n'))
			n++;
	return n;
}

/* Reads until n whole answers are in, or EOF; 5 s at most.  Returns the
 * length read; *eof tells whether the server closed. */
static size_t cli_read(int fd, char *buf, size_t cap, int n, bool *eof)
{
	size_t len = 0;

	*eof = false;
	buf[0] = '\0';
	while (x_lines(buf) < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		assert_int_equal(poll(&pfd, 1, 5000), 1);
		r = read(fd, buf + len, cap - len - 1);
		assert_true(r >= 0);
		if (r == 0) {
			*eof = true;
			break;
		}
		len += (size_t)r;
		buf[len] = '\0';
	}
	return len;
}

static const char *ask(int fd, const char *req)
{
	static char buf[65536];
	bool eof;

	cli_send(fd, req);
	cli_read(fd, buf, sizeof(buf), 1, &eof);
	return buf;
}

static int setup(void **state)
{
	snprintf(top, sizeof(top), "/tmp/sshtun-test-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(sockdir, sizeof(sockdir), "%s/run/sshtun", top);
	snprintf(path, sizeof(path), "%s/t.sock", sockdir);
	signal(SIGPIPE, SIG_IGN);
	start_server();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	stop_server();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd);
}

static void test_modes(void **state)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(sockdir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Closing removes the socket. */
	stop_server();
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_requests(void **state)
{
	int fd = cli();
	const char *a;

	a = ask(fd, "run status --json\n");
	assert_true(!strncmp(a, "o {", 3));
	{
		char obj[4096];
		const char *nl = strchr(a, '\n');

		snprintf(obj, sizeof(obj), "%.*s\n", (int)(nl - a - 2), a + 2);
		assert_true(json_one_object_line(obj));
		assert_string_equal(nl + 1, "x 0\n");
	}
	assert_string_equal(ask(fd, "run nosuch\n"), "e unknown command `nosuch' (try help)\nx 2\n");
	assert_string_equal(ask(fd, "run route add 300.0.0.0/8\n"),
			    "e bad CIDR `300.0.0.0/8' (want an address/prefix like 198.51.100.0/24 "
			    "or 2001:db8::/32, or default)\nx 2\n");
	assert_string_equal(ask(fd, "run route add 203.0.113.0/24\n"),
			    "o route 203.0.113.0/24 added\nx 0\n");
	assert_string_equal(ask(fd, "bogus\n"), "e unknown request (want run, complete or exec)\nx 2\n");
	assert_string_equal(ask(fd, "run\n"), "x 0\n");
	assert_string_equal(ask(fd, "run # nothing\r\n"), "x 0\n");
	assert_string_equal(ask(fd, "complete route \n"), "o add\no del\no list\no exclude\nx 0\n");
	assert_string_equal(ask(fd, "complete route del \n"),
			    "o 198.51.100.0/24\no 2001:db8::/32\nx 0\n");
	close(fd);
}

static void test_pipelined(void **state)
{
	int fd = cli();
	char buf[4096];
	bool eof;

	cli_send(fd, "run log\nrun route list\nrun ping 1\nrun log\n");
	cli_read(fd, buf, sizeof(buf), 4, &eof);
	assert_false(eof);
	assert_string_equal(buf, "o log level info\nx 0\n"
				 "o 198.51.100.0/24\no 2001:db8::/32\nx 0\n"
				 "o reply from tunnel: time=0.50 ms\n"
				 "o 1 sent, 1 received, 0% loss, rtt min/avg/max 0.50/0.50/0.50 ms\nx 0\n"
				 "o log level info\nx 0\n");
	/* Half-closed after the request: the answer still comes, then EOF. */
	cli_send(fd, "run log\n");
	shutdown(fd, SHUT_WR);
	cli_read(fd, buf, sizeof(buf), 2, &eof);
	assert_true(eof);
	assert_string_equal(buf, "o log level info\nx 0\n");
	close(fd);
}

static void test_five_clients(void **state)
{
	static char want[16384], got[16384];
	int fds[5];
	bool eof;
	int first = cli();

	snprintf(want, sizeof(want), "%s", ask(first, "run help\n"));
	assert_true(x_lines(want) == 1 && strlen(want) > 500);
	close(first);
	for (int i = 0; i < 5; i++)
		fds[i] = cli();
	/* Requests arrive in pieces, interleaved. */
	for (int i = 0; i < 5; i++)
		cli_send(fds[i], "run he");
	for (int i = 4; i >= 0; i--)
		cli_send(fds[i], "lp\n");
	for (int i = 0; i < 5; i++) {
		cli_read(fds[i], got, sizeof(got), 1, &eof);
		assert_string_equal(got, want);
		close(fds[i]);
	}
}

static void test_silent_and_partial(void **state)
{
	int silent = cli(), partial = cli(), other = cli();
	char buf[4096];
	bool eof;
	uint64_t t0 = now_ms();

	cli_send(partial, "run sta");
	assert_string_equal(ask(other, "run log\n"), "o log level info\nx 0\n");
	assert_true(now_ms() - t0 < 1000);
	cli_send(partial, "ts --json\n");
	cli_read(partial, buf, sizeof(buf), 1, &eof);
	assert_true(!strncmp(buf, "o {\"tx_packets\":", 16));
	close(silent);
	close(partial);
	close(other);
}

static void test_long_line(void **state)
{
	static char big[CTL_LINE_MAX + 100];
	char buf[4096];
	int fd = cli(), other = cli();
	bool eof;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cli_send(fd, big);
	cli_read(fd, buf, sizeof(buf), 1, &eof);
	assert_string_equal(buf, "e line too long (max 4096 bytes)\nx 2\n");
	cli_read(fd, buf, sizeof(buf), 1, &eof);
	assert_true(eof);
	assert_string_equal(ask(other, "run log\n"), "o log level info\nx 0\n");
	close(fd);
	/* The longest line that fits is fine. */
	memcpy(big, "run ", 4);
	memset(big + 4, ' ', CTL_LINE_MAX - 6);
	big[CTL_LINE_MAX - 2] = 'x';
	big[CTL_LINE_MAX - 1] = '\n';
	big[CTL_LINE_MAX] = '\0';
	assert_string_equal(ask(other, big), "e unknown command `x' (try help)\nx 2\n");
	close(other);
}

static void test_too_many(void **state)
{
	int fds[CTL_MAX_CLIENTS], extra;
	char buf[256];
	bool eof;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		fds[i] = cli();
	extra = cli();
	cli_read(extra, buf, sizeof(buf), 1, &eof);
	assert_string_equal(buf, "e too many control clients (max 16)\nx 1\n");
	cli_read(extra, buf, sizeof(buf), 1, &eof);
	assert_true(eof);
	close(extra);
	/* All the others are served. */
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		assert_string_equal(ask(fds[i], "run log\n"), "o log level info\nx 0\n");
	close(fds[0]);
	for (int tries = 0; tries < 50; tries++) {
		/* The server notices the close at its next poll. */
		fds[0] = cli();
		if (!strcmp(ask(fds[0], "run log\n"), "o log level info\nx 0\n"))
			break;
		close(fds[0]);
		usleep(20000);
	}
	assert_string_equal(ask(fds[0], "run log\n"), "o log level info\nx 0\n");
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		close(fds[i]);
}

static void test_watch_gone(void **state)
{
	char buf[4096];
	int fd = cli(), other;

	cli_send(fd, "run stats --watch --json\n");
	for (int rows = 0; rows < 2;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		assert_int_equal(poll(&pfd, 1, 3000), 1);
		n = read(fd, buf, sizeof(buf) - 1);
		assert_true(n > 0);
		buf[n] = '\0';
		for (char *p = buf; (p = strstr(p, "o {")); p++)
			rows++;
	}
	close(fd);	/* the command is cancelled; the server goes on */
	other = cli();
	usleep(1200 * 1000);	/* past the next tick */
	assert_string_equal(ask(other, "run log\n"), "o log level info\nx 0\n");
	close(other);
}

static void test_stale_and_live(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct loop *l = loop_new();
	char want[400];
	int fd;

	/* A live instance: refused, named. */
	fake_reset(l);
	assert_int_equal(control_listen(FAKE_ENG, l, path), -1);
	snprintf(want, sizeof(want), "instance `t' is already running (control socket %s)", path);
	assert_string_equal((fail_msg)(), want);
	assert_int_equal(fail_code(), EXIT_ERROR);
	fail_clear();

	/* A dead one's socket: removed, and the new instance listens. */
	stop_server();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	start_server();
	fd = cli();
	assert_string_equal(ask(fd, "run log\n"), "o log level info\nx 0\n");
	close(fd);

	/* Not a socket: left alone. */
	stop_server();
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(control_listen(FAKE_ENG, l, path), -1);
	assert_non_null(strstr((fail_msg)(), "exists and is not a socket"));
	fail_clear();
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	/* A directory others may write to, sticky or not (they could plant
	 * the state file's name before us), or that the group may write to. */
	chmod(sockdir, 0777);
	assert_int_equal(control_listen(FAKE_ENG, l, path), -1);
	assert_non_null(strstr((fail_msg)(), "lets others write to it"));
	assert_non_null(strstr((fail_msg)(), sockdir));
	fail_clear();
	chmod(sockdir, 01777);
	assert_int_equal(control_listen(FAKE_ENG, l, path), -1);
	assert_non_null(strstr((fail_msg)(), "mode 1777 lets others write to it"));
	fail_clear();
	chmod(sockdir, 0770);
	assert_int_equal(control_listen(FAKE_ENG, l, path), -1);
	assert_non_null(strstr((fail_msg)(), "mode 0770"));
	fail_clear();
	chmod(sockdir, 0700);
	loop_free(l);
	start_server();
}

static void test_peer_uid(void **state)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	/* Open the path to everyone, so that only SO_PEERCRED stands. */
	chmod(top, 0755);
	chmod(sockdir, 0755);
	chmod(path, 0666);
	{
		char run[160];

		snprintf(run, sizeof(run), "%s/run", top);
		chmod(run, 0755);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char buf[64];
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(11);
		if (send(fd, "run log\n", 8, MSG_NOSIGNAL) < 0) {
			/* closed already: fine */
		}
		_exit(read(fd, buf, sizeof(buf)) <= 0 ? 0 : 12);	/* no answer, closed */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	chmod(top, 0700);
}

static void test_default_path(void **state)
{
	char p[108];

	assert_int_equal(paths_socket("", p, sizeof(p)), -1);
	assert_int_equal(fail_code(), EXIT_USAGE);
	assert_non_null(strstr((fail_msg)(), "bad instance name `'"));
	fail_clear();
	assert_int_equal(paths_socket("a/b", p, sizeof(p)), -1);
	assert_non_null(strstr((fail_msg)(), "bad instance name `a/b'"));
	fail_clear();
	assert_int_equal(paths_socket("..", p, sizeof(p)), -1);
	fail_clear();
	assert_int_equal(paths_socket("work", p, sizeof(p)), 0);
	assert_true(strlen(p) > 17 && !strcmp(p + strlen(p) - 17, "/sshtun/work.sock"));
	if (geteuid() == 0)
		assert_string_equal(p, "/run/sshtun/work.sock");
	assert_int_equal(paths_socket("work", p, 10), -1);
	assert_non_null(strstr((fail_msg)(), "too long"));
	fail_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_five_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_and_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_uid, setup, teardown),
		cmocka_unit_test(test_default_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
