/* poll(2) event loop.  Tables are small and fixed: a tunnel watches a handful
 * of fds (TUN, SSH socket, control socket and its clients, stdin). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

/* Room for --connections 8: each connection has its socket, TUN queue,
 * rtnetlink watch and two thread wakeups, and timers for its hello,
 * reconnect and pings in flight. */
#define LOOP_MAX_FDS	128
#define LOOP_MAX_TIMERS	160
#define LOOP_MAX_HOOKS	8

struct watch {
	int fd;			/* -1: free slot */
	short events;
	loop_fd_fn fn;
	void *ctx;
};

struct timer {
	long id;		/* 0: free slot */
	uint64_t due;
	loop_timer_fn fn;
	void *ctx;
};

struct loop {
	struct watch watches[LOOP_MAX_FDS];
	struct timer timers[LOOP_MAX_TIMERS];
	struct {
		loop_hook_fn fn;
		void *ctx;
	} hooks[LOOP_MAX_HOOKS];
	int nhooks;
	long next_timer_id;
	bool stop;
	loop_signal_fn sig_fn;
	void *sig_ctx;
};

/* The self-pipe: the handler only writes the signal number. */
static int sig_pipe[2] = { -1, -1 };

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	for (int i = 0; i < LOOP_MAX_FDS; i++)
		loop->watches[i].fd = -1;
	return loop;
}

void loop_free(struct loop *loop)
{
	free(loop);
}

static struct watch *find_watch(struct loop *loop, int fd)
{
	for (int i = 0; i < LOOP_MAX_FDS; i++)
		if (loop->watches[i].fd == fd)
			return &loop->watches[i];
	return NULL;
}

int loop_watch(struct loop *loop, int fd, short events, loop_fd_fn fn, void *ctx)
{
	struct watch *w = find_watch(loop, fd);

	if (!w)
		w = find_watch(loop, -1);
	if (!w)
		return -1;
	*w = (struct watch){ .fd = fd, .events = events, .fn = fn, .ctx = ctx };
	return 0;
}

void loop_set_events(struct loop *loop, int fd, short events)
{
	struct watch *w = find_watch(loop, fd);

	if (w)
		w->events = events;
}

void loop_unwatch(struct loop *loop, int fd)
{
	struct watch *w = find_watch(loop, fd);

	if (w && fd >= 0)
		w->fd = -1;
}

long loop_timer(struct loop *loop, uint64_t ms, loop_timer_fn fn, void *ctx)
{
	for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
		struct timer *t = &loop->timers[i];

		if (t->id)
			continue;
		t->id = ++loop->next_timer_id;
		t->due = now_ms() + ms;
		t->fn = fn;
		t->ctx = ctx;
		return t->id;
	}
	return -1;
}

void loop_cancel(struct loop *loop, long id)
{
	if (id <= 0)
		return;
	for (int i = 0; i < LOOP_MAX_TIMERS; i++)
		if (loop->timers[i].id == id)
			loop->timers[i].id = 0;
}

int loop_hook(struct loop *loop, loop_hook_fn fn, void *ctx)
{
	if (loop->nhooks == LOOP_MAX_HOOKS)
		return -1;
	loop->hooks[loop->nhooks].fn = fn;
	loop->hooks[loop->nhooks].ctx = ctx;
	loop->nhooks++;
	return 0;
}

static void on_signal(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;

	if (write(sig_pipe[1], &b, 1) < 0) {
		/* pipe full: a signal is already pending, which is enough */
	}
	errno = saved;
}

static void sig_readable(struct loop *loop, int fd, short revents, void *ctx)
{
	unsigned char b[16];
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		for (ssize_t i = 0; i < n; i++)
			if (loop->sig_fn)
				loop->sig_fn(loop, b[i], loop->sig_ctx);
}

int loop_signals(struct loop *loop, loop_signal_fn fn, void *ctx)
{
	struct sigaction sa;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	if (sig_pipe[0] < 0) {
		if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
			return -1;
	}
	loop->sig_fn = fn;
	loop->sig_ctx = ctx;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return loop_watch(loop, sig_pipe[0], POLLIN, sig_readable, NULL);
}

/* Runs due timers; returns ms until the next one, or -1 when there is none. */
static int run_timers(struct loop *loop)
{
	uint64_t now = now_ms();
	int wait = -1;

	for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
		struct timer *t = &loop->timers[i];

		if (!t->id || t->due > now)
			continue;
		loop_timer_fn fn = t->fn;
		void *ctx = t->ctx;

		t->id = 0;	/* one-shot: free before the call so fn may re-arm */
		fn(loop, ctx);
	}
	now = now_ms();
	for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
		const struct timer *t = &loop->timers[i];

		if (!t->id)
			continue;
		uint64_t left = t->due > now ? t->due - now : 0;

		if (wait < 0 || left < (uint64_t)wait)
			wait = left > 60000 ? 60000 : (int)left;
	}
	return wait;
}

int loop_run(struct loop *loop)
{
	struct pollfd pfd[LOOP_MAX_FDS];
	struct watch snap[LOOP_MAX_FDS];

	loop->stop = false;
	while (!loop->stop) {
		int timeout, n = 0;

		timeout = run_timers(loop);
		if (loop->stop)
			break;
		for (int i = 0; i < loop->nhooks; i++)
			loop->hooks[i].fn(loop, loop->hooks[i].ctx);
		if (loop->stop)
			break;
		/* A hook may have armed a timer that is due now. */
		int tw = run_timers(loop);

		if (tw >= 0 && (timeout < 0 || tw < timeout))
			timeout = tw;
		for (int i = 0; i < LOOP_MAX_FDS; i++) {
			if (loop->watches[i].fd < 0)
				continue;
			snap[n] = loop->watches[i];
			pfd[n].fd = snap[n].fd;
			pfd[n].events = snap[n].events;
			pfd[n].revents = 0;
			n++;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			struct watch *w;

			if (!pfd[i].revents)
				continue;
			/* The watch may have been removed or replaced by an
			 * earlier callback in this round. */
			w = find_watch(loop, pfd[i].fd);
			if (!w || w->fn != snap[i].fn || w->ctx != snap[i].ctx)
				continue;
			w->fn(loop, pfd[i].fd, pfd[i].revents, w->ctx);
		}
	}
	return 0;
}

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}
