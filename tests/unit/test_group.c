/* The connection groups of --connections (group.h, pool.h): a lease's
 * helpers, in a throwaway lease directory, with child processes as the
 * members' monitors. */
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "group.h"
#include "log.h"
#include "pool.h"
#include "serve_lease.h"

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

#define ID "0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210"
#define TOKEN "00112233445566778899aabbccddeeff"
#define BAD_TOKEN "00112233445566778899aabbccddeefe"
#define KIDS 10

static char dir[64], path[96], gpath[128];
static pid_t kid[KIDS];		/* live helpers' monitors, killed by teardown */
static const struct account alice = { 1000, "alice" }, bob = { 1001, "bob" };

/* The wall clock as the code under test sees it (this definition
 * interposes libc's time()): skew seconds off the real one, to play a
 * clock that is stepped (NTP at boot, a VM resumed) while groups run. */
static long long skew;

time_t time(time_t *out)
{
	struct timespec ts;
	time_t t;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (time_t)(ts.tv_sec + skew);
	if (out)
		*out = t;
	return t;
}

static void quiet(enum log_level level, const char *line, void *ctx)
{
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/sshtun-group-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/leases", dir);
	snprintf(gpath, sizeof(gpath), "%s" GROUP_FILE_SUFFIX, path);
	log_set_sink(quiet, NULL);
	skew = 0;
	for (int i = 0; i < KIDS; i++) {
		kid[i] = fork();
		if (kid[i] < 0)
			return -1;
		if (kid[i] == 0) {
			pause();
			_exit(0);
		}
	}
	return 0;
}

static void end_kid(int i)
{
	if (kid[i] > 0) {
		kill(kid[i], SIGKILL);
		waitpid(kid[i], NULL, 0);
	}
}

static int teardown(void **state)
{
	static const char *const ext[] = { "", ".lock", ".tmp", GROUP_FILE_SUFFIX,
					   GROUP_FILE_SUFFIX ".tmp" };
	char p[160];

	for (int i = 0; i < KIDS; i++)
		end_kid(i);
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		snprintf(p, sizeof(p), "%s%s", path, ext[i]);
		unlink(p);
	}
	return rmdir(dir);
}

static void init(struct pool *pool)
{
	char err[256];

	assert_int_equal(pool_init(pool, "198.18.0.0/28", "2001:db8:77::/64", path, err, sizeof(err)), 0);
}

static unsigned acquire(const struct pool *pool, const struct account *a, const char *id, pid_t pid,
			struct lease *l)
{
	struct lease_holder who = { .id = id, .account = a, .pid = pid };
	struct lease mine;
	char err[256] = "";

	if (!l)
		l = &mine;
	if (pool_acquire(pool, &who, NULL, NULL, NULL, l, err, sizeof(err)) < 0) {
		print_error("pool_acquire: %s\n", err);
		_fail(__FILE__, __LINE__);
	}
	return l->index;
}

static int create(const struct pool *pool, pid_t pid, char *err, size_t errlen)
{
	struct lease_holder who = { .id = ID, .account = &alice, .pid = pid };

	return pool_group_create(pool, &who, TOKEN, "sshtun7", 42, 1400, -1, err, errlen);
}

static int join(const struct pool *pool, const struct account *a, const char *id, const char *token,
		pid_t pid, struct pool_join *j, char *err, size_t errlen)
{
	struct lease_holder who = { .id = id, .account = a, .pid = pid };

	err[0] = '\0';
	return pool_group_join(pool, &who, token, -1, j, err, errlen);
}

/* kid[i] joins alice's group of ID as the client's connection conn. */
static pid_t join_as(const struct pool *pool, int i, int conn)
{
	struct lease_holder who = { .id = ID, .account = &alice, .pid = kid[i] };
	struct pool_join j;
	char err[256] = "";

	if (pool_group_join(pool, &who, TOKEN, conn, &j, err, sizeof(err)) != 0) {
		print_error("pool_group_join: %s\n", err);
		_fail(__FILE__, __LINE__);
	}
	return j.replaces;
}

static int lost(const struct pool *pool, const struct account *a, const char *id, pid_t pid,
		int conn, pid_t *stop, char *err, size_t errlen)
{
	struct lease_holder who = { .id = id, .account = a, .pid = pid };

	err[0] = '\0';
	return pool_group_lost(pool, &who, conn, stop, err, errlen);
}

static int release(const struct pool *pool, pid_t pid)
{
	struct lease_holder who = { .id = ID, .account = &alice, .pid = pid };

	return pool_release(pool, &who);
}

static void read_whole(const char *p, char *buf, size_t cap)
{
	FILE *f = fopen(p, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* A group of ID (alice) on its lease, held by kid[0]. */
static unsigned group_of_kid0(const struct pool *pool)
{
	char err[256] = "";
	unsigned idx = acquire(pool, &alice, ID, kid[0], NULL);

	if (create(pool, kid[0], err, sizeof(err)) < 0) {
		print_error("pool_group_create: %s\n", err);
		_fail(__FILE__, __LINE__);
	}
	return idx;
}

/* The record: root's file, the token's hash but never the token; only the
 * lease's holder makes one. */
static void test_create(void **state)
{
	struct pool pool;
	struct stat st;
	uint8_t h[GROUP_HASH_LEN];
	char err[256], file[1024], hex[2 * GROUP_HASH_LEN + 1], want[256];

	init(&pool);
	acquire(&pool, &alice, ID, kid[0], NULL);
	assert_int_equal(create(&pool, kid[1], err, sizeof(err)), -1);
	assert_contains(err, "not helper");
	assert_int_equal(create(&pool, kid[0], err, sizeof(err)), 0);
	assert_int_equal(stat(gpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	read_whole(gpath, file, sizeof(file));
	group_token_hash(TOKEN, h);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(want, sizeof(want), "0 1000 " ID " %s sshtun7 42 1400 %d:", hex, (int)kid[0]);
	assert_contains(file, want);
	assert_null(strstr(file, TOKEN));
	/* The hash is SHA-256 of the token's text (sha256sum of it). */
	group_token_hash("abc", h);
	assert_int_equal(h[0], 0xba);
	assert_int_equal(h[31], 0xad);
}

/* The right token, account and id get the pair and the device; anything
 * else is a NOJOIN that names what did not match and never the token. */
static void test_join(void **state)
{
	struct pool pool;
	struct pool_join j;
	struct lease l;
	char err[256];
	unsigned idx;

	init(&pool);
	acquire(&pool, &bob, ID2, kid[5], NULL);	/* another lease first */
	idx = group_of_kid0(&pool);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[1], &j, err, sizeof(err)), 0);
	assert_int_equal(j.lease.index, idx);
	pool_pair(&pool, idx, &l);
	assert_memory_equal(&j.lease.client4, &l.client4, sizeof(l.client4));
	assert_memory_equal(&j.lease.server6, &l.server6, sizeof(l.server6));
	assert_string_equal(j.ifname, "sshtun7");
	assert_int_equal(j.ifindex, 42);
	assert_int_equal(j.mtu, 1400);

	assert_int_equal(join(&pool, &alice, ID, BAD_TOKEN, kid[2], &j, err, sizeof(err)), POOL_NOJOIN);
	assert_contains(err, "join token does not match client " ID "'s group");
	assert_null(strstr(err, BAD_TOKEN));
	assert_null(strstr(err, TOKEN));
	assert_int_equal(join(&pool, &bob, ID, TOKEN, kid[2], &j, err, sizeof(err)), POOL_NOJOIN);
	assert_contains(err, "no connection group of client " ID " for account bob");
	assert_int_equal(join(&pool, &alice, ID2, TOKEN, kid[2], &j, err, sizeof(err)), POOL_NOJOIN);
	assert_contains(err, "no connection group of client " ID2 " for account alice");
	/* bob's own lease of ID2 has no group. */
	assert_int_equal(join(&pool, &bob, ID2, TOKEN, kid[2], &j, err, sizeof(err)), POOL_NOJOIN);
	assert_int_equal(join(&pool, &alice, ID, "0011", kid[2], &j, err, sizeof(err)), POOL_NOJOIN);
	assert_contains(err, "bad join token (4 characters)");
	/* The refused ones did not become members: one member past the
	 * holder's and kid[1]'s. */
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[2], &j, err, sizeof(err)), 0);
}

/* At most GROUP_MAX_MEMBERS; a member that died makes room. */
static void test_full_and_pruned(void **state)
{
	struct pool pool;
	struct pool_join j;
	char err[256], file[1024], gone[32];

	init(&pool);
	group_of_kid0(&pool);
	for (int i = 1; i < GROUP_MAX_MEMBERS; i++)
		assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[i], &j, err, sizeof(err)), 0);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[8], &j, err, sizeof(err)), POOL_NOJOIN);
	assert_contains(err, "has 8 connections, the most");
	snprintf(gone, sizeof(gone), ",%d:", (int)kid[3]);
	end_kid(3);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[8], &j, err, sizeof(err)), 0);
	read_whole(gpath, file, sizeof(file));
	assert_null(strstr(file, gone));
	/* Still full. */
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[9], &j, err, sizeof(err)), POOL_NOJOIN);
}

/* The lease lives while any member does: a holder that leaves hands it to
 * a member, one that died is replaced at the next look; only the last
 * member's release starts the grace time. */
static void test_handover(void **state)
{
	struct pool pool;
	struct pool_join j;
	char err[256], file[1024], want[64];
	unsigned idx;

	init(&pool);
	idx = group_of_kid0(&pool);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[1], &j, err, sizeof(err)), 0);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[2], &j, err, sizeof(err)), 0);
	assert_int_equal(pool_live(&pool, 0), 1);
	/* A member leaves: the holder keeps it. */
	assert_int_equal(release(&pool, kid[2]), 0);
	read_whole(path, file, sizeof(file));
	snprintf(want, sizeof(want), "%u " ID " %d ", idx, (int)kid[0]);
	assert_contains(file, want);
	/* The holder leaves: kid[1] holds it now, and NAT (pool_live from
	 * the leaving helper's view) stays. */
	assert_int_equal(release(&pool, kid[0]), 0);
	read_whole(path, file, sizeof(file));
	snprintf(want, sizeof(want), "%u " ID " %d ", idx, (int)kid[1]);
	assert_contains(file, want);
	assert_int_equal(pool_live(&pool, kid[0]), 1);
	assert_int_equal(pool_live(&pool, kid[1]), 0);
	/* Killed without a word: another member takes it at the next look. */
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[3], &j, err, sizeof(err)), 0);
	end_kid(1);
	assert_int_equal(pool_live(&pool, 0), 1);
	assert_int_equal(pool_live(&pool, kid[3]), 0);
	/* The last one's release releases the pair (pid 0) and ends the group. */
	assert_int_equal(release(&pool, kid[3]), 0);
	assert_int_equal(pool_live(&pool, 0), 0);
	read_whole(path, file, sizeof(file));
	snprintf(want, sizeof(want), "%u " ID " 0 ", idx);
	assert_contains(file, want);
	assert_int_equal(access(gpath, F_OK), -1);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[4], &j, err, sizeof(err)), POOL_NOJOIN);
	assert_contains(err, "no connection group");
}

/* A fresh request of the client takes over every member and ends the
 * group: the old token joins nothing. */
static void test_take_over(void **state)
{
	struct pool pool;
	struct pool_join j;
	struct lease l;
	char err[256];
	unsigned idx;

	init(&pool);
	idx = group_of_kid0(&pool);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[1], &j, err, sizeof(err)), 0);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[2], &j, err, sizeof(err)), 0);
	assert_int_equal(acquire(&pool, &alice, ID, kid[3], &l), idx);
	assert_int_equal(l.previous_pid, kid[0]);
	assert_int_equal(l.nstale, 2);
	assert_int_equal(l.stale[0], kid[1]);
	assert_int_equal(l.stale[1], kid[2]);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[4], &j, err, sizeof(err)), POOL_NOJOIN);
	/* The old members' releases leave the new holder's lease alone. */
	assert_int_equal(release(&pool, kid[1]), 0);
	assert_int_equal(release(&pool, kid[0]), 0);
	assert_int_equal(pool_live(&pool, kid[0]), 1);
	/* Bob's fresh request of the same id is another lease altogether. */
	assert_true(acquire(&pool, &bob, ID, kid[5], &l) != idx);
	assert_int_equal(l.nstale, 0);
}

/* A member that exited and is not yet reaped (a zombie) moves no packets:
 * it is no member, and a zombie holder hands the lease on. */
static void test_zombie_member(void **state)
{
	struct pool pool;
	struct pool_join j;
	siginfo_t si;
	char err[256];

	init(&pool);
	group_of_kid0(&pool);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[1], &j, err, sizeof(err)), 0);
	kill(kid[0], SIGKILL);
	assert_int_equal(waitid(P_PID, (id_t)kid[0], &si, WEXITED | WNOWAIT), 0);
	/* kid[0] is a zombie now: the lease is kid[1]'s alone. */
	assert_int_equal(pool_live(&pool, kid[1]), 0);
	assert_int_equal(pool_live(&pool, 0), 1);
	kill(kid[1], SIGKILL);
	assert_int_equal(waitid(P_PID, (id_t)kid[1], &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(pool_live(&pool, 0), 0);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[2], &j, err, sizeof(err)), POOL_NOJOIN);
}

/* A group is one session toward --max-sessions-per-user, whatever its
 * members. */
static void test_one_session(void **state)
{
	struct pool pool;
	struct pool_join j;
	struct lease_holder who = { .id = ID2, .account = &alice, .pid = kid[5] };
	struct lease l;
	char err[256];

	init(&pool);
	pool.max_per_account = 2;
	group_of_kid0(&pool);
	for (int i = 1; i < 4; i++)
		assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[i], &j, err, sizeof(err)), 0);
	assert_int_equal(pool_acquire(&pool, &who, NULL, NULL, NULL, &l, err, sizeof(err)), 0);
	who.id = "aaaa";
	who.pid = kid[6];
	assert_int_equal(pool_acquire(&pool, &who, NULL, NULL, NULL, &l, err, sizeof(err)),
			 POOL_ACCOUNT_CAP);
	assert_contains(err, "already has 2 sessions");
}

/* Members are the processes that joined, whatever the wall clock does:
 * one stepped forward after the joins (here: the joins saw it 30 s
 * behind) must not make them look like reused pids, which dropped the
 * group (joins refused) and let the holder's release free the pair and
 * NAT under the members still moving packets. */
static void test_clock_step(void **state)
{
	struct pool pool;
	struct pool_join j;
	char err[256];
	unsigned idx;

	init(&pool);
	skew = -30;
	idx = group_of_kid0(&pool);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[1], &j, err, sizeof(err)), 0);
	skew = 0;	/* the step */
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[2], &j, err, sizeof(err)), 0);
	assert_int_equal(j.lease.index, idx);
	/* The holder leaves: a member keeps the pair, and NAT stays. */
	assert_int_equal(release(&pool, kid[0]), 0);
	assert_int_equal(pool_live(&pool, kid[0]), 1);
	/* And the other way: stepped back, a member is still one. */
	skew = -60;
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[3], &j, err, sizeof(err)), 0);
	assert_int_equal(release(&pool, kid[1]), 0);
	assert_int_equal(pool_live(&pool, kid[1]), 1);
}

/* A group of ID (alice) held by kid[0], the client's connection 0. */
static unsigned group_of_kid0_conn0(const struct pool *pool)
{
	struct lease_holder who = { .id = ID, .account = &alice, .pid = kid[0] };
	char err[256] = "";
	unsigned idx = acquire(pool, &alice, ID, kid[0], NULL);

	if (pool_group_create(pool, &who, TOKEN, "sshtun7", 42, 1400, 0, err, sizeof(err)) < 0) {
		print_error("pool_group_create: %s\n", err);
		_fail(__FILE__, __LINE__);
	}
	return idx;
}

/* A join with conn=K replaces the member that said K (a half-open helper
 * the client gave up on): it leaves the group, for the joining helper to
 * stop, and takes no room; conn 0 is a connection too, and a member that
 * said nothing is never replaced. */
static void test_rejoin_replaces(void **state)
{
	struct pool pool;
	struct pool_join j;
	char err[256], file[1024], want[64];
	unsigned idx;

	init(&pool);
	idx = group_of_kid0_conn0(&pool);
	assert_int_equal(join_as(&pool, 1, 1), 0);
	assert_int_equal(join_as(&pool, 2, 1), kid[1]);
	read_whole(gpath, file, sizeof(file));
	snprintf(want, sizeof(want), " %d:", (int)kid[0]);
	assert_contains(file, want);
	snprintf(want, sizeof(want), ",%d:", (int)kid[1]);
	assert_null(strstr(file, want));
	assert_int_equal(join_as(&pool, 3, -1), 0);	/* says nothing: replaces nothing */
	assert_int_equal(join_as(&pool, 4, -1), 0);
	/* The same helper asking again replaces nobody (not itself). */
	assert_int_equal(join_as(&pool, 2, 1), 0);
	/* Full: 8 members (kid 0, 2..8), a join of a number there replaces,
	 * a join of none is refused. */
	for (int i = 5; i < 9; i++)
		assert_int_equal(join_as(&pool, i, i - 3), 0);
	assert_int_equal(join(&pool, &alice, ID, TOKEN, kid[9], &j, err, sizeof(err)), POOL_NOJOIN);
	assert_contains(err, "has 8 connections");
	assert_int_equal(join_as(&pool, 9, 5), kid[8]);
	/* The holder's own connection 0 rejoins: it is replaced as well, and
	 * the lease passes to a live member at once (NAT and pair stay). */
	assert_int_equal(join_as(&pool, 8, 0), kid[0]);	/* kid[8], replaced as 5, comes as 0 */
	assert_int_equal(pool_live(&pool, kid[0]), 1);
	read_whole(path, file, sizeof(file));
	snprintf(want, sizeof(want), "%u " ID " %d ", idx, (int)kid[0]);
	assert_null(strstr(file, want));
	assert_int_equal(release(&pool, kid[0]), 0);
	assert_int_equal(pool_live(&pool, 0), 1);
	assert_int_equal(pool_live(&pool, kid[0]), 1);
	/* A bad number is refused outright. */
	assert_int_equal(pool_group_join(&pool, &(struct lease_holder){ .id = ID, .account = &alice,
					 .pid = kid[9] }, TOKEN, 8, &j, err, sizeof(err)), POOL_ERROR);
}

/* lost=K from a member stops the member of its own group that said K:
 * never itself, never another group's, nothing for a helper that is no
 * member, nor for a K nobody said. */
static void test_lost(void **state)
{
	struct pool pool;
	struct lease_holder bob_who = { .id = ID2, .account = &bob, .pid = kid[6] };
	pid_t stop;
	char err[256], file[1024], want[64];

	init(&pool);
	group_of_kid0_conn0(&pool);
	assert_int_equal(join_as(&pool, 1, 1), 0);
	assert_int_equal(join_as(&pool, 2, 2), 0);
	/* Bob's client has a group too, its connection 1 is kid[7]. */
	acquire(&pool, &bob, ID2, kid[6], NULL);
	assert_int_equal(pool_group_create(&pool, &bob_who, BAD_TOKEN, "sshtun8", 43, 1400, 0, err,
					   sizeof(err)), 0);
	bob_who.pid = kid[7];
	assert_int_equal(pool_group_join(&pool, &bob_who, BAD_TOKEN, 1, &(struct pool_join){ 0 }, err,
					 sizeof(err)), 0);

	assert_int_equal(lost(&pool, &alice, ID, kid[0], 1, &stop, err, sizeof(err)), 0);
	assert_int_equal(stop, kid[1]);
	read_whole(gpath, file, sizeof(file));
	snprintf(want, sizeof(want), ",%d:", (int)kid[1]);
	assert_null(strstr(file, want));
	snprintf(want, sizeof(want), "%d:", (int)kid[7]);
	assert_contains(file, want);		/* bob's connection 1 stays */
	/* Said again: nobody left of it. */
	assert_int_equal(lost(&pool, &alice, ID, kid[0], 1, &stop, err, sizeof(err)), 0);
	assert_int_equal(stop, 0);
	/* Itself: never. */
	assert_int_equal(lost(&pool, &alice, ID, kid[2], 2, &stop, err, sizeof(err)), 0);
	assert_int_equal(stop, 0);
	/* From a member of connection 2, for 0: the holder. */
	assert_int_equal(lost(&pool, &alice, ID, kid[2], 0, &stop, err, sizeof(err)), 0);
	assert_int_equal(stop, kid[0]);
	/* Not a member (a helper of the same client and account that never
	 * joined, another account, another id): refused. */
	assert_int_equal(lost(&pool, &alice, ID, kid[3], 2, &stop, err, sizeof(err)), -1);
	assert_contains(err, "no member");
	assert_int_equal(stop, 0);
	assert_int_equal(lost(&pool, &bob, ID, kid[2], 2, &stop, err, sizeof(err)), -1);
	assert_int_equal(lost(&pool, &alice, ID2, kid[2], 1, &stop, err, sizeof(err)), -1);
	assert_int_equal(stop, 0);
	assert_int_equal(lost(&pool, &alice, ID, kid[2], 8, &stop, err, sizeof(err)), -1);
	assert_contains(err, "bad connection number 8");
	assert_int_equal(lost(&pool, &alice, ID, kid[2], -1, &stop, err, sizeof(err)), -1);
	read_whole(gpath, file, sizeof(file));
	snprintf(want, sizeof(want), "%d:", (int)kid[7]);
	assert_contains(file, want);
}

static bool stopped(int i)
{
	int st;

	if (waitpid(kid[i], &st, 0) != kid[i])
		return false;
	kid[i] = -1;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
}

/* Still a member in the record (a member told to stop leaves it at once,
 * before the signal lands) and not reaped. */
static bool running(int i)
{
	char file[1024], first[32], later[32];

	read_whole(gpath, file, sizeof(file));
	snprintf(first, sizeof(first), " %d:", (int)kid[i]);
	snprintf(later, sizeof(later), ",%d:", (int)kid[i]);
	return (strstr(file, first) || strstr(file, later)) && waitpid(kid[i], NULL, WNOHANG) == 0;
}

/* The helper's side of lost=K (serve_lease_lost): stops the member that
 * said K with SIGTERM; never itself (its own K), nothing for a bad K, and
 * once a second for each K however often the client says it. */
static void test_serve_lost(void **state)
{
	struct serve_priv priv = { .account = alice, .holder = 0, .conn = 0, .leased = true };

	init(&priv.pool);
	group_of_kid0_conn0(&priv.pool);
	assert_int_equal(join_as(&priv.pool, 1, 1), 0);
	assert_int_equal(join_as(&priv.pool, 2, 2), 0);
	snprintf(priv.client_id, sizeof(priv.client_id), "%s", ID);
	priv.holder = kid[0];
	serve_lease_lost(&priv, 1);
	assert_true(stopped(1));
	assert_true(running(2));
	/* Its own K, and bad ones: nothing. */
	serve_lease_lost(&priv, 0);
	serve_lease_lost(&priv, 8);
	serve_lease_lost(&priv, 4294967295u);
	assert_true(running(0));
	assert_true(running(2));
	/* Connection 1 comes back (kid[3]); the client says lost=1 again
	 * within the second: not heard. */
	assert_int_equal(join_as(&priv.pool, 3, 1), 0);
	serve_lease_lost(&priv, 1);
	assert_true(running(3));
	/* A second later it is. */
	priv.lost_at[1] -= 1000;
	serve_lease_lost(&priv, 1);
	assert_true(stopped(3));
	serve_lease_lost(&priv, 2);
	assert_true(stopped(2));
	assert_true(running(0));
}

/* Members carry the client's number: written as <pid>:<start>:<conn>,
 * and a line of before (no number) still reads, as "said none". */
static void test_conn_field(void **state)
{
	struct groups gs;
	char err[256], file[1024];
	FILE *f;

	f = fopen(gpath, "w");
	assert_non_null(f);
	fprintf(f, "0 1000 " ID " %064d sshtun0 5 1400 %d:1,%d:2:0,%d:3:7\n", 0, (int)kid[0],
		(int)kid[1], (int)kid[2]);
	fprintf(f, "1 1000 " ID " %064d sshtun1 5 1400 %d:1:8\n", 0, (int)kid[3]);	/* 0..7 */
	fprintf(f, "2 1000 " ID " %064d sshtun2 5 1400 %d:1:\n", 0, (int)kid[3]);
	fprintf(f, "3 1000 " ID " %064d sshtun3 5 1400 %d:1:1:1\n", 0, (int)kid[3]);
	fprintf(f, "4 1000 " ID " %064d sshtun4 5 1400 %d:1:01\n", 0, (int)kid[3]);
	fclose(f);
	assert_int_equal(groups_read(gpath, 16, &gs, err, sizeof(err)), 0);
	assert_int_equal(gs.n, 1);
	assert_int_equal(gs.g[0].n, 3);
	assert_int_equal(gs.g[0].m[0].conn, -1);
	assert_int_equal(gs.g[0].m[0].start, 1);
	assert_int_equal(gs.g[0].m[1].conn, 0);
	assert_int_equal(gs.g[0].m[1].start, 2);
	assert_int_equal(gs.g[0].m[2].conn, 7);
	assert_ptr_equal(group_conn(&gs.g[0], 7, 0), &gs.g[0].m[2]);
	assert_null(group_conn(&gs.g[0], 7, kid[2]));
	assert_null(group_conn(&gs.g[0], -1, 0));
	assert_int_equal(groups_write(gpath, &gs, err, sizeof(err)), 0);
	groups_free(&gs);
	read_whole(gpath, file, sizeof(file));
	snprintf(err, sizeof(err), " %d:1,%d:2:0,%d:3:7\n", (int)kid[0], (int)kid[1], (int)kid[2]);
	assert_contains(file, err);
}

/* A damaged group file: its bad lines are skipped, not trusted. */
static void test_malformed(void **state)
{
	struct groups gs;
	char err[256];
	FILE *f;

	f = fopen(gpath, "w");
	assert_non_null(f);
	fprintf(f, "0 1000 " ID " %064d sshtun0 5 1400 %d:1\n", 0, (int)kid[0]);
	fprintf(f, "1 1000 " ID " zz sshtun1 5 1400 1:1\n");		/* bad hash */
	fprintf(f, "2 1000 " ID " %064d sshtun2 5 1400 \n", 0);	/* no members */
	fprintf(f, "3 1000 " ID " %064d sshtun3 5 1400 1:1,2:2,3:3,4:4,5:5,6:6,7:7,8:8,9:9\n", 0);
	fprintf(f, "0 1000 " ID " %064d sshtun0 5 1400 1:1\n", 0);	/* twice */
	fprintf(f, "99 1000 " ID " %064d sshtun0 5 1400 1:1\n", 0);	/* outside */
	fprintf(f, "4 1000 " ID " %064d sshtun4 5 1400 1:1", 0);	/* no newline */
	fclose(f);
	assert_int_equal(groups_read(gpath, 16, &gs, err, sizeof(err)), 0);
	assert_int_equal(gs.n, 1);
	assert_string_equal(gs.g[0].ifname, "sshtun0");
	assert_int_equal(gs.g[0].m[0].pid, kid[0]);
	groups_free(&gs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_and_pruned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zombie_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejoin_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve_lost, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
