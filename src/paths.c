/* See paths.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "paths.h"

int paths_dir(char *out, size_t cap)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(out, cap, "/run/sshtun");
	else if (rt && rt[0] == '/')
		n = snprintf(out, cap, "%s/sshtun", rt);
	else	/* no XDG_RUNTIME_DIR (no login session): a private dir of ours */
		n = snprintf(out, cap, "/tmp/sshtun-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= cap)
		return fail(EXIT_USAGE, "the directory for control sockets is too long (max %zu bytes)", cap - 1);
	return 0;
}

int paths_socket(const char *name, char *out, size_t cap)
{
	char dir[PATHS_SOCK_MAX];
	int n;

	if (!*name || strchr(name, '/') || strspn(name, ".") == strlen(name))
		return fail(EXIT_USAGE, "bad instance name `%s' (it names a file: not empty, "
			    "no `/')", name);
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return fail(EXIT_USAGE, "bad instance name `%s' (no spaces or control characters)", name);
	if (paths_dir(dir, sizeof(dir)) < 0)
		return -1;
	n = snprintf(out, cap, "%s/%s.sock", dir, name);
	if (n < 0 || (size_t)n >= cap || (size_t)n >= PATHS_SOCK_MAX)
		return fail(EXIT_USAGE, "control socket path for `%s' is too long (max %d bytes); "
			    "use a shorter -n NAME or -S PATH", name, PATHS_SOCK_MAX - 1);
	return 0;
}

int paths_find_socket(const char *name, char *out, size_t cap)
{
	char run[PATHS_SOCK_MAX];
	struct stat st;
	int n;

	if (paths_socket(name, out, cap) < 0)
		return -1;
	if (geteuid() == 0 || access(out, F_OK) == 0)
		return 0;
	/* `sudo sshtun NAME' listens in root's directory, on a socket that
	 * belongs to the user its network side runs as. */
	n = snprintf(run, sizeof(run), "/run/sshtun/%s.sock", name);
	if (n > 0 && (size_t)n < sizeof(run) && (size_t)n < cap && lstat(run, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_uid == geteuid())
		memcpy(out, run, (size_t)n + 1);
	return 0;
}

int paths_state(const char *sock_path, char *out, size_t cap)
{
	size_t n = strlen(sock_path);
	int w;

	if (n > 5 && !strcmp(sock_path + n - 5, ".sock"))
		n -= 5;
	w = snprintf(out, cap, "%.*s.state", (int)n, sock_path);
	if (w < 0 || (size_t)w >= cap)
		return fail(EXIT_USAGE, "state file path for %s too long", sock_path);
	return 0;
}

size_t paths_sock_name_len(const char *fname)
{
	size_t n = strlen(fname);

	return n > 5 && !strcmp(fname + n - 5, ".sock") ? n - 5 : 0;
}

void paths_instance(const char *path, char *out, size_t cap)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = paths_sock_name_len(base);

	snprintf(out, cap, "%.*s", (int)(n ? n : strlen(base)), base);
}
