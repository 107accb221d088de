/* The user's side of priv.h: one wrapper per request.  A call sends one
 * request and waits for its answer; the root side answers at once. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "fdpass.h"
#include "fail.h"
#include "log.h"
#include "priv.h"

extern char **environ;

static struct {
	int fd;
	pid_t sudo_pid;		/* 0: the root side is our parent */
	int ifindex;
	char method[32];	/* of the DNS settings applied */
} P = { .fd = -1 };

void priv_attach(int fd)
{
	P.fd = fd;
}

int priv_fd(void)
{
	return P.fd;
}

void priv_close(void)
{
	if (P.fd >= 0)
		close(P.fd);
	P.fd = -1;
	/* The root side undoes everything and exits once it sees us go. */
	if (P.sudo_pid > 0)
		waitpid(P.sudo_pid, NULL, 0);
	P.sudo_pid = 0;
}

/* Why the root side is not there: sudo's exit status says most. */
static int gone(void)
{
	int status = 0;

	if (P.sudo_pid > 0 && waitpid(P.sudo_pid, &status, 0) == P.sudo_pid) {
		P.sudo_pid = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status))
			return fail(EXIT_LOCAL,
				    "sudo did not start sshtun's root side (sudo exit status %d): this user needs "
				    "sudo rights for %s, or run sshtun as root",
				    WEXITSTATUS(status), PRIV_ROOT_SUBCOMMAND);
	}
	return fail(EXIT_LOCAL, "sshtun's root side is gone: routes and addresses can no longer change");
}

/* The loop's thread and the connect thread (the pin of the next server of
 * a list, before connecting there) both ask: one request at a time. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

bool priv_gone(void)
{
	char b;
	ssize_t n;

	/* A request in flight on the other thread holds the lock until its
	 * answer is read: what is left readable then is the end. */
	pthread_mutex_lock(&lock);
	n = P.fd < 0 ? 0 : recv(P.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	pthread_mutex_unlock(&lock);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static int call_locked(struct priv_req *q, struct priv_resp *a, int *fd_out, int fd_in);

/* One request, one answer (and the TUN fd with PRIV_OPEN). */
static int call(struct priv_req *q, struct priv_resp *a, int *fd_out)
{
	int rc;

	pthread_mutex_lock(&lock);
	rc = call_locked(q, a, fd_out, -1);
	pthread_mutex_unlock(&lock);
	return rc;
}

/* fd_in (>= 0) goes with the request: PRIV_EXEC's connection. */
static int call_locked(struct priv_req *q, struct priv_resp *a, int *fd_out, int fd_in)
{
	ssize_t n;
	int fd = -1;

	memset(a, 0, sizeof(*a));
	if (P.fd < 0) {
		snprintf(a->msg, sizeof(a->msg), "no root side");
		return a->rc = -ENOTCONN;
	}
	if (!q->ifindex)	/* PRIV_QUEUE names it itself */
		q->ifindex = P.ifindex;
	if (fd_in >= 0)
		n = fdpass_send(P.fd, q, sizeof(*q), fd_in) == 0 ? (ssize_t)sizeof(*q) : -1;
	else
		while ((n = send(P.fd, q, sizeof(*q), MSG_NOSIGNAL)) < 0 && errno == EINTR)
			;
	if (n == (ssize_t)sizeof(*q))
		n = fdpass_recv(P.fd, a, sizeof(*a), &fd);
	if (n != (ssize_t)sizeof(*a)) {
		if (fd >= 0)
			close(fd);
		gone();
		snprintf(a->msg, sizeof(a->msg), "%s", fail_msg());
		return a->rc = -EPIPE;
	}
	a->msg[sizeof(a->msg) - 1] = '\0';
	a->ifname[sizeof(a->ifname) - 1] = '\0';
	if (fd >= 0) {
		if (fd_out && *fd_out < 0)
			*fd_out = fd;
		else
			close(fd);
	}
	return a->rc < 0 ? a->rc : 0;
}

static void req_init(struct priv_req *q, enum priv_op op)
{
	memset(q, 0, sizeof(*q));
	q->op = op;
}

/* A call whose answer carries a descriptor: on a refusal the one that may
 * have come anyway is closed and the root side's message is the failure. */
static int call_for_fd(struct priv_req *q, struct priv_resp *a, int *fd)
{
	if (call(q, a, fd) < 0) {
		if (*fd >= 0)
			close(*fd);
		if (!fail_code())
			fail(a->exit_code ? a->exit_code : EXIT_LOCAL, "%s", a->msg);
		return -1;
	}
	return 0;
}

int priv_spawn_sudo(int verbosity)
{
	char exe[PATH_MAX], *argv[8];
	posix_spawn_file_actions_t fa;
	int sp[2], rc, argc = 0;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return fail(EXIT_LOCAL, "cannot find this program (/proc/self/exe): %s", strerror(errno));
	exe[n] = '\0';
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return fail(EXIT_LOCAL, "socketpair: %s", strerror(errno));
	/* sudo closes every fd above 2: the socket goes as standard input;
	 * its password prompt uses the terminal itself. */
	argv[argc++] = "sudo";
	argv[argc++] = "--";
	argv[argc++] = exe;
	argv[argc++] = PRIV_ROOT_SUBCOMMAND;
	for (int i = 0; i < verbosity && i < 3; i++)
		argv[argc++] = "-v";
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sp[1], STDIN_FILENO);
	rc = posix_spawnp(&P.sudo_pid, "sudo", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sp[1]);
	if (rc != 0) {
		close(sp[0]);
		P.sudo_pid = 0;
		return fail(EXIT_LOCAL, "cannot run sudo to start sshtun's root side: %s (install sudo, or run "
			    "sshtun as root)", strerror(rc));
	}
	P.fd = sp[0];
	return 0;
}

int priv_open_mq(const char *name, char ifname[IFNAMSIZ], int *ifindex, unsigned queues)
{
	struct priv_req q;
	struct priv_resp a;
	int fd = -1;

	req_init(&q, PRIV_OPEN);
	q.arg = queues;
	snprintf(q.name, sizeof(q.name), "%s", name);
	snprintf(q.ifname, sizeof(q.ifname), "%s", ifname);
	if (call_for_fd(&q, &a, &fd) < 0)
		return -1;
	if (fd < 0 || a.ifindex <= 0)
		return fail(EXIT_LOCAL, "sshtun's root side sent no TUN device");
	P.ifindex = a.ifindex;
	*ifindex = a.ifindex;
	snprintf(ifname, IFNAMSIZ, "%s", a.ifname);
	return fd;
}

int priv_open(const char *name, char ifname[IFNAMSIZ], int *ifindex)
{
	return priv_open_mq(name, ifname, ifindex, 1);
}

int priv_tun_queue(int ifindex)
{
	struct priv_req q;
	struct priv_resp a;
	int fd = -1;

	req_init(&q, PRIV_QUEUE);
	q.ifindex = ifindex;
	if (call_for_fd(&q, &a, &fd) < 0)
		return -1;
	if (fd < 0)
		return fail(EXIT_LOCAL, "sshtun's root side sent no queue of interface index %d", ifindex);
	return fd;
}

int priv_link_up(unsigned mtu)
{
	struct priv_req q;
	struct priv_resp a;

	req_init(&q, PRIV_LINK_UP);
	q.arg = mtu;
	return call(&q, &a, NULL);
}

int priv_addr(bool add, const struct inet_prefix *local)
{
	struct priv_req q;
	struct priv_resp a;

	req_init(&q, add ? PRIV_ADDR_ADD : PRIV_ADDR_DEL);
	q.a = *local;
	return call(&q, &a, NULL);
}

int priv_route(bool add, const struct inet_prefix *dst, unsigned metric)
{
	struct priv_req q;
	struct priv_resp a;

	req_init(&q, add ? PRIV_ROUTE_ADD : PRIV_ROUTE_DEL);
	q.a = *dst;
	q.arg = metric;
	return call(&q, &a, NULL);
}

int priv_pin(const struct inet_prefix *server, int *ifindex, struct inet_prefix *gw, char *err, size_t errlen)
{
	struct priv_req q;
	struct priv_resp a;
	int rc;

	req_init(&q, PRIV_PIN);
	q.a = *server;
	rc = call(&q, &a, NULL);
	if (rc < 0 && rc != -EEXIST)
		snprintf(err, errlen, "%s", a.msg);
	*ifindex = a.ifindex;
	*gw = a.gw;
	return rc;
}

void priv_unpin(void)
{
	struct priv_req q;
	struct priv_resp a;

	req_init(&q, PRIV_UNPIN);
	call(&q, &a, NULL);
}

int priv_exclude(const struct inet_prefix *p, const struct inet_prefix *server, char *err, size_t errlen)
{
	struct priv_req q;
	struct priv_resp a;
	int rc;

	req_init(&q, PRIV_EXCLUDE);
	q.a = *p;
	if (server)
		q.b = *server;
	rc = call(&q, &a, NULL);
	if (rc < 0)
		snprintf(err, errlen, "%s", a.msg);
	return rc;
}

void priv_unexclude_all(void)
{
	struct priv_req q;
	struct priv_resp a;

	req_init(&q, PRIV_UNEXCLUDE_ALL);
	call(&q, &a, NULL);
}

int priv_unexclude(const struct inet_prefix *p, char *err, size_t errlen)
{
	struct priv_req q;
	struct priv_resp a;
	int rc;

	req_init(&q, PRIV_UNEXCLUDE);
	q.a = *p;
	rc = call(&q, &a, NULL);
	if (rc < 0)
		snprintf(err, errlen, "%s", a.msg);
	return rc;
}

int priv_repath(const struct inet_prefix *server, int *ifindex, struct inet_prefix *gw, char *err,
		size_t errlen)
{
	struct priv_req q;
	struct priv_resp a;
	int rc;

	req_init(&q, PRIV_REPATH);
	q.a = *server;
	rc = call(&q, &a, NULL);
	if (rc < 0)
		snprintf(err, errlen, "%s", a.msg);
	*ifindex = a.ifindex;
	*gw = a.gw;
	return rc;
}

int priv_dns_apply(const struct dns_config *cfg, char *err, size_t errlen)
{
	struct priv_req q;
	struct priv_resp a;
	int rc;

	req_init(&q, PRIV_DNS_APPLY);
	q.dns = *cfg;
	rc = call(&q, &a, NULL);
	if (rc < 0)
		snprintf(err, errlen, "%s", a.msg);
	else
		snprintf(P.method, sizeof(P.method), "%.31s", a.msg);
	return rc;
}

void priv_dns_revert(void)
{
	struct priv_req q;
	struct priv_resp a;

	req_init(&q, PRIV_DNS_REVERT);
	call(&q, &a, NULL);
	P.method[0] = '\0';
}

const char *priv_dns_method(void)
{
	return P.method;
}

void priv_detach(void)
{
	struct priv_req q;
	struct priv_resp a;

	req_init(&q, PRIV_DETACH);
	call(&q, &a, NULL);
}

int priv_guard(unsigned flags, const struct inet_prefix *server, unsigned port, char *err, size_t errlen)
{
	struct priv_req q;
	struct priv_resp a;
	int rc;

	req_init(&q, PRIV_GUARD);
	q.arg = flags | (port & 0xffff) << 16;
	if (server)
		q.a = *server;
	rc = call(&q, &a, NULL);
	if (rc < 0)
		snprintf(err, errlen, "%s", a.msg);
	return rc;
}

int priv_unreach(bool add, const struct inet_prefix *half)
{
	struct priv_req q;
	struct priv_resp a;

	req_init(&q, PRIV_UNREACH);
	q.arg = add;
	q.a = *half;
	return call(&q, &a, NULL);
}

int priv_uid_route(bool add, const struct inet_prefix *dst, uint32_t uid, char *err, size_t errlen)
{
	struct priv_req q;
	struct priv_resp a;
	int rc;

	req_init(&q, add ? PRIV_UID_ROUTE_ADD : PRIV_UID_ROUTE_DEL);
	q.a = *dst;
	q.arg = uid;
	rc = call(&q, &a, NULL);
	if (rc < 0)
		snprintf(err, errlen, "%s", a.msg);
	return rc;
}

int priv_exec(int conn, char *err, size_t errlen)
{
	struct priv_req q;
	struct priv_resp a;
	int rc;

	req_init(&q, PRIV_EXEC);
	pthread_mutex_lock(&lock);
	rc = call_locked(&q, &a, NULL, conn);
	pthread_mutex_unlock(&lock);
	close(conn);
	if (rc < 0)
		snprintf(err, errlen, "%s", a.msg);
	return rc;
}
