/* The helper worker's sandbox and its monitor: each case forks a child that
 * enters the sandbox and then does what a worker does (which must work) or
 * what it must never do (which must kill it with SIGSYS); the monitor's
 * request checks and its verdict on a dead worker. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "log.h"
#include "sandbox.h"
#include "serve_monitor.h"

/* Runs fn in a child inside the seccomp filter; returns its wait status. */
static int in_sandbox(void (*fn)(void))
{
	char err[256];
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (sandbox_seccomp(err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			_exit(100);
		}
		fn();
		_exit(0);	/* no atexit handlers: they are not ours to test */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void assert_exit0(int st)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		print_error("child: %s %d\n", WIFEXITED(st) ? "exit" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void assert_sigsys(int st)
{
	if (!WIFSIGNALED(st))
		print_error("child exited %d instead of dying\n", WEXITSTATUS(st));
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* What the worker does all day: pipes, poll, clocks, memory, zlib, a
 * descriptor over a socketpair made before the filter. */
static int sv[2] = { -1, -1 };

static void normal_use(void)
{
	static uint8_t in[1 << 16], out[1 << 17], back[1 << 16];
	struct pollfd p = { .fd = sv[0], .events = POLLOUT };
	struct timespec ts = { 0, 1000 * 1000 };
	uLongf outlen = sizeof(out), backlen = sizeof(back);
	char *big;
	int fl;

	if (poll(&p, 1, 100) != 1 || write(sv[0], "x", 1) != 1 || read(sv[1], in, 1) != 1)
		_exit(1);
	fl = fcntl(sv[0], F_GETFL);
	if (fl < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) < 0)
		_exit(2);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || nanosleep(&(struct timespec){ 0, 1000 }, NULL) < 0)
		_exit(3);
	big = malloc(8 << 20);	/* mmap, not brk */
	if (!big)
		_exit(4);
	memset(big, 1, 8 << 20);
	free(big);
	memset(in, 'a', sizeof(in));
	if (compress2(out, &outlen, in, sizeof(in), 6) != Z_OK ||
	    uncompress(back, &backlen, out, outlen) != Z_OK || backlen != sizeof(in))
		_exit(5);
	/* Opening a file is refused with an error, not death. */
	if (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
		_exit(6);
	fprintf(stderr, "# sandboxed child: logging to stderr works\n");
}

static void test_normal_use(void **state)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_exit0(in_sandbox(normal_use));
	close(sv[0]);
	close(sv[1]);
}

static void do_socket(void) { socket(AF_INET, SOCK_STREAM, 0); }
static void do_execve(void) { execl("/bin/true", "true", (char *)NULL); }
static void do_kill_parent(void) { kill(getppid(), 0); }
static void do_mmap_exec(void) { mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }
static void do_ptrace(void) { ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static void do_fork(void) { fork(); }
static void do_setuid(void) { setuid(0); }

static void test_forbidden(void **state)
{
	assert_sigsys(in_sandbox(do_socket));
	assert_sigsys(in_sandbox(do_execve));
	assert_sigsys(in_sandbox(do_kill_parent));
	assert_sigsys(in_sandbox(do_mmap_exec));
	assert_sigsys(in_sandbox(do_ptrace));
	assert_sigsys(in_sandbox(do_fork));
	assert_sigsys(in_sandbox(do_setuid));
}

/* User-space mode's sandbox (sandbox_seccomp_net after
 * sandbox_fs_readonly): the process's other thread is covered too, IPv4
 * and IPv6 sockets work, other families fail, one file can be read and
 * no other, nothing can be written; exec still kills. */
static const char *ro_file;

static void *net_thread(void *arg)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	(void)arg;
	if (fd < 0)
		_exit(20);
	close(fd);
	execl("/bin/true", "true", (char *)NULL);	/* SIGSYS here */
	_exit(21);
}

static int in_net_sandbox(void (*fn)(void))
{
	char err[256];
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (sandbox_fs_readonly(ro_file, err, sizeof(err)) != 0 ||
		    sandbox_seccomp_net(true, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			_exit(100);
		}
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void net_use(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char buf[8];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), n;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || ioctl(fd, FIONREAD, &n) < 0)
		_exit(10);
	close(fd);
	if (socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EAFNOSUPPORT)
		_exit(11);
	if (socket(AF_NETLINK, SOCK_RAW, 0) >= 0 || errno != EAFNOSUPPORT)
		_exit(12);
	fd = open(ro_file, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 3)
		_exit(13);
	close(fd);
	if (open(ro_file, O_WRONLY) >= 0 || open("/etc/passwd", O_RDONLY) >= 0 ||
	    open("/tmp/sshtun-sandbox-new", O_RDWR | O_CREAT, 0600) >= 0)
		_exit(14);
}

static void net_thread_exec(void)
{
	pthread_t t;

	pthread_create(&t, NULL, net_thread, NULL);
	pthread_join(t, NULL);
}

static void test_net_mode(void **state)
{
	char path[] = "/tmp/sshtun-sandbox-ro.XXXXXX";
	int fd = mkstemp(path), st;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ro\n", 3), 3);
	close(fd);
	ro_file = path;
	st = in_net_sandbox(net_use);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 100) {
		unlink(path);
		skip();		/* no seccomp or no Landlock here */
	}
	assert_exit0(st);
	assert_sigsys(in_net_sandbox(net_thread_exec));
	assert_sigsys(in_net_sandbox(do_execve));
	unlink(path);
}

#if defined(__SANITIZE_ADDRESS__)
/* Sanitizer builds: a bug inside the sandbox still gets its report (not a
 * bare SIGSYS from the report's own system calls). */
static void overflow(void)
{
	volatile char *p = malloc(8);

	p[8] = 1;
	free((void *)p);
}

static void test_sanitizer_report(void **state)
{
	int fds[2], st;
	char out[8192];
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];

		dup2(fds[1], STDERR_FILENO);
		if (sandbox_seccomp(err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			_exit(100);
		}
		overflow();
		_exit(0);
	}
	close(fds[1]);
	for (size_t got = 0;; got += (size_t)n) {
		n = read(fds[0], out + got, sizeof(out) - 1 - got);
		if (n <= 0) {
			out[got] = '\0';
			break;
		}
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* UBSan's object-size check or ASan, whichever speaks first. */
	if (WIFSIGNALED(st) || !(strstr(out, "runtime error: store") || strstr(out, "heap-buffer-overflow")))
		print_error("child: status %#x; stderr: %s\n", st, out);
	assert_false(WIFSIGNALED(st));
	assert_int_not_equal(WEXITSTATUS(st), 0);
	assert_true(strstr(out, "runtime error: store") || strstr(out, "heap-buffer-overflow"));
}
#else
static void test_sanitizer_report(void **state)
{
	skip();
}
#endif

/* As root: down to nobody for good, no capability left. */
static void test_drop(void **state)
{
	char err[256];
	pid_t pid;
	int st;

	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (sandbox_drop_privileges(65534, 65534, err, sizeof(err)) < 0)
			_exit(1);
		if (sandbox_privileged() || setuid(0) == 0 || getuid() != 65534 || getegid() != 65534)
			_exit(2);
		if (socket(AF_NETLINK, SOCK_RAW, 0) >= 0 && open("/dev/net/tun", O_RDWR) >= 0)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
	assert_int_equal(sandbox_drop_privileges(0, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "uid 0"));
}

static void valid(struct lease_request *q)
{
	memset(q, 0, sizeof(*q));
	memcpy(q->id, "0123456789abcdef0123456789abcdef", HELLO_ID_LEN);
	q->want4.family = AF_INET;
	q->want4.plen = 31;
	q->mtu = 1400;
}

static void test_request_check(void **state)
{
	struct lease_request q;
	char err[256];

	valid(&q);
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), 0);
	memset(q.id, 'a', sizeof(q.id));	/* no NUL */
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	valid(&q);
	q.id[3] = 'G';
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	valid(&q);
	q.want4.plen = 33;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "33"));
	valid(&q);
	q.want6.family = AF_INET;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	valid(&q);
	q.avoid.n = HELLO_MAX_PREFIXES + 1;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	valid(&q);
	q.avoid.n = -1;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	valid(&q);
	q.avoid.n = 1;
	q.avoid.p[0].family = 99;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	valid(&q);
	q.mtu = 100;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	/* --connections: conns 0..8, a join token of 32 hex digits or none. */
	valid(&q);
	q.conns = 8;
	memcpy(q.join, "00112233445566778899aabbccddeeff", sizeof(q.join));
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), 0);
	q.conns = 9;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad conns 9"));
	valid(&q);
	memset(q.join, 'a', sizeof(q.join));	/* no NUL */
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad join token"));
	valid(&q);
	memcpy(q.join, "00112233445566778899AABBCCDDEEFF", sizeof(q.join));
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	valid(&q);
	strcpy(q.join, "0011");
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	/* conn: 0..7, -1 not said. */
	valid(&q);
	q.conn = -1;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), 0);
	q.conn = 7;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), 0);
	q.conn = 8;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad conn 8"));
	q.conn = -2;
	assert_int_equal(lease_request_check(&q, err, sizeof(err)), -1);
}

/* monitor_run against a child worker that misbehaves; returns its answer
 * and leaves the monitor's log in logbuf. */
static char logbuf[4096];

static int monitor_against(void (*worker)(int sock))
{
	struct serve_config cfg = { .mtu = 1400 };
	struct serve_priv priv = { .cfg = &cfg };
	int s[2], rc, pipefd[2], saved;
	ssize_t n;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(s[0]);
		worker(s[1]);
		_exit(0);
	}
	close(s[1]);
	/* The monitor logs on stderr: catch it. */
	assert_int_equal(pipe(pipefd), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(pipefd[1], STDERR_FILENO);
	close(pipefd[1]);
	rc = monitor_run(&priv, s[0], pid);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(pipefd[0], logbuf, sizeof(logbuf) - 1);
	logbuf[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	return rc;
}

static void sandboxed_then_socket(int sock)
{
	char err[256];

	if (sandbox_seccomp(err, sizeof(err)) == 0)
		socket(AF_INET, SOCK_DGRAM, 0);
}

static void short_request(int sock)
{
	uint32_t type = MON_LEASE;

	send(sock, &type, sizeof(type), 0);
	pause();	/* the monitor kills us */
}

static void long_request(int sock)
{
	uint8_t msg[sizeof(struct mon_msg) + 16] = { 0 };
	uint32_t type = MON_LEASE;

	memcpy(msg, &type, sizeof(type));
	send(sock, msg, MON_MSG_LEN(sizeof(struct lease_request)) + 1, 0);
	pause();
}

/* A malformed lease request is refused with a reason (nothing leased, no
 * device made); asking a second time is a protocol violation. */
static void asks_twice(int sock)
{
	struct lease_request q;
	struct lease_reply r;

	memset(&q, 'x', sizeof(q));	/* no NUL in the id */
	if (mon_lease(sock, &q, &r) >= 0 || r.status != EXIT_REFUSED || !strstr(r.why, "bad client id"))
		_exit(7);
	mon_lease(sock, &q, &r);
	pause();
}

static void exits_3(int sock) { _exit(3); }

/* lost= may come any number of times, but only after the lease: before,
 * the monitor logs it and does nothing. */
static void lost_early(int sock)
{
	if (mon_lost(sock, 1) < 0 || mon_lost(sock, 1) < 0 || mon_lost(sock, 9) < 0)
		_exit(7);
	_exit(4);
}

static void lost_short(int sock)
{
	uint32_t type = MON_LOST;

	send(sock, &type, sizeof(type), 0);
	pause();
}

static void test_monitor_verdicts(void **state)
{
	assert_int_equal(monitor_against(sandboxed_then_socket), EXIT_ERROR);
	assert_non_null(strstr(logbuf, "SIGSYS"));
	assert_int_equal(monitor_against(short_request), EXIT_ERROR);
	assert_non_null(strstr(logbuf, "bad request"));
	assert_int_equal(monitor_against(long_request), EXIT_ERROR);
	assert_non_null(strstr(logbuf, "bad request"));
	assert_int_equal(monitor_against(asks_twice), EXIT_ERROR);
	assert_non_null(strstr(logbuf, "bad request (type 1"));
	assert_int_equal(monitor_against(exits_3), 3);
	assert_int_equal(monitor_against(lost_early), 4);
	assert_non_null(strstr(logbuf, "lost=1 before the lease"));
	assert_null(strstr(logbuf, "bad request"));
	assert_int_equal(monitor_against(lost_short), EXIT_ERROR);
	assert_non_null(strstr(logbuf, "bad request (type 2"));
}

/* The user the worker runs as: never uid 0, and never gid 0 either (the
 * root group may write files that root's own processes rely on; the
 * worker's filter is skipped where the kernel has no seccomp). */
static void test_worker_user(void **state)
{
	char err[256] = "";
	uid_t uid = 0;
	gid_t gid = 0;

	if (geteuid() != 0)
		skip();
	setenv("SUDO_UID", "4242", 1);
	setenv("SUDO_GID", "4343", 1);
	assert_int_equal(monitor_worker_user(NULL, &uid, &gid, err, sizeof(err)), 0);
	assert_int_equal(uid, 4242);
	assert_int_equal(gid, 4343);
	setenv("SUDO_GID", "0", 1);
	assert_int_equal(monitor_worker_user(NULL, &uid, &gid, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "gid 0"));
	unsetenv("SUDO_UID");
	unsetenv("SUDO_GID");
	err[0] = '\0';
	assert_int_equal(monitor_worker_user("root", &uid, &gid, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "uid 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_use),
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_net_mode),
		cmocka_unit_test(test_sanitizer_report),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_request_check),
		cmocka_unit_test(test_monitor_verdicts),
		cmocka_unit_test(test_worker_user),
	};

	log_set_prefix("test");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
