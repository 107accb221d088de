/* The control socket: `sshtun ctl` and scripts run shell commands in a
 * running instance.  Non-blocking throughout, so a client that connects and
 * says nothing, or stops reading, holds up nobody else.  Stale-socket
 * handling in the manner of wireguard-tools' ipc. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "common.h"
#include "control.h"
#include "engine.h"
#include "fail.h"
#include "log.h"
#include "loop.h"
#include "paths.h"
#include "priv.h"
#include "safefile.h"
#include "shell.h"

#define CTL_OUT_MAX	(256 * 1024)	/* a client this far behind is dropped */
#define CTL_IDLE_MS	(60 * 1000)	/* a silent client is dropped after */
#define CTL_SWEEP_MS	(10 * 1000)

struct client {
	int fd;			/* -1: free */
	bool busy;		/* a command is pending: later requests wait */
	bool in_run;		/* answering requests: one flush at the end */
	bool eof;		/* the peer will send no more */
	bool closing;		/* close once the output is out */
	bool shut;		/* output over: our side shut, the rest of the
				 * input read and dropped until EOF, so that a
				 * close with unread data cannot turn the answer
				 * into ECONNRESET at the peer */
	uint64_t last;		/* last request or byte read, for the idle sweep */
	size_t inlen, outlen, outcap;
	char *out;
	struct shell_driver drv;
	char in[CTL_LINE_MAX];
};

static struct {
	int fd;
	struct engine *eng;
	struct loop *loop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	long sweep;
	struct client clients[CTL_MAX_CLIENTS];
} C = { .fd = -1 };

static void client_drop(struct client *cl)
{
	if (cl->fd < 0)
		return;
	if (cl->busy)
		shell_cancel(&cl->drv);
	loop_unwatch(C.loop, cl->fd);
	close(cl->fd);
	free(cl->out);
	cl->fd = -1;
	cl->out = NULL;
	cl->busy = false;
}

static void client_events(struct client *cl)
{
	short ev = 0;

	if (!cl->eof && (cl->closing || cl->inlen < sizeof(cl->in)))
		ev |= POLLIN;
	if (cl->outlen)
		ev |= POLLOUT;
	loop_set_events(C.loop, cl->fd, ev);
}

static void client_flush(struct client *cl)
{
	while (cl->fd >= 0 && cl->outlen) {
		ssize_t n = send(cl->fd, cl->out, cl->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_drop(cl);	/* gone: EPIPE, ECONNRESET */
			return;
		}
		memmove(cl->out, cl->out + n, cl->outlen - (size_t)n);
		cl->outlen -= (size_t)n;
	}
	if (cl->fd < 0)
		return;
	if (cl->closing && !cl->outlen && !cl->busy && (cl->eof || cl->shut)) {
		client_drop(cl);
		return;
	}
	if (cl->closing && !cl->outlen && !cl->busy) {
		shutdown(cl->fd, SHUT_WR);
		cl->shut = true;
	}
	client_events(cl);
}

static int out_append(struct client *cl, const char *data, size_t len)
{
	if (cl->fd < 0)
		return -1;
	if (cl->outlen + len > cl->outcap) {
		size_t cap = cl->outcap ? cl->outcap : 1024;
		char *p;

		while (cap < cl->outlen + len)
			cap *= 2;
		if (cap > CTL_OUT_MAX || !(p = realloc(cl->out, cap))) {
			log_warn("control: dropping a client that does not read its answers");
			client_drop(cl);
			return -1;
		}
		cl->out = p;
		cl->outcap = cap;
	}
	memcpy(cl->out + cl->outlen, data, len);
	cl->outlen += len;
	return 0;
}

/* One protocol line: "o text\n", "e text\n". */
static void out_line(struct client *cl, char kind, const char *text, size_t len)
{
	char head[2] = { kind, ' ' };

	if (out_append(cl, head, 2) == 0 && out_append(cl, text, len) == 0)
		out_append(cl, "\n", 1);
}

static void ctl_write(void *ctx, int stream, const char *text, size_t len)
{
	struct client *cl = ctx;

	while (len && cl->fd >= 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		out_line(cl, stream == 2 ? 'e' : 'o', text, n);
		n += nl != NULL;
		text += n;
		len -= n;
	}
	if (!cl->in_run && cl->fd >= 0)
		client_flush(cl);	/* ping replies, watch rows: as they come */
}

static void client_process(struct client *cl);

static void answered(struct client *cl, int status)
{
	char x[16];
	int n = snprintf(x, sizeof(x), "x %d\n", status);

	out_append(cl, x, (size_t)n);
}

/* A command that waited has finished (from the loop). */
static void ctl_done(void *ctx, int status)
{
	struct client *cl = ctx;

	if (cl->fd < 0)
		return;
	cl->busy = false;
	answered(cl, status);
	client_process(cl);	/* requests that waited behind this one */
	if (cl->fd >= 0)
		client_flush(cl);
}

static const struct shell_out_ops ctl_ops = { ctl_write, ctl_done };

static void complete_word(void *ctx, const char *word)
{
	out_line(ctx, 'o', word, strlen(word));
}

/* `sshtun exec': the connection goes to the root side, which runs the
 * command and answers on it from then on; we keep no copy.  The caller
 * sends nothing more until the root side says "go", so nothing of its is
 * in our buffer. */
static void exec_handoff(struct client *cl)
{
	char err[300], msg[400];
	int fd = dup(cl->fd), n;

	if (fd >= 0 && priv_exec(fd, err, sizeof(err)) == 0) {
		engine_exec_opened(C.eng);
		client_drop(cl);
		return;
	}
	if (fd < 0)
		snprintf(err, sizeof(err), "exec: %s", strerror(errno));
	n = snprintf(msg, sizeof(msg), "e %s\nx 1\n", err);
	out_append(cl, msg, n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : 0);
	cl->closing = true;
}

static void handle(struct client *cl, char *line)
{
	static const char bad[] = "e unknown request (want run, complete or exec)\nx 2\n";

	if (!strncmp(line, "run", 3) && (line[3] == ' ' || !line[3])) {
		bool batching = cl->in_run;
		int st;

		shell_driver_init(&cl->drv, C.eng, &ctl_ops, cl);
		cl->busy = true;	/* a drop meanwhile cancels the command */
		cl->in_run = true;
		st = shell_drive(&cl->drv, line + 3 + !!line[3]);
		cl->in_run = batching;
		if (cl->fd < 0)
			return;
		cl->busy = st == SHELL_PENDING;
		if (!cl->busy)
			answered(cl, st);
	} else if (!strncmp(line, "complete", 8) && (line[8] == ' ' || !line[8])) {
		shell_complete(C.eng, line + 8 + !!line[8], complete_word, cl);
		out_append(cl, "x 0\n", 4);
	} else if (!strcmp(line, "exec")) {
		exec_handoff(cl);
	} else {
		out_append(cl, bad, sizeof(bad) - 1);
	}
}

/* Answers the complete requests in the input buffer, in order; one that is
 * pending holds the rest back. */
static void client_process(struct client *cl)
{
	while (cl->fd >= 0 && !cl->busy && !cl->closing) {
		char *nl = memchr(cl->in, '\n', cl->inlen);
		size_t used;

		if (!nl) {
			if (cl->inlen == sizeof(cl->in)) {
				char msg[64];
				int n = snprintf(msg, sizeof(msg), "e line too long (max %d bytes)\nx 2\n",
						 CTL_LINE_MAX);

				out_append(cl, msg, (size_t)n);
				cl->closing = true;	/* cannot find the next line */
			} else if (cl->eof) {
				cl->closing = true;
			}
			break;
		}
		*nl = '\0';
		if (nl > cl->in && nl[-1] == '\r')
			nl[-1] = '\0';
		used = (size_t)(nl - cl->in) + 1;
		handle(cl, cl->in);
		if (cl->fd < 0)
			return;
		memmove(cl->in, cl->in + used, cl->inlen - used);
		cl->inlen -= used;
	}
}

static void on_client(struct loop *loop, int fd, short revents, void *ctx)
{
	struct client *cl = ctx;

	if (revents & (POLLERR | POLLNVAL) ||
	    ((revents & POLLHUP) && !(revents & POLLIN))) {
		client_drop(cl);
		return;
	}
	if ((revents & POLLIN) && cl->closing) {
		char junk[4096];
		ssize_t n = read(fd, junk, sizeof(junk));

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
			client_drop(cl);
			return;
		}
	} else if (revents & POLLIN) {
		ssize_t n = read(fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen);

		if (n > 0) {
			cl->inlen += (size_t)n;
			cl->last = now_ms();
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			cl->eof = true;
		}
		cl->in_run = true;	/* one flush for all the answers */
		client_process(cl);
		cl->in_run = false;
	}
	if (cl->fd >= 0)
		client_flush(cl);
}

static void sweep(struct loop *loop, void *ctx)
{
	uint64_t now = now_ms();
	bool any = false;

	C.sweep = 0;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct client *cl = &C.clients[i];

		if (cl->fd >= 0 && !cl->busy && now - cl->last > CTL_IDLE_MS)
			client_drop(cl);
		any |= cl->fd >= 0;
	}
	if (any)
		C.sweep = loop_timer(loop, CTL_SWEEP_MS, sweep, NULL);
	if (C.sweep < 0)
		C.sweep = 0;
}

/* Same user, or root: the socket's mode says as much, SO_PEERCRED makes
 * sure (a socket in a directory others can write to, say). */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("control: cannot tell who connected: %s", strerror(errno));
		return false;
	}
	if (cred.uid == geteuid() || cred.uid == 0)
		return true;
	log_warn("control: refused a connection from uid %u (pid %d)", (unsigned)cred.uid,
		 (int)cred.pid);
	return false;
}

static void on_accept(struct loop *loop, int lfd, short revents, void *ctx)
{
	static const char full[] = "e too many control clients (max %d)\nx 1\n";
	char msg[64];
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct client *cl = NULL;

		if (!peer_allowed(fd)) {
			close(fd);
			continue;
		}
		for (int i = 0; i < CTL_MAX_CLIENTS && !cl; i++)
			if (C.clients[i].fd < 0)
				cl = &C.clients[i];
		if (!cl || loop_watch(loop, fd, POLLIN, on_client, cl) < 0) {
			int n = snprintf(msg, sizeof(msg), full, CTL_MAX_CLIENTS);

			if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* best effort: it is being turned away anyway */
			}
			close(fd);
			continue;
		}
		memset(cl, 0, offsetof(struct client, in));
		cl->fd = fd;
		cl->last = now_ms();
		if (!C.sweep && (C.sweep = loop_timer(loop, CTL_SWEEP_MS, sweep, NULL)) < 0)
			C.sweep = 0;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		log_warn("control: accept: %s", strerror(errno));
}

/* mkdir -p of the socket's directory, new parts 0700; then the directory
 * must be ours (or root's) and closed to others, or anyone could swap the
 * socket, or the state file beside it, for their own.  for_other: root
 * binds a socket another user owns, who must be able to reach it (the
 * socket's own mode keeps everyone else out). */
static int make_dir(const char *path, bool for_other)
{
	char dir[sizeof(C.path)], err[400];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;	/* the current directory: the user's choice */
	if (slash == dir)
		slash++;	/* "/x.sock" */
	*slash = '\0';
	if (safe_dir(dir, true, 0700, err, sizeof(err)) < 0)
		return fail(EXIT_ERROR, "control socket: %s; use -S with a path in a private directory", err);
	if (for_other && stat(dir, &st) == 0 && st.st_uid == 0 && (st.st_mode & 0111) != 0111)
		chmod(dir, (st.st_mode & 07777) | 0111);
	return 0;
}

/* The process that called listen() on the socket fd is connected to has
 * exited (or is a zombie). */
static bool listener_gone(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char path[64], line[128];
	bool gone = true;
	FILE *f;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)cred.pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "State:", 6)) {
			gone = strchr(line, 'Z') != NULL;
			break;
		}
	fclose(f);
	return gone;
}

/* A socket file that is there already: someone answering means a live
 * instance; ECONNREFUSED means one that died, whose file can go. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	char name[sizeof(C.path)];
	int fd, rc, e;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : fail(EXIT_ERROR, "control socket %s: %s",
						  sa->sun_path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return fail(EXIT_ERROR, "%s exists and is not a socket; remove it or use -S PATH",
			    sa->sun_path);
	for (int tries = 0;; tries++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return fail(EXIT_ERROR, "socket: %s", strerror(errno));
		rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
		e = errno;
		/* The process that listens is gone, yet the socket answers:
		 * an instance whose root side was killed, its other side
		 * dying with it.  It is given a moment to finish. */
		if (rc < 0 || tries >= 100 || !listener_gone(fd))
			break;
		close(fd);
		usleep(20000);
	}
	close(fd);
	paths_instance(sa->sun_path, name, sizeof(name));
	if (rc == 0)
		return fail(EXIT_ERROR, "instance `%s' is already running (control socket %s)",
			    name, sa->sun_path);
	if (e != ECONNREFUSED)
		return fail(EXIT_ERROR, "cannot check control socket %s: %s", sa->sun_path,
			    strerror(e));
	log_verbose("removing stale control socket %s", sa->sun_path);
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return fail(EXIT_ERROR, "cannot remove stale control socket %s: %s",
			    sa->sun_path, strerror(errno));
	return 0;
}

/* The socket itself: bound, 0600, listening; owned by uid:gid when the
 * user's side will be someone else (root binds it before that side drops,
 * as the user could not create it in root's directory). */
int control_bind(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, rc;

	if (C.fd >= 0)
		return fail(EXIT_ERROR, "control socket already open");
	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(EXIT_USAGE, "control socket path `%s' is too long (max %zu bytes)", path,
			    sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (make_dir(path, uid != (uid_t)-1) < 0 || clear_stale(&sa) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(EXIT_ERROR, "socket: %s", strerror(errno));
	old = umask(0177);	/* born 0600: no window where others may connect */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc == 0 && uid != (uid_t)-1)
		rc = lchown(path, uid, gid);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, CTL_MAX_CLIENTS) < 0 ||
	    lstat(path, &st) < 0) {
		int e = errno;

		close(fd);
		return fail(EXIT_ERROR, "cannot listen on control socket %s: %s", path, strerror(e));
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		C.clients[i].fd = -1;
	C.fd = fd;
	C.dev = st.st_dev;
	C.ino = st.st_ino;
	snprintf(C.path, sizeof(C.path), "%s", path);
	return 0;
}

int control_listen(struct engine *eng, struct loop *loop, const char *path)
{
	if (C.fd < 0 && control_bind(path, (uid_t)-1, (gid_t)-1) < 0)
		return -1;
	if (loop_watch(loop, C.fd, POLLIN, on_accept, NULL) < 0) {
		close(C.fd);
		C.fd = -1;
		unlink(path);
		return fail(EXIT_ERROR, "cannot watch control socket (too many open descriptors)");
	}
	C.eng = eng;
	C.loop = loop;
	return 0;
}

void control_forget(void)
{
	if (C.fd >= 0)
		close(C.fd);
	C.fd = -1;
}

void control_unlink(void)
{
	struct stat st;

	/* Only our own socket: a newer instance may have taken the path. */
	if (C.path[0] && lstat(C.path, &st) == 0 && st.st_dev == C.dev && st.st_ino == C.ino)
		unlink(C.path);
}

void control_close(void)
{
	if (C.fd < 0)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		client_drop(&C.clients[i]);
	if (C.sweep)
		loop_cancel(C.loop, C.sweep);
	C.sweep = 0;
	if (C.loop)
		loop_unwatch(C.loop, C.fd);
	close(C.fd);
	C.fd = -1;
	control_unlink();
}
