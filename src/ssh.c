/* TCP connect and the SSH handshake.  Host keys: hostkey.c; authentication:
 * auth.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "log.h"
#include "ssh.h"
#include "auth.h"
#include "hostkey.h"

/* AES-256 and forward secrecy first (libssh2 1.10 has no GCM or
 * chacha20-poly1305); the rest only as fallbacks for old servers. */
static const char kex_pref[] =
	"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
	"ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group16-sha512,"
	"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";
static const char cipher_pref[] = "aes256-ctr,aes192-ctr,aes128-ctr";
static const char mac_pref[] = "hmac-sha2-256,hmac-sha2-512";

/* One-shot libssh2_init (it is not thread-safe). */
static int ssh_global_init(void)
{
	static bool done;

	if (done)
		return 0;
	if (libssh2_init(0) != 0)
		return fail(EXIT_ERROR, "libssh2_init failed");
	done = true;
	return 0;
}

/* Non-blocking connect bounded by timeout_ms, from the local address
 * local when given (-b ADDR), through the interface dev when given (-b
 * IFNAME: the routes of that interface only, whatever the main table
 * prefers).  Returns the connected socket (still non-blocking) or -1 with
 * errno. */
static int connect_one(const struct addrinfo *ai, const struct addrinfo *local, const char *dev,
		       unsigned timeout_ms)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd pfd;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (local && bind(fd, local->ai_addr, local->ai_addrlen) < 0)
		goto bad;
	if (dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1) < 0)
		goto bad;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto bad;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		int n = poll(&pfd, 1, (int)timeout_ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			errno = ETIMEDOUT;
			goto bad;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		goto bad;
	if (err) {
		errno = err;
		goto bad;
	}
	return fd;
bad:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* The kernel's own dead-peer detection, as a second line behind our pings:
 * keepalive probes on an idle socket, and TCP_USER_TIMEOUT so that data
 * unacknowledged for dead_s ends the connection instead of retrying for the
 * kernel default of 15 minutes. */
static void tcp_liveness(int fd, unsigned dead_s)
{
	int one = 1, idle = (int)(dead_s / 3 ? dead_s / 3 : 1), intvl = idle, cnt = 3;
	unsigned timeout_ms = dead_s * 1000;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof(timeout_ms));
}

void ssh_short_queue(int sock, size_t bytes)
{
	int v = bytes > INT32_MAX ? INT32_MAX : (int)bytes;

	/* Only the writable signal and the room a send finds change: data
	 * already queued stays, nothing is lost by lowering it. */
	setsockopt(sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v));
}

/* ProxyCommand: the command's stdin and stdout are our transport, through
 * a socketpair (libssh2 wants a socket).  Its stderr stays ours, so its
 * complaints reach the user. */
static int proxy_connect(const struct ssh_opts *opts, struct ssh_conn *conn)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return fail(EXIT_UNREACHABLE, "socketpair for ProxyCommand: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return fail(EXIT_UNREACHABLE, "fork for ProxyCommand: %s", strerror(errno));
	}
	if (pid == 0) {
		sigset_t none;

		/* Forked on the connect thread, which blocks every signal. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(sv[1], STDIN_FILENO);
		dup2(sv[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", opts->proxy_command, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	conn->sock = sv[0];
	conn->proxy_pid = pid;
	snprintf(conn->peer, sizeof(conn->peer), "(ProxyCommand)");
	log_verbose("connecting through ProxyCommand `%s'", opts->proxy_command);
	return 0;
}

/* The pinned addresses (ssh_opts.h) as a list like getaddrinfo's. */
static struct addrinfo *pinned_list(const struct ssh_opts *opts, struct addrinfo *ai)
{
	for (int i = 0; i < opts->npinned; i++) {
		const struct sockaddr_storage *sa = &opts->pinned[i];

		ai[i] = (struct addrinfo){
			.ai_family = sa->ss_family,
			.ai_socktype = SOCK_STREAM,
			.ai_protocol = IPPROTO_TCP,
			.ai_addrlen = sa->ss_family == AF_INET ? sizeof(struct sockaddr_in)
							       : sizeof(struct sockaddr_in6),
			.ai_addr = (struct sockaddr *)(uintptr_t)sa,
			.ai_next = i + 1 < opts->npinned ? &ai[i + 1] : NULL,
		};
	}
	return opts->npinned ? ai : NULL;
}

/* Is ai's address one the guard let out at the start (any port)? */
static bool is_pinned(const struct ssh_opts *opts, const struct addrinfo *ai)
{
	for (int i = 0; i < opts->npinned; i++) {
		const struct sockaddr_storage *p = &opts->pinned[i];

		if (p->ss_family != ai->ai_family)
			continue;
		if (ai->ai_family == AF_INET &&
		    ((const struct sockaddr_in *)p)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr)
			return true;
		if (ai->ai_family == AF_INET6 &&
		    !memcmp(&((const struct sockaddr_in6 *)p)->sin6_addr,
			    &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, sizeof(struct in6_addr)))
			return true;
	}
	return false;
}

static bool any_pinned(const struct ssh_opts *opts, const struct addrinfo *res)
{
	for (; res; res = res->ai_next)
		if (is_pinned(opts, res))
			return true;
	return false;
}

static int tcp_connect(const struct ssh_opts *opts, struct ssh_conn *conn)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = opts->family };
	struct addrinfo *res = NULL, *list, *ai, pinned[SSH_MAX_PINNED];
	char port[8];
	unsigned timeout_s = opts->connect_timeout_s ? opts->connect_timeout_s : 15;
	int rc, last_errno = 0, one = 1;

	snprintf(port, sizeof(port), "%u", opts->port);
	rc = getaddrinfo(opts->host, port, &hints, &res);
	if (rc && !opts->npinned)
		return fail(EXIT_UNREACHABLE, "cannot resolve %s: %s (check the host name)",
			    opts->host, gai_strerror(rc));
	/* Behind the kill switch the resolver may be out of reach: the
	 * addresses of the start are the ones the guard lets out anyway. */
	if (rc)
		log_info("cannot resolve %s (%s): connecting to the addresses it had at the start",
			 opts->host, gai_strerror(rc));
	/* And what the name says now (a hosts file, a cache, a record that
	 * changed) may be an address the guard blocks: only the pinned ones
	 * can be reached, a connect elsewhere fails every time. */
	else if (opts->npinned && !any_pinned(opts, res))
		log_info("%s resolves to no address the kill switch lets out: connecting to the "
			 "addresses it had at the start", opts->host);
	list = rc || (opts->npinned && !any_pinned(opts, res)) ? pinned_list(opts, pinned) : res;
	for (ai = list; ai; ai = ai->ai_next) {
		char addr[INET6_ADDRSTRLEN] = "?";
		void *sa = ai->ai_family == AF_INET
				? (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
				: (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		struct addrinfo bh = { .ai_family = ai->ai_family, .ai_socktype = SOCK_STREAM,
				       .ai_flags = AI_NUMERICHOST | AI_PASSIVE }, *local = NULL;
		int connect_errno;

		inet_ntop(ai->ai_family, sa, addr, sizeof(addr));
		if (list == res && opts->npinned && !is_pinned(opts, ai)) {
			log_verbose("not connecting to %s: the kill switch does not let it out", addr);
			continue;
		}
		log_verbose("connecting to %s port %u", addr, opts->port);

		/* -b: only the server's addresses of the bind address's family. */
		if (opts->bind_addr && getaddrinfo(opts->bind_addr, NULL, &bh, &local) != 0) {
			last_errno = EAFNOSUPPORT;
			continue;
		}
		if (conn->before_connect)
			conn->before_connect(conn->before_ctx, ai->ai_addr);
		conn->sock = connect_one(ai, local, opts->bind_dev, timeout_s * 1000);
		connect_errno = errno;
		if (local)
			freeaddrinfo(local);
		if (conn->sock >= 0) {
			snprintf(conn->peer, sizeof(conn->peer), "%s", addr);
			memcpy(&conn->peer_addr, ai->ai_addr, ai->ai_addrlen);
			break;
		}
		last_errno = connect_errno;
		log_verbose("connect to %s port %u: %s", addr, opts->port, strerror(connect_errno));
	}
	if (res)
		freeaddrinfo(res);
	if (conn->sock < 0) {
		if (last_errno == ETIMEDOUT)
			return fail(EXIT_UNREACHABLE,
				    "cannot reach %s port %u: no answer within %u s (ConnectTimeout); check the address and any firewall",
				    opts->host, opts->port, timeout_s);
		if (last_errno == ECONNREFUSED)
			return fail(EXIT_UNREACHABLE,
				    "cannot reach %s port %u: connection refused (is sshd running and on that port?)",
				    opts->host, opts->port);
		if (opts->bind_dev && (last_errno == ENODEV || last_errno == EPERM || last_errno == ENETUNREACH))
			return fail(EXIT_UNREACHABLE, "cannot reach %s port %u through interface %s (-b): %s",
				    opts->host, opts->port, opts->bind_dev,
				    last_errno == ENODEV ? "no such interface" : strerror(last_errno));
		if (opts->bind_addr && (last_errno == EADDRNOTAVAIL || last_errno == EAFNOSUPPORT))
			return fail(EXIT_UNREACHABLE, "cannot reach %s port %u from %s (-b): %s", opts->host,
				    opts->port, opts->bind_addr,
				    last_errno == EAFNOSUPPORT ? "the server has no address of its family"
							       : "not an address of this machine");
		return fail(EXIT_UNREACHABLE, "cannot reach %s port %u: %s", opts->host, opts->port,
			    strerror(last_errno));
	}
	/* Small requests must not wait for Nagle: ssh -w without this adds
	 * 44 ms to every small request/response. */
	setsockopt(conn->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tcp_liveness(conn->sock, opts->dead_after_s ? opts->dead_after_s : 15);
	return 0;
}

/* Keeps the names of list that this libssh2 supports, in list's order.
 * libssh2 1.10 mishandles unsupported names in method_pref (an overlapping
 * memcpy), so it only ever sees supported ones. */
static void supported_only(LIBSSH2_SESSION *s, int method, const char *list, char *out, size_t cap)
{
	const char **algs = NULL;
	int n = libssh2_session_supported_algs(s, method, &algs);
	size_t len = 0;
	const char *p = list;

	out[0] = '\0';
	while (*p) {
		size_t wl = strcspn(p, ",");

		for (int i = 0; i < n; i++) {
			if (strlen(algs[i]) == wl && !strncmp(algs[i], p, wl) && len + wl + 2 < cap) {
				len += (size_t)snprintf(out + len, cap - len, "%s%.*s", len ? "," : "", (int)wl, p);
				break;
			}
		}
		p += wl;
		if (*p == ',')
			p++;
	}
	if (n > 0)
		libssh2_free(s, algs);
}

static int set_prefs(LIBSSH2_SESSION *s, const char *hostkey_pref)
{
	static const struct {
		int method;
		const char *pref;
	} prefs[] = {
		{ LIBSSH2_METHOD_KEX, kex_pref },
		{ LIBSSH2_METHOD_CRYPT_CS, cipher_pref },
		{ LIBSSH2_METHOD_CRYPT_SC, cipher_pref },
		{ LIBSSH2_METHOD_MAC_CS, mac_pref },
		{ LIBSSH2_METHOD_MAC_SC, mac_pref },
		{ LIBSSH2_METHOD_HOSTKEY, NULL },
	};
	char list[512];

	for (size_t i = 0; i < ARRAY_SIZE(prefs); i++) {
		const char *want = prefs[i].pref ? prefs[i].pref : hostkey_pref;

		supported_only(s, prefs[i].method, want, list, sizeof(list));
		if (!list[0])
			return fail(EXIT_ERROR, "this libssh2 supports none of `%s'", want);
		if (libssh2_session_method_pref(s, prefs[i].method, list) < 0)
			return fail(EXIT_ERROR, "libssh2 rejects algorithm list `%s': %s", list,
				    ssh_errmsg(s));
	}
	return 0;
}

int ssh_connect(const struct ssh_opts *opts, struct ssh_conn *conn)
{
	struct hostkeys hk;
	char hostkey_pref[256];
	unsigned timeout_s = opts->connect_timeout_s ? opts->connect_timeout_s : 15;
	int rc;

	void (*before)(void *, const struct sockaddr *) = conn->before_connect;
	void *before_ctx = conn->before_ctx;

	memset(conn, 0, sizeof(*conn));
	conn->sock = -1;
	conn->before_connect = before;
	conn->before_ctx = before_ctx;
	if (ssh_global_init() < 0)
		return -1;
	if (hostkeys_load(opts, &hk) < 0)
		return -1;
	if ((opts->proxy_command && opts->proxy_command[0] ? proxy_connect(opts, conn)
							       : tcp_connect(opts, conn)) < 0)
		goto bad;
	conn->session = libssh2_session_init();
	if (!conn->session) {
		fail(EXIT_ERROR, "cannot create an SSH session (out of memory)");
		goto bad;
	}
	hostkeys_pref(&hk, hostkey_pref, sizeof(hostkey_pref));
	if (set_prefs(conn->session, hostkey_pref) < 0)
		goto bad;
	if (opts->compression)
		libssh2_session_flag(conn->session, LIBSSH2_FLAG_COMPRESS, 1);
	libssh2_session_set_blocking(conn->session, 1);
	libssh2_session_set_timeout(conn->session, (long)timeout_s * 1000);
	/* libssh2 may wait on a socket we hand it blocking-style; it polls by
	 * itself when the socket is non-blocking, so leave it non-blocking. */
	rc = libssh2_session_handshake(conn->session, conn->sock);
	if (rc) {
		fail(EXIT_UNREACHABLE, "SSH handshake with %s port %u failed: %s",
		     opts->host, opts->port,
		     rc == LIBSSH2_ERROR_TIMEOUT ? "timed out (is it an SSH server?)"
						 : ssh_errmsg(conn->session));
		goto bad;
	}
	log_verbose("kex %s, cipher %s, mac %s",
		    libssh2_session_methods(conn->session, LIBSSH2_METHOD_KEX),
		    libssh2_session_methods(conn->session, LIBSSH2_METHOD_CRYPT_CS),
		    libssh2_session_methods(conn->session, LIBSSH2_METHOD_MAC_CS));
	if (hostkeys_verify(&hk, opts, conn->session) < 0)
		goto bad;
	hostkeys_free(&hk);
	if (auth_run(opts, conn->session) < 0) {
		ssh_close(conn, "authentication failed");
		return -1;
	}
	return 0;
bad:
	hostkeys_free(&hk);
	ssh_close(conn, "connection failed");
	return -1;
}

void ssh_close(struct ssh_conn *conn, const char *reason)
{
	if (conn->session) {
		/* A clean disconnect is polite but must not hang a dead link. */
		libssh2_session_set_blocking(conn->session, 1);
		libssh2_session_set_timeout(conn->session, 1000);
		libssh2_session_disconnect(conn->session, reason);
		libssh2_session_free(conn->session);
		conn->session = NULL;
	}
	if (conn->sock >= 0) {
		close(conn->sock);
		conn->sock = -1;
	}
	if (conn->proxy_pid > 0) {
		/* It sees EOF now; give it a moment, then make sure. */
		for (int i = 0; i < 20 && waitpid(conn->proxy_pid, NULL, WNOHANG) == 0; i++)
			usleep(50 * 1000);
		if (waitpid(conn->proxy_pid, NULL, WNOHANG) == 0) {
			kill(conn->proxy_pid, SIGTERM);
			for (int i = 0; i < 20 && waitpid(conn->proxy_pid, NULL, WNOHANG) == 0; i++)
				usleep(50 * 1000);
			if (kill(conn->proxy_pid, SIGKILL) == 0)
				waitpid(conn->proxy_pid, NULL, 0);
		}
		conn->proxy_pid = 0;
	}
}
