/* See sandbox.h.  Linux: setresuid/setresgid, capset to nothing,
 * PR_SET_NO_NEW_PRIVS, and a libseccomp filter whose default is to kill the
 * process (in the manner of OpenSSH's sandbox-seccomp-filter.c). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "fail.h"
#include "sandbox.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#endif

#ifdef SANDBOX_ASAN
/* Sanitizer builds only: LeakSanitizer's check at exit stops the world
 * with prctl, clone and ptrace, which the filter rightly kills.  A
 * sandboxed process skips that check (valgrind in t_valgrind.sh checks the
 * worker for leaks instead); everything else of ASan stays on. */
static int sandboxed;

int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return sandboxed;
}
#endif

static int cap_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return (int)syscall(SYS_capget, &h, d);
}

bool sandbox_privileged(void)
{
	struct __user_cap_data_struct d[2] = { 0 };

	if (geteuid() == 0)
		return true;
	return cap_get(d) == 0 && (d[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32)));
}

int sandbox_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	uid_t r, e, s;

	if (uid == 0)
		return errorf(err, errlen, "refusing to run the worker as uid 0");
	/* Groups first: after setresuid we could no longer change them. */
	if (geteuid() == 0 && setgroups(0, NULL) < 0)
		return errorf(err, errlen, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return errorf(err, errlen, "cannot switch to gid %u: %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return errorf(err, errlen, "cannot switch to uid %u: %s", (unsigned)uid, strerror(errno));
	/* Leaving uid 0 clears the sets already; a helper that had only
	 * CAP_NET_ADMIN (ambient or file capability) keeps its uid and must
	 * clear them itself. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &h, d) < 0)
		return errorf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errorf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	/* Check rather than trust: no way back to root, no capability left. */
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid || setuid(0) == 0)
		return errorf(err, errlen, "uid %u did not stick", (unsigned)uid);
	if (cap_get(d) < 0 || d[0].effective || d[1].effective || d[0].permitted || d[1].permitted)
		return errorf(err, errlen, "capabilities remain after dropping them");
	return 0;
}

/* Everything the worker's loop does: stdin/stdout, the TUN fd, the socket
 * to its monitor (descriptors arrive over it), zlib (memory only), clocks,
 * the log on stderr. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(futex),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getrandom), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

#ifdef SANDBOX_ASAN
/* Sanitizer builds only: what an ASan/UBSan report tries (the executable's
 * name, a terminal check, a pipe to a symbolizer) fails instead of killing,
 * so that the report is printed, with unsymbolized frames. */
static const int asan_report[] = {
	SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(prctl), SCMP_SYS(pipe), SCMP_SYS(pipe2),
};
#endif

/* F_SETPIPE_SZ: the worker fits its stdout pipe to the link's rate. */
static const int fcntl_cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_SETPIPE_SZ };
/* The TUN's virtio-net header and offloads (tun-linux.c): what the worker
 * asks once it has its TUN, and sets when the client's hello says what it
 * takes.  Nothing else of ioctl. */
static const unsigned long tun_ioctls[] = { TUNGETIFF, TUNGETVNETHDRSZ, TUNSETVNETHDRSZ, TUNSETOFFLOAD };

/* The user-space stack's sockets: the login user's network access, as
 * ssh -D gives it (sandbox_seccomp_net). */
static const int net_allowed[] = {
	SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown), SCMP_SYS(getppid),
	/* What glibc's new thread does first, maybe after the filter is on. */
	SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
};

static int add_net_rules(scmp_filter_ctx ctx, bool files_ro)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(net_allowed) / sizeof(net_allowed[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, net_allowed[i], 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	/* Other families (netlink, unix) fail as if absent. */
	for (int fam = 0; rc == 0 && fam < AF_MAX; fam++)
		if (fam != AF_INET && fam != AF_INET6)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)FIONREAD));
	/* Read-only opens; Landlock leaves one file to open. */
	if (rc == 0 && files_ro)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY));
	for (int mode = O_WRONLY; rc == 0 && files_ro && mode <= O_ACCMODE; mode++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, (scmp_datum_t)mode));
	return rc;
}

static int add_rules(scmp_filter_ctx ctx, bool net, bool files_ro)
{
	int rc = net ? add_net_rules(ctx, files_ro) : 0;

	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* Memory, never executable. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* O_NONBLOCK on stdin/stdout and the like. */
	for (size_t i = 0; rc == 0 && i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)fcntl_cmds[i]));
	for (size_t i = 0; rc == 0 && i < sizeof(tun_ioctls) / sizeof(tun_ioctls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)tun_ioctls[i]));
	/* abort() and raise() signal only this process. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	/* A library that tries to open a file gets a plain error, not death
	 * (glibc may look for locale or time zone files). */
	if (rc == 0 && !files_ro)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
#ifdef SANDBOX_ASAN
	for (size_t i = 0; rc == 0 && i < sizeof(asan_report) / sizeof(asan_report[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), asan_report[i], 0);
	/* Its terminal check (isatty). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)TCGETS));
#endif
	return rc;
}

static int install(bool net, bool files_ro, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc;

	errno = 0;
	/* Without the kernel's filter mode (or under valgrind, which emulates
	 * no seccomp): 1, and the helper refuses to run unless its
	 * configuration says the filter is optional. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 || !(ctx = seccomp_init(SCMP_ACT_KILL_PROCESS))) {
		errorf(err, errlen, "seccomp is not available here (%s)", strerror(errno ? errno : ENOSYS));
		return 1;
	}
	rc = add_rules(ctx, net, files_ro);
	/* Every thread: the user-space stack's runs already. */
	if (rc == 0 && net)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = -errno;
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return errorf(err, errlen, "cannot install the seccomp filter: %s", strerror(-rc));
#ifdef SANDBOX_ASAN
	sandboxed = 1;
#endif
	return 0;
}

int sandbox_seccomp(char *err, size_t errlen)
{
	return install(false, false, err, errlen);
}

int sandbox_seccomp_net(bool files_ro, char *err, size_t errlen)
{
	return install(true, files_ro, err, errlen);
}

/* Every filesystem right of Landlock ABI version abi. */
static uint64_t landlock_fs_rights(long abi)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	/* What these headers know of; the rest stays with seccomp. */
#ifdef LANDLOCK_ACCESS_FS_REFER
	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
#endif
	return all;
}

int sandbox_fs_readonly(const char *path, char *err, size_t errlen)
{
	struct landlock_ruleset_attr attr = { 0 };
	struct landlock_path_beneath_attr rule = { .allowed_access = LANDLOCK_ACCESS_FS_READ_FILE };
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int fd, rc = 0;

	if (abi < 1) {
		errorf(err, errlen, "Landlock is not available here (%s)", strerror(errno));
		return 1;
	}
	attr.handled_access_fs = landlock_fs_rights(abi);
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return errorf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
	/* The file itself (through a symbolic link, its target): missing, it
	 * simply cannot be read. */
	rule.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (rule.parent_fd >= 0) {
		rc = (int)syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
		close(rule.parent_fd);
	}
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		rc = (int)syscall(SYS_landlock_restrict_self, fd, 0);
	else
		rc = -1;
	close(fd);
	if (rc < 0)
		return errorf(err, errlen, "cannot restrict file access with Landlock: %s", strerror(errno));
	return 0;
}
