/* See state_undo.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "dns.h"
#include "fail.h"
#include "killswitch.h"
#include "log.h"
#include "netlink.h"
#include "pidexe.h"
#include "prefix.h"
#include "safefile.h"
#include "state.h"
#include "state_undo.h"

/* Is pid an sshtun still running?  (A recycled pid running something else
 * does not count.) */
static bool running(pid_t pid)
{
	/* Cannot tell (-1): assume it is ours, and touch nothing. */
	return pid != getpid() && pid_runs_our_binary(pid) != 0;
}

static int undo_pin(const struct state_record *r, bool verbose)
{
	char a[INET6_ADDRSTRLEN + 8];
	/* Ours only: an admin's route for the same prefix stays. */
	int rc = r->ifindex > 0 ? net_route_del_ours(&r->dst, r->ifindex) : -EINVAL;

	inet_prefix_str(&r->dst, true, a, sizeof(a));
	if (rc < 0 && rc != -ESRCH)
		log_warn("cannot remove route %s: %s", a, strerror(-rc));
	else if (verbose && rc == 0)
		printf("removed route %s\n", a);
	return 0;
}

static int undo_dns(const struct state_record *r, bool verbose)
{
	char args[STATE_LINE_MAX];

	snprintf(args, sizeof(args), "%s", r->args);
	return dns_undo_record(args, verbose);
}

static int undo_nft(const struct state_record *r, bool verbose)
{
	if (ks_remove(r->table) < 0) {
		log_warn("cannot remove the nftables table inet %s (the kill switch)", r->table);
		return -1;
	}
	if (verbose)
		printf("removed the kill switch (nftables table inet %s)\n", r->table);
	return 0;
}

static int undo_unreach(const struct state_record *r, bool verbose)
{
	char a[INET6_ADDRSTRLEN + 8];
	int rc = net_route_unreachable(false, &r->dst);

	inet_prefix_str(&r->dst, true, a, sizeof(a));
	if (rc < 0 && rc != -ESRCH)
		log_warn("cannot remove the unreachable route %s: %s", a, strerror(-rc));
	else if (verbose && rc == 0)
		printf("removed unreachable route %s\n", a);
	return 0;
}

static int undo_rule(const struct state_record *r, bool verbose)
{
	char a[INET6_ADDRSTRLEN + 8];
	int rc = net_rule_uid(false, &r->dst, r->uid, r->rule_table, NET_UID_RULE_PRIORITY);

	inet_prefix_str(&r->dst, true, a, sizeof(a));
	if (rc < 0 && rc != -ENOENT && rc != -ESRCH)
		log_warn("cannot remove the rule for %s uid %u: %s", a, r->uid, strerror(-rc));
	else if (verbose && rc == 0)
		printf("removed rule to %s uidrange %u-%u lookup %u\n", a, r->uid, r->uid, r->rule_table);
	return 0;
}

static int undo_srcrule(const struct state_record *r, bool verbose)
{
	char a[INET6_ADDRSTRLEN + 8];
	struct inet_prefix any = { .family = AF_INET };
	int rc = net_rule_src(false, &r->dst, r->rule_table, NET_EXEC_RULE_PRIORITY);

	/* The table's default went with the TUN; a leftover is ours alone. */
	net_route_table(false, &any, 0, r->rule_table);
	inet_prefix_str(&r->dst, true, a, sizeof(a));
	if (rc < 0 && rc != -ENOENT && rc != -ESRCH)
		log_warn("cannot remove the exec rule from %s: %s", a, strerror(-rc));
	else if (verbose && rc == 0)
		printf("removed rule from %s lookup %u\n", a, r->rule_table);
	return 0;
}

/* Each kind of record, and how it is undone.  pid records are not undone:
 * they say whether the writer still runs. */
static const struct {
	enum state_kind kind;
	int (*undo)(const struct state_record *r, bool verbose);
} undoers[] = {
	{ STATE_PIN, undo_pin },
	{ STATE_DNS, undo_dns },
	{ STATE_NFT, undo_nft },
	{ STATE_UNREACH, undo_unreach },
	{ STATE_RULE, undo_rule },
	{ STATE_SRCRULE, undo_srcrule },
};

int state_undo(const char *path, bool verbose)
{
	static struct state_record rec[STATE_MAX_RECORDS + 1];
	static char text[(STATE_MAX_RECORDS + 2) * (STATE_LINE_MAX + 1)];
	char backup[STATE_LINE_MAX], err[400];
	int undone = 0, n, fd;
	size_t len = 0;
	ssize_t got;

	/* Root acts on what this file says: it must be a plain file of ours
	 * that nobody else could have written. */
	fd = safe_open(path, O_RDONLY, 0, err, sizeof(err));
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(EXIT_ERROR, "not acting on a state file: %s", err);
	}
	while (len < sizeof(text) && (got = read(fd, text + len, sizeof(text) - len)) > 0)
		len += (size_t)got;
	close(fd);
	snprintf(backup, sizeof(backup), "%s.resolv.conf", path);
	n = state_parse(text, len, path, backup, rec, (int)ARRAY_SIZE(rec));
	/* A live instance's records are its own business: check before any. */
	for (int i = 0; i < n; i++)
		if (rec[i].kind == STATE_PID && running(rec[i].pid))
			return fail(EXIT_ERROR,
				    "the instance of %s is still running (pid %d): stop it with sshtun ctl ... quit",
				    path, rec[i].pid);
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(undoers); k++)
			if (rec[i].kind == undoers[k].kind && undoers[k].undo(&rec[i], verbose) == 0)
				undone++;
	unlink(path);
	return undone;
}
