/* See serve_monitor.h: the privileged side. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "fdpass.h"
#include "fail.h"
#include "log.h"
#include "loop.h"
#include "serve_monitor.h"
#include "tun.h"

#define MON_KILL_AFTER_MS 5000	/* a worker told to stop that does not: SIGKILL */

struct monitor {
	struct serve_priv *priv;
	struct loop *loop;
	int sock;
	pid_t worker;
	int tun_fd;		/* our copy of the worker's TUN, or -1 */
	unsigned done;		/* bit per request type answered (each only once) */
};

static int answer_lease(struct monitor *m, const void *req)
{
	struct lease_reply r;
	int fd = serve_lease_take(m->priv, req, &r);
	int rc = fdpass_send(m->sock, &r, sizeof(r), fd);

	/* Kept until the worker is gone, to undo what it may have done to the
	 * device through its copy (tun_clear_persist). */
	m->tun_fd = fd;
	return rc;
}

/* The client's lost=K.  The worker is the client's to command: K is
 * checked here again, and serve_lease_lost acts only within our own group,
 * once a second per K, never on ourselves. */
static int answer_lost(struct monitor *m, const void *req)
{
	const struct lost_request *q = req;

	if (!m->priv->leased) {
		log_warn("worker %d: lost=%u before the lease: ignored", (int)m->worker, q->conn);
		return 0;
	}
	serve_lease_lost(m->priv, q->conn);
	return 0;
}

/* The request table: type, exact size, handler, and whether it is answered
 * at most once per session (the lease) or may come again (lost=). */
static const struct mon_dispatch {
	uint32_t type;
	size_t size;
	int (*fn)(struct monitor *m, const void *req);
	bool once;
} dispatch[] = {
	{ MON_LEASE, sizeof(struct lease_request), answer_lease, true },
	{ MON_LOST, sizeof(struct lost_request), answer_lost, false },
};

static void on_request(struct loop *loop, int fd, short revents, void *ctx)
{
	struct monitor *m = ctx;
	struct {
		struct mon_msg msg;
		uint8_t extra;		/* a longer message than any shows here */
	} in;
	const struct mon_dispatch *d = NULL;
	ssize_t n;

	n = recv(m->sock, &in, sizeof(in), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {		/* the worker has gone */
		loop_stop(loop);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dispatch); i++)
		if ((size_t)n >= sizeof(in.msg.type) && dispatch[i].type == in.msg.type)
			d = &dispatch[i];
	if (!d || (size_t)n != MON_MSG_LEN(d->size) || (d->once && (m->done & (1u << d->type)))) {
		log_error("worker %d sent a bad request (type %u, %zd bytes): stopping it", (int)m->worker,
			  (size_t)n >= sizeof(in.msg.type) ? in.msg.type : 0, n);
		kill(m->worker, SIGKILL);
		loop_stop(loop);
		return;
	}
	m->done |= 1u << d->type;
	if (d->fn(m, &in.msg.body) < 0)
		log_verbose("worker %d did not take the answer: %s", (int)m->worker, strerror(errno));
}

static void on_kill_timer(struct loop *loop, void *ctx)
{
	struct monitor *m = ctx;

	log_error("worker %d did not stop within %d s: killing it", (int)m->worker, MON_KILL_AFTER_MS / 1000);
	kill(m->worker, SIGKILL);
}

static void on_signal(struct loop *loop, int signo, void *ctx)
{
	struct monitor *m = ctx;

	log_verbose("signal %d: stopping worker %d", signo, (int)m->worker);
	kill(m->worker, SIGTERM);
	loop_timer(loop, MON_KILL_AFTER_MS, on_kill_timer, m);
}

static int worker_status(pid_t worker)
{
	int st;

	while (waitpid(worker, &st, 0) < 0)
		if (errno != EINTR)
			return EXIT_ERROR;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WTERMSIG(st) == SIGSYS)
		log_error("worker %d killed by its sandbox (SIGSYS): it made a system call outside the allow-list",
			  (int)worker);
	else
		log_error("worker %d killed by signal %d", (int)worker, WTERMSIG(st));
	return EXIT_ERROR;
}

static int id_env(const char *name, unsigned long *out)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v)
		return -1;
	errno = 0;
	*out = strtoul(v, &end, 10);
	return errno || *end || *out > INT_MAX ? -1 : 0;
}

int monitor_worker_user(const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	unsigned long u, g;
	struct passwd *pw;

	if (geteuid() != 0 && !(name && *name)) {
		*uid = getuid();
		*gid = getgid();
		return *uid ? 0 : errorf(err, errlen, "no user to run the worker as (set --worker-user)");
	}
	if (!(name && *name)) {
		if (getuid() == 0 && id_env("SUDO_UID", &u) == 0 && id_env("SUDO_GID", &g) == 0 && u) {
			if (!g)
				return errorf(err, errlen, "the worker cannot run as gid 0 (SUDO_GID); "
					      "name its user with --worker-user");
			*uid = (uid_t)u;
			*gid = (gid_t)g;
			return 0;
		}
		name = "nobody";
	}
	pw = getpwnam(name);
	if (!pw)
		return errorf(err, errlen, "no user `%s' to run the worker as", name);
	if (pw->pw_uid == 0)
		return errorf(err, errlen, "the worker cannot run as `%s': it is uid 0", name);
	if (pw->pw_gid == 0)
		return errorf(err, errlen, "the worker cannot run as `%s': its group is gid 0", name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int monitor_run(struct serve_priv *p, int sock, pid_t worker)
{
	struct monitor m = { .priv = p, .sock = sock, .worker = worker, .tun_fd = -1 };
	int rc;

	m.loop = loop_new();
	if (!m.loop || loop_signals(m.loop, on_signal, &m) < 0 ||
	    loop_watch(m.loop, sock, POLLIN, on_request, &m) < 0) {
		log_error("monitor: cannot set up its loop: stopping worker %d", (int)worker);
		kill(worker, SIGKILL);
	} else {
		loop_run(m.loop);
	}
	rc = worker_status(worker);
	/* A worker without its filter could have made the device persistent
	 * (TUNSETPERSIST needs no capability, only the descriptor), and owned
	 * by its user, who could then attach to it, the pair and all: the
	 * device goes with our last copy, whatever the worker set. */
	if (m.tun_fd >= 0) {
		int e = tun_clear_persist(m.tun_fd);

		if (e < 0)
			log_warn("cannot clear persistence of the worker's TUN: %s", strerror(-e));
		close(m.tun_fd);
	}
	serve_lease_release(p);
	loop_free(m.loop);
	close(sock);
	return rc;
}
