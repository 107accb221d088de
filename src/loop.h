/* A single-threaded poll(2) event loop: fd watches, timers, and hooks run
 * before each sleep (where queued writes are flushed).  In the manner of
 * redis' ae.c; a kqueue or epoll backend can replace poll behind this header. */
#ifndef SSHTUN_LOOP_H
#define SSHTUN_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

typedef void (*loop_fd_fn)(struct loop *loop, int fd, short revents, void *ctx);
typedef void (*loop_timer_fn)(struct loop *loop, void *ctx);
typedef void (*loop_hook_fn)(struct loop *loop, void *ctx);

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Watches fd for events (POLLIN/POLLOUT).  One watch per fd; adding an fd
 * again replaces its watch.  Returns 0 or -1 (table full). */
int loop_watch(struct loop *loop, int fd, short events, loop_fd_fn fn, void *ctx);
void loop_set_events(struct loop *loop, int fd, short events);
void loop_unwatch(struct loop *loop, int fd);

/* One-shot timer in ms.  Returns an id > 0 for loop_cancel, or -1. */
long loop_timer(struct loop *loop, uint64_t ms, loop_timer_fn fn, void *ctx);
void loop_cancel(struct loop *loop, long id);

/* Runs fn before every poll. */
int loop_hook(struct loop *loop, loop_hook_fn fn, void *ctx);

/* Makes SIGINT, SIGTERM and SIGHUP call fn from the loop (self-pipe), not
 * from the signal handler. */
typedef void (*loop_signal_fn)(struct loop *loop, int signo, void *ctx);
int loop_signals(struct loop *loop, loop_signal_fn fn, void *ctx);

/* Runs until loop_stop().  Returns 0. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

/* Monotonic milliseconds and microseconds. */
uint64_t now_ms(void);
uint64_t now_us(void);

#endif
