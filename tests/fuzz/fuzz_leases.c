/* The lease file reader (pool.c) on arbitrary file contents, through the
 * pool's own calls: the input is written as the lease file, then a helper
 * counts live leases, takes a lease, takes it again, releases it and takes
 * it back.
 *
 * Input: one byte of knobs, then the file.
 *   bit 0     the taker is account 1000, else 0 (uids that lines may name)
 *   bit 1     grace time 0, else the default
 *   bits 2-3  max_per_account 1 .. 4
 *   bit 4     the file is cut at its first 0xff byte: the rest is the
 *             connection groups' file (group.h)
 * Checks: counts and indexes stay inside the pool; only the pool's own
 * refusals (full, account cap), never an I/O error; whatever the file held,
 * the file written back reads again without a single warning and holds at
 * most one line per pair; the same id and account get the same pair back,
 * also after a release; messages are one line.  Then a group on our lease:
 * the right token joins it with its pair, a wrong one is NOJOIN; our
 * release ends it, and the groups' file is gone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "fuzz.h"
#include "log.h"
#include "pool.h"

static char path[256], gpath[300];
static struct pool pool;
static unsigned warnings;

static void sink(enum log_level level, const char *line, void *ctx)
{
	if (level <= LOG_WARN)
		warnings++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[200], err[256];

	fuzz_tempdir("leases", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/leases", dir);
	snprintf(gpath, sizeof(gpath), "%s" GROUP_FILE_SUFFIX, path);
	/* 32 pairs: small enough to fill, large enough for the line numbers. */
	if (pool_init(&pool, "198.18.0.0/26", "2001:db8:77::/64", path, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_leases: %s\n", err);
		exit(1);
	}
	log_level = LOG_WARN;
	log_set_sink(sink, NULL);
	return 0;
}

static void check_msg(const char *err, size_t cap)
{
	size_t n = strnlen(err, cap);

	CHECK(n > 0 && n < cap);
	CHECK(!memchr(err, '\n', n));
}

static unsigned lines_of_file(void)
{
	char buf[4096];
	unsigned lines = 0;
	size_t n;
	FILE *f = fopen(path, "r");

	CHECK(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	fclose(f);
	return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char id[] = "0123456789abcdef0123456789abcdef";
	struct account acct = { 0, "root" };
	struct lease_holder who = { .id = id, .account = &acct, .pid = getpid() };
	struct lease l, l2;
	char err[ERROR_MSG_MAX];
	FILE *f;
	int rc;

	if (size < 1)
		return 0;
	if (data[0] & 1)
		acct = (struct account){ 1000, "alice" };
	pool.grace = data[0] & 2 ? 0 : POOL_GRACE_DEFAULT;
	pool.max_per_account = 1 + ((data[0] >> 2) & 3);
	const uint8_t *cut = data[0] & 0x10 ? memchr(data + 1, 0xff, size - 1) : NULL;
	size_t n = cut ? (size_t)(cut - data - 1) : size - 1;
	struct pool_join j;

	f = fopen(path, "w");
	CHECK(f);
	CHECK(fwrite(data + 1, 1, n, f) == n);
	CHECK(fclose(f) == 0);
	unlink(gpath);
	if (cut) {
		f = fopen(gpath, "w");
		CHECK(f);
		n = size - (size_t)(cut + 1 - data);
		CHECK(fwrite(cut + 1, 1, n, f) == n);
		CHECK(fclose(f) == 0);
	}

	warnings = 0;
	CHECK(pool_live(&pool, 0) <= pool_size(&pool));
	memset(err, 'X', sizeof(err));
	rc = pool_acquire(&pool, &who, NULL, NULL, NULL, &l, err, sizeof(err));
	if (rc < 0) {
		CHECK(rc == POOL_FULL || rc == POOL_ACCOUNT_CAP);
		check_msg(err, sizeof(err));
		return 0;
	}
	CHECK(l.index < pool_size(&pool));
	CHECK(l.previous_pid != who.pid);	/* never told to stop itself */
	CHECK(lines_of_file() <= pool_size(&pool));

	/* What we wrote reads back clean, and gives us the same pair. */
	warnings = 0;
	CHECK(pool_acquire(&pool, &who, NULL, NULL, NULL, &l2, err, sizeof(err)) == 0);
	CHECK(warnings == 0);
	CHECK(l2.index == l.index);
	CHECK(pool_release(&pool, &who) == 0);
	CHECK(pool_acquire(&pool, &who, NULL, NULL, NULL, &l2, err, sizeof(err)) == 0);
	CHECK(l2.index == l.index);
	CHECK(warnings == 0);

	/* No one else's group survives on our pair; ours takes joins. */
	CHECK(l.nstale <= GROUP_MAX_MEMBERS);
	for (unsigned k = 0; k < l.nstale; k++)
		CHECK(l.stale[k] != who.pid);
	CHECK(pool_group_join(&pool, &who, "00112233445566778899aabbccddeeff", -1, &j, err,
			      sizeof(err)) == POOL_NOJOIN);
	check_msg(err, sizeof(err));
	CHECK(pool_group_create(&pool, &who, "00112233445566778899aabbccddeeff", "sshtun0", 1,
				1400, 0, err, sizeof(err)) == 0);
	CHECK(pool_group_join(&pool, &who, "00112233445566778899aabbccddeefe", -1, &j, err,
			      sizeof(err)) == POOL_NOJOIN);
	check_msg(err, sizeof(err));
	CHECK(!strstr(err, "00112233445566778899aabbccddee"));
	CHECK(pool_group_join(&pool, &who, "00112233445566778899aabbccddeeff", -1, &j, err,
			      sizeof(err)) == 0);
	CHECK(j.lease.index == l.index && j.mtu == 1400 && !strcmp(j.ifname, "sshtun0"));
	CHECK(pool_release(&pool, &who) == 0);
	CHECK(access(gpath, F_OK) < 0);
	CHECK(warnings == 0);
	return 0;
}
