/* See pidexe.h. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pidexe.h"

static size_t without_deleted(const char *s)
{
	static const char mark[] = " (deleted)";
	size_t n = strlen(s), m = sizeof(mark) - 1;

	return n > m && !strcmp(s + n - m, mark) ? n - m : n;
}

bool exe_same(const char *a, const char *b)
{
	size_t la = without_deleted(a), lb = without_deleted(b);

	return la == lb && !memcmp(a, b, la);
}

int pid_runs_our_binary(pid_t pid)
{
	char a[PATH_MAX], b[PATH_MAX], link[64];
	ssize_t la, lb;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return 0;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	la = readlink(link, a, sizeof(a) - 1);
	lb = readlink("/proc/self/exe", b, sizeof(b) - 1);
	if (la <= 0 || lb <= 0)
		return errno == ENOENT ? 0 : -1;
	a[la] = b[lb] = '\0';
	return exe_same(a, b);
}
