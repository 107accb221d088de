/* Files in sshtun's own directories (safefile.c) and the modules that open
 * them there: the lease file, the state file. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "fail.h"
#include "log.h"
#include "pool.h"
#include "safefile.h"
#include "state.h"
#include "state_undo.h"

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

static char dir[64], sub[96], victim[96], err[512];

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static const char *get(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/sshtun-safe-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sub, sizeof(sub), "%s/run", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	err[0] = '\0';
	log_level = LOG_QUIET;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_symlink(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/leases", dir);
	put(victim, "precious\n", 0600);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(safe_open(path, O_RDWR | O_CREAT, 0600, err, sizeof(err)), -1);
	assert_contains(err, path);
	assert_contains(err, "symbolic link");
	assert_string_equal(get(victim), "precious\n");

	/* A dangling one must not create its target either. */
	unlink(victim);
	assert_int_equal(safe_open(path, O_RDWR | O_CREAT, 0600, err, sizeof(err)), -1);
	assert_int_equal(access(victim, F_OK), -1);

	/* safe_create replaces the link itself, never what it points to. */
	put(victim, "precious\n", 0600);
	int fd = safe_create(path, 0600, err, sizeof(err));

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "new\n", 4), 4);
	close(fd);
	assert_string_equal(get(victim), "precious\n");
	assert_string_equal(get(path), "new\n");
}

static void test_files(void **state)
{
	char path[128], link2[128];
	int fd;

	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link2, sizeof(link2), "%s/g", dir);
	put(path, "x\n", 0600);
	fd = safe_open(path, O_RDONLY, 0, err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	chmod(path, 0666);
	assert_int_equal(safe_open(path, O_RDONLY, 0, err, sizeof(err)), -1);
	assert_contains(err, path);
	assert_contains(err, "mode 0666");
	chmod(path, 0600);

	assert_int_equal(link(path, link2), 0);
	assert_int_equal(safe_open(path, O_RDONLY, 0, err, sizeof(err)), -1);
	assert_contains(err, "2 hard links");
	unlink(link2);

	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(safe_open(path, O_RDONLY, 0, err, sizeof(err)), -1);
		assert_contains(err, "owned by uid 65534");
	}
	assert_int_equal(mkdir(link2, 0700), 0);
	assert_int_equal(safe_open(link2, O_RDONLY, 0, err, sizeof(err)), -1);
	assert_contains(err, "not a plain file");

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(safe_open(path, O_RDONLY, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_dirs(void **state)
{
	char deep[128], path[160];

	snprintf(deep, sizeof(deep), "%s/a/b", sub);
	assert_int_equal(safe_dir(deep, true, 0755, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/f", deep);
	put(path, "x\n", 0600);

	static const mode_t bad[] = { 0777, 01777, 0775, 0757 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char mode[8];

		chmod(deep, bad[i]);
		assert_int_equal(safe_dir(deep, false, 0, err, sizeof(err)), -1);
		assert_contains(err, deep);
		snprintf(mode, sizeof(mode), "%04o", (unsigned)bad[i]);
		assert_contains(err, mode);
		assert_int_equal(safe_open(path, O_RDONLY, 0, err, sizeof(err)), -1);
		assert_contains(err, "lets others write");
	}
	chmod(deep, 0755);
	if (geteuid() == 0) {
		assert_int_equal(chown(deep, 65534, 65534), 0);
		assert_int_equal(safe_dir(deep, false, 0, err, sizeof(err)), -1);
		assert_contains(err, "owned by uid 65534");
	}
}

/* A directory above ours that others may write to: they could rename ours
 * away and put their own there.  Refused wherever it is on the way up, by
 * name or through a symlink; sticky ones (/tmp, where this tree is) pass. */
static void test_parents(void **state)
{
	char a[128], deep[160], path[192], link_[128], made[192];
	static const mode_t bad[] = { 0777, 0775, 0757 };
	struct state *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	snprintf(a, sizeof(a), "%s/a", sub);
	snprintf(deep, sizeof(deep), "%s/b/c", a);
	snprintf(path, sizeof(path), "%s/f", deep);
	assert_int_equal(safe_dir(deep, true, 0700, err, sizeof(err)), 0);
	put(path, "x\n", 0600);
	assert_true(safe_open(path, O_RDONLY, 0, err, sizeof(err)) >= 0);	/* /tmp: sticky */

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char mode[8];

		snprintf(mode, sizeof(mode), "%04o", (unsigned)bad[i]);
		chmod(a, bad[i]);
		assert_int_equal(safe_dir(deep, false, 0, err, sizeof(err)), -1);
		assert_contains(err, a);
		assert_contains(err, mode);
		assert_null(strchr(err, '\n'));
		assert_int_equal(safe_open(path, O_RDONLY, 0, err, sizeof(err)), -1);
		assert_contains(err, a);
		assert_contains(err, "above it");
	}

	/* Creating: nothing is made below the bad part. */
	snprintf(made, sizeof(made), "%s/new/dir", a);
	assert_int_equal(safe_dir(made, true, 0700, err, sizeof(err)), -1);
	assert_contains(err, a);
	snprintf(made, sizeof(made), "%s/new", a);
	assert_int_equal(access(made, F_OK), -1);

	/* The state file (and control socket) in such a tree. */
	snprintf(made, sizeof(made), "%s/x.state", deep);
	state_init(st, made);
	assert_int_equal(state_add(st, "pin 198.51.100.1/32 1"), -1);
	assert_int_equal(access(made, F_OK), -1);
	free(st);

	/* Reached through a symlink whose own parents are fine. */
	snprintf(link_, sizeof(link_), "%s/l", dir);
	assert_int_equal(symlink(deep, link_), 0);
	assert_int_equal(safe_dir(link_, false, 0, err, sizeof(err)), -1);
	assert_contains(err, a);

	/* Sticky passes above (only the owner of a name may move it) ... */
	chmod(a, 01777);
	assert_int_equal(safe_dir(deep, false, 0, err, sizeof(err)), 0);
	assert_int_equal(safe_dir(link_, false, 0, err, sizeof(err)), 0);
	/* ... but not as the directory itself. */
	assert_int_equal(safe_dir(a, false, 0, err, sizeof(err)), -1);
	if (geteuid() == 0) {
		/* A sticky directory's owner may move what is in it. */
		assert_int_equal(chown(a, 65534, 65534), 0);
		assert_int_equal(safe_dir(deep, false, 0, err, sizeof(err)), -1);
		assert_contains(err, "owned by uid 65534");
		chmod(a, 0755);
		assert_int_equal(safe_dir(deep, false, 0, err, sizeof(err)), -1);
		assert_contains(err, a);
		assert_int_equal(chown(a, 0, 0), 0);
	}
	chmod(a, 0755);
	assert_int_equal(safe_dir(deep, false, 0, err, sizeof(err)), 0);
}

/* A symlink on the way belongs to whoever made it: in a sticky directory
 * (others may add names there) its owner may replace it at any time, so
 * the directory we checked is not the one we then open in.  A group-
 * writable sticky directory is used so that the kernel's
 * protected_symlinks (world-writable sticky only) does not hide it. */
static void test_foreign_symlink(void **state)
{
	char shared[128], good[128], link_[160], path[192], sublink[192];

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(shared, sizeof(shared), "%s/shared", sub);
	snprintf(good, sizeof(good), "%s/good", sub);
	snprintf(link_, sizeof(link_), "%s/l", shared);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(mkdir(shared, 0700), 0);
	assert_int_equal(chmod(shared, 01770), 0);
	assert_int_equal(mkdir(good, 0700), 0);
	snprintf(path, sizeof(path), "%s/f", good);
	put(path, "x\n", 0600);
	snprintf(path, sizeof(path), "%s/f", link_);
	assert_int_equal(symlink(good, link_), 0);
	/* Ours (root's): fine. */
	assert_int_equal(safe_dir(link_, false, 0, err, sizeof(err)), 0);
	{
		int fd = safe_open(path, O_RDONLY, 0, err, sizeof(err));

		assert_true(fd >= 0);
		close(fd);
	}
	/* Another user's, as the leaf directory and on the way up. */
	assert_int_equal(lchown(link_, 65534, 65534), 0);
	assert_int_equal(safe_dir(link_, false, 0, err, sizeof(err)), -1);
	assert_contains(err, link_);
	assert_contains(err, "65534");
	assert_null(strchr(err, '\n'));
	assert_int_equal(safe_open(path, O_RDONLY, 0, err, sizeof(err)), -1);
	assert_contains(err, link_);
	snprintf(sublink, sizeof(sublink), "%s/d", good);
	assert_int_equal(mkdir(sublink, 0700), 0);
	snprintf(sublink, sizeof(sublink), "%s/d", link_);
	assert_int_equal(safe_dir(sublink, false, 0, err, sizeof(err)), -1);
	assert_contains(err, link_);
	assert_int_equal(safe_create(path, 0600, err, sizeof(err)), -1);
}

/* The lease file: a world-writable directory is refused before anything
 * is written there; a planted symlink is refused and its target kept. */
static void test_lease_file(void **state)
{
	static const struct account root = { 0, "root" };
	struct lease_holder a = { "a", &root, getpid() }, b = { "b", &root, getpid() },
	    c = { "c", &root, getpid() };
	struct pool pool;
	struct lease l;
	char path[128];

	snprintf(path, sizeof(path), "%s/leases", sub);
	assert_int_equal(pool_init(&pool, "198.18.0.0/24", "2001:db8:77::/64", path, err, sizeof(err)), 0);
	assert_int_equal(pool_acquire(&pool, &a, NULL, NULL, NULL, &l, err, sizeof(err)), 0);

	chmod(sub, 01777);
	assert_int_equal(pool_acquire(&pool, &b, NULL, NULL, NULL, &l, err, sizeof(err)), -1);
	assert_contains(err, sub);
	assert_contains(err, "lets others write");
	chmod(sub, 0755);

	unlink(path);
	put(victim, "precious\n", 0600);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(pool_acquire(&pool, &c, NULL, NULL, NULL, &l, err, sizeof(err)), -1);
	assert_contains(err, path);
	assert_string_equal(get(victim), "precious\n");
}

/* The state file root acts on in `sshtun cleanup`. */
static void test_state_file(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	char path[128], tmp[140];

	assert_non_null(st);
	snprintf(path, sizeof(path), "%s/x.state", dir);
	put(victim, "pin 0.0.0.0/0 1\n", 0600);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(state_undo(path, false), -1);
	assert_contains((fail_msg)(), path);
	assert_contains((fail_msg)(), "symbolic link");
	fail_clear();
	assert_string_equal(get(victim), "pin 0.0.0.0/0 1\n");

	/* Writing it: never into a directory others may write to. */
	unlink(path);
	chmod(dir, 0777);
	state_init(st, path);
	assert_int_equal(state_add(st, "pin 198.51.100.1/32 1"), -1);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
	chmod(dir, 0700);
	assert_int_equal(state_add(st, "pin 198.51.100.1/32 1"), 0);
	assert_contains(get(path), "\npin 198.51.100.1/32 1\n");
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
