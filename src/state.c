/* Crash records and `sshtun cleanup`. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "control.h"
#include "dns.h"
#include "fail.h"
#include "prefix.h"
#include "log.h"
#include "netlink.h"
#include "safefile.h"
#include "state.h"

int state_path_for(const char *sock_path, char *out, size_t cap)
{
	size_t n = strlen(sock_path);
	const char *ext = n > 5 && !strcmp(sock_path + n - 5, ".sock") ? "" : NULL;
	int w;

	if (ext)
		w = snprintf(out, cap, "%.*s.state", (int)(n - 5), sock_path);
	else
		w = snprintf(out, cap, "%s.state", sock_path);
	if (w < 0 || (size_t)w >= cap)
		return fail(EXIT_USAGE, "state file path for %s too long", sock_path);
	return 0;
}

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

static int cleanup_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int total = 0, rc;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char path[512];

		if (n < 7 || strcmp(e->d_name + n - 6, ".state"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rc = state_undo(path, true);
		if (rc < 0) {
			log_warn("%s", fail_msg());
			fail_clear();
		} else {
			total += rc;
		}
	}
	closedir(d);
	return total;
}

int cleanup_main(int argc, char **argv)
{
	const char *name = NULL, *sock = NULL;
	char sock_buf[256], path[300];
	int c, rc;

	optind = 1;
	while ((c = getopt(argc, argv, "hn:S:")) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'S': sock = optarg; break;
		case 'h':
			printf("usage: sshtun cleanup [-n NAME | -S PATH]\n");
			return EXIT_OK;
		default:
			return fail(EXIT_USAGE, "usage: sshtun cleanup [-n NAME | -S PATH]");
		}
	}
	if (optind != argc)
		return fail(EXIT_USAGE, "usage: sshtun cleanup [-n NAME | -S PATH]");
	if (!name && !sock) {
		/* Every dead instance of this user. */
		if (control_default_path("x", sock_buf, sizeof(sock_buf)) < 0)
			return fail_code();
		*strrchr(sock_buf, '/') = '\0';
		rc = cleanup_dir(sock_buf);
	} else {
		if (!sock) {
			if (control_default_path(name, sock_buf, sizeof(sock_buf)) < 0)
				return fail_code();
			sock = sock_buf;
		}
		if (state_path_for(sock, path, sizeof(path)) < 0)
			return fail_code();
		rc = state_undo(path, true);
		if (rc < 0)
			return fail_code();
	}
	if (rc == 0)
		printf("nothing to clean up\n");
	return EXIT_OK;
}
