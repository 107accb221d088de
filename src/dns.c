/* See dns.h. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "dns.h"
#include "fail.h"
#include "log.h"
#include "safefile.h"
#include "state.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_MAX (64 * 1024)
#define OUR_MARK "# sshtun:"

extern char **environ;

static char method[16];

const char *dns_method(void)
{
	return method;
}

int dns_domain_check(const char *d)
{
	size_t label = 0, n = strlen(d);

	if (n == 0 || n >= DNS_DOMAIN_MAX)
		return -1;
	for (const char *c = d; *c; c++) {
		if (*c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return -1;
		if (++label > 63)
			return -1;
	}
	return 0;
}

/* Runs argv (found in PATH) with text on its stdin; returns its exit status
 * or -1.  No shell is involved: the words come from the server. */
static int run(char *const argv[], const char *input)
{
	posix_spawn_file_actions_t fa;
	int fds[2] = { -1, -1 }, status = 0;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (input) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			return -1;
		posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	}
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		if (input) {
			close(fds[0]);
			close(fds[1]);
		}
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (input) {
		close(fds[0]);
		if (write(fds[1], input, strlen(input)) < 0)
			log_debug("%s: writing its input: %s", argv[0], strerror(errno));
		close(fds[1]);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool have_resolved(void)
{
	return access("/run/systemd/resolve/io.systemd.Resolve", F_OK) == 0;
}

static bool in_path(const char *prog)
{
	const char *dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	char p[64];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", dirs[i], prog);
		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

static int apply_resolved(const char *ifname, const struct dns_config *cfg, struct state *st)
{
	char *argv[4 + DNS_MAX_SERVERS + DNS_MAX_DOMAINS + 1];
	char addrs[DNS_MAX_SERVERS][INET6_ADDRSTRLEN], doms[DNS_MAX_DOMAINS + 1][DNS_DOMAIN_MAX + 1];
	int n = 0;

	argv[n++] = "resolvectl";
	argv[n++] = "dns";
	argv[n++] = (char *)ifname;
	for (int i = 0; i < cfg->nservers; i++)
		argv[n++] = inet_prefix_str(&cfg->servers[i], false, addrs[i], sizeof(addrs[i]));
	argv[n] = NULL;
	if (run(argv, NULL) != 0)
		return fail(EXIT_ERROR, "resolvectl dns %s failed", ifname);
	state_add(st, "dns resolvectl %s", ifname);
	n = 3;
	argv[1] = "domain";
	/* "~domain" routes a domain without searching it; "~." routes all. */
	if (!cfg->split)
		snprintf(doms[DNS_MAX_DOMAINS], sizeof(doms[0]), "~.");
	if (!cfg->split)
		argv[n++] = doms[DNS_MAX_DOMAINS];
	for (int i = 0; i < cfg->ndomains; i++) {
		snprintf(doms[i], sizeof(doms[i]), "%s%s", cfg->split ? "~" : "", cfg->domains[i]);
		argv[n++] = doms[i];
	}
	argv[n] = NULL;
	if (n > 3 && run(argv, NULL) != 0)
		return fail(EXIT_ERROR, "resolvectl domain %s failed", ifname);
	if (!cfg->split) {
		char *dr[] = { "resolvectl", "default-route", (char *)ifname, "yes", NULL };

		run(dr, NULL);
	}
	snprintf(method, sizeof(method), "resolved");
	return 0;
}

static void compose(const struct dns_config *cfg, const char *name, char *out, size_t cap)
{
	size_t len = (size_t)snprintf(out, cap, "%s %s\n", OUR_MARK, name);
	char a[INET6_ADDRSTRLEN];

	for (int i = 0; i < cfg->nservers && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "nameserver %s\n",
					inet_prefix_str(&cfg->servers[i], false, a, sizeof(a)));
	if (cfg->ndomains && len < cap) {
		len += (size_t)snprintf(out + len, cap - len, "search");
		for (int i = 0; i < cfg->ndomains && len < cap; i++)
			len += (size_t)snprintf(out + len, cap - len, " %s", cfg->domains[i]);
		if (len < cap)
			snprintf(out + len, cap - len, "\n");
	}
}

static int apply_resolvconf(const char *ifname, const struct dns_config *cfg, struct state *st)
{
	char text[4096], iface[64];
	char *argv[] = { "resolvconf", "-a", iface, NULL };

	/* resolvconf orders by interface name prefix; "tun." ranks a VPN first. */
	snprintf(iface, sizeof(iface), "tun.%s", ifname);
	compose(cfg, "resolvconf", text, sizeof(text));
	if (run(argv, text) != 0)
		return fail(EXIT_ERROR, "resolvconf -a %s failed", iface);
	state_add(st, "dns resolvconf %s", iface);
	snprintf(method, sizeof(method), "resolvconf");
	return 0;
}

/* Reads up to cap bytes and closes fd. */
static ssize_t read_fd(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	return (ssize_t)len;
}

static ssize_t read_all(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -1 : read_fd(fd, buf, cap);
}

/* In place (O_TRUNC, not rename): /etc/resolv.conf may be a bind mount or a
 * symlink into /run that others watch. */
static int write_all(const char *path, const char *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t n = -1;

	if (fd < 0)
		return -1;
	n = write(fd, buf, len);
	if (fsync(fd) < 0 || close(fd) < 0 || n != (ssize_t)len)
		return -1;
	return 0;
}

/* Created afresh (O_EXCL, never through a planted link) in a directory
 * only we can write to. */
static int write_backup(const char *path, const char *buf, size_t len)
{
	char err[400];
	int fd = safe_create(path, 0600, err, sizeof(err));
	ssize_t n;

	if (fd < 0)
		return fail(EXIT_ERROR, "cannot keep a copy of %s: %s", RESOLV_CONF, err);
	n = write(fd, buf, len);
	if (fsync(fd) < 0 || close(fd) < 0 || n != (ssize_t)len)
		return fail(EXIT_ERROR, "cannot keep a copy of %s in %s: %s", RESOLV_CONF, path,
			    strerror(errno));
	return 0;
}

static int apply_file(const char *backup, const struct dns_config *cfg, struct state *st)
{
	static char orig[RESOLV_MAX], text[RESOLV_MAX + 4096];
	ssize_t olen = read_all(RESOLV_CONF, orig, sizeof(orig));
	size_t len;

	if (olen < 0)
		olen = 0;
	if (olen > 0 && !strncmp(orig, OUR_MARK, strlen(OUR_MARK)))
		return fail(EXIT_ERROR, "%s is already sshtun's (another instance, or a leftover: run sshtun cleanup)",
			    RESOLV_CONF);
	if (write_backup(backup, orig, (size_t)olen) < 0)
		return -1;
	state_add(st, "dns file %s", backup);
	if (cfg->split)
		log_warn("split DNS needs systemd-resolved or resolvconf: with %s every name now goes to the tunnel's resolvers",
			 RESOLV_CONF);
	compose(cfg, "the original is restored on exit and by sshtun cleanup", text, sizeof(text));
	len = strlen(text);
	/* Keep the original's options lines: they tune the resolver itself. */
	for (char *line = orig, *end; line < orig + olen; line = end + 1) {
		end = memchr(line, '\n', (size_t)(orig + olen - line));
		if (!end)
			end = orig + olen;
		if (!strncmp(line, "options", 7) && len + (size_t)(end - line) + 2 < sizeof(text))
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%.*s\n", (int)(end - line), line);
	}
	if (write_all(RESOLV_CONF, text, len, 0644) < 0)
		return fail(EXIT_ERROR, "cannot write %s: %s", RESOLV_CONF, strerror(errno));
	snprintf(method, sizeof(method), "file");
	return 0;
}

int dns_apply(const char *ifname, const char *backup, const struct dns_config *cfg, struct state *st)
{
	if (!cfg->nservers)
		return fail(EXIT_ERROR, "the server offers no DNS servers (serve --dns)");
	if (have_resolved() && in_path("resolvectl"))
		return apply_resolved(ifname, cfg, st);
	if (in_path("resolvconf"))
		return apply_resolvconf(ifname, cfg, st);
	return apply_file(backup, cfg, st);
}

static int undo_file(const char *backup, bool verbose)
{
	static char orig[RESOLV_MAX], cur[RESOLV_MAX];
	char err[400];
	int fd = safe_open(backup, O_RDONLY, 0, err, sizeof(err));
	ssize_t olen = fd < 0 ? -1 : read_fd(fd, orig, sizeof(orig));
	ssize_t clen = read_all(RESOLV_CONF, cur, sizeof(cur));

	if (fd < 0) {
		log_warn("not restoring %s: %s", RESOLV_CONF, err);
		return -1;
	}
	if (olen < 0)
		return -1;
	/* Only our own text is replaced: if someone rewrote the file since,
	 * theirs is newer than our copy. */
	if (clen >= 0 && strncmp(cur, OUR_MARK, strlen(OUR_MARK))) {
		log_warn("%s was changed by someone else; leaving it (the pre-sshtun copy is %s)",
			 RESOLV_CONF, backup);
		return -1;
	}
	if (write_all(RESOLV_CONF, orig, (size_t)olen, 0644) < 0) {
		log_warn("cannot restore %s: %s", RESOLV_CONF, strerror(errno));
		return -1;
	}
	unlink(backup);
	if (verbose)
		printf("restored %s\n", RESOLV_CONF);
	return 0;
}

int dns_undo_record(char *args, bool verbose)
{
	char *save = NULL, *how = strtok_r(args, " ", &save), *what = strtok_r(NULL, " ", &save);

	if (!how || !what)
		return -1;
	if (!strcmp(how, "file"))
		return undo_file(what, verbose);
	if (!strcmp(how, "resolvectl")) {
		char *argv[] = { "resolvectl", "revert", what, NULL };

		/* The link may be gone already, which reverts it too. */
		run(argv, NULL);
		if (verbose)
			printf("reverted DNS of %s\n", what);
		return 0;
	}
	if (!strcmp(how, "resolvconf")) {
		char *argv[] = { "resolvconf", "-d", what, NULL };

		if (run(argv, NULL) != 0)
			return -1;
		if (verbose)
			printf("removed resolvconf entry %s\n", what);
		return 0;
	}
	return -1;
}

void dns_revert(struct state *st)
{
	for (int i = st->n - 1; i >= 0; i--) {
		char rec[STATE_LINE_MAX], args[STATE_LINE_MAX];

		if (strncmp(st->rec[i], "dns ", 4))
			continue;
		snprintf(rec, sizeof(rec), "%s", st->rec[i]);
		snprintf(args, sizeof(args), "%s", st->rec[i] + 4);
		dns_undo_record(args, false);	/* it cuts args into words */
		state_remove(st, rec);
	}
	method[0] = '\0';
}
