/* The address pool and its lease file, in a throwaway directory. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "log.h"
#include "pool.h"

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

static char dir[64], subdir[80], path[96];
static pid_t sleeper;		/* a live "old helper", killed by teardown */
static unsigned warnings;
static char warned[4096];	/* every warning, one per line */

static void sink(enum log_level level, const char *line, void *ctx)
{
	size_t n = strlen(warned);

	if (level == LOG_WARN) {
		warnings++;
		snprintf(warned + n, sizeof(warned) - n, "%s\n", line);
	}
}

static void clear_warnings(void)
{
	warnings = 0;
	warned[0] = '\0';
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/sshtun-pool-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* The lease file's directory does not exist yet: acquire makes it. */
	snprintf(subdir, sizeof(subdir), "%s/run", dir);
	snprintf(path, sizeof(path), "%s/leases", subdir);
	clear_warnings();
	log_set_sink(sink, NULL);
	return 0;
}

static int teardown(void **state)
{
	static const char *const ext[] = { "", ".lock", ".tmp" };
	char p[128];

	if (sleeper > 0) {
		kill(sleeper, SIGKILL);
		waitpid(sleeper, NULL, 0);
		sleeper = 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		snprintf(p, sizeof(p), "%s%s", path, ext[i]);
		unlink(p);
	}
	rmdir(subdir);
	return rmdir(dir);
}

static void init(struct pool *pool, const char *net4, const char *net6)
{
	char err[256] = "";

	if (pool_init(pool, net4, net6, path, err, sizeof(err)) < 0) {
		print_error("pool_init: %s\n", err);
		_fail(__FILE__, __LINE__);
	}
	assert_int_equal(pool->grace, POOL_GRACE_DEFAULT);
	assert_int_equal(pool->max_per_account, POOL_PER_ACCOUNT_DEFAULT);
	/* The tests of the pairs themselves take many as one account. */
	pool->max_per_account = POOL_MAX_LEASES;
}

/* The accounts of the tests; most run as alice. */
static const struct account alice = { 1000, "alice" }, bob = { 1001, "bob" };

static int acquire_as(const struct pool *pool, const struct account *acct, const char *id,
		      pid_t pid, const char *w4, const char *w6, struct lease *l, char *err,
		      size_t errlen)
{
	struct inet_prefix p4 = { 0 }, p6 = { 0 };
	struct lease_holder who = { .id = id, .account = acct, .pid = pid };

	if (w4)
		assert_int_equal(inet_prefix_parse(w4, &p4), 0);
	if (w6)
		assert_int_equal(inet_prefix_parse(w6, &p6), 0);
	err[0] = '\0';
	return pool_acquire(pool, &who, &p4, &p6, NULL, l, err, errlen);
}

static int acquire_want(const struct pool *pool, const char *id, pid_t pid, const char *w4,
			const char *w6, struct lease *l, char *err, size_t errlen)
{
	return acquire_as(pool, &alice, id, pid, w4, w6, l, err, errlen);
}

/* Acquires as acct and returns the index, failing the test on error. */
static unsigned acquire_by(const struct pool *pool, const struct account *acct, const char *id,
			   pid_t pid)
{
	struct lease l;
	char err[256] = "";

	if (acquire_as(pool, acct, id, pid, NULL, NULL, &l, err, sizeof(err)) < 0) {
		print_error("pool_acquire %s: %s\n", id, err);
		_fail(__FILE__, __LINE__);
	}
	return l.index;
}

static unsigned acquire(const struct pool *pool, const char *id, pid_t pid)
{
	return acquire_by(pool, &alice, id, pid);
}

static int release_by(const struct pool *pool, const struct account *acct, const char *id,
		      pid_t pid)
{
	struct lease_holder who = { .id = id, .account = acct, .pid = pid };

	return pool_release(pool, &who);
}

static int release(const struct pool *pool, const char *id, pid_t pid)
{
	return release_by(pool, &alice, id, pid);
}

static void refused(const struct pool *pool, const char *id, const char *w4, const char *w6,
		    const char *want)
{
	struct lease l;
	char err[256];

	assert_true(acquire_want(pool, id, getpid(), w4, w6, &l, err, sizeof(err)) < 0);
	assert_contains(err, want);
}

static const char *str(const struct inet_prefix *p)
{
	static char s[4][64];
	static unsigned n;

	return inet_prefix_str(p, true, s[n++ % 4], sizeof(s[0]));
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void write_file_n(const char *s, size_t n)
{
	FILE *f;

	mkdir(subdir, 0755);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	fclose(f);
}

static void write_file(const char *s)
{
	write_file_n(s, strlen(s));
}

#define WRITE_FILE(lit) write_file_n((lit), sizeof(lit) - 1)

static void read_whole(char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_init(void **state)
{
	static const struct { const char *v4, *v6, *want; } bad[] = {
		{ "10.0.0.0/32", NULL, "bad IPv4 pool `10.0.0.0/32' (want an IPv4 prefix no longer than /31" },
		{ "10.0.0.1", NULL, "bad IPv4 pool `10.0.0.1'" },
		{ "10.0.0.1/24", NULL, "IPv4 pool `10.0.0.1/24' has host bits set (did you mean 10.0.0.0/24?)" },
		{ "fd00::/64", NULL, "bad IPv4 pool `fd00::/64'" },
		{ "junk", NULL, "bad IPv4 pool `junk'" },
		{ NULL, "fd00::/127", "bad IPv6 pool `fd00::/127' (want an IPv6 prefix no longer than /126" },
		{ NULL, "fd00::1:0/64", "has host bits set (did you mean fd00::/64?)" },
		{ NULL, "10.0.0.0/8", "bad IPv6 pool `10.0.0.0/8'" },
		{ "none", "", "no address pool" },
		{ NULL, NULL, "no address pool" },
	};
	struct pool pool;
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(pool_init(&pool, bad[i].v4, bad[i].v6, path, err, sizeof(err)), -1);
		assert_contains(err, bad[i].want);
	}
	assert_int_equal(pool_init(&pool, "10.0.0.0/31", "none", NULL, err, sizeof(err)), 0);
	assert_string_equal(pool.lease_path, POOL_LEASE_FILE);
	assert_int_equal(pool.net6.family, 0);
	assert_int_equal(pool_size(&pool), 1);
	assert_int_equal(pool_init(&pool, "", "fd00::/126", path, err, sizeof(err)), 0);
	assert_int_equal(pool.net4.family, 0);
	assert_int_equal(pool_size(&pool), 1);
	assert_string_equal(pool.lease_path, path);
}

static void test_pairs(void **state)
{
	struct pool pool;
	struct lease l;

	init(&pool, POOL_DEFAULT4, POOL_DEFAULT6);
	assert_int_equal(pool_size(&pool), 32768);
	pool_pair(&pool, 0, &l);
	assert_int_equal(l.index, 0);
	assert_string_equal(str(&l.server4), "10.77.0.0/31");
	assert_string_equal(str(&l.client4), "10.77.0.1/31");
	assert_string_equal(str(&l.server6), "fd77:7373:6874::2/127");
	assert_string_equal(str(&l.client6), "fd77:7373:6874::3/127");
	pool_pair(&pool, 200, &l);
	assert_string_equal(str(&l.server4), "10.77.1.144/31");
	assert_string_equal(str(&l.client4), "10.77.1.145/31");
	assert_string_equal(str(&l.server6), "fd77:7373:6874::192/127");
	assert_string_equal(str(&l.client6), "fd77:7373:6874::193/127");
	pool_pair(&pool, 32767, &l);
	assert_string_equal(str(&l.server4), "10.77.255.254/31");
	assert_string_equal(str(&l.client4), "10.77.255.255/31");
	assert_string_equal(str(&l.client6), "fd77:7373:6874::1:1/127");

	/* Carries across bytes, and the smaller family bounds the pool. */
	init(&pool, "203.0.113.0/24", "2001:db8:0:ff::ff00/120");
	assert_int_equal(pool_size(&pool), 127);
	pool_pair(&pool, 126, &l);
	assert_string_equal(str(&l.server4), "203.0.113.252/31");
	assert_string_equal(str(&l.server6), "2001:db8:0:ff::fffe/127");
	assert_string_equal(str(&l.client6), "2001:db8:0:ff::ffff/127");
	init(&pool, NULL, "2001:db8::/112");
	assert_int_equal(pool_size(&pool), 32767);
	pool_pair(&pool, 1, &l);
	assert_int_equal(l.client4.family, 0);
	assert_int_equal(l.server4.family, 0);
	assert_string_equal(str(&l.client6), "2001:db8::5/127");
	init(&pool, "10.0.0.0/8", "none");
	assert_int_equal(pool_size(&pool), POOL_MAX_LEASES);
	pool_pair(&pool, POOL_MAX_LEASES - 1, &l);
	assert_string_equal(str(&l.client4), "10.1.255.255/31");
	assert_int_equal(l.client6.family, 0);
	init(&pool, "10.0.0.0/29", "fd00::/64");
	assert_int_equal(pool_size(&pool), 4);
	init(&pool, "10.0.0.0/29", "fd00::/125");
	assert_int_equal(pool_size(&pool), 3);
}

static void test_distinct_and_back(void **state)
{
	struct pool pool;
	struct lease a, b;
	char err[256], file[512];
	struct stat st;

	init(&pool, POOL_DEFAULT4, POOL_DEFAULT6);
	assert_int_equal(acquire_want(&pool, "aaaa", getpid(), NULL, NULL, &a, err, sizeof(err)), 0);
	assert_int_equal(acquire_want(&pool, "bbbb", getpid(), NULL, NULL, &b, err, sizeof(err)), 0);
	assert_int_equal(a.index, 0);
	assert_int_equal(b.index, 1);
	assert_string_equal(str(&b.client4), "10.77.0.3/31");
	assert_int_equal(a.previous_pid, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Released, the pair stays reserved for its client. */
	assert_int_equal(release(&pool, "aaaa", getpid()), 0);
	assert_int_equal(acquire(&pool, "cccc", getpid()), 2);
	assert_int_equal(acquire(&pool, "aaaa", getpid()), 0);
	assert_int_equal(acquire(&pool, "bbbb", getpid()), 1);
	read_whole(file, sizeof(file));
	assert_contains(file, "0 aaaa ");
	assert_contains(file, "1 bbbb ");
	assert_contains(file, "2 cccc ");
	assert_int_equal(warnings, 0);

	refused(&pool, "", NULL, NULL, "bad client id `'");
	refused(&pool, "a b", NULL, NULL, "bad client id `a b'");
	refused(&pool, "0123456789abcdef0123456789abcdef0", NULL, NULL, "bad client id");
}

static void test_previous_pid(void **state)
{
	struct pool pool;
	struct lease l;
	char err[256], file[512];
	pid_t dead = dead_pid(), old = sleeper = fork();

	assert_true(old >= 0);
	if (old == 0) {
		pause();
		_exit(0);
	}
	init(&pool, POOL_DEFAULT4, "none");
	assert_int_equal(acquire(&pool, "aaaa", old), 0);
	/* The client is back while its old helper still runs. */
	assert_int_equal(acquire_want(&pool, "aaaa", getpid(), NULL, NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(l.index, 0);
	assert_int_equal(l.previous_pid, old);
	assert_int_equal(acquire_want(&pool, "aaaa", getpid(), NULL, NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(l.previous_pid, 0);
	assert_int_equal(acquire(&pool, "bbbb", dead), 1);
	assert_int_equal(acquire_want(&pool, "bbbb", getpid(), NULL, NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(l.index, 1);
	assert_int_equal(l.previous_pid, 0);

	/* Release only by the holder. */
	assert_int_equal(release(&pool, "bbbb", old), 0);
	assert_int_equal(release(&pool, "nobody", getpid()), 0);
	read_whole(file, sizeof(file));
	assert_non_null(strstr(file, "1 bbbb "));
	assert_null(strstr(file, "1 bbbb 0 "));
	assert_int_equal(release(&pool, "bbbb", getpid()), 0);
	read_whole(file, sizeof(file));
	assert_non_null(strstr(file, "1 bbbb 0 "));
}

/* A helper that exited but that sshd has not reaped yet (a zombie) holds
 * nothing: its lease is not live (NAT and the rpf table go with the last
 * live one) and a returning client has no stale helper to take over. */
static void test_zombie_not_live(void **state)
{
	struct pool pool;
	struct lease l;
	siginfo_t si;
	char err[256];
	pid_t zombie = fork();

	assert_true(zombie >= 0);
	if (zombie == 0)
		_exit(0);
	/* Exited, left unreaped. */
	assert_int_equal(waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT), 0);
	init(&pool, POOL_DEFAULT4, "none");
	assert_int_equal(acquire(&pool, "aaaa", zombie), 0);
	assert_int_equal(pool_live(&pool, 0), 0);
	assert_int_equal(acquire_want(&pool, "aaaa", getpid(), NULL, NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(l.index, 0);
	assert_int_equal(l.previous_pid, 0);
	assert_int_equal(pool_live(&pool, 0), 1);
	assert_int_equal(waitpid(zombie, NULL, 0), zombie);
}

static void test_want(void **state)
{
	struct pool pool;
	struct lease l;
	char err[256];

	init(&pool, "10.77.0.0/24", "fd77::/64");
	assert_int_equal(acquire_want(&pool, "xxxx", getpid(), "10.77.0.5", NULL, &l, err,
				      sizeof(err)), 0);
	assert_int_equal(l.index, 2);
	assert_string_equal(str(&l.server4), "10.77.0.4/31");
	assert_string_equal(str(&l.client6), "fd77::7/127");
	/* The prefix length asked for does not matter; the address does. */
	assert_int_equal(acquire_want(&pool, "xxxx", getpid(), "10.77.0.5/31", "fd77::7/64", &l,
				      err, sizeof(err)), 0);
	assert_int_equal(l.index, 2);

	refused(&pool, "yyyy", "203.0.113.1", NULL,
		"address 203.0.113.1 is outside the address pool 10.77.0.0/24");
	refused(&pool, "yyyy", NULL, "fd78::3", "address fd78::3 is outside the address pool fd77::/64");
	refused(&pool, "yyyy", "10.77.0.4", NULL, "address 10.77.0.4 is not a client address of "
		"the pool 10.77.0.0/24 (those are 10.77.0.1, 10.77.0.3, ... 10.77.0.255)");
	refused(&pool, "yyyy", NULL, "fd77::1", "address fd77::1 is not a client address of the "
		"pool fd77::/64 (those are fd77::3, fd77::5, ... fd77::101)");
	refused(&pool, "yyyy", NULL, "fd77::2", "address fd77::2 is not a client address");
	refused(&pool, "yyyy", NULL, "fd77::1:3", "address fd77::1:3 is not a client address");
	refused(&pool, "yyyy", "10.77.0.5", NULL, "address 10.77.0.5 is leased to another client");
	refused(&pool, "yyyy", NULL, "fd77::7", "address fd77::7 is leased to another client");
	refused(&pool, "yyyy", "10.77.0.9", "fd77::7", "address fd77::7 is not in the same pair");
	refused(&pool, "yyyy", "fd77::9", NULL, "address fd77::9 is not an IPv4 address");

	/* Released, it stays reserved for its client. */
	assert_int_equal(release(&pool, "xxxx", getpid()), 0);
	refused(&pool, "yyyy", "10.77.0.5", NULL, "address 10.77.0.5 is leased to another client");

	/* A client that asks for another pair moves there; its old one is free. */
	assert_int_equal(acquire(&pool, "zzzz", getpid()), 0);
	assert_int_equal(acquire_want(&pool, "zzzz", getpid(), NULL, "fd77::b", &l, err,
				      sizeof(err)), 0);
	assert_int_equal(l.index, 4);
	assert_string_equal(str(&l.client4), "10.77.0.9/31");
	assert_int_equal(acquire(&pool, "wwww", getpid()), 0);

	init(&pool, "none", "fd77::/64");
	refused(&pool, "yyyy", "10.77.0.5", NULL, "address 10.77.0.5 asked for, but the server "
		"has no IPv4 pool");
	init(&pool, "10.77.0.0/31", "none");
	refused(&pool, "yyyy", "10.77.0.0", NULL, "(the only one is 10.77.0.1)");
}

static void test_exhaustion(void **state)
{
	static const char *const ids[] = { "id0", "id1", "id2", "id3" };
	struct pool pool;
	struct lease l;
	char err[256];

	init(&pool, "198.18.0.0/29", "none");
	for (unsigned i = 0; i < ARRAY_SIZE(ids); i++)
		assert_int_equal(acquire(&pool, ids[i], getpid()), i);
	assert_int_equal(acquire_want(&pool, "id4", getpid(), NULL, NULL, &l, err, sizeof(err)),
			 POOL_FULL);
	assert_string_equal(err, "address pool 198.18.0.0/29 is full: 4 pairs, 4 in use, 0 "
			    "reserved for clients that may reconnect within 3600 s");
	/* A released pair waits for its client through the grace time... */
	assert_int_equal(release(&pool, "id2", getpid()), 0);
	refused(&pool, "id4", NULL, NULL, "is full: 4 pairs, 3 in use, 1 reserved");
	/* ...and goes to a new client after it, only when none is left. */
	pool.grace = 0;
	assert_int_equal(acquire_want(&pool, "id4", getpid(), NULL, NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(l.index, 2);
	assert_string_equal(str(&l.client4), "198.18.0.5/31");
	refused(&pool, "id2", NULL, NULL, "is full");

	init(&pool, "198.18.0.0/29", "2001:db8::/125");
	refused(&pool, "id5", NULL, NULL,
		"address pool 198.18.0.0/29 + 2001:db8::/125 is full: 3 pairs, 3 in use");
	init(&pool, NULL, "2001:db8::/126");
	assert_int_equal(acquire(&pool, "id0", getpid()), 0);
	refused(&pool, "id1", NULL, NULL, "address pool 2001:db8::/126 is full: 1 pairs, 1 in use");
}

static void test_dead_reuse(void **state)
{
	struct pool pool;
	struct lease l;
	char file[512], err[256], want[128];
	pid_t dead = dead_pid();

	snprintf(file, sizeof(file), "0 a %d 300 1000\n1 b %d 100 1000\n2 c 0 200 1001\n"
		 "3 d %d 50 1000\n", (int)dead, (int)dead, (int)getpid());
	write_file(file);
	init(&pool, "198.18.0.0/29", "none");
	/* c's reservation ended long ago: its pair is the one to reuse. */
	assert_int_equal(acquire_want(&pool, "e", getpid(), NULL, NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(l.index, 2);
	assert_int_equal(l.previous_pid, 0);
	/* a and b died unnoticed: their grace time starts now. */
	refused(&pool, "f", NULL, NULL, "is full: 4 pairs, 2 in use, 2 reserved");
	read_whole(file, sizeof(file));
	assert_contains(file, "0 a 0 ");
	assert_contains(file, "1 b 0 ");
	snprintf(want, sizeof(want), "3 d %d 50 1000\n", (int)getpid());
	assert_contains(file, want);
	/* A dead holder gets its own pair back within it... */
	assert_int_equal(acquire(&pool, "b", getpid()), 1);
	/* ...and after it, another client gets the oldest reservation. */
	pool.grace = 0;
	assert_int_equal(acquire(&pool, "f", getpid()), 0);
	refused(&pool, "g", NULL, NULL, "is full");
	refused(&pool, "a", NULL, NULL, "is full");
	assert_int_equal(warnings, 0);
}

/* Finding 4 of issue 12: a full pool took the pair another account's
 * client was coming back to. */
static void test_grace_across_accounts(void **state)
{
	struct pool pool;
	struct lease l;
	char err[256], file[256];
	pid_t dead = dead_pid();
	long long now = (long long)time(NULL);

	init(&pool, "198.18.0.0/30", "none");
	assert_int_equal(acquire_by(&pool, &alice, "a1", getpid()), 0);
	assert_int_equal(release_by(&pool, &alice, "a1", getpid()), 0);
	assert_int_equal(acquire_by(&pool, &bob, "b1", getpid()), 1);
	assert_int_equal(acquire_as(&pool, &bob, "b2", getpid(), NULL, NULL, &l, err, sizeof(err)),
			 POOL_FULL);
	assert_string_equal(err, "address pool 198.18.0.0/30 is full: 2 pairs, 1 in use, 1 "
			    "reserved for clients that may reconnect within 3600 s");
	/* Bob cannot ask for it by address either. */
	assert_int_equal(acquire_as(&pool, &bob, "b2", getpid(), "198.18.0.1", NULL, &l, err,
				    sizeof(err)), POOL_TAKEN);
	assert_int_equal(acquire_by(&pool, &alice, "a1", getpid()), 0);

	/* Grace counts from the release: 100 s left, then none. */
	snprintf(file, sizeof(file), "0 a1 0 %lld 1000\n1 b1 %d 5 1001\n", now - 3500,
		 (int)getpid());
	write_file(file);
	refused(&pool, "b2", NULL, NULL, "is full");
	snprintf(file, sizeof(file), "0 a1 0 %lld 1000\n1 b1 %d 5 1001\n", now - 3601,
		 (int)getpid());
	write_file(file);
	assert_int_equal(acquire_by(&pool, &bob, "b2", getpid()), 0);

	/* A helper killed long after its lease was taken: the grace runs from
	 * when it is found dead, and that is written down even on a refusal. */
	snprintf(file, sizeof(file), "0 a1 %d 5 1000\n1 b1 %d 5 1001\n", (int)dead, (int)getpid());
	write_file(file);
	refused(&pool, "b2", NULL, NULL, "1 in use, 1 reserved");
	read_whole(file, sizeof(file));
	assert_true(strncmp(file, "0 a1 0 ", 7) == 0);
	assert_true(atoll(file + 7) >= now);
	refused(&pool, "b2", NULL, NULL, "is full");
}

/* A client id is bound to the account it came from. */
static void test_id_bound_to_account(void **state)
{
	struct pool pool;
	struct lease l;
	char err[256], file[512], want[128];
	pid_t old = sleeper = fork();

	assert_true(old >= 0);
	if (old == 0) {
		pause();
		_exit(0);
	}
	init(&pool, "198.18.0.0/29", "none");
	assert_int_equal(acquire_by(&pool, &alice, "aaaa", old), 0);
	/* Bob with alice's id: a pair of his own, and alice's helper is left
	 * alone (no take-over). */
	assert_int_equal(acquire_as(&pool, &bob, "aaaa", getpid(), NULL, NULL, &l, err,
				    sizeof(err)), 0);
	assert_int_equal(l.index, 1);
	assert_int_equal(l.previous_pid, 0);
	/* Neither can release the other's. */
	assert_int_equal(release_by(&pool, &bob, "aaaa", old), 0);
	read_whole(file, sizeof(file));
	snprintf(want, sizeof(want), "0 aaaa %d ", (int)old);
	assert_contains(file, want);
	assert_contains(file, " 1000\n");
	assert_contains(file, " 1001\n");
	/* Alice comes back: her pair, and her stale helper to take over. */
	assert_int_equal(acquire_as(&pool, &alice, "aaaa", getpid(), NULL, NULL, &l, err,
				    sizeof(err)), 0);
	assert_int_equal(l.index, 0);
	assert_int_equal(l.previous_pid, old);
	assert_int_equal(release_by(&pool, &bob, "aaaa", getpid()), 0);
	assert_int_equal(acquire_by(&pool, &bob, "aaaa", getpid()), 1);
	assert_int_equal(acquire_by(&pool, &alice, "aaaa", getpid()), 0);
	assert_int_equal(warnings, 0);
}

/* The holder's pid of a lease that is not released is reused (its monitor
 * was killed, pids wrapped) by a process that runs our binary too, such as
 * another account's helper.  It started after the lease was taken, so it
 * cannot be the holder: no take-over, which would have the monitor stop
 * that other session. */
static void test_previous_pid_reused(void **state)
{
	struct pool pool;
	struct lease l;
	char err[256], file[256];
	long long now = (long long)time(NULL);
	pid_t later = sleeper = fork();

	assert_true(later >= 0);
	if (later == 0) {
		pause();
		_exit(0);
	}
	init(&pool, "198.18.0.0/29", "none");
	/* Alice's lease was taken a minute before that process started. */
	snprintf(file, sizeof(file), "0 aaaa %d %lld 1000\n", (int)later, now - 60);
	write_file(file);
	assert_int_equal(acquire_as(&pool, &alice, "aaaa", getpid(), NULL, NULL, &l, err,
				    sizeof(err)), 0);
	assert_int_equal(l.index, 0);
	assert_int_equal(l.previous_pid, 0);
	/* A holder that started before its lease was taken is one. */
	snprintf(file, sizeof(file), "0 aaaa %d %lld 1000\n", (int)later, now + 1);
	write_file(file);
	assert_int_equal(acquire_as(&pool, &alice, "aaaa", getpid(), NULL, NULL, &l, err,
				    sizeof(err)), 0);
	assert_int_equal(l.previous_pid, later);
}

static void test_sessions_per_account(void **state)
{
	struct pool pool;
	struct lease l;
	char err[256], file[512];

	init(&pool, "198.18.0.0/29", "none");
	pool.max_per_account = 2;
	assert_int_equal(acquire_by(&pool, &alice, "x1", getpid()), 0);
	assert_int_equal(acquire_by(&pool, &alice, "x2", getpid()), 1);
	assert_int_equal(acquire_as(&pool, &alice, "x3", getpid(), NULL, NULL, &l, err, sizeof(err)),
			 POOL_ACCOUNT_CAP);
	assert_string_equal(err, "account alice already has 2 sessions, the most allowed "
			    "(serve --max-sessions-per-user 2)");
	/* Another account is not held back; a returning client is not new. */
	assert_int_equal(acquire_by(&pool, &bob, "y1", getpid()), 2);
	assert_int_equal(acquire_by(&pool, &alice, "x1", getpid()), 0);
	/* A reservation of the account's own gives way to its new session. */
	assert_int_equal(release_by(&pool, &alice, "x1", getpid()), 0);
	assert_int_equal(acquire_by(&pool, &alice, "x3", getpid()), 0);
	read_whole(file, sizeof(file));
	assert_null(strstr(file, " x1 "));
	assert_int_equal(acquire_as(&pool, &alice, "x1", getpid(), NULL, NULL, &l, err, sizeof(err)),
			 POOL_ACCOUNT_CAP);
	/* Bob's reservation stays bob's. */
	assert_int_equal(release_by(&pool, &bob, "y1", getpid()), 0);
	assert_int_equal(acquire_by(&pool, &bob, "y2", getpid()), 1 + 2);
	assert_int_equal(acquire_by(&pool, &bob, "y1", getpid()), 2);
}

/* Lines of four fields come from before leases had accounts: still read,
 * still taken, but nobody's to reclaim. */
static void test_old_lines(void **state)
{
	struct pool pool;
	struct lease l;
	char err[256], file[512], want[128];
	long long now = (long long)time(NULL);
	pid_t old = sleeper = fork();

	assert_true(old >= 0);
	if (old == 0) {
		pause();
		_exit(0);
	}
	snprintf(file, sizeof(file), "0 aaaa %d 100\n1 bbbb 0 %lld\n", (int)old, now);
	write_file(file);
	init(&pool, "198.18.0.0/29", "none");
	assert_int_equal(acquire_as(&pool, &alice, "aaaa", getpid(), NULL, NULL, &l, err,
				    sizeof(err)), 0);
	assert_int_equal(l.index, 2);
	assert_int_equal(l.previous_pid, 0);
	assert_int_equal(acquire_by(&pool, &alice, "bbbb", getpid()), 3);
	refused(&pool, "cccc", NULL, NULL, "4 pairs, 3 in use, 1 reserved");
	read_whole(file, sizeof(file));
	snprintf(want, sizeof(want), "0 aaaa %d 100\n1 bbbb 0 %lld\n2 aaaa %d ", (int)old, now,
		 (int)getpid());
	assert_true(strncmp(file, want, strlen(want)) == 0);
	assert_int_equal(warnings, 0);

	WRITE_FILE("0 aaaa 0 5 1000 7\n1 bbbb 0 5 4294967295\n2 cccc 0 5 01\n3 dddd 0 5 0\n");
	pool.grace = 0;
	assert_int_equal(acquire(&pool, "eeee", getpid()), 0);
	assert_int_equal(warnings, 3);
	assert_contains(warned, "leases:1: ignoring malformed lease (not four or five fields)\n");
	assert_contains(warned, "leases:2: ignoring malformed lease (bad field)\n");
	assert_contains(warned, "leases:3: ignoring malformed lease (bad field)\n");
}

static void test_malformed_file(void **state)
{
	struct pool pool;
	char file[1024], want[256], longline[200];
	unsigned idx;

	memset(longline, '7', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	snprintf(file, sizeof(file),
		 "garbage\n"		/* 1 */
		 "0 aaaa 0 5 1000\n"	/* 2: fine */
		 "1 bbbb\n"		/* 3 */
		 "2 cccc 12 x\n"	/* 4 */
		 "99 dddd 0 1\n"	/* 5: outside a /29 */
		 "0 eeee 0 1\n"		/* 6: index twice */
		 "3  ffff 0 1\n"	/* 7 */
		 "%s"			/* 8: too long */
		 "01 gggg 0 1\n"	/* 9 */
		 "2 hhhh -1 1\n"	/* 10 */
		 "2 iiii 0 1 \n"	/* 11 */
		 "\n"			/* 12 */
		 "3 aaaa 0 7 1000\n"	/* 13: id twice; the first is kept */
		 "3 jjjj 0 1",		/* 14: no newline */
		 longline);
	write_file(file);
	init(&pool, "198.18.0.0/29", "none");
	idx = acquire(&pool, "zzzz", getpid());
	assert_int_equal(idx, 1);
	assert_int_equal(warnings, 12);	/* 10 lines, the sum, the double id */
	assert_contains(warned, "leases:1: ignoring malformed lease (not four or five fields)\n");
	assert_contains(warned, "leases:4: ignoring malformed lease (bad field)\n");
	assert_contains(warned, "leases:5: ignoring malformed lease (index outside the pool)\n");
	assert_contains(warned, "leases:6: ignoring malformed lease (index given twice)\n");
	assert_contains(warned, "leases:8: ignoring malformed lease (line too long)\n");
	assert_contains(warned, "leases:11: ignoring malformed lease (bad field)\n");
	assert_null(strstr(warned, "leases:12:"));
	assert_contains(warned, "leases: 12 malformed leases ignored in all\n");
	assert_contains(warned, "leases: client aaaa holds more than one lease; keeping index 0\n");
	read_whole(file, sizeof(file));
	snprintf(want, sizeof(want), "0 aaaa 0 5 1000\n1 zzzz %d ", (int)getpid());
	assert_true(strncmp(file, want, strlen(want)) == 0);
	assert_int_equal(strchr(file + strlen(want), '\n') - file + 1, strlen(file));
	/* The file is clean now. */
	clear_warnings();
	assert_int_equal(acquire(&pool, "aaaa", getpid()), 0);
	assert_int_equal(warnings, 0);

	WRITE_FILE("0 aaaa 0 5\n1 bbbb 0 1\n5\000 x 0 1\n");
	assert_int_equal(acquire(&pool, "cccc", getpid()), 2);
	assert_int_equal(warnings, 1);
	assert_contains(warned, "leases:3: ignoring malformed lease (NUL byte)\n");
	clear_warnings();
	WRITE_FILE("0 aaaa 0 5\n1 bb\x01 0 1\n2 bbbb 0 1\n");
	assert_int_equal(acquire(&pool, "cccc", getpid()), 1);
	assert_int_equal(warnings, 1);
	assert_contains(warned, "leases:2: ignoring malformed lease (bad field)\n");
}

/* Helpers of concurrent sessions take leases at the same moment. */
static void test_concurrent(void **state)
{
	enum { CHILDREN = 8, EACH = 16 };
	struct pool pool;
	int fds[2];
	bool seen[CHILDREN * EACH] = { false };
	char file[8192];
	unsigned lines = 0;

	init(&pool, "10.77.0.0/24", "fd77::/64");
	assert_int_equal(pipe(fds), 0);
	for (int c = 0; c < CHILDREN; c++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid)
			continue;
		close(fds[0]);
		for (int j = 0; j < EACH; j++) {
			struct lease l;
			char id[32], err[256];
			uint32_t idx = UINT32_MAX;

			snprintf(id, sizeof(id), "child%d-%d", c, j);
			if (acquire_as(&pool, &alice, id, getpid(), NULL, NULL, &l, err, sizeof(err)) == 0)
				idx = l.index;
			if (write(fds[1], &idx, sizeof(idx)) != sizeof(idx))
				_exit(2);
		}
		_exit(0);
	}
	close(fds[1]);
	for (int i = 0; i < CHILDREN * EACH; i++) {
		uint32_t idx;

		assert_int_equal(read(fds[0], &idx, sizeof(idx)), sizeof(idx));
		assert_true(idx < CHILDREN * EACH);
		assert_false(seen[idx]);
		seen[idx] = true;
	}
	close(fds[0]);
	for (int c = 0; c < CHILDREN; c++) {
		int status;

		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	read_whole(file, sizeof(file));
	for (char *p = file; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, CHILDREN * EACH);
	assert_int_equal(warnings, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_distinct_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previous_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previous_pid_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zombie_not_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_want, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grace_across_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_bound_to_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_per_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
