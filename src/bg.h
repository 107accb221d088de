/* One job on a thread of its own, so that the event loop keeps answering
 * (the prompt, ctl status, the TUN) while a blocking step runs: connecting,
 * authenticating and starting the helper take up to ConnectTimeout each.
 *
 * The job owns what it touches until it is finished: the loop watches
 * done_fd, then calls bg_finish, which joins the thread and hands the job's
 * failure (fail()) and log lines over to the loop's thread. */
#ifndef SSHTUN_BG_H
#define SSHTUN_BG_H

#include <pthread.h>
#include <stdbool.h>

#include "common.h"

struct bg_job {
	pthread_t thread;
	int fds[2];		/* [0]: readable when the job is done */
	int (*fn)(void *arg);
	void *arg;
	int rc;
	int code;
	char msg[ERROR_MSG_MAX];
	bool running;
};

/* Starts fn(arg) on a new thread (signals stay with the caller's thread).
 * Returns 0, or -1 with fail() set. */
int bg_start(struct bg_job *job, int (*fn)(void *), void *arg);
static inline int bg_done_fd(const struct bg_job *job)
{
	return job->fds[0];
}
/* Joins the job; its log lines are printed and its failure recorded here.
 * Returns what fn returned. */
int bg_finish(struct bg_job *job);

#endif
