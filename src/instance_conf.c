/* Instance files (instance_conf.h).  The file may name a ProxyCommand, so
 * it must be as trusted as the one running it: owned by root or by the
 * caller, writable by nobody else, like ssh's own config files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "common.h"
#include "fail.h"
#include "instance_conf.h"
#include "safefile.h"
#include "tokenize.h"

#define CONF_FILE_MAX (64 * 1024)

static char store[CONF_FILE_MAX + INSTANCE_CONF_MAX_ARGS];

static int name_ok(const char *name)
{
	if (!*name || strchr(name, '/') || name[0] == '.' || name[0] == '-' || strlen(name) > 64)
		return fail(EXIT_USAGE, "bad instance name `%s' (a file name: no `/', not starting with `.' or `-', at most 64 characters)",
			    name);
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return fail(EXIT_USAGE, "bad instance name `%s' (no spaces or control characters)", name);
	return 0;
}

int instance_conf_read(const char *name, char **argv, int cap, int *ndest_out)
{
	const char *dir = getenv("SSHTUN_CONF_DIR");
	char path[512], text[CONF_FILE_MAX + 1], err[200], derr[ERROR_MSG_MAX - 64];
	static struct tokens t;
	static char *dest[INSTANCE_CONF_MAX_ARGS];
	size_t used = 0;
	struct stat st;
	ssize_t n;
	int fd, count = 0, ndest = 0, lineno = 0;
	char *line, *save = NULL;

	if (name_ok(name) < 0)
		return -1;
	if (!dir || !*dir)
		dir = INSTANCE_CONF_DIR;
	if (snprintf(path, sizeof(path), "%s/%s.conf", dir, name) >= (int)sizeof(path))
		return fail(EXIT_USAGE, "instance file path for `%s' is too long", name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fail(EXIT_USAGE, "no instance `%s': cannot open %s: %s", name, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(EXIT_USAGE, "instance file %s is not a regular file", path);
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		close(fd);
		return fail(EXIT_USAGE, "instance file %s must belong to root or to you and be writable by nobody else (owner %u, mode %03o): it can run commands (ProxyCommand)",
			    path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
	}
	/* Whoever may write to its directory, or to one above it, could put
	 * another file in its place. */
	if (safe_dir(dir, false, 0, derr, sizeof(derr)) < 0) {
		close(fd);
		return fail(EXIT_USAGE, "instance file %s: %s", path, derr);
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || n > CONF_FILE_MAX)
		return fail(EXIT_USAGE, "instance file %s: %s", path, n < 0 ? strerror(errno) : "over 64 KiB");
	text[n] = '\0';
	if (memchr(text, '\0', (size_t)n))
		return fail(EXIT_USAGE, "instance file %s is not text", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (tokenize(line, &t, 0, err, sizeof(err)) < 0)
			return fail(EXIT_USAGE, "%s:%d: %s", path, lineno, err);
		/* A line of options, or the destination: that goes last, since
		 * the client stops reading options at it. */
		bool is_dest = t.argc && t.argv[0][0] != '-';

		for (int i = 0; i < t.argc; i++) {
			size_t len = strlen(t.argv[i]) + 1;

			if (count + ndest == cap || used + len > sizeof(store))
				return fail(EXIT_USAGE, "%s:%d: too many arguments (max %d)", path, lineno, cap);
			memcpy(store + used, t.argv[i], len);
			if (is_dest)
				dest[ndest++] = store + used;
			else
				argv[count++] = store + used;
			used += len;
		}
	}
	if (!ndest)
		return fail(EXIT_USAGE, "instance file %s names no destination (a line like user@host)", path);
	memcpy(argv + count, dest, (size_t)ndest * sizeof(dest[0]));
	*ndest_out = ndest;
	return count + ndest;
}

int instance_main(int argc, char **argv)
{
	static char *args[INSTANCE_CONF_MAX_ARGS + 8];
	char *file[INSTANCE_CONF_MAX_ARGS];
	const char *name = argv[0] + 1;	/* main hands us "@NAME" as argv[0] */
	int n = 0, k, ndest;

	k = instance_conf_read(name, file, INSTANCE_CONF_MAX_ARGS, &ndest);
	if (k < 0)
		return fail_code();
	if (argc - 1 + k + 4 > (int)(sizeof(args) / sizeof(args[0])))
		return fail(EXIT_USAGE, "too many arguments after @%s", name);
	/* -n NAME, the file's options (a -n there wins), the caller's (-N
	 * from the unit; they win over the file's), the destination last. */
	args[n++] = "sshtun";
	args[n++] = "-n";
	args[n++] = (char *)name;
	for (int i = 0; i < k - ndest; i++)
		args[n++] = file[i];
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	for (int i = k - ndest; i < k; i++)
		args[n++] = file[i];
	args[n] = NULL;
	return client_main(n, args);
}
