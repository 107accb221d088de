/* `sshtun exec': the namespace and the commands, on the root side (see
 * execns.h for the shape). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execns.h"
#include "fdpass.h"
#include "killswitch.h"
#include "log.h"
#include "netlink.h"
#include "nft.h"
#include "priv.h"

#define EXEC_SETUP_SEC 10	/* the caller sends its descriptors and argv within this */
#define EXEC_GROUPS_MAX 256

static int errorf(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int errorf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static uint32_t table_of(const struct priv_root *r)
{
	return r->ex.rt_table;
}

static void names(const struct priv_root *r, char host[IFNAMSIZ], char peer[IFNAMSIZ])
{
	snprintf(host, IFNAMSIZ, "stx%dh", r->ifindex % 100000);
	snprintf(peer, IFNAMSIZ, "stx%dn", r->ifindex % 100000);
}

static int sysctl_one(const char *ifname, const char *value)
{
	char path[96];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The namespace's side: lo and its end up, its address, the default route. */
static int inside(const struct priv_root *r, const char *peer)
{
	struct inet_prefix any = { .family = AF_INET }, host = r->ex.host;
	int idx, rc;

	host.plen = 32;
	if ((rc = net_link_set(1, 0, true)) < 0)	/* lo is 1 in a new namespace */
		return rc;
	if ((idx = net_link_index(peer)) < 0)
		return idx;
	if ((rc = net_addr_add(idx, &r->ex.peer)) < 0 || (rc = net_link_set(idx, 0, true)) < 0)
		return rc;
	return net_route_add(&any, idx, &host);
}

/* Was IPv4 forwarding off on ifname (before we turn it on)? */
static bool forwarding_off(const char *ifname)
{
	char path[96], c = '0';
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c == '0';
}

/* The guard that stands in for the client's own source check: once a
 * command has run here, the network side takes IPv4 from any source off the
 * tunnel (the namespace's replies come from anywhere), so the kernel drops
 * what arrives on the tunnel from a source it would not route back through
 * it, unless it answers a flow the namespace began (masqueraded, so
 * `ct status snat').  It stays, NAT or not, until the instance ends: the
 * network side's leniency does too.  Priority -150: after conntrack, before
 * the NAT that gives a reply its namespace address. */
static int guard_chain(const struct priv_root *r, char *s, size_t cap)
{
	int n = snprintf(s, cap,
			 " chain spoof { type filter hook prerouting priority -150; policy accept;\n"
			 "  iifname \"%1$s\" meta nfproto ipv4 ct direction reply ct status snat accept\n"
			 "  iifname \"%1$s\" meta nfproto ipv4 fib saddr . iif oif missing counter drop\n }\n",
			 r->ifname);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* tun_closed: the tunnel forwarded nothing before us, and forwards only
 * replies into the namespace now.  NS_GUARD: the namespace is gone, the
 * guard stays; NS_GONE: the table goes. */
enum ns_table { NS_UP, NS_GUARD, NS_GONE };

static int nat_script(const struct priv_root *r, const char *host, enum ns_table how, bool tun_closed, char *s,
		      size_t cap)
{
	char peer[INET_ADDRSTRLEN], closed[IFNAMSIZ + 32] = "", guard[320];
	int n;

	inet_ntop(AF_INET, &r->ex.peer.addr, peer, sizeof(peer));
	if (tun_closed)
		snprintf(closed, sizeof(closed), "  iifname \"%s\" drop\n", r->ifname);
	if (guard_chain(r, guard, sizeof(guard)) < 0)
		return -1;
	if (how == NS_GONE)
		n = snprintf(s, cap, "delete table inet %s\n", r->ex.table);
	else if (how == NS_GUARD)
		n = snprintf(s, cap, "table inet %1$s { }\ndelete table inet %1$s\ntable inet %1$s {\n%2$s}\n",
			     r->ex.table, guard);
	else
		n = snprintf(s, cap,
			     "table inet %1$s { }\ndelete table inet %1$s\n"
			     "table inet %1$s {\n"
			     " chain post { type nat hook postrouting priority 100; policy accept;\n"
			     "  oifname \"%2$s\" ip saddr %3$s masquerade\n }\n"
			     " chain forward { type filter hook forward priority 0; policy accept;\n"
			     "  iifname \"%4$s\" oifname \"%2$s\" accept\n"
			     "  iifname \"%2$s\" oifname \"%4$s\" ct state established,related accept\n"
			     "  iifname \"%4$s\" drop\n  oifname \"%4$s\" drop\n%5$s }\n%6$s}\n",
			     r->ex.table, r->ifname, peer, host, closed, guard);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int write_resolv(struct priv_root *r)
{
	char a[INET6_ADDRSTRLEN], tmp[sizeof(r->ex.resolv) + 8];
	FILE *f;

	if (!r->dns1.family || !r->st.path[0])
		return 0;
	snprintf(r->ex.resolv, sizeof(r->ex.resolv), "%s.exec-resolv.conf", r->st.path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->ex.resolv);
	inet_ntop(r->dns1.family, &r->dns1.addr, a, sizeof(a));
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "# sshtun exec: the tunnel's resolver\nnameserver %s\n", a) < 0 || fclose(f) != 0 ||
	    rename(tmp, r->ex.resolv) < 0) {
		r->ex.resolv[0] = '\0';
		return -EIO;
	}
	return 0;
}

void execns_stop(struct priv_root *r, bool final)
{
	char script[1024], rec[STATE_LINE_MAX], a[INET_ADDRSTRLEN + 4];

	/* The table first: after the last command it holds the guard alone,
	 * with no namespace left. */
	if (r->ex.table[0] && nat_script(r, "", final ? NS_GONE : NS_GUARD, false, script, sizeof(script)) == 0) {
		nft_run(script);
		if (final) {
			snprintf(rec, sizeof(rec), "nft %s", r->ex.table);
			state_remove(&r->st, rec);
			r->ex.table[0] = '\0';
		}
	}
	if (r->ex.ns_fd < 0)
		return;
	inet_prefix_str(&r->ex.peer, true, a, sizeof(a));
	snprintf(rec, sizeof(rec), "srcrule %s %u", a, table_of(r));
	{
		struct inet_prefix one = r->ex.peer, any = { .family = AF_INET };

		one.plen = 32;
		net_rule_src(false, &one, table_of(r), NET_EXEC_RULE_PRIORITY);
		net_route_table(false, &any, r->ifindex, table_of(r));
	}
	state_remove(&r->st, rec);
	if (r->ex.veth > 0)
		net_link_del(r->ex.veth);	/* the peer goes with it */
	if (r->ex.resolv[0])
		unlink(r->ex.resolv);
	close(r->ex.ns_fd);
	r->ex.ns_fd = -1;
	r->ex.veth = 0;
	r->ex.resolv[0] = '\0';
	log_verbose("exec: the namespace is gone");
}

/* The veth pair's /31, 169.254.77.2k and 2k + 1: k from the ifindex
 * first, then the next one no other instance's namespace holds here (two
 * ifindexes 128 apart would share it, and one would get the other's
 * packets). */
static int pick_pair(struct priv_root *r)
{
	for (int i = 0; i < 128; i++) {
		int k = (r->ifindex + i) % 128;
		struct inet_prefix h = { .family = AF_INET, .plen = 32 }, p;
		uint8_t *b = (uint8_t *)&h.addr;

		b[0] = 169, b[1] = 254, b[2] = 77, b[3] = (uint8_t)(2 * k);
		p = h;
		((uint8_t *)&p.addr)[3] = (uint8_t)(2 * k + 1);
		if (net_addr_present(&h) != 0 || net_addr_present(&p) != 0)
			continue;
		r->ex.host = h;
		r->ex.host.plen = 31;
		r->ex.peer = p;
		r->ex.peer.plen = 31;
		return 0;
	}
	return -EADDRINUSE;
}

/* The namespace, its links, routes, rule and NAT, once for all commands. */
static int setup(struct priv_root *r, char *err, size_t errlen)
{
	char host[IFNAMSIZ], peer[IFNAMSIZ], script[1024], a[INET_ADDRSTRLEN + 4];
	struct inet_prefix any = { .family = AF_INET }, one;
	int self, rc;
	bool tun_closed = forwarding_off(r->ifname);

	if ((rc = pick_pair(r)) < 0)
		return errorf(err, errlen, rc, "exec: every 169.254.77.0/24 pair is taken on this machine");
	r->ex.rt_table = net_table_pick(NET_EXEC_TABLE_BASE, r->ifindex);
	if (!r->ex.rt_table)
		return errorf(err, errlen, -ENOSPC, "exec: no free routing table near %u",
			      NET_EXEC_TABLE_BASE + (uint32_t)r->ifindex);
	names(r, host, peer);

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return errorf(err, errlen, -errno, "exec: cannot open our network namespace: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) < 0) {
		rc = -errno;
		close(self);
		return errorf(err, errlen, rc, "exec: cannot make a network namespace: %s", strerror(-rc));
	}
	r->ex.ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (setns(self, CLONE_NEWNET) < 0) {	/* cannot happen: we are root */
		log_warn("exec: cannot return to our network namespace: %s", strerror(errno));
		abort();
	}
	if (r->ex.ns_fd < 0) {
		close(self);
		return errorf(err, errlen, -EIO, "exec: lost the new namespace");
	}
	rc = net_veth_add(host, peer, r->ex.ns_fd);
	if (rc < 0) {
		close(self);
		close(r->ex.ns_fd);
		r->ex.ns_fd = -1;
		return errorf(err, errlen, rc, "exec: cannot create veth %s/%s: %s", host, peer, strerror(-rc));
	}
	r->ex.veth = net_link_index(host);
	rc = r->ex.veth < 0 ? r->ex.veth : net_addr_add(r->ex.veth, &r->ex.host);
	if (rc == 0)
		rc = net_link_set(r->ex.veth, 0, true);
	if (rc == 0) {
		if (setns(r->ex.ns_fd, CLONE_NEWNET) < 0)
			rc = -errno;
		else {
			rc = inside(r, peer);
			if (setns(self, CLONE_NEWNET) < 0)
				abort();
		}
	}
	close(self);
	if (rc < 0) {
		execns_stop(r, false);
		return errorf(err, errlen, rc, "exec: cannot set up %s/%s: %s", host, peer, strerror(-rc));
	}
	/* Our side: the namespace's address to the tunnel through a table of
	 * ours; forwarding for the two links only; NAT to the tunnel address. */
	one = r->ex.peer;
	one.plen = 32;
	inet_prefix_str(&one, true, a, sizeof(a));
	if (!r->ex.table[0]) {	/* a guard from an earlier namespace keeps its record */
		snprintf(r->ex.table, sizeof(r->ex.table), "sshtun_exec_%ld", (long)getpid());
		if (state_add(&r->st, "nft %s", r->ex.table) < 0) {
			r->ex.table[0] = '\0';
			execns_stop(r, false);
			return errorf(err, errlen, -ENOSPC, "exec: cannot record the namespace in %s", r->st.path);
		}
	}
	if (state_add(&r->st, "srcrule %s %u", a, table_of(r)) < 0) {
		execns_stop(r, false);
		return errorf(err, errlen, -ENOSPC, "exec: cannot record the namespace in %s", r->st.path);
	}
	if ((rc = net_route_table(true, &any, r->ifindex, table_of(r))) < 0 && rc != -EEXIST) {
		execns_stop(r, false);
		return errorf(err, errlen, rc, "exec: cannot add the default route to table %u: %s", table_of(r),
			      strerror(-rc));
	}
	if ((rc = net_rule_src(true, &one, table_of(r), NET_EXEC_RULE_PRIORITY)) < 0 ||
	    (rc = sysctl_one(host, "1")) < 0 || (rc = sysctl_one(r->ifname, "1")) < 0) {
		execns_stop(r, false);
		return errorf(err, errlen, rc, "exec: cannot route %s through %s: %s", a, r->ifname, strerror(-rc));
	}
	if (nat_script(r, host, NS_UP, tun_closed, script, sizeof(script)) < 0 || nft_run(script) < 0) {
		execns_stop(r, false);
		return errorf(err, errlen, -EIO, "exec: nft refused the NAT table for %s", a);
	}
	if (write_resolv(r) < 0)
		log_warn("exec: cannot write the namespace's resolv.conf; the command uses the machine's");
	log_verbose("exec: namespace up: %s (%s) <-> %s (%s)", host, a, peer, r->ifname);
	return 0;
}

static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The command itself, in the child: mount namespace for resolv.conf, the
 * network namespace, the caller's identity, its descriptors. */
static void child(const struct priv_root *r, int conn, const int std[3], struct ucred *cr, gid_t *groups,
		  int ngroups, char **argv, char **envp, const char *cwd)
{
	if (r->ex.resolv[0] && (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
				mount(r->ex.resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)) {
		say(std[2], "sshtun: exec: cannot give the command the tunnel's resolv.conf: %s\n", strerror(errno));
		_exit(126);
	}
	if (setns(r->ex.ns_fd, CLONE_NEWNET) < 0 || setgroups((size_t)ngroups, groups) < 0 ||
	    setresgid(cr->gid, cr->gid, cr->gid) < 0 || setresuid(cr->uid, cr->uid, cr->uid) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		say(std[2], "sshtun: exec: cannot become uid %u in the namespace: %s\n", (unsigned)cr->uid,
		    strerror(errno));
		_exit(126);
	}
	if (cr->uid != 0 && setuid(0) == 0)	/* the drop must be for good */
		_exit(126);
	for (int i = 0; i < 3; i++)
		if (dup2(std[i], i) < 0)
			_exit(126);
	close(conn);
	if (chdir(cwd) < 0 && chdir("/") < 0)
		_exit(126);
	execvpe(argv[0], argv, envp);
	say(2, "sshtun: exec: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* The manager: reads what the caller sends, runs the command, reports its
 * exit status ("x N"), exits. */
static void manager(const struct priv_root *r, int conn)
{
	struct timeval tv = { .tv_sec = EXEC_SETUP_SEC };
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t groups[EXEC_GROUPS_MAX];
	socklen_t glen = sizeof(groups);
	uint32_t hdr[2];
	int std[3], status, ngroups;
	char *blob, **vec, *p, *end;
	size_t nstr = 0;
	pid_t pid;

	fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) & ~O_NONBLOCK);
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    getsockopt(conn, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) < 0) {
		say(conn, "e exec: cannot tell who asked: %s\nx 1\n", strerror(errno));
		_exit(1);
	}
	ngroups = (int)(glen / sizeof(gid_t));
	say(conn, "go\n");
	for (int i = 0; i < 3; i++) {
		char b;

		if (fdpass_recv(conn, &b, 1, &std[i]) != 1 || std[i] < 0)
			_exit(1);
	}
	/* hdr: the number of argv strings, the bytes of all strings: cwd,
	 * argv, then the environment, each ending in NUL. */
	if (fd_read_full(conn, hdr, sizeof(hdr)) < 0 || hdr[0] < 1 || hdr[0] > EXECNS_ARGS_MAX / 2 || hdr[1] < 3 ||
	    hdr[1] > EXECNS_ARGS_MAX) {
		say(conn, "e exec: malformed request\nx 1\n");
		_exit(1);
	}
	blob = malloc(hdr[1]);
	if (!blob || fd_read_full(conn, blob, hdr[1]) < 0 || blob[hdr[1] - 1] != '\0') {
		say(conn, "e exec: malformed request (%u bytes)\nx 1\n", hdr[1]);
		_exit(1);
	}
	end = blob + hdr[1];
	for (p = blob; p < end; p += strlen(p) + 1)
		nstr++;
	if (nstr < 1 + (size_t)hdr[0]) {
		say(conn, "e exec: malformed request (%zu strings, %u arguments)\nx 1\n", nstr, hdr[0]);
		_exit(1);
	}
	vec = calloc(nstr + 2, sizeof(*vec));
	if (!vec)
		_exit(1);
	{
		size_t i = 0, j = 0;

		for (p = blob; p < end; p += strlen(p) + 1, i++) {
			if (i == 1 + hdr[0])
				j++;	/* the NULL between argv and the environment */
			vec[i + j] = p;
		}
	}
	pid = fork();
	if (pid < 0) {
		say(conn, "e exec: fork: %s\nx 1\n", strerror(errno));
		_exit(1);
	}
	if (pid == 0)
		child(r, conn, std, &cr, groups, ngroups, vec + 1, vec + 2 + hdr[0], vec[0]);
	for (int i = 0; i < 3; i++)
		close(std[i]);
	say(conn, "p %ld\n", (long)pid);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	say(conn, "x %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	_exit(0);
}

int execns_start(struct priv_root *r, int conn, char *err, size_t errlen)
{
	int rc, pidfd;
	pid_t pid;

	if (r->ex.n >= EXECNS_MAX) {
		close(conn);
		return errorf(err, errlen, -EBUSY, "exec: %d commands run already (max %d)", r->ex.n, EXECNS_MAX);
	}
	if (r->ex.ns_fd < 0 && (rc = setup(r, err, errlen)) < 0) {
		close(conn);
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(conn);
		if (r->ex.n == 0)
			execns_stop(r, false);
		return errorf(err, errlen, rc, "exec: fork: %s", strerror(-rc));
	}
	if (pid == 0) {
		close(r->fd);
		if (r->tun_fd >= 0)
			close(r->tun_fd);
		for (int i = 0; i < r->ex.n; i++)
			close(r->ex.pidfd[i]);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		manager(r, conn);
	}
	close(conn);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		log_warn("exec: pidfd_open: %s; the namespace stays until the instance ends", strerror(errno));
	r->ex.pid[r->ex.n] = pid;
	r->ex.pidfd[r->ex.n++] = pidfd;
	return 0;
}

void execns_reap(struct priv_root *r)
{
	for (int i = 0; i < r->ex.n;) {
		if (waitpid(r->ex.pid[i], NULL, WNOHANG) == r->ex.pid[i]) {
			if (r->ex.pidfd[i] >= 0)
				close(r->ex.pidfd[i]);
			r->ex.n--;
			r->ex.pid[i] = r->ex.pid[r->ex.n];
			r->ex.pidfd[i] = r->ex.pidfd[r->ex.n];
		} else {
			i++;
		}
	}
	if (r->ex.n == 0)
		execns_stop(r, false);
}
