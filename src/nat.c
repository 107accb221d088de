/* See nat.h.  nft reads its script on stdin; no shell is involved. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "nat.h"

extern char **environ;

static const char *const sysctls[] = {
	"/proc/sys/net/ipv4/ip_forward",
	"/proc/sys/net/ipv6/conf/all/forwarding",
};

static int nft(const char *script)
{
	char *argv[] = { "nft", "-f", "-", NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], status = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	/* Our stdout is the protocol channel: nft must not write there.  Its
	 * stderr reaches the client's log through sshd, which is useful. */
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, access("/usr/sbin/nft", X_OK) == 0 ? "/usr/sbin/nft" : "/sbin/nft", &fa, NULL,
			argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		errno = ENOENT;
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (write(fds[1], script, strlen(script)) < 0)
		log_debug("nft: writing its script: %s", strerror(errno));
	close(fds[1]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* One lock for every helper's NAT changes, beside the lease file. */
static int lock(const struct pool *pool, const char *suffix, char *path, size_t cap)
{
	int fd;

	snprintf(path, cap, "%s.%s", pool->lease_path, suffix);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int read_sysctl(const char *path, char *v, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, v, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	v[n] = '\0';
	v[strcspn(v, "\n")] = '\0';
	return 0;
}

static int write_sysctl(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, v, strlen(v));
	close(fd);
	return n == (ssize_t)strlen(v) ? 0 : -1;
}

int nat_enable(const struct pool *pool, char *err, size_t errlen)
{
	char lockpath[300], saved[300], script[1024], n4[64] = "", n6[64] = "";
	size_t len = 0;
	int fd, rc = -1;
	FILE *f;

	fd = lock(pool, "natlock", lockpath, sizeof(lockpath));
	if (fd < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", lockpath, strerror(errno));
		return -1;
	}
	/* The settings we found, once: the first helper records them. */
	snprintf(saved, sizeof(saved), "%s.nat", pool->lease_path);
	if (access(saved, F_OK) != 0 && (f = fopen(saved, "we"))) {
		for (size_t i = 0; i < ARRAY_SIZE(sysctls); i++) {
			char v[16];

			if (read_sysctl(sysctls[i], v, sizeof(v)) == 0)
				fprintf(f, "%s %s\n", sysctls[i], v);
		}
		fclose(f);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sysctls); i++)
		if (write_sysctl(sysctls[i], "1") < 0) {
			snprintf(err, errlen, "cannot turn on forwarding (%s): %s", sysctls[i], strerror(errno));
			goto out;
		}
	inet_prefix_str(&pool->net4, true, n4, sizeof(n4));
	inet_prefix_str(&pool->net6, true, n6, sizeof(n6));
	/* Declare, delete and re-create in one transaction: idempotent. */
	len += (size_t)snprintf(script + len, sizeof(script) - len,
				"table inet " NAT_TABLE "\ndelete table inet " NAT_TABLE "\n"
				"table inet " NAT_TABLE " {\n\tchain postrouting {\n"
				"\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	if (*n4)
		len += (size_t)snprintf(script + len, sizeof(script) - len,
					"\t\tip saddr %s oifname != \"sshtun*\" masquerade\n", n4);
	if (*n6)
		len += (size_t)snprintf(script + len, sizeof(script) - len,
					"\t\tip6 saddr %s oifname != \"sshtun*\" masquerade\n", n6);
	snprintf(script + len, sizeof(script) - len, "\t}\n}\n");
	if (nft(script) < 0) {
		snprintf(err, errlen, "nft could not add the masquerade table%s",
			 errno == ENOENT ? " (nft is not installed)" : "");
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

void nat_release(const struct pool *pool)
{
	char lockpath[300], saved[300], line[400];
	int fd = lock(pool, "natlock", lockpath, sizeof(lockpath));
	FILE *f;

	if (fd < 0)
		return;
	if (pool_live(pool, getpid()) > 0)
		goto out;	/* another client still needs it */
	if (nft("table inet " NAT_TABLE "\ndelete table inet " NAT_TABLE "\n") < 0)
		log_warn("could not remove the nftables table inet " NAT_TABLE);
	snprintf(saved, sizeof(saved), "%s.nat", pool->lease_path);
	if ((f = fopen(saved, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			char *sp = strchr(line, ' ');

			if (!sp)
				continue;
			*sp++ = '\0';
			sp[strcspn(sp, "\n")] = '\0';
			for (size_t i = 0; i < ARRAY_SIZE(sysctls); i++)
				if (!strcmp(line, sysctls[i]))
					write_sysctl(sysctls[i], sp);
		}
		fclose(f);
		unlink(saved);
	}
	log_verbose("last client gone: NAT removed");
out:
	close(fd);
}
