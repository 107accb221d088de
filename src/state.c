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
#include "dns.h"
#include "fail.h"
#include "prefix.h"
#include "log.h"
#include "netlink.h"
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

/* Is pid an sshtun still running?  (A recycled pid running something else
 * does not count.) */
static bool running(pid_t pid)
{
	char a[PATH_MAX], b[PATH_MAX], link[64];
	ssize_t la, lb;

	if (pid <= 0 || pid == getpid() || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	la = readlink(link, a, sizeof(a) - 1);
	lb = readlink("/proc/self/exe", b, sizeof(b) - 1);
	if (la <= 0 || lb <= 0)
		return true;	/* cannot tell: assume it is ours */
	a[la] = b[lb] = '\0';
	/* A rebuilt binary shows " (deleted)"; compare names only. */
	return strncmp(a, b, (size_t)lb) == 0;
}

static int undo_pin(const struct state_record *r, bool verbose)
{
	char a[INET6_ADDRSTRLEN + 8];
	int rc = net_route_del(&r->dst, r->ifindex);

	inet_prefix_str(&r->dst, true, a, sizeof(a));
	if (rc < 0 && rc != -ESRCH)
		log_warn("cannot remove route %s: %s", a, strerror(-rc));
	else if (verbose && rc == 0)
		printf("removed route %s\n", a);
	return 0;
}

int state_undo(const char *path, bool verbose)
{
	static struct state_record rec[STATE_MAX_RECORDS + 1];
	static char text[(STATE_MAX_RECORDS + 2) * (STATE_LINE_MAX + 1)];
	char backup[STATE_LINE_MAX], err[400];
	int undone = 0, n, fd;
	size_t len = 0;
	ssize_t got;

	/* Root acts on what this file says: it must be a plain file of ours
	 * that nobody else could have written. */
	fd = safe_open(path, O_RDONLY, 0, err, sizeof(err));
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(EXIT_ERROR, "not acting on a state file: %s", err);
	}
	while (len < sizeof(text) && (got = read(fd, text + len, sizeof(text) - len)) > 0)
		len += (size_t)got;
	close(fd);
	snprintf(backup, sizeof(backup), "%s.resolv.conf", path);
	n = state_parse(text, len, path, backup, rec, (int)ARRAY_SIZE(rec));
	/* A live instance's records are its own business: check before any. */
	for (int i = 0; i < n; i++)
		if (rec[i].kind == STATE_PID && running(rec[i].pid))
			return fail(EXIT_ERROR,
				    "the instance of %s is still running (pid %d): stop it with sshtun ctl ... quit",
				    path, rec[i].pid);
	for (int i = 0; i < n; i++) {
		if (rec[i].kind == STATE_PIN && undo_pin(&rec[i], verbose) == 0)
			undone++;
		else if (rec[i].kind == STATE_DNS && dns_undo_record(rec[i].args, verbose) == 0)
			undone++;
	}
	unlink(path);
	return undone;
}
