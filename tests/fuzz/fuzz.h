/* Shared by the libFuzzer targets in tests/fuzz/ (built by run.sh from the
 * real sources, under ASan and UBSan).  A broken invariant aborts, so that
 * libFuzzer keeps the input as a crash artifact, like a sanitizer report. */
#ifndef SSHTUN_FUZZ_H
#define SSHTUN_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* A private directory for targets that read and write files; it and the
 * files in it go at exit.  On tmpfs (/dev/shm) when there is one, like the
 * lease file's /run: on ext4 each create-and-rename costs eight times as
 * much.  Else under $TMPDIR (run.sh points it into build/fuzz/).  Writes
 * its path to dir; exits when it cannot. */
static char fuzz_dir_path[256];

static void fuzz_dir_remove(void)
{
	char p[512];
	DIR *d = opendir(fuzz_dir_path);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", fuzz_dir_path, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(fuzz_dir_path);
}

static inline void fuzz_tempdir(const char *tag, char *dir, size_t cap)
{
	const char *tmp = getenv("TMPDIR");

	if (access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/fuzz-%s-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", tag);
	if (!mkdtemp(fuzz_dir_path)) {
		perror("fuzz: mkdtemp");
		exit(1);
	}
	atexit(fuzz_dir_remove);
	snprintf(dir, cap, "%s", fuzz_dir_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
