/* The root side's request table over a real socketpair: what it refuses.
 * None of these requests reaches the kernel: each is refused first, except
 * in test_tun_goes_with_root_side, which runs in a network namespace of its
 * own (unshare(CLONE_NEWNET)) and is skipped without one. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "fail.h"
#include "log.h"
#include "netlink.h"
#include "priv.h"
#include "tun.h"

#define OUR_IFINDEX 4242

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

struct fixture {
	int sp[2];
	struct priv_root r;
};

static int setup(void **state)
{
	static struct fixture f;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f.sp), 0);
	priv_root_init(&f.r, f.sp[0], "/nonexistent/sshtun-unit.state");
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->sp[0]);
	if (f->sp[1] >= 0)
		close(f->sp[1]);
	return 0;
}

/* The interface an opened instance has; no TUN behind it here. */
static void opened(struct fixture *f)
{
	f->r.ifindex = OUR_IFINDEX;
	snprintf(f->r.ifname, sizeof(f->r.ifname), "fake0");
}

/* Sends len raw bytes, lets the root side answer once, returns the answer. */
static struct priv_resp ask_raw(struct fixture *f, const void *msg, size_t len)
{
	struct priv_resp a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(send(f->sp[1], msg, len, 0), (ssize_t)len);
	assert_int_equal(priv_root_step(&f->r), 1);
	assert_int_equal(recv(f->sp[1], &a, sizeof(a), 0), (ssize_t)sizeof(a));
	return a;
}

static struct priv_resp ask(struct fixture *f, struct priv_req *q)
{
	return ask_raw(f, q, sizeof(*q));
}

static struct priv_req req(uint32_t op, int ifindex)
{
	struct priv_req q;

	memset(&q, 0, sizeof(q));
	q.op = op;
	q.ifindex = ifindex;
	return q;
}

static void prefix(const char *s, struct inet_prefix *p)
{
	assert_int_equal(inet_prefix_parse(s, p), 0);
}

static void test_malformed_sizes(void **state)
{
	struct fixture *f = *state;
	char big[sizeof(struct priv_req) + 100];
	struct priv_resp a;

	opened(f);
	a = ask_raw(f, "short", 5);
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "malformed request: 5 bytes");
	memset(big, 0, sizeof(big));
	a = ask_raw(f, big, sizeof(big));
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "malformed request");
}

static void test_unknown_op(void **state)
{
	struct fixture *f = *state;
	struct priv_req q = req(PRIV_OP_END, OUR_IFINDEX);
	struct priv_resp a;

	opened(f);
	a = ask(f, &q);
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "unknown request");
	q.op = 0;
	assert_int_equal(ask(f, &q).rc, -EINVAL);
}

static void test_nothing_before_open(void **state)
{
	struct fixture *f = *state;
	struct priv_req q = req(PRIV_ROUTE_ADD, 0);
	struct priv_resp a;

	prefix("203.0.113.0/24", &q.a);
	a = ask(f, &q);
	assert_int_equal(a.rc, -EBADFD);
	assert_contains(a.msg, "no interface");
}

/* Every kind of request naming another interface is refused. */
static void test_other_interface_refused(void **state)
{
	struct fixture *f = *state;
	static const uint32_t ops[] = { PRIV_LINK_UP, PRIV_ADDR_ADD, PRIV_ADDR_DEL, PRIV_ROUTE_ADD,
					PRIV_ROUTE_DEL, PRIV_PIN, PRIV_UNPIN, PRIV_EXCLUDE,
					PRIV_UNEXCLUDE_ALL, PRIV_DNS_APPLY, PRIV_DNS_REVERT, PRIV_QUEUE };

	opened(f);
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		struct priv_req q = req(ops[i], 1);	/* lo */
		struct priv_resp a;

		prefix("203.0.113.0/24", &q.a);
		a = ask(f, &q);
		assert_int_equal(a.rc, -EPERM);
		assert_contains(a.msg, "interface index 1 refused");
		assert_contains(a.msg, "fake0");
	}
}

static void test_bad_prefixes(void **state)
{
	struct fixture *f = *state;
	struct priv_req q = req(PRIV_ROUTE_ADD, OUR_IFINDEX);
	struct priv_resp a;

	opened(f);
	prefix("203.0.113.7/24", &q.a);	/* host bits */
	a = ask(f, &q);
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "bad route prefix");
	prefix("0.0.0.0/0", &q.a);		/* the whole Internet at once */
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q.a.family = AF_UNIX;
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	prefix("2001:db8::/32", &q.a);
	q.a.plen = 129;
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	prefix("203.0.113.0/24", &q.a);
	q.arg = PRIV_METRIC_MAX + 1;
	a = ask(f, &q);
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "metric");

	q = req(PRIV_ADDR_ADD, OUR_IFINDEX);	/* a pair only */
	prefix("198.18.0.1/24", &q.a);
	a = ask(f, &q);
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "/31 or /127");

	q = req(PRIV_PIN, OUR_IFINDEX);	/* one address only */
	prefix("198.51.100.0/24", &q.a);
	assert_int_equal(ask(f, &q).rc, -EINVAL);

	q = req(PRIV_EXCLUDE, OUR_IFINDEX);
	prefix("198.51.100.1/24", &q.a);
	assert_int_equal(ask(f, &q).rc, -EINVAL);

	q = req(PRIV_LINK_UP, OUR_IFINDEX);
	q.arg = 100;
	a = ask(f, &q);
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "MTU 100");
}

/* The rules requests (issue 19): refused before anything is touched. */
static void test_rules_refusals(void **state)
{
	struct fixture *f = *state;
	struct priv_req q = req(PRIV_UID_ROUTE_ADD, OUR_IFINDEX);
	struct priv_resp a;

	opened(f);
	/* A user's instance routes its own uid only. */
	f->r.peer_uid = 1000;
	prefix("203.0.113.0/24", &q.a);
	q.arg = 1001;
	a = ask(f, &q);
	assert_int_equal(a.rc, -EPERM);
	assert_contains(a.msg, "uid 1001 refused");
	q.arg = 0;	/* root's traffic too */
	assert_int_equal(ask(f, &q).rc, -EPERM);
	q.arg = UINT32_MAX;
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q.arg = 1000;
	prefix("0.0.0.0/0", &q.a);
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q = req(PRIV_UID_ROUTE_DEL, OUR_IFINDEX);
	prefix("203.0.113.0/24", &q.a);
	q.arg = 1000;
	assert_int_equal(ask(f, &q).rc, -ENOENT);

	/* Only a half can be made unreachable. */
	q = req(PRIV_UNREACH, OUR_IFINDEX);
	q.arg = 1;
	prefix("10.0.0.0/8", &q.a);
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	prefix("::/0", &q.a);
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	prefix("8000::/1", &q.a);
	q.arg = 2;
	assert_int_equal(ask(f, &q).rc, -EINVAL);

	/* The kill switch: known flags; --allow-lan only with it; a server is
	 * one address and a port. */
	q = req(PRIV_GUARD, OUR_IFINDEX);
	q.arg = 8;
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q.arg = KS_ALLOW_LAN;
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q.arg = KS_KILL;	/* port 0 */
	prefix("198.51.100.1", &q.a);
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q.arg = KS_KILL | 22u << 16;
	prefix("198.51.100.0/24", &q.a);
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q.arg = 0;	/* off when never on: nothing to do */
	memset(&q.a, 0, sizeof(q.a));
	assert_int_equal(ask(f, &q).rc, 0);
	assert_string_equal(f->r.ks.table, "");
}

static void test_bad_dns(void **state)
{
	struct fixture *f = *state;
	struct priv_req q = req(PRIV_DNS_APPLY, OUR_IFINDEX);
	unsigned char two = 2;

	opened(f);
	q.dns.nservers = DNS_MAX_SERVERS + 1;
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q.dns.nservers = 1;
	prefix("0.0.0.0/1", &q.dns.servers[0]);	/* a resolver is one address */
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	prefix("198.18.0.53", &q.dns.servers[0]);
	q.dns.ndomains = 1;
	memset(q.dns.domains[0], 'a', DNS_DOMAIN_MAX);	/* unterminated */
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	snprintf(q.dns.domains[0], DNS_DOMAIN_MAX, "bad domain;rm");
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	snprintf(q.dns.domains[0], DNS_DOMAIN_MAX, "corp.example");
	q.dns.ndomains = -1;
	assert_int_equal(ask(f, &q).rc, -EINVAL);
	q.dns.ndomains = 1;
	memcpy((char *)&q.dns + offsetof(struct dns_config, split), &two, 1);	/* not a bool */
	assert_int_equal(ask(f, &q).rc, -EINVAL);
}

static void test_open_refuses_bad_names(void **state)
{
	struct fixture *f = *state;
	struct priv_req q = req(PRIV_OPEN, 0);
	struct priv_resp a;

	memset(q.name, 'x', sizeof(q.name));	/* unterminated */
	a = ask(f, &q);
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "unterminated");
}

static void test_eof_ends(void **state)
{
	struct fixture *f = *state;

	close(f->sp[1]);
	f->sp[1] = -1;
	assert_int_equal(priv_root_step(&f->r), 0);
}

/* The answer to PRIV_OPEN and the TUN fd it carries (-1: none). */
static int open_answer(struct fixture *f, struct priv_resp *a)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = a, .iov_len = sizeof(*a) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	int fd = -1;

	assert_int_equal(recvmsg(f->sp[1], &m, MSG_CMSG_CLOEXEC), (ssize_t)sizeof(*a));
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* The network side holds the TUN fd: as any user it can make the device
 * persistent (TUNSETPERSIST needs no capability on an attached fd), or just
 * keep its copy open.  Neither may keep the interface, with its addresses
 * and routes, past the root side: the root side's undo removes it. */
static void test_tun_goes_with_root_side(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/sshtun-test-priv.XXXXXX", path[300];
	struct priv_req q = req(PRIV_OPEN, 0);
	struct priv_resp a;
	int fd, status;
	pid_t pid;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/unit.state", dir);
	priv_root_init(&f->r, f->sp[0], path);
	snprintf(q.name, sizeof(q.name), "unit");
	snprintf(q.ifname, sizeof(q.ifname), "privtest0");
	assert_int_equal(send(f->sp[1], &q, sizeof(q), 0), (ssize_t)sizeof(q));
	assert_int_equal(priv_root_step(&f->r), 1);
	fd = open_answer(f, &a);
	assert_int_equal(a.rc, 0);
	assert_true(fd >= 0);
	assert_true(net_link_index("privtest0") > 0);

	/* An unprivileged holder of the fd sets persist. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(setgid(65534) == 0 && setuid(65534) == 0 && ioctl(fd, TUNSETPERSIST, 1) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The network side goes, but keeps its copy of the fd. */
	close(f->sp[1]);
	f->sp[1] = -1;
	assert_int_equal(priv_root_step(&f->r), 0);
	priv_root_undo(&f->r);
	status = net_link_index("privtest0");
	close(fd);
	if (status > 0) {	/* the old code: it stays; leave nothing behind */
		net_link_del(status);
		print_error("privtest0 outlived the root side (index %d)\n", status);
		_fail(__FILE__, __LINE__);
	}
	rmdir(dir);
}

/* Every exclude the root side reports done is in the state file, so that
 * `sshtun cleanup' can remove it after a crash: past the state file's room
 * an exclude is refused, not added unrecorded. */
static void test_excludes_all_recorded(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/sshtun-test-priv.XXXXXX", path[300], cidr[64];
	struct priv_req q = req(PRIV_OPEN, 0);
	struct priv_resp a;
	int fd, done = 0, recorded = 0, refused = 0;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		skip();
	assert_int_equal(system("ip link set lo up"), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/unit.state", dir);
	priv_root_init(&f->r, f->sp[0], path);
	snprintf(q.name, sizeof(q.name), "unit");
	snprintf(q.ifname, sizeof(q.ifname), "privtest1");
	assert_int_equal(send(f->sp[1], &q, sizeof(q), 0), (ssize_t)sizeof(q));
	assert_int_equal(priv_root_step(&f->r), 1);
	fd = open_answer(f, &a);
	assert_int_equal(a.rc, 0);
	for (int i = 0; i < STATE_MAX_RECORDS + 8; i++) {
		q = req(PRIV_EXCLUDE, f->r.ifindex);
		snprintf(cidr, sizeof(cidr), "198.19.%d.0/24", i);
		prefix(cidr, &q.a);
		prefix("127.0.0.1", &q.b);	/* the path: lo, not our TUN */
		a = ask(f, &q);
		if (a.rc == 0)
			done++;
		else if (a.rc == -ENOSPC)
			refused++;
	}
	for (int k = 0; k < f->r.st.n; k++)
		if (!strncmp(f->r.st.rec[k], "pin 198.19.", 11))
			recorded++;
	priv_root_undo(&f->r);
	close(fd);
	rmdir(dir);
	assert_int_equal(done, recorded);
	assert_true(refused > 0);
}

static int records_of(const struct priv_root *r, const char *start)
{
	int n = 0;

	for (int k = 0; k < r->st.n; k++)
		if (!strncmp(r->st.rec[k], start, strlen(start)))
			n++;
	return n;
}

/* route del of one exclude: its route and record go, the others stay;
 * asking again is refused by name. */
static void test_unexclude_one(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/sshtun-test-priv.XXXXXX", path[300];
	struct priv_req q = req(PRIV_OPEN, 0);
	struct priv_resp a;
	int fd;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		skip();
	assert_int_equal(system("ip link set lo up"), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/unit.state", dir);
	priv_root_init(&f->r, f->sp[0], path);
	snprintf(q.name, sizeof(q.name), "unit");
	snprintf(q.ifname, sizeof(q.ifname), "privtest2");
	assert_int_equal(send(f->sp[1], &q, sizeof(q), 0), (ssize_t)sizeof(q));
	assert_int_equal(priv_root_step(&f->r), 1);
	fd = open_answer(f, &a);
	assert_int_equal(a.rc, 0);
	for (int i = 1; i <= 2; i++) {
		char cidr[32];

		q = req(PRIV_EXCLUDE, f->r.ifindex);
		snprintf(cidr, sizeof(cidr), "198.19.%d.0/24", i);
		prefix(cidr, &q.a);
		prefix("127.0.0.1", &q.b);
		assert_int_equal(ask(f, &q).rc, 0);
	}
	q = req(PRIV_UNEXCLUDE, f->r.ifindex);
	prefix("198.19.1.0/24", &q.a);
	assert_int_equal(ask(f, &q).rc, 0);
	assert_int_equal(f->r.nexcludes, 1);
	assert_int_equal(records_of(&f->r, "pin 198.19.1.0/24 "), 0);
	assert_int_equal(records_of(&f->r, "pin 198.19.2.0/24 "), 1);
	assert_int_not_equal(system("ip route show 198.19.1.0/24 | grep -q ."), 0);
	assert_int_equal(system("ip route show 198.19.2.0/24 | grep -q ."), 0);
	a = ask(f, &q);
	assert_int_equal(a.rc, -ESRCH);
	assert_non_null(strstr(a.msg, "198.19.1.0/24"));
	priv_root_undo(&f->r);
	close(fd);
	rmdir(dir);
}

/* --connections' requests, refused before the kernel is asked: more
 * queues than TUN_MAX_QUEUES at open; a queue of an instance opened with
 * one (or of another interface: test_other_interface_refused). */
static void test_queue_refusals(void **state)
{
	struct fixture *f = *state;
	struct priv_req q = req(PRIV_OPEN, 0);
	struct priv_resp a;

	snprintf(q.name, sizeof(q.name), "unit");
	snprintf(q.ifname, sizeof(q.ifname), "privtest9");
	q.arg = TUN_MAX_QUEUES + 1;
	a = ask(f, &q);
	assert_int_equal(a.rc, -EINVAL);
	assert_contains(a.msg, "with 9 queues refused (1..8)");
	assert_int_equal(f->r.tun_fd, -1);

	q = req(PRIV_QUEUE, 0);	/* nothing open yet */
	assert_int_equal(ask(f, &q).rc, -EBADFD);

	opened(f);	/* as PRIV_OPEN with arg 0 or 1 leaves it: one queue */
	q = req(PRIV_QUEUE, OUR_IFINDEX);
	a = ask(f, &q);
	assert_int_equal(a.rc, -EOPNOTSUPP);
	assert_contains(a.msg, "another queue of fake0 refused: this instance opened it with one queue");
}

/* The network side's end: the wrapper, with a root side on a fork. */
static pid_t root_side_fork(const char *state_path)
{
	int sp[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct priv_root r;

		close(sp[1]);
		priv_root_init(&r, sp[0], state_path);
		priv_root_serve(&r, NULL);
		_exit(0);
	}
	close(sp[0]);
	priv_attach(sp[1]);
	return pid;
}

static void root_side_end(pid_t pid)
{
	int status;

	priv_close();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
}

static void same_device(int fd, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
	assert_string_equal(ifr.ifr_name, name);
	assert_true(ifr.ifr_flags & IFF_MULTI_QUEUE);
}

/* A real root side hands the network side queues of its own device, up to
 * TUN_MAX_QUEUES open; the ninth is refused naming the count, another
 * interface's is refused naming its index; a closed queue can be had
 * again; the device goes with the root side though queues stay open. */
static void test_queues_through_wrapper(void **state)
{
	char dir[] = "/tmp/sshtun-test-priv.XXXXXX", path[300], name[IFNAMSIZ] = "privmq%d";
	int fds[TUN_MAX_QUEUES], idx = 0, fd;
	unsigned n;
	pid_t pid;

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/unit.state", dir);
	pid = root_side_fork(path);
	fail_clear();
	fds[0] = priv_open_mq("unit", name, &idx, 2);
	if (fds[0] < 0)
		print_error("priv_open_mq: %s\n", fail_msg());
	assert_true(fds[0] >= 0);
	assert_string_equal(name, "privmq0");
	assert_int_equal(net_link_index(name), idx);
	for (int i = 1; i < TUN_MAX_QUEUES; i++) {
		fds[i] = priv_tun_queue(idx);
		if (fds[i] < 0)
			print_error("priv_tun_queue %d: %s\n", i, fail_msg());
		assert_true(fds[i] >= 0);
		assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		same_device(fds[i], name);
	}
	same_device(fds[0], name);
	assert_int_equal(net_tun_queues(idx, &n), 0);
	assert_int_equal(n, TUN_MAX_QUEUES);

	assert_int_equal(priv_tun_queue(idx), -1);
	assert_contains(fail_msg(), "another queue of privmq0 refused: it has 8 queues open (at most 8)");
	fail_clear();
	assert_int_equal(priv_tun_queue(1), -1);	/* lo */
	assert_contains(fail_msg(), "queue for interface index 1 refused: this instance has privmq0");
	fail_clear();

	/* One closed (a detached one counts as open): one may be had again. */
	assert_int_equal(tun_queue_enable(fds[3], false), 0);
	assert_int_equal(priv_tun_queue(idx), -1);
	fail_clear();
	close(fds[3]);
	fds[3] = priv_tun_queue(idx);
	assert_true(fds[3] >= 0);
	same_device(fds[3], name);

	root_side_end(pid);
	assert_int_equal(net_link_index("privmq0"), -ENODEV);
	for (int i = 0; i < TUN_MAX_QUEUES; i++)
		close(fds[i]);

	/* One queue asked for: no second one, through the wrapper either. */
	pid = root_side_fork(path);
	snprintf(name, sizeof(name), "privmq%%d");
	fd = priv_open_mq("unit", name, &idx, 1);
	assert_true(fd >= 0);
	fail_clear();
	assert_int_equal(priv_tun_queue(idx), -1);
	assert_contains(fail_msg(), "opened it with one queue");
	assert_int_equal(fail_code(), EXIT_LOCAL);
	fail_clear();
	root_side_end(pid);
	close(fd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malformed_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_before_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_interface_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_dns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tun_goes_with_root_side, setup, teardown),
		cmocka_unit_test_setup_teardown(test_excludes_all_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unexclude_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queues_through_wrapper, setup, teardown),
	};

	log_level = LOG_ERROR;	/* the refusals are logged as warnings */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
