/* See safefile.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fail.h"
#include "safefile.h"

/* A symbolic link on the way is as good as its owner: in a sticky directory
 * (where the rest of the walk lets it be) that user may replace it at any
 * moment, and the directory checked through it is then not the one used.
 * Ours or root's only; anything else about it is the target's check. */
static int link_ok(const char *name, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(name, &st) < 0 || !S_ISLNK(st.st_mode) || st.st_uid == geteuid() || st.st_uid == 0)
		return 0;
	return errorf(err, errlen, "refusing %s: symbolic link %s on the way is owned by uid %u, "
		      "not by us or root", dir, name, (unsigned)st.st_uid);
}

static int check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (link_ok(dir, dir, err, errlen) < 0)
		return -1;
	if (stat(dir, &st) < 0)
		return errorf(err, errlen, "cannot use directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errorf(err, errlen, "%s is not a directory", dir);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return errorf(err, errlen, "refusing directory %s: owned by uid %u, not by us or root",
			      dir, (unsigned)st.st_uid);
	if (st.st_mode & 022)
		return errorf(err, errlen, "refusing directory %s: mode %04o lets others write to it (chmod go-w)",
			      dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* A directory above ours: whoever may write to it may rename ours away and
 * put one of their own in its place, so each one up to / must be ours or
 * root's and closed to others, as OpenSSH's safe_path() walks them.  A sticky
 * one (/tmp) lets others add names but not move ours: it passes when its
 * owner is us or root, since its owner could move ours. */
static int check_above(const char *above, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (link_ok(above, dir, err, errlen) < 0)
		return -1;
	if (stat(above, &st) < 0)
		return errorf(err, errlen, "cannot use directory %s (it holds %s): %s", above, dir,
			      strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errorf(err, errlen, "%s is not a directory (it holds %s)", above, dir);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return errorf(err, errlen, "refusing %s: directory %s above it is owned by uid %u, "
			      "not by us or root", dir, above, (unsigned)st.st_uid);
	if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
		return errorf(err, errlen, "refusing %s: directory %s above it has mode %04o, which lets "
			      "others write to it (chmod go-w)", dir, above, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Every parent of path, by its name; stops at / or, for a relative name, at
 * its first part (the real path's walk covers the rest). */
static int walk_up(const char *path, const char *dir, char *err, size_t errlen)
{
	char p[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(p))
		return errorf(err, errlen, "path too long: %s", path);
	memcpy(p, path, n + 1);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	for (;;) {
		char *slash = strrchr(p, '/');

		if (!slash)
			return 0;
		if (slash == p)
			return p[1] ? check_above("/", dir, err, errlen) : 0;
		*slash = '\0';
		if (check_above(p, dir, err, errlen) < 0)
			return -1;
	}
}

/* The parents by name hold any symlink on the way (/var for /var/run); the
 * parents of the real path are where the directory actually is. */
static int parents_ok(const char *dir, char *err, size_t errlen)
{
	char real[PATH_MAX];

	if (walk_up(dir, dir, err, errlen) < 0)
		return -1;
	if (!realpath(dir, real))
		return errorf(err, errlen, "cannot resolve directory %s: %s", dir, strerror(errno));
	return strcmp(real, dir) ? walk_up(real, dir, err, errlen) : 0;
}

static int check_tree(const char *dir, char *err, size_t errlen)
{
	if (check_dir(dir, err, errlen) < 0)
		return -1;
	return parents_ok(dir, err, errlen);
}

int safe_dir(const char *dir, bool create, mode_t mode, char *err, size_t errlen)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return errorf(err, errlen, "bad directory `%s'", dir);
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; create; s++) {
		char c = *s;

		if (c && c != '/')
			continue;
		*s = '\0';
		if (mkdir(p, c ? 0700 : mode) < 0 && errno != EEXIST)
			return errorf(err, errlen, "cannot create directory %s: %s", p, strerror(errno));
		/* nothing made below a part others could swap */
		if (c && check_above(p, dir, err, errlen) < 0)
			return -1;
		*s = c;
		if (!c)
			break;
	}
	return check_tree(dir, err, errlen);
}

static int parent_ok(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (!slash)
		return check_tree(".", err, errlen);
	if (slash == path)
		return check_tree("/", err, errlen);
	if ((size_t)(slash - path) >= sizeof(dir))
		return errorf(err, errlen, "path too long: %s", path);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return check_tree(dir, err, errlen);
}

int safe_open(const char *path, int flags, mode_t mode, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	if (parent_ok(path, err, errlen) < 0) {
		errno = EPERM;
		return -1;
	}
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP)
			errorf(err, errlen, "refusing %s: it is a symbolic link", path);
		else
			errorf(err, errlen, "cannot open %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		errorf(err, errlen, "cannot stat %s: %s", path, strerror(e));
		goto refuse;
	}
	e = EPERM;
	if (!S_ISREG(st.st_mode))
		errorf(err, errlen, "refusing %s: not a plain file", path);
	else if (st.st_nlink != 1)
		errorf(err, errlen, "refusing %s: it has %lu hard links", path, (unsigned long)st.st_nlink);
	else if (st.st_uid != geteuid())
		errorf(err, errlen, "refusing %s: owned by uid %u, not by us", path, (unsigned)st.st_uid);
	else if (st.st_mode & 022)
		errorf(err, errlen, "refusing %s: mode %04o lets others write to it", path,
		       (unsigned)(st.st_mode & 07777));
	else
		return fd;
refuse:
	close(fd);
	errno = e;
	return -1;
}

int safe_create(const char *path, mode_t mode, char *err, size_t errlen)
{
	struct stat st;

	if (parent_ok(path, err, errlen) < 0)
		return -1;
	if (lstat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && unlink(path) < 0 &&
	    errno != ENOENT)
		return errorf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
	return safe_open(path, O_WRONLY | O_CREAT | O_EXCL, mode, err, errlen);
}
