/* See bg.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bg.h"
#include "fail.h"
#include "log.h"

static void *run(void *arg)
{
	struct bg_job *job = arg;
	char b = 'd';

	/* fail() state is per thread: what the job records is its own. */
	fail_clear();
	log_defer_this_thread();
	job->rc = job->fn(job->arg);
	job->code = fail_code();
	snprintf(job->msg, sizeof(job->msg), "%s", fail_msg());
	if (write(job->fds[1], &b, 1) < 0) {
		/* the loop will not hear of it; nothing else to tell */
	}
	return NULL;
}

int bg_start(struct bg_job *job, int (*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	if (job->running)
		return fail(EXIT_ERROR, "a connection attempt is already running");
	if (pipe2(job->fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return fail(EXIT_ERROR, "pipe: %s", strerror(errno));
	job->fn = fn;
	job->arg = arg;
	job->rc = -1;
	job->code = 0;
	job->msg[0] = '\0';
	/* Signals belong to the loop's thread (its self-pipe). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&job->thread, NULL, run, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(job->fds[0]);
		close(job->fds[1]);
		return fail(EXIT_ERROR, "cannot start a thread: %s", strerror(rc));
	}
	job->running = true;
	return 0;
}

int bg_finish(struct bg_job *job)
{
	if (!job->running)
		return -1;
	pthread_join(job->thread, NULL);
	job->running = false;
	close(job->fds[0]);
	close(job->fds[1]);
	log_flush_deferred();
	if (job->rc < 0 && job->code)
		fail(job->code, "%s", job->msg);
	return job->rc;
}
