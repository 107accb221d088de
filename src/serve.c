/* `sshtun serve`: the helper sshd starts for each client, as the sshtun
 * subsystem or a remote command.  It speaks the protocol on stdin/stdout,
 * leases an address pair, creates and addresses its own TUN, and removes all
 * of it when the channel closes or it is told to stop.
 *
 * With the privilege to create a TUN it splits (serve_monitor.h): this file
 * is then the worker, unprivileged and sandboxed, and the lease, the TUN and
 * NAT come from the monitor.  Without privilege (or with --userspace) it
 * is one process, sandboxed too, whose packets go through a user-space
 * network stack instead of a TUN (userspace.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "compress.h"
#include "fail.h"
#include "frame.h"
#include "hello.h"
#include "log.h"
#include "loop.h"
#include "pressure.h"
#include "buf.h"
#include "serve.h"
#include "sandbox.h"
#include "serve_config.h"
#include "serve_hello.h"
#include "serve_monitor.h"
#include "slirp_load.h"
#include "tun.h"
#include "tunnel.h"
#include "userspace.h"

#define HELLO_TIMEOUT_MS 30000	/* the client sends its hello at once */

/* The two pipes to sshd, read and written in whole batches: a read that
 * returns less than it asked for emptied the pipe, and a write that takes
 * less than it was given filled it, so the next call would only say EAGAIN:
 * it is not made, and poll tells when there is more (on_stdin, on_stdout
 * clear the marks).  One system call per batch each way, not two. */
struct stdio_pipes {
	bool in_pipe;		/* stdin is a pipe */
	bool in_empty;		/* the last read drained stdin */
	bool out_full;		/* the last write filled stdout */
	int out_size;		/* stdout's pipe size now (0: not a pipe) */
	uint64_t sized_at_rate;	/* the link rate out_size was last fitted to */
};

struct server {
	struct serve_config cfg;
	struct stdio_pipes pipes;
	struct pressure pressure;	/* for --compress auto toward the client */
	uint64_t pressure_bytes;
	struct loop *loop;
	struct tunnel t;
	struct serve_priv priv;		/* used in-process when there is no monitor */
	int mon_fd;			/* the socket to the monitor, or -1 */
	struct uspace *us;		/* user-space mode's stack, or NULL */
	struct lease lease;
	char ifname[IFNAMSIZ];
	unsigned mtu;
	long hello_timer;
	int exit_code;
	bool closing;
	bool files_ro;			/* Landlock leaves read-only opens of resolv.conf */
};

static ssize_t fd_read(void *ctx, uint8_t *buf, size_t len)
{
	struct stdio_pipes *p = ctx;
	ssize_t n;

	if (p->in_empty)
		return -EAGAIN;
	n = read(STDIN_FILENO, buf, len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			p->in_empty = errno == EAGAIN;
			return -EAGAIN;
		}
		return fail(EXIT_ERROR, "reading from the channel: %s", strerror(errno));
	}
	/* Only a pipe promises that a short read took all it had. */
	p->in_empty = p->in_pipe && n > 0 && (size_t)n < len;
	return n;
}

static ssize_t fd_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct stdio_pipes *p = ctx;
	ssize_t n;

	if (p->out_full)
		return -EAGAIN;
	n = write(STDOUT_FILENO, buf, len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			p->out_full = errno == EAGAIN;
			return -EAGAIN;
		}
		return fail(EXIT_ERROR, "writing to the channel: %s", strerror(errno));
	}
	p->out_full = (size_t)n < len;
	return n;
}

static const struct link_ops stdio_link = { .read = fd_read, .write = fd_write };

static void finish(struct server *s, int code)
{
	if (s->closing)
		return;
	s->closing = true;
	s->exit_code = code;
	loop_stop(s->loop);
}

/* Tells the client why we stop (best effort, bounded), then stops.
 * flags: FRAME_F_BUSY when another server (or later) may do. */
static void refuse_flags(struct server *s, const char *why, uint8_t flags)
{
	uint64_t deadline = now_ms() + 2000;

	log_error("%s", why);
	tunnel_queue(&s->t, FRAME_ERROR, flags, why, (uint32_t)strlen(why));
	while (tunnel_tx_pending(&s->t) && now_ms() < deadline) {
		struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

		if (tunnel_flush(&s->t) < 0)
			break;
		if (tunnel_tx_pending(&s->t) && poll(&p, 1, 100) > 0)
			s->pipes.out_full = false;
	}
	finish(s, EXIT_REFUSED);
}

static void refuse(struct server *s, const char *why)
{
	refuse_flags(s, why, 0);
}

static int on_magic(void *ctx, unsigned proto, const char *software)
{
	struct server *s = ctx;
	char who[128], why[ERROR_MSG_MAX];

	log_verbose("client speaks protocol %u (%s)", proto, software);
	snprintf(who, sizeof(who), "the client (%s)", software);
	if (proto_check(proto, who, "server", why, sizeof(why)) < 0) {
		refuse(s, why);
		return -1;
	}
	return 0;
}

static void on_tun(struct loop *loop, int fd, short revents, void *ctx);

/* User-space mode's lease: the stack's pair, which no other helper
 * shares (it is virtual), so no pool file; the stack is the resolver. */
static int uspace_take(struct server *s, const struct lease_request *q, struct lease_reply *r)
{
	char err[256];
	int fd;

	memset(r, 0, sizeof(*r));
	r->status = EXIT_REFUSED;
	r->userspace = true;
	/* No kernel path here that the MTU must fit: the client's (up to
	 * slirp's largest) unless serve's own --mtu caps it.  A large one
	 * costs the stack far fewer packets per byte. */
	r->mtu = s->cfg.mtu != MTU_DEFAULT && (!q->mtu || q->mtu > s->cfg.mtu) ? s->cfg.mtu :
		 q->mtu ? q->mtu : s->cfg.mtu;
	if (r->mtu > USERSPACE_MTU_MAX)
		r->mtu = USERSPACE_MTU_MAX;
	snprintf(r->ifname, sizeof(r->ifname), "userspace");
	if (lease_request_check(q, err, sizeof(err)) < 0) {
		snprintf(r->why, sizeof(r->why), "server: bad lease request: %s", err);
		return -1;
	}
	/* The stack is this helper's alone: nothing another connection could
	 * join, and no join= in our hello, so the client runs one. */
	if (q->join[0]) {
		r->nojoin = true;
		snprintf(r->why, sizeof(r->why), "server: cannot join: user-space mode takes one "
			 "connection per client");
		return -1;
	}
	if (q->conns > 1)
		log_info("user-space mode: one connection for client %s (it asked for %u)", q->id,
			 q->conns);
	if (uspace_pick(s->cfg.pool4, s->cfg.pool6, &q->avoid, &r->lease, err, sizeof(err)) < 0 ||
	    (fd = uspace_begin(s->us, s->cfg.pool4, s->cfg.pool6, &r->lease, r->mtu, err, sizeof(err))) < 0) {
		snprintf(r->why, sizeof(r->why), "server: %s", err);
		return -1;
	}
	/* Without Landlock the sandbox cannot let slirp read resolv.conf:
	 * then the server's own resolvers are offered, as in TUN mode. */
	if (!s->cfg.dns_set && s->files_ro)
		uspace_resolvers(s->cfg.pool4, s->cfg.pool6, &r->lease, &s->cfg.dns);
	log_info("user-space stack up for client %s", q->id);
	r->status = 0;
	return fd;
}

/* The lease and the TUN: from the monitor, made here, or the user-space
 * stack's. */
static int get_lease(struct server *s, const struct lease_request *q, struct lease_reply *r,
		     char *why, size_t cap)
{
	int fd;

	if (s->us)
		fd = uspace_take(s, q, r);
	else if (s->mon_fd >= 0)
		fd = mon_lease(s->mon_fd, q, r);
	else
		fd = serve_lease_take(&s->priv, q, r);
	if (fd < 0) {
		snprintf(why, cap, "%s", r->why);
		return -1;
	}
	tunnel_set_tun(&s->t, fd);
	s->lease = r->lease;
	s->mtu = r->mtu;
	snprintf(s->ifname, sizeof(s->ifname), "%s", r->ifname);
	if (loop_watch(s->loop, s->t.tun_fd, 0, on_tun, s) < 0) {
		snprintf(why, cap, "server: too many open descriptors to watch %s", s->ifname);
		return -1;
	}
	return 0;
}

static int on_hello(struct server *s, const struct frame *f)
{
	struct hello h;
	struct lease_request q;
	struct lease_reply r;
	char why[ERROR_MSG_MAX];
	uint8_t out[HELLO_MAX];
	int len;

	if (serve_hello_request(f->payload, f->len, &h, &q, why, sizeof(why)) < 0)
		goto refused;
	if (get_lease(s, &q, &r, why, sizeof(why)) < 0) {
		refuse_flags(s, why, r.busy ? FRAME_F_BUSY : r.nojoin ? FRAME_F_NOJOIN : 0);
		return -1;
	}
	len = serve_hello_reply(&s->cfg, &r, s->t.caps, out, sizeof(out));
	if (len < 0 || tunnel_queue(&s->t, FRAME_HELLO, 0, out, (uint32_t)len) < 0) {
		snprintf(why, sizeof(why), "server: cannot send the hello");
		goto refused;
	}
	s->t.mtu = s->mtu;
	s->t.has_src4 = s->lease.client4.family == AF_INET;
	s->t.has_src6 = s->lease.client6.family == AF_INET6;
	s->t.src4 = s->lease.client4.addr.v4;
	s->t.src6 = s->lease.client6.addr.v6;
	s->t.check_src = true;
	/* Our TUN offloads what the client takes (its hello's gso=). */
	tunnel_set_peer_caps(&s->t, h.gso);
	log_offloads(&s->t, "client");
	/* The client says how it wants its downloads compressed. */
	if (((h.compress & COMPRESS_ZLIB) &&
	     tunnel_compress_to_peer(&s->t, serve_hello_compress(&h)) < 0) ||
	    tunnel_compress_layout(&s->t, hello_compress_layout(&h)) < 0) {
		snprintf(why, sizeof(why), "server: %s", fail_msg());
		goto refused;
	}
	s->t.up = true;
	loop_cancel(s->loop, s->hello_timer);
	return 0;
refused:
	refuse(s, why);
	return -1;
}

/* The client's connection k is dead (lost=k): the helper of that
 * connection is stopped, so that its queue leaves the device and the flows
 * it held move to the live ones.  Stopping another helper takes the
 * monitor (we run as nobody, in a sandbox); without one we hold the
 * privilege ourselves. */
static void lost(struct server *s, unsigned k)
{
	int e;

	if (!s->t.up)
		log_warn("lost=%u before the hello: ignored", k);
	else if (s->us)
		log_info("lost=%u ignored: user-space mode has one connection", k);
	else if (s->mon_fd < 0)
		serve_lease_lost(&s->priv, k);
	else if ((e = mon_lost(s->mon_fd, k)) < 0)
		log_warn("lost=%u: cannot tell the monitor: %s", k, strerror(-e));
}

/* CONTROL from the client (serve_control). */
static int on_control(struct server *s, const struct frame *f)
{
	unsigned dead;
	int mode, rc = serve_control(f->payload, f->len, &mode, &dead);

	if (rc > 0)
		tunnel_set_compress(&s->t, mode);
	for (unsigned k = 0; k < HELLO_CONNS_MAX; k++)
		if (dead & 1u << k)
			lost(s, k);
	return rc < 0 ? -1 : 0;
}

static int on_frame(void *ctx, const struct frame *f)
{
	struct server *s = ctx;

	switch (f->type) {
	case FRAME_HELLO:
		if (s->t.up)
			return fail(EXIT_ERROR, "the client sent a second hello");
		return on_hello(s, f);
	case FRAME_PONG: {
		/* Our own ping (on_pressure): u64 send time, ours to trust. */
		uint64_t sent;

		if (f->len == 8) {
			sent = get_u64(f->payload);
			if (sent <= now_us()) {
				pressure_rtt(&s->pressure, (double)(now_us() - sent) / 1000.0);
				s->t.rtt_congested = s->pressure.congested;
			}
		}
		return 0;
	}
	case FRAME_CONTROL:
		return on_control(s, f);
	case FRAME_ERROR:
		log_info("client closes: %.*s", (int)(f->len > 200 ? 200 : f->len), (const char *)f->payload);
		finish(s, EXIT_OK);
		return 0;
	case FRAME_DATA:
		return fail(EXIT_ERROR, "the client sent data before the hello");
	default:
		return fail(EXIT_ERROR, "unexpected %s frame", frame_type_name(f->type));
	}
}

static const struct tunnel_handler handler = { .on_magic = on_magic, .on_frame = on_frame };

static void update_watches(struct server *s);

/* What sits in the pipe (or socketpair) to sshd waits in first-come order
 * below our fair queue, as the socket's unsent bytes do below the client's
 * (TCP_NOTSENT_LOWAT), and in front of every ping reply once the client's
 * channel window holds sshd back (window.c): so the pipe is sized to what
 * the link takes in about TUNNEL_BUDGET_MS (as the client's socket),
 * measured (tunnel.c rate_update), rounded up to a power of two as the
 * kernel does, from 8 KiB (3.3 ms at 20 Mbit/s; 32 KiB was 13 ms; a pipe
 * that holds less than one round between us and sshd starves sshd, and the
 * rate it then measures shrinks it further: 2 ms, not 1, is the margin on a
 * loaded machine) to STDOUT_MAX (fs.pipe-max-size's default, what
 * an unprivileged process may ask).  The queue then forms in the fair queue at
 * any rate, and a fast link still gets batches of up to 1 MiB per write.
 * Its stdin, which only we drain, is big from the start: sshd hands over
 * what it has in one write, we take it in one read. */
#define STDOUT_MIN (8 * 1024)
#define STDOUT_MAX (1024 * 1024)
#define STDIN_PIPE (1024 * 1024)
#define STDOUT_SOCK (32 * 1024)

/* The pipe size for bytes_per_s: a power of two, as the kernel makes it. */
static int stdout_want(uint64_t bytes_per_s)
{
	uint64_t want = bytes_per_s * TUNNEL_BUDGET_MS / 1000;
	int size = STDOUT_MIN;

	while (size < STDOUT_MAX && (uint64_t)size < want)
		size *= 2;
	return size;
}

static void size_pipes(struct server *s)
{
	struct stat sb;
	int v = STDOUT_MIN;

	s->pipes.in_pipe = fstat(STDIN_FILENO, &sb) == 0 && S_ISFIFO(sb.st_mode);
	if (s->pipes.in_pipe && fcntl(STDIN_FILENO, F_SETPIPE_SZ, STDIN_PIPE) < 0)
		log_debug("stdin pipe stays small: %s", strerror(errno));
	if (fstat(STDOUT_FILENO, &sb) < 0)
		return;
	if (S_ISFIFO(sb.st_mode)) {
		v = fcntl(STDOUT_FILENO, F_SETPIPE_SZ, v);
		s->pipes.out_size = v > 0 ? v : 0;
	} else if (S_ISSOCK(sb.st_mode)) {
		/* A socketpair is not refitted: a few packets' worth, as sshd
		 * reads up to 16 KiB (CHAN_RBUF) at a time. */
		v = STDOUT_SOCK;
		setsockopt(STDOUT_FILENO, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
}

/* Refits stdout's pipe when the measured rate moved (at most once per
 * measurement, every 100 ms or more).  Shrinking below what the pipe holds
 * fails (EBUSY): the next measurement tries again. */
static void fit_stdout(struct server *s)
{
	uint64_t rate = s->t.rate.bytes_per_s;
	int want, got;

	if (!s->pipes.out_size || rate == s->pipes.sized_at_rate)
		return;
	s->pipes.sized_at_rate = rate;
	want = stdout_want(rate);
	if (want == s->pipes.out_size)
		return;
	got = fcntl(STDOUT_FILENO, F_SETPIPE_SZ, want);
	if (got > 0) {
		log_debug("stdout pipe %d -> %d bytes (link %llu bytes/s)", s->pipes.out_size, got,
			  (unsigned long long)rate);
		s->pipes.out_size = got;
		s->pipes.out_full = false;	/* a bigger pipe has room */
	}
}

static void on_stdin(struct loop *loop, int fd, short revents, void *ctx)
{
	struct server *s = ctx;
	int rc;

	s->pipes.in_empty = false;
	rc = tunnel_input(&s->t);

	if (rc == 1) {
		log_verbose("channel closed by the client");
		finish(s, EXIT_OK);
	} else if (rc < 0 && !s->closing) {
		log_error("%s", fail_msg());
		finish(s, EXIT_ERROR);
	}
}

static void on_stdout(struct loop *loop, int fd, short revents, void *ctx)
{
	struct server *s = ctx;

	if (revents & (POLLERR | POLLHUP)) {
		finish(s, EXIT_OK);
		return;
	}
	s->pipes.out_full = false;
	if (tunnel_flush(&s->t) < 0)
		finish(s, EXIT_ERROR);
}

static void on_tun(struct loop *loop, int fd, short revents, void *ctx)
{
	struct server *s = ctx;

	tunnel_read_tun(&s->t);
	if (tunnel_flush(&s->t) < 0)
		finish(s, EXIT_ERROR);
}

static void update_watches(struct server *s)
{
	if (s->t.tun_fd >= 0)
		loop_set_events(s->loop, s->t.tun_fd, tunnel_tx_room(&s->t) ? POLLIN : 0);
	loop_set_events(s->loop, STDOUT_FILENO, tunnel_tx_pending(&s->t) ? POLLOUT : 0);
}

static void before_poll(struct loop *loop, void *ctx)
{
	struct server *s = ctx;

	if (tunnel_tx_pending(&s->t) && tunnel_flush(&s->t) < 0) {
		finish(s, EXIT_ERROR);
		return;
	}
	fit_stdout(s);
	update_watches(s);
}

/* While data flows, a ping every PRESSURE_PING_MS: its round trip shows
 * queueing further on (in sshd, in TCP) that our own buffer never sees. */
static void on_pressure(struct loop *loop, void *ctx)
{
	struct server *s = ctx;
	uint64_t bytes = s->t.st.tx_bytes + s->t.st.rx_bytes;
	uint8_t payload[8];

	loop_timer(loop, PRESSURE_PING_MS, on_pressure, s);
	if (!s->t.up)
		return;
	if (bytes != s->pressure_bytes) {
		put_u64(payload, now_us());
		tunnel_queue(&s->t, FRAME_PING, 0, payload, sizeof(payload));
	}
	s->pressure_bytes = bytes;
	pressure_tick(&s->pressure);
	s->t.rtt_congested = s->pressure.congested;
	s->t.cpu_ok = pressure_cpu_ok(&s->pressure);
}

static void on_hello_timeout(struct loop *loop, void *ctx)
{
	struct server *s = ctx;

	log_error("no hello from the client within %d s", HELLO_TIMEOUT_MS / 1000);
	finish(s, EXIT_ERROR);
}

static void on_signal(struct loop *loop, int signo, void *ctx)
{
	struct server *s = ctx;

	log_verbose("signal %d: closing", signo);
	finish(s, EXIT_OK);
}

/* With privilege: fork the monitor (which stays here and returns the
 * helper's exit status in *code) and the worker (which drops privilege and
 * returns 0 to carry on as the helper).  Returns -1 with why set when the
 * split cannot be made; nothing has been read from the client then. */
static int split(struct server *s, int *code, char *why, size_t cap)
{
	char err[256];
	int sv[2], null;
	uid_t uid;
	gid_t gid;
	pid_t pid;

	if (monitor_worker_user(s->cfg.worker_user, &uid, &gid, err, sizeof(err)) < 0) {
		snprintf(why, cap, "server: %s", err);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, cap, "server: socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, cap, "server: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid > 0) {
		/* The monitor never touches the channel: only the worker may
		 * keep it open, so that sshd sees it close when the worker ends. */
		close(sv[1]);
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			close(null);
		}
		*code = monitor_run(&s->priv, sv[0], pid);
		return 1;
	}
	close(sv[0]);
	s->mon_fd = sv[1];
	if (sandbox_drop_privileges(uid, gid, err, sizeof(err)) < 0) {
		snprintf(why, cap, "server: cannot drop privileges: %s", err);
		return -1;
	}
	/* Set after the uid change, which would clear it: the worker must not
	 * outlive a monitor that can no longer release its lease. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != s->priv.holder) {
		snprintf(why, cap, "server: the helper's monitor has gone");
		return -1;
	}
	log_verbose("worker runs as uid %u gid %u", (unsigned)uid, (unsigned)gid);
	return 0;
}

/* User-space mode: its file access first (the stack's thread inherits
 * it: resolv.conf, read-only, and nothing else), then the stack's thread.
 * A note when ping will find no answer. */
static void userspace_setup(struct server *s, char *why, size_t cap)
{
	char err[256];
	int rc;

	/* The self-contained build loads libslirp now, while it may. */
	if (slirp_load(err, sizeof(err)) < 0) {
		snprintf(why, cap, "server: %s", err);
		return;
	}
	rc = sandbox_fs_readonly("/etc/resolv.conf", err, sizeof(err));
	if (rc < 0) {
		snprintf(why, cap, "server: %s", err);
		return;
	}
	s->files_ro = rc == 0;
	if (rc > 0)
		log_warn("%s: the client gets the server's resolvers, not the stack's", err);
	if (!uspace_ping_ok())
		log_info("user-space mode: ping through the tunnel gets no answer here "
			 "(net.ipv4.ping_group_range does not include gid %u)", (unsigned)getgid());
	if (uspace_start(&s->us, err, sizeof(err)) < 0) {
		snprintf(why, cap, "server: %s", err);
		return;
	}
	log_verbose("user-space mode: no TUN, a user-space network stack as uid %u", (unsigned)getuid());
}

int serve_main(int argc, char **argv)
{
	struct server s = { .exit_code = EXIT_OK, .mon_fd = -1 };
	char err[ERROR_MSG_MAX - 64], magic[MAGIC_LINE_MAX], why[ERROR_MSG_MAX] = "";
	int rc, code;

	log_set_prefix("sshtun serve");
	rc = serve_config_load(&s.cfg, argc, argv, err, sizeof(err));
	if (rc > 0)
		return EXIT_OK;
	if (rc < 0)
		snprintf(why, sizeof(why), "server: %s", err);
	log_level += s.cfg.verbosity;
	s.mtu = s.cfg.mtu;
	serve_config_default_dns(&s.cfg);
	s.priv.cfg = &s.cfg;
	s.priv.holder = getpid();
	s.priv.conn = -1;
	if (!why[0] && pool_init(&s.priv.pool, s.cfg.pool4, s.cfg.pool6, s.cfg.lease_file, err, sizeof(err)) < 0)
		snprintf(why, sizeof(why), "server: bad address pool: %s", err);
	s.priv.pool.grace = s.cfg.lease_grace;
	s.priv.pool.max_per_account = s.cfg.max_per_user;
	/* Before the split: the account is the monitor's to know (SUDO_UID is
	 * in its environment), never something the worker says. */
	if (!why[0] && account_self(&s.priv.account, err, sizeof(err)) < 0)
		snprintf(why, sizeof(why), "server: %s", err);
	if (!why[0] && !s.cfg.userspace && sandbox_privileged() &&
	    split(&s, &code, why, sizeof(why)) > 0)
		return code;
	if (tunnel_init(&s.t, &stdio_link, &s.pipes, &handler, &s) < 0 || tunnel_reset(&s.t, true) < 0) {
		log_error("%s", fail_msg());
		return EXIT_ERROR;
	}
	s.loop = loop_new();
	if (!s.loop)
		return EXIT_ERROR;
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK);
	size_pipes(&s);
	/* The magic line goes first, before anything can fail, so the client
	 * knows a helper is answering and can show our error frames. */
	tunnel_queue_raw(&s.t, magic, magic_format(magic, sizeof(magic)));
	if (!why[0]) {
		loop_signals(s.loop, on_signal, &s);
		loop_watch(s.loop, STDIN_FILENO, POLLIN, on_stdin, &s);
		loop_watch(s.loop, STDOUT_FILENO, POLLOUT, on_stdout, &s);
		loop_hook(s.loop, before_poll, &s);
		s.hello_timer = loop_timer(s.loop, HELLO_TIMEOUT_MS, on_hello_timeout, &s);
		loop_timer(s.loop, PRESSURE_PING_MS, on_pressure, &s);
		pressure_tick(&s.pressure);	/* opens /proc/stat while it still can */
	}
	/* No TUN to be had: the user-space stack, started before the sandbox
	 * that it shares. */
	if (!why[0] && s.mon_fd < 0 && (s.cfg.userspace || !sandbox_privileged()))
		userspace_setup(&s, why, sizeof(why));
	/* The worker reads no byte of the client's before its sandbox is on. */
	if (!why[0] && (s.mon_fd >= 0 || s.us)) {
		rc = s.us ? sandbox_seccomp_net(s.files_ro, err, sizeof(err)) : sandbox_seccomp(err, sizeof(err));
		if (rc < 0)
			snprintf(why, sizeof(why), "server: %s", err);
		/* Fail closed: the filter is what stands between a flaw in
		 * our parsing and the rest of this account. */
		else if (rc > 0 && !s.cfg.sandbox_optional)
			snprintf(why, sizeof(why), "server: %.300s: refusing to run the worker without its "
				 "system call filter (sshtun serve --sandbox-optional allows it)", err);
		else if (rc > 0)
			log_warn("%s: the worker runs without its system call filter (--sandbox-optional)", err);
	}
	if (why[0])
		refuse(&s, why);
	else
		loop_run(s.loop);
	/* Closing the TUN fd removes the device with its addresses and routes
	 * (user-space mode: uspace_stop closes its own). */
	if (s.t.tun_fd >= 0 && !s.us) {
		close(s.t.tun_fd);
		log_verbose("%s removed", s.ifname);
	}
	if (s.mon_fd < 0 && !s.us)
		serve_lease_release(&s.priv);
	uspace_stop(s.us);
	tunnel_free(&s.t);
	loop_free(s.loop);
	return s.exit_code;
}
