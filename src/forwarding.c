/* See forwarding.h.  The saved file: one "<path under /proc/sys/net> <value>"
 * a line, global settings first, then the defaults, then each interface:
 * restoring in that order undoes the global write's fan-out. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "forwarding.h"
#include "log.h"
#include "safefile.h"

#define IP4_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define IP6_FORWARD "/proc/sys/net/ipv6/conf/all/forwarding"
#define LINE_MAX_LEN 200

static int read_sysctl(const char *path, char *v, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, v, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	v[n] = '\0';
	v[strcspn(v, "\n")] = '\0';
	return 0;
}

static int write_sysctl(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, v, strlen(v));
	close(fd);
	return n == (ssize_t)strlen(v) ? 0 : -1;
}

static void save_one(FILE *f, const char *path)
{
	char v[32];

	if (read_sysctl(path, v, sizeof(v)) == 0)
		fprintf(f, "%s %s\n", path, v);
}

/* conf/<dev>/forwarding of one family: "default" first, then each device
 * but our own TUNs (they go away with their helpers). */
static void save_devices(FILE *f, const char *family)
{
	char dir[64], path[LINE_MAX_LEN];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/sys/net/%s/conf", family);
	snprintf(path, sizeof(path), "%s/default/forwarding", dir);
	save_one(f, path);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 16 || !strcmp(e->d_name, "all") || !strcmp(e->d_name, "default") ||
		    !strncmp(e->d_name, "sshtun", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%.15s/forwarding", dir, e->d_name);
		save_one(f, path);
	}
	closedir(d);
}

static int save(const char *saved, const char *uplink, char *err, size_t errlen)
{
	char path[LINE_MAX_LEN];
	int fd = safe_create(saved, 0600, err, errlen);
	FILE *f;

	if (fd < 0)
		return -1;
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		return errorf(err, errlen, "cannot write %s: %s", saved, strerror(errno));
	}
	save_one(f, IP4_FORWARD);
	save_one(f, "/proc/sys/net/ipv4/conf/all/forwarding");
	save_one(f, IP6_FORWARD);
	save_devices(f, "ipv4");
	save_devices(f, "ipv6");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_ra", uplink);
	save_one(f, path);
	if (fflush(f) != 0 || fsync(fd) != 0) {
		fclose(f);
		unlink(saved);
		return errorf(err, errlen, "cannot write %s: %s", saved, strerror(errno));
	}
	fclose(f);
	return 0;
}

/* A line of the saved file, checked: root writes only forwarding and
 * accept_ra settings under /proc/sys/net, with a small number. */
static bool parse_line(char *line, char **path, char **value)
{
	char *sp = strchr(line, ' ');
	size_t n;

	if (!sp)
		return false;
	*sp = '\0';
	*path = line;
	*value = sp + 1;
	(*value)[strcspn(*value, "\n")] = '\0';
	n = strlen(*path);
	if (strncmp(*path, "/proc/sys/net/ipv", 17) || strstr(*path, "..") ||
	    (strcmp(*path, IP4_FORWARD) && (n < 11 || strcmp(*path + n - 11, "/forwarding")) &&
	     (n < 10 || strcmp(*path + n - 10, "/accept_ra"))))
		return false;
	n = strlen(*value);
	return n > 0 && n < 4 && strspn(*value, "-0123456789") == n;
}

static int read_saved(const char *saved, struct fwd_before *before)
{
	char line[LINE_MAX_LEN + 40], err[300], *path, *v;
	int fd = safe_open(saved, O_RDONLY, 0, err, sizeof(err));
	FILE *f;

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("%s", err);
		return -1;
	}
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!parse_line(line, &path, &v))
			continue;
		if (!strcmp(path, IP4_FORWARD))
			before->v4 = strcmp(v, "0") != 0;
		else if (!strcmp(path, IP6_FORWARD))
			before->v6 = strcmp(v, "0") != 0;
	}
	fclose(f);
	return 0;
}

int fwd_enable(const char *saved, bool v4, bool v6, const char *uplink, struct fwd_before *before,
	       char *err, size_t errlen)
{
	char path[LINE_MAX_LEN], v[32];

	memset(before, 0, sizeof(*before));
	if (read_saved(saved, before) < 0) {
		if (errno != ENOENT)
			return errorf(err, errlen, "cannot use %s", saved);
		if (save(saved, uplink, err, errlen) < 0 || read_saved(saved, before) < 0)
			return -1;
	}
	if (v4 && write_sysctl(IP4_FORWARD, "1") < 0)
		return errorf(err, errlen, "cannot turn on forwarding (%s): %s", IP4_FORWARD, strerror(errno));
	if (v6) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_ra", uplink);
		if (read_sysctl(path, v, sizeof(v)) == 0 && !strcmp(v, "1") && write_sysctl(path, "2") < 0)
			return errorf(err, errlen, "cannot set %s to 2: %s", path, strerror(errno));
		if (write_sysctl(IP6_FORWARD, "1") < 0)
			return errorf(err, errlen, "cannot turn on forwarding (%s): %s", IP6_FORWARD,
				      strerror(errno));
	}
	return 0;
}

void fwd_restore(const char *saved)
{
	char line[LINE_MAX_LEN + 40], err[300], *path, *v;
	int fd = safe_open(saved, O_RDONLY, 0, err, sizeof(err));
	FILE *f;

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("forwarding settings not restored: %s", err);
		return;
	}
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!parse_line(line, &path, &v)) {
			log_warn("%s: bad line skipped", saved);
			continue;
		}
		/* An interface that is gone has nothing to restore. */
		if (write_sysctl(path, v) < 0 && errno != ENOENT)
			log_warn("cannot restore %s to %s: %s", path, v, strerror(errno));
	}
	fclose(f);
	unlink(saved);
}
