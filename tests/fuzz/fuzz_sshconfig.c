/* The ssh_config reader on arbitrary files, and sshconfig_expand() on every
 * value it hands over.
 *
 * The input goes into a memfd read as /proc/self/fd/N (as with -F: no
 * permission check).  Include is live but kept in a sandbox: HOME is a
 * temporary directory whose .ssh/ holds a few small files (see setup), and
 * the link wraps glob() (-Wl,--wrap=glob) so that a pattern outside that
 * directory, or with "..", matches nothing.  Otherwise the fuzzer would
 * read the whole file system (as root, /proc/kmsg blocks forever).
 *
 * Input: one byte of knobs, then the file.
 *   bits 0-1  the host: example.com, h, 10.0.0.1, alias.internal
 *   bit 2     sshconfig_target.user set ("fuzzuser")
 *   bit 3     sshconfig_target.hostname set ("real.example")
 *   bit 4     the callback fails on the third line it gets
 *   bits 5-7  the output size for sshconfig_expand()
 * Checks: the callback sees a keyword without blanks and a value within
 * SSHCONFIG_LINE_MAX; every -1 comes with a fail() message; expansion fits
 * its buffer and is "" after a failure. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "fuzz.h"
#include "log.h"
#include "sshconfig.h"

static char sandbox[PATH_MAX];
static char input[64];
static int memfd = -1;

int __real_glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *pglob);

int __wrap_glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *pglob)
{
	size_t n = strlen(sandbox);

	if (strncmp(pattern, sandbox, n) || pattern[n] != '/' || strstr(pattern, "..")) {
		memset(pglob, 0, sizeof(*pglob));
		return GLOB_NOMATCH;
	}
	return __real_glob(pattern, flags, errfunc, pglob);
}

static void put_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/.ssh/%s", sandbox, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, mode) < 0) {
		fprintf(stderr, "fuzz_sshconfig: cannot write %s\n", path);
		exit(1);
	}
}

static void remove_sandbox(void)
{
	static const char *const files[] = { "a", "b", "loop", "badperm" };
	char path[PATH_MAX + 64];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/.ssh/%s", sandbox, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/.ssh/dir", sandbox);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/.ssh", sandbox);
	rmdir(path);
	rmdir(sandbox);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX + 64];

	log_level = LOG_QUIET;
	snprintf(sandbox, sizeof(sandbox), "%s/sshtun-fuzz-sshconfig.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(sandbox) || !realpath(sandbox, dir)) {
		fprintf(stderr, "fuzz_sshconfig: no temporary directory\n");
		exit(1);
	}
	snprintf(sandbox, sizeof(sandbox), "%s", dir);
	setenv("HOME", sandbox, 1);
	snprintf(dir, sizeof(dir), "%s/.ssh", sandbox);
	mkdir(dir, 0700);
	put_file("a", "Host *.internal\n  User inside\n  Port 2222\nMatch all\n  Compression yes\n", 0600);
	put_file("b", "Include a\nHostName b.example\nMatch host b.example\n  User bee\n", 0600);
	put_file("loop", "Include loop\n", 0600);
	put_file("badperm", "User nobody\n", 0666);
	snprintf(dir, sizeof(dir), "%s/.ssh/dir", sandbox);
	mkdir(dir, 0700);
	atexit(remove_sandbox);

	memfd = memfd_create("fuzz-ssh-config", MFD_CLOEXEC);
	if (memfd < 0) {
		fprintf(stderr, "fuzz_sshconfig: memfd_create: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(input, sizeof(input), "/proc/self/fd/%d", memfd);
	return 0;
}

static struct run {
	int lines, fail_at;
	size_t expand_cap;
} run;

static void check_expand(const char *value)
{
	char out[SSHCONFIG_LINE_MAX * 2];
	size_t cap = run.expand_cap;

	memset(out, 'X', sizeof(out));
	fail_clear();
	if (sshconfig_expand(value, "host.example", 22, "ruser", out, cap) < 0) {
		CHECK(fail_code() != 0 && fail_msg()[0]);
		CHECK(cap == 0 || out[0] == '\0');
	} else {
		CHECK(cap > 0 && strnlen(out, cap) < cap);
	}
	CHECK(cap == sizeof(out) || out[cap] == 'X');	/* nothing past cap */
	fail_clear();
}

static int on_line(void *ctx, const char *keyword, const char *value, const char *file,
		   int line)
{
	CHECK(ctx == &run);
	CHECK(keyword[0] && !strpbrk(keyword, " \t=\n"));
	CHECK(strlen(value) <= SSHCONFIG_LINE_MAX);
	CHECK(file && line > 0);
	check_expand(value);
	if (++run.lines == run.fail_at)
		return fail(EXIT_USAGE, "%s:%d: the fuzz callback refuses %s", file, line, keyword);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "example.com", "h", "10.0.0.1", "alias.internal" };
	static const size_t caps[] = { 0, 1, 2, 8, 64, 256, 4097, SSHCONFIG_LINE_MAX * 2 };
	struct sshconfig_target t = { 0 };
	uint8_t knobs;
	int rc;

	if (size < 1)
		return 0;
	knobs = data[0];
	if (ftruncate(memfd, 0) < 0 ||
	    (size > 1 && pwrite(memfd, data + 1, size - 1, 0) != (ssize_t)(size - 1)))
		return 0;

	t.host = hosts[knobs & 3];
	t.user = knobs & 4 ? "fuzzuser" : NULL;
	t.hostname = knobs & 8 ? "real.example" : NULL;
	run = (struct run){ .fail_at = knobs & 16 ? 3 : -1, .expand_cap = caps[knobs >> 5] };

	fail_clear();
	rc = sshconfig_read_target(input, &t, on_line, &run);
	CHECK(rc == 0 || rc == -1);
	if (rc < 0)
		CHECK(fail_code() != 0 && fail_msg()[0]);
	else
		CHECK(run.fail_at < 0 || run.lines < run.fail_at);
	fail_clear();
	return 0;
}
