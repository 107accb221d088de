/* Crash records, and undoing them (state.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "prefix.h"
#include "log.h"
#include "safefile.h"
#include "state.h"

void state_init(struct state *st, const char *path)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->path, sizeof(st->path), "%s", path);
}

static int write_file(struct state *st)
{
	char tmp[300], err[400];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", st->path);
	fd = safe_create(tmp, 0600, err, sizeof(err));
	if (fd < 0) {
		log_warn("cannot record state: %s", err);
		return -1;
	}
	if (!(f = fdopen(fd, "w"))) {
		log_warn("cannot record state in %s: %s", tmp, strerror(errno));
		close(fd);
		return -1;
	}
	fprintf(f, "pid %d\n", (int)getpid());
	for (int i = 0; i < st->n; i++)
		fprintf(f, "%s\n", st->rec[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		log_warn("cannot record state in %s: %s", tmp, strerror(errno));
		return -1;
	}
	fclose(f);
	if (rename(tmp, st->path) < 0) {
		log_warn("cannot record state in %s: %s", st->path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int state_add(struct state *st, const char *fmt, ...)
{
	va_list ap;

	if (!st->path[0])
		return 0;
	if (st->n == STATE_MAX_RECORDS) {
		log_warn("too many state records for %s", st->path);
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(st->rec[st->n], STATE_LINE_MAX, fmt, ap);
	va_end(ap);
	st->n++;
	return write_file(st);
}

int state_remove(struct state *st, const char *record)
{
	for (int i = 0; i < st->n; i++) {
		if (strcmp(st->rec[i], record))
			continue;
		memmove(st->rec[i], st->rec[i + 1], (size_t)(st->n - i - 1) * STATE_LINE_MAX);
		st->n--;
		return write_file(st);
	}
	return 0;
}

void state_discard(struct state *st)
{
	if (st->path[0])
		unlink(st->path);
	st->n = 0;
}
