/* The client: bring up the TUN, connect, start the helper, negotiate, then
 * pump packets until told to stop.  When the connection drops, the TUN with
 * its addresses and routes stays and we connect again. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "common.h"
#include "compress.h"
#include "control.h"
#include "dns.h"
#include "engine.h"
#include "fail.h"
#include "inuse.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "openssh.h"
#include "buf.h"
#include "bg.h"
#include <arpa/inet.h>
#include "shell.h"
#include "commands.h"
#include "tun.h"

#define CHANNEL_WINDOW (16u * 1024 * 1024)	/* lets bulk data run ahead of acks */
#define CHANNEL_PACKET 32768u
#define RECONNECT_MIN_MS 1000
#define RECONNECT_MAX_MS 30000

static void link_lost(struct engine *eng, int code);
static void schedule_reconnect(struct engine *eng);

/* ---- the channel as a link for the tunnel ---- */

/* The helper's stderr arrives as extended data; it must be read, or it fills
 * the channel window.  Each line is logged and the last kept for messages. */
static void drain_stderr(struct engine *eng)
{
	char buf[1024];
	ssize_t n;

	while ((n = libssh2_channel_read_stderr(eng->channel, buf, sizeof(buf) - 1)) > 0) {
		char *line, *save = NULL;

		buf[n] = '\0';
		for (line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
			for (char *c = line; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
			log_verbose("server: %s", line);
			snprintf(eng->remote_err, sizeof(eng->remote_err), "%s", line);
		}
	}
}

static ssize_t ch_read(void *ctx, uint8_t *buf, size_t len)
{
	struct engine *eng = ctx;
	ssize_t n;

	/* While up, stderr is read once a second (on_tick): a read of it is a
	 * second recv on every wakeup otherwise. */
	if (!eng->t.up)
		drain_stderr(eng);
	n = libssh2_channel_read(eng->channel, (char *)buf, len);
	/* A read may send a window adjust; if the socket took only part of
	 * it, libssh2 refuses any other send until a read finishes it. */
	eng->read_half = n == LIBSSH2_ERROR_EAGAIN &&
			 (libssh2_session_block_directions(eng->conn.session) & LIBSSH2_SESSION_BLOCK_OUTBOUND);
	if (n == LIBSSH2_ERROR_EAGAIN)
		return libssh2_channel_eof(eng->channel) ? 0 : -EAGAIN;
	if (n < 0)
		return fail(EXIT_ERROR, "SSH connection lost: %s", ssh_errmsg(eng->conn.session));
	return n;
}

static ssize_t ch_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct engine *eng = ctx;
	ssize_t n;

	if (eng->read_half)
		return -ENOBUFS;	/* reads go on and finish it first */
	n = libssh2_channel_write(eng->channel, (const char *)buf, len);

	if (n == LIBSSH2_ERROR_EAGAIN)
		return -EAGAIN;
	if (n < 0)
		return fail(EXIT_ERROR, "SSH connection lost: %s", ssh_errmsg(eng->conn.session));
	return n;
}

static const struct link_ops channel_link = { .read = ch_read, .write = ch_write, .serialize = true };

/* ---- negotiation ---- */

static int on_magic(void *ctx, unsigned proto, const char *software)
{
	log_verbose("server helper: %s, protocol %u", software, proto);
	if (proto != PROTO_VERSION)
		return fail(EXIT_REFUSED,
			    "version mismatch: the server's helper (%s) speaks sshtun protocol %u, this client speaks %u; install matching sshtun versions",
			    software, proto, PROTO_VERSION);
	return 0;
}

static int configure_tun(struct engine *eng)
{
	const struct inet_prefix *addrs[] = { &eng->lease.client4, &eng->lease.client6 };
	int rc = net_link_set(eng->ifindex, eng->t.mtu, true);

	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(addrs); i++)
		if (addrs[i]->family)
			rc = net_addr_add(eng->ifindex, addrs[i]);
	if (rc < 0)
		return fail(EXIT_LOCAL, "cannot configure %s: %s", eng->ifname, strerror(-rc));
	return 0;
}

static void run_commands(struct loop *loop, void *ctx);
static unsigned reconnect_attempt;

/* Addresses are known (the server's hello, or our choice with stock sshd):
 * configure the TUN and let packets flow. */
static int came_up(struct engine *eng)
{
	char a4[64] = "", a6[64] = "";

	if (configure_tun(eng) < 0)
		return -1;
	loop_cancel(eng->loop, eng->hello_timer);
	eng->hello_timer = 0;
	eng->t.up = true;
	eng->up_since_ms = now_ms();
	reconnect_attempt = 0;	/* the next drop starts the backoff afresh */
	inet_prefix_str(&eng->lease.client4, true, a4, sizeof(a4));
	inet_prefix_str(&eng->lease.client6, true, a6, sizeof(a6));
	log_info("tunnel up: %s %s%s%s%s", eng->ifname, a4, *a6 ? " " : "", a6,
		 eng->openssh ? " (stock sshd, tun@openssh.com)" : "");
	engine_set_state(eng, ST_UP, NULL);
	/* From the loop, not from here (inside the receive path): a command
	 * such as reconnect tears the session down. */
	if (!eng->reconnects && eng->opts->ncommands)
		loop_timer(eng->loop, 0, run_commands, eng);
	return 0;
}

static int on_server_hello(struct engine *eng, const struct frame *f)
{
	struct hello h;
	char err[256];

	if (hello_parse(f->payload, f->len, &h, err, sizeof(err)) < 0)
		return fail(EXIT_REFUSED, "the server's helper sent a bad hello: %s", err);
	if (h.proto != PROTO_VERSION)
		return fail(EXIT_REFUSED, "version mismatch: server hello says protocol %u, this client speaks %u",
			    h.proto, PROTO_VERSION);
	if (!h.client4.family && !h.client6.family)
		return fail(EXIT_REFUSED, "the server assigned no address to this client");
	/* A pair, nothing wider: a prefix length is a route the kernel adds,
	 * and routes from the server need --accept-routes. */
	if ((h.client4.family && (h.client4.plen != 31 || !h.server4.family || h.server4.plen != 31 ||
				  (h.client4.addr.v4.s_addr ^ h.server4.addr.v4.s_addr) != htonl(1))) ||
	    (h.client6.family && (h.client6.plen != 127 || !h.server6.family || h.server6.plen != 127 ||
				  memcmp(&h.client6.addr.v6, &h.server6.addr.v6, 15) ||
				  (h.client6.addr.v6.s6_addr[15] ^ h.server6.addr.v6.s6_addr[15]) != 1)))
		return fail(EXIT_REFUSED, "the server assigned addresses that are not a /31 or /127 pair; refusing them");
	if (eng->lease.client4.family && eng->reconnects &&
	    memcmp(&eng->lease.client4, &h.client4, sizeof(h.client4)))
		log_warn("the server gave a different address pair after reconnecting");
	/* Addresses from an earlier lease must go if the pair changed. */
	if (eng->lease.client4.family && memcmp(&eng->lease.client4, &h.client4, sizeof(h.client4)))
		net_addr_del(eng->ifindex, &eng->lease.client4);
	if (eng->lease.client6.family && memcmp(&eng->lease.client6, &h.client6, sizeof(h.client6)))
		net_addr_del(eng->ifindex, &eng->lease.client6);
	eng->lease = h;
	eng->t.mtu = h.mtu && h.mtu < eng->opts->mtu ? h.mtu : eng->opts->mtu;
	if ((h.compress & COMPRESS_ZLIB) && tunnel_compress_to_peer(&eng->t, eng->opts->compress) < 0)
		return -1;
	return came_up(eng);
}

static int on_frame(void *ctx, const struct frame *f)
{
	struct engine *eng = ctx;

	switch (f->type) {
	case FRAME_HELLO:
		if (eng->t.up)
			return fail(EXIT_ERROR, "the server sent a second hello");
		return on_server_hello(eng, f);
	case FRAME_PONG:
		engine_pong(eng, f->payload, f->len);
		return 0;
	case FRAME_ERROR: {
		char why[ERROR_MSG_MAX];
		size_t n = f->len < sizeof(why) - 1 ? f->len : sizeof(why) - 1;

		memcpy(why, f->payload, n);
		why[n] = '\0';
		for (char *c = why; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = ' ';
		return fail(EXIT_REFUSED, "the server refused the tunnel: %s", why);
	}
	case FRAME_CONTROL:
		return 0;
	case FRAME_DATA:
		return fail(EXIT_REFUSED, "the server sent data before its hello");
	default:
		return fail(EXIT_ERROR, "unexpected %s frame from the server", frame_type_name(f->type));
	}
}

static const struct tunnel_handler handler = { .on_magic = on_magic, .on_frame = on_frame };

static void on_hello_timeout(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;

	eng->hello_timer = 0;
	fail(EXIT_REFUSED,
	     "the server's helper did not complete the sshtun hello within %u s (ConnectTimeout): %s",
	     eng->opts->ssh.connect_timeout_s,
	     eng->t.want_magic ? "no sshtun helper answered (check --remote-command)" : "it sent no hello");
	link_lost(eng, EXIT_REFUSED);
}

/* Opens our channel: the sshtun subsystem, else the remote command. */
static int open_channel(struct engine *eng)
{
	LIBSSH2_SESSION *s = eng->conn.session;
	const char *how = "subsystem sshtun";
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		eng->channel = libssh2_channel_open_ex(s, "session", sizeof("session") - 1, CHANNEL_WINDOW,
						       CHANNEL_PACKET, NULL, 0);
		if (!eng->channel)
			return fail(EXIT_REFUSED, "the server refused a session channel: %s", ssh_errmsg(s));
		if (attempt == 0)
			rc = libssh2_channel_subsystem(eng->channel, "sshtun");
		else
			rc = libssh2_channel_exec(eng->channel, eng->opts->remote_command);
		if (rc == 0) {
			log_verbose("helper started (%s)", how);
			return 0;
		}
		libssh2_channel_free(eng->channel);
		eng->channel = NULL;
		if (attempt == 0) {
			log_verbose("no sshtun subsystem on the server; running `%s'", eng->opts->remote_command);
			how = eng->opts->remote_command;
		}
	}
	return fail(EXIT_REFUSED, "the server refused to run the helper `%s': %s",
		    eng->opts->remote_command, ssh_errmsg(s));
}

static void on_socket(struct loop *loop, int fd, short revents, void *ctx);

/* sshd tells why it refused a tunnel only in a debug message. */
static char ssh_debug_msg[256];

static void on_ssh_debug(LIBSSH2_SESSION *session, int always_display, const char *message,
			 int message_len, const char *language, int language_len, void **abstract)
{
	int n = message_len < 0 ? 0 : message_len;

	snprintf(ssh_debug_msg, sizeof(ssh_debug_msg), "%.*s", n, message);
	for (char *c = ssh_debug_msg; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	log_verbose("server says: %s", ssh_debug_msg);
}

/* Runs cmd on the server (blocking session) and returns its exit status, or
 * -1; its output (stdout then stderr) lands in out. */
static int remote_run(struct engine *eng, const char *cmd, char *out, size_t cap)
{
	LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(eng->conn.session);
	size_t len = 0;
	ssize_t n;
	int status;

	out[0] = '\0';
	if (!ch)
		return -1;
	if (libssh2_channel_exec(ch, cmd) != 0) {
		libssh2_channel_free(ch);
		return -1;
	}
	for (int stream = 0; stream < 2; stream++)
		while ((n = libssh2_channel_read_ex(ch, stream, out + len, cap - 1 - len)) > 0 &&
		       len + (size_t)n < cap - 1)
			len += (size_t)n;
	out[len] = '\0';
	libssh2_channel_close(ch);
	libssh2_channel_wait_closed(ch);
	status = libssh2_channel_get_exit_status(ch);
	libssh2_channel_free(ch);
	return status;
}

/* The addresses with stock sshd are ours to pick: -a, else the first pair of
 * the default pools. */
static void openssh_addresses(struct engine *eng)
{
	struct hello *h = &eng->lease;

	if (h->client4.family)
		return;	/* a reconnect keeps them */
	memset(h, 0, sizeof(*h));
	h->client4 = eng->opts->want4;
	if (!h->client4.family)
		inet_prefix_parse("10.77.0.1", &h->client4);
	h->client4.plen = 31;
	h->server4 = h->client4;
	h->server4.addr.v4.s_addr ^= htonl(1);
	h->client6 = eng->opts->want6;
	if (!h->client6.family)
		inet_prefix_parse("fd77:7373:6874::3", &h->client6);
	h->client6.plen = 127;
	h->server6 = h->client6;
	h->server6.addr.v6.s6_addr[15] ^= 1;
}

/* Configures the server's end of a tun@openssh.com device (sshd only opens
 * it): as root, or with sudo -n; else says exactly what to run there. */
static void configure_remote(struct engine *eng, unsigned unit)
{
	char cmd[600], out[1024], s4[64], s6[64];
	bool root = !strcmp(eng->opts->ssh.user, "root");
	int n;

	inet_prefix_str(&eng->lease.server4, true, s4, sizeof(s4));
	inet_prefix_str(&eng->lease.server6, true, s6, sizeof(s6));
	n = snprintf(cmd, sizeof(cmd),
		     "%sip addr replace %s dev tun%u && %sip -6 addr replace %s dev tun%u nodad && "
		     "%sip link set tun%u mtu %u up",
		     root ? "" : "sudo -n ", s4, unit, root ? "" : "sudo -n ", s6, unit,
		     root ? "" : "sudo -n ", unit, eng->t.mtu);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return;
	if (remote_run(eng, cmd, out, sizeof(out)) == 0) {
		log_verbose("configured tun%u on the server", unit);
		return;
	}
	out[strcspn(out, "\n")] = '\0';
	log_warn("cannot configure the server's end (%s); run there as root: ip addr add %s dev tun%u; "
		 "ip -6 addr add %s dev tun%u; ip link set tun%u mtu %u up",
		 out[0] ? out : "no permission", s4, unit, s6, unit, unit, eng->t.mtu);
}

/* The first unit with no tunN on the server, so that we know its name. */
static unsigned free_unit(struct engine *eng)
{
	char list[8192], name[16];

	if (remote_run(eng, "ls /sys/class/net", list, sizeof(list)) != 0)
		return 0x7fffffff;	/* any: we will not know which */
	for (unsigned u = 0; u < 256; u++) {
		bool used = false;

		snprintf(name, sizeof(name), "tun%u", u);
		for (char *w = list; *w && !used; w += strcspn(w, "\n"), w += *w == '\n') {
			size_t len = strcspn(w, "\n");

			used = len == strlen(name) && !strncmp(w, name, len);
		}
		if (!used)
			return u;
	}
	return 0x7fffffff;
}

/* The blocking half of stock-sshd mode (on the connect thread): pick a
 * unit, open sshd's tunnel channel, configure the server's end. */
static int openssh_open(struct engine *eng)
{
	LIBSSH2_SESSION *s = eng->conn.session;
	unsigned unit;
	uint8_t msg[8];

	libssh2_session_set_blocking(s, 1);
	libssh2_session_callback_set(s, LIBSSH2_CALLBACK_DEBUG, (void *)on_ssh_debug);
	unit = free_unit(eng);
	put_u32(msg, 1);	/* point-to-point: IP packets, no ethernet */
	put_u32(msg + 4, unit);
	ssh_debug_msg[0] = '\0';
	eng->channel = libssh2_channel_open_ex(s, "tun@openssh.com", sizeof("tun@openssh.com") - 1,
					       CHANNEL_WINDOW, CHANNEL_PACKET, (const char *)msg, sizeof(msg));
	if (!eng->channel) {
		/* sshd's debug message is the reason; the hint fits it. */
		const char *why = ssh_debug_msg[0] ? ssh_debug_msg : ssh_errmsg(s);
		const char *hint = strstr(why, "Failed to open") ? "the login user needs CAP_NET_ADMIN (or root) on the server, or the unit is busy"
							  : "it needs PermitTunnel yes (or point-to-point) in sshd_config";
		size_t n = strlen(why);

		while (n && (why[n - 1] == '.' || why[n - 1] == ' '))
			n--;
		return fail(EXIT_REFUSED, "the server refused its tunnel channel (tun@openssh.com): %.*s; %s",
			    (int)n, why, hint);
	}
	eng->openssh = true;
	openssh_addresses(eng);
	eng->t.mtu = eng->opts->mtu < OSSH_MAX_PACKET ? eng->opts->mtu : OSSH_MAX_PACKET;
	if (unit != 0x7fffffff)
		configure_remote(eng, unit);
	else
		log_warn("cannot tell which tun device sshd opened: configure the server's end by hand");
	return 0;
}

/* The loop's half: packets flow from here on. */
static int openssh_begin(struct engine *eng)
{
	libssh2_session_set_blocking(eng->conn.session, 0);
	if (tunnel_reset(&eng->t, false) < 0)
		return -1;
	ossh_link_reset(&eng->ossh, eng->channel);
	eng->t.link = &ossh_link_ops;
	eng->t.link_ctx = &eng->ossh;
	eng->t.want_magic = false;
	loop_watch(eng->loop, eng->conn.sock, POLLIN, on_socket, eng);
	return came_up(eng);
}

/* On the connect thread: everything that blocks, bounded by ConnectTimeout
 * at each step. */
static int session_connect(void *arg)
{
	struct engine *eng = arg;

	if (ssh_connect(&eng->opts->ssh, &eng->conn) < 0)
		return -1;
	if (eng->opts->openssh)
		return openssh_open(eng);
	return open_channel(eng);
}

/* Back on the loop: our protocol starts (or stock sshd's channel). */
static int session_begin(struct engine *eng)
{
	char magic[MAGIC_LINE_MAX];
	uint8_t hello[HELLO_MAX];
	struct hello h;
	int len;

	engine_set_state(eng, ST_NEGOTIATING, NULL);
	if (eng->openssh)
		return openssh_begin(eng);
	eng->t.link = &channel_link;
	eng->t.link_ctx = eng;
	libssh2_session_set_blocking(eng->conn.session, 0);
	if (tunnel_reset(&eng->t, true) < 0)
		return -1;

	memset(&h, 0, sizeof(h));
	h.proto = PROTO_VERSION;
	snprintf(h.software, sizeof(h.software), "sshtun %s", sshtun_version);
	h.mtu = eng->opts->mtu;
	h.compress = COMPRESS_ZLIB;
	compress_mode_str(eng->opts->compress, h.compress_mode, sizeof(h.compress_mode));
	snprintf(h.id, sizeof(h.id), "%s", eng->client_id);
	/* After a reconnect ask for the pair we had, so the TUN keeps it. */
	h.client4 = eng->lease.client4.family ? eng->lease.client4 : eng->opts->want4;
	h.client6 = eng->lease.client6.family ? eng->lease.client6 : eng->opts->want6;
	inuse_prefixes(&h.avoid, eng->ifindex);
	len = hello_format(&h, hello, sizeof(hello));
	if (len < 0)
		return fail(EXIT_ERROR, "hello too large");
	tunnel_queue_raw(&eng->t, magic, magic_format(magic, sizeof(magic)));
	tunnel_queue(&eng->t, FRAME_HELLO, 0, hello, (uint32_t)len);
	eng->hello_timer = loop_timer(eng->loop, (uint64_t)eng->opts->ssh.connect_timeout_s * 1000,
				      on_hello_timeout, eng);
	loop_watch(eng->loop, eng->conn.sock, POLLIN, on_socket, eng);
	return 0;
}

static void connect_failed(struct engine *eng);

static void on_connected(struct loop *loop, int fd, short revents, void *ctx)
{
	struct engine *eng = ctx;

	loop_unwatch(loop, fd);
	if (bg_finish(&eng->connector) < 0 || session_begin(eng) < 0)
		connect_failed(eng);
}

/* Connects on a thread of its own; the loop (prompt, ctl, TUN) goes on. */
static int start_session(struct engine *eng)
{
	engine_set_state(eng, ST_CONNECTING, eng->reconnects ? "reconnecting" : NULL);
	eng->openssh = false;
	if (bg_start(&eng->connector, session_connect, eng) < 0)
		return -1;
	loop_watch(eng->loop, bg_done_fd(&eng->connector), POLLIN, on_connected, eng);
	return 0;
}

/* Why the helper went away before the hello, from its exit status and the
 * last thing it printed. */
static bool explain_early_eof(struct engine *eng)
{
	int status = libssh2_channel_get_exit_status(eng->channel);

	drain_stderr(eng);
	if (status == 127 || status == 126 || strstr(eng->remote_err, "not found") ||
	    strstr(eng->remote_err, "No such file")) {
		char why[ERROR_MSG_MAX];

		/* No helper: stock sshd's own tunnel may still do. */
		log_info("no sshtun helper on the server; trying its own tunnel channel (tun@openssh.com)");
		libssh2_channel_free(eng->channel);
		eng->channel = NULL;
		loop_cancel(eng->loop, eng->hello_timer);
		eng->hello_timer = 0;
		if (openssh_open(eng) == 0 && openssh_begin(eng) == 0)
			return true;
		snprintf(why, sizeof(why), "%s", fail_msg());
		fail_clear();
		fail(EXIT_REFUSED,
		     "the sshtun helper is not installed on the server (`%s' failed: %s), and %s",
		     eng->opts->remote_command, eng->remote_err[0] ? eng->remote_err : "exit 127", why);
		return false;
	}
	fail(EXIT_REFUSED, "the server's helper exited (status %d) before the tunnel came up%s%s", status,
	     eng->remote_err[0] ? ": " : "", eng->remote_err);
	return false;
}

static void close_session(struct engine *eng)
{
	/* The connect thread owns the session until it has finished. */
	if (eng->connector.running)
		return;
	if (eng->conn.sock >= 0)
		loop_unwatch(eng->loop, eng->conn.sock);
	loop_cancel(eng->loop, eng->hello_timer);
	eng->hello_timer = 0;
	if (eng->channel) {
		libssh2_session_set_blocking(eng->conn.session, 1);
		libssh2_session_set_timeout(eng->conn.session, 1000);
		libssh2_channel_close(eng->channel);
		libssh2_channel_free(eng->channel);
		eng->channel = NULL;
	}
	ssh_close(&eng->conn, "sshtun closing");
	eng->read_half = false;
	eng->t.maybe_buffered = false;
	eng->t.up = false;
	engine_fail_pings(eng);
}

/* A failure that retrying will not heal. */
static bool permanent(int code)
{
	return code == EXIT_HOSTKEY || code == EXIT_AUTH || code == EXIT_REFUSED ||
	       code == EXIT_LOCAL || code == EXIT_USAGE;
}

static void link_lost(struct engine *eng, int code)
{
	bool was_up = eng->state == ST_UP;

	close_session(eng);
	if (eng->quitting)
		return;
	/* Before the first success every failure is reported as it is; after
	 * it, only the ones that will not heal end the run. */
	if ((!was_up && !eng->reconnects && eng->up_since_ms == 0) || permanent(fail_code())) {
		engine_stop(eng, fail_code() ? fail_code() : code);
		return;
	}
	log_warn("%s", fail_msg()[0] ? fail_msg() : "connection lost");
	fail_clear();
	schedule_reconnect(eng);
}

/* ---- reconnecting ---- */

static unsigned backoff_ms(struct engine *eng, unsigned attempt)
{
	unsigned ms = RECONNECT_MIN_MS;
	uint32_t jitter = 0;

	for (unsigned i = 0; i < attempt && ms < RECONNECT_MAX_MS; i++)
		ms *= 2;
	if (ms > RECONNECT_MAX_MS)
		ms = RECONNECT_MAX_MS;
	/* Up to 25% jitter so that many clients of one server spread out. */
	if (getrandom(&jitter, sizeof(jitter), GRND_NONBLOCK) != sizeof(jitter))
		jitter = 0;
	return ms - ms / 4 + jitter % (ms / 4 + 1);
}

static void connect_failed(struct engine *eng);

static void try_reconnect(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;

	eng->reconnect_timer = 0;
	if (eng->connector.running)
		return;	/* an attempt is under way already */
	eng->reconnects++;
	/* Nobody may be at the terminal now: the agent or an unencrypted key
	 * must do, and the failure says so when they cannot. */
	eng->opts->ssh.batch = true;
	if (start_session(eng) < 0)
		connect_failed(eng);
}

/* A connection attempt failed before the tunnel came up. */
static void connect_failed(struct engine *eng)
{
	close_session(eng);
	if (eng->quitting)
		return;
	/* The first attempt reports whatever failed; later ones retry unless
	 * the failure will not heal. */
	if (!eng->reconnects || permanent(fail_code())) {
		engine_stop(eng, fail_code() ? fail_code() : EXIT_ERROR);
		return;
	}
	log_warn("reconnect failed: %s", fail_msg());
	fail_clear();
	eng->reconnects--;
	schedule_reconnect(eng);
}

static void schedule_reconnect(struct engine *eng)
{
	unsigned ms = backoff_ms(eng, reconnect_attempt++);
	char detail[64];

	snprintf(detail, sizeof(detail), "reconnecting in %us", (ms + 999) / 1000);
	engine_set_state(eng, ST_RECONNECTING, detail);
	log_info("connection lost; %s", detail);
	loop_cancel(eng->loop, eng->reconnect_timer);
	eng->reconnect_timer = loop_timer(eng->loop, ms, try_reconnect, eng);
}

int engine_reconnect(struct engine *eng, char *err, size_t errlen)
{
	if ((eng->state != ST_UP && eng->state != ST_RECONNECTING) || eng->connector.running) {
		snprintf(err, errlen, "cannot reconnect while %s", eng->state_detail);
		return -1;
	}
	log_info("reconnecting on request");
	close_session(eng);
	reconnect_attempt = 0;
	engine_set_state(eng, ST_RECONNECTING, "reconnecting now");
	loop_cancel(eng->loop, eng->reconnect_timer);
	eng->reconnect_timer = loop_timer(eng->loop, 0, try_reconnect, eng);
	return 0;
}

/* ---- the event loop's side ---- */

static void service(struct engine *eng)
{
	int rc;

	/* While the connect thread runs, the session and channel are its. */
	if (!eng->channel || eng->connector.running)
		return;
	if (tunnel_flush(&eng->t) < 0) {
		link_lost(eng, EXIT_ERROR);
		return;
	}
	rc = tunnel_input(&eng->t);
	if (rc == 0)
		rc = tunnel_flush(&eng->t);	/* PONGs and our own replies */
	if (rc == 1) {
		if (!eng->t.up && !eng->openssh) {
			if (explain_early_eof(eng))
				return;
		} else
			fail(EXIT_ERROR, "the server closed the tunnel%s%s",
			     eng->remote_err[0] ? ": " : "", eng->remote_err);
		link_lost(eng, EXIT_ERROR);
	} else if (rc < 0) {
		link_lost(eng, fail_code() ? fail_code() : EXIT_ERROR);
	}
}

static void on_socket(struct loop *loop, int fd, short revents, void *ctx)
{
	service(ctx);
}

static void on_tun(struct loop *loop, int fd, short revents, void *ctx)
{
	struct engine *eng = ctx;

	if (!eng->channel || !eng->t.up) {
		/* Down: read and drop, so the kernel's queue does not hold stale
		 * packets for the next connection. */
		uint8_t buf[2048];

		while (tun_read(fd, buf, sizeof(buf)) > 0)
			eng->t.st.drops++;
		return;
	}
	tunnel_read_tun(&eng->t);
	if (tunnel_flush(&eng->t) < 0)
		link_lost(eng, EXIT_ERROR);
}

static void before_poll(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;
	short ev = POLLIN;

	/* libssh2 may hold decrypted data it read while we wrote: the socket
	 * will not wake us for it, so ask before sleeping (only then: each
	 * ask is a recv). */
	if (eng->t.maybe_buffered || tunnel_tx_pending(&eng->t))
		service(eng);
	if (eng->channel && !eng->connector.running) {
		int dir = libssh2_session_block_directions(eng->conn.session);

		/* Only libssh2 knows whether it waits for the socket or for the
		 * peer's window (then only reading helps): asking for POLLOUT
		 * while the socket is writable would spin. */
		if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			ev |= POLLOUT;
		loop_set_events(loop, eng->conn.sock, ev);
	}
	loop_set_events(loop, eng->t.tun_fd,
			(!eng->channel || !eng->t.up || tunnel_tx_room(&eng->t)) ? POLLIN : 0);
}

/* While data flows, a ping every PRESSURE_MS measures the round trip that
 * --compress auto reads the channel's queue from (pressure.h). */
#define PRESSURE_MS 250

static void on_pressure(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;
	uint64_t bytes = eng->t.st.tx_bytes + eng->t.st.rx_bytes;

	eng->pressure_timer = loop_timer(loop, PRESSURE_MS, on_pressure, eng);
	if (eng->state != ST_UP || eng->openssh)
		return;
	if (bytes != eng->pressure_bytes)
		engine_send_ping(eng, eng->opts->alive_interval ? eng->opts->alive_interval * 1000 : 5000,
				 NULL, NULL);
	eng->pressure_bytes = bytes;
	pressure_tick(&eng->pressure);
	eng->t.rtt_congested = eng->pressure.congested;
	eng->t.cpu_ok = eng->pressure.cpu_idle >= PRESSURE_CPU_IDLE_MIN;
}

/* Once a second: rates, and the keepalive that notices a dead server. */
static void on_tick(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;
	uint64_t now = now_ms();
	double secs = (double)(now - eng->rate_at_ms) / 1000.0;

	if (secs > 0) {
		eng->tx_rate_bps = (double)(eng->t.st.tx_bytes - eng->rate_tx_bytes) * 8 / secs;
		eng->rx_rate_bps = (double)(eng->t.st.rx_bytes - eng->rate_rx_bytes) * 8 / secs;
	}
	eng->rate_at_ms = now;
	eng->rate_tx_bytes = eng->t.st.tx_bytes;
	eng->rate_rx_bytes = eng->t.st.rx_bytes;
	/* The helper's stderr, while up (ch_read skips it then); not while a
	 * send is half done, which libssh2 would refuse. */
	if (eng->channel && eng->t.up && !eng->openssh && !eng->connector.running &&
	    !eng->t.write_blocked && !eng->read_half) {
		drain_stderr(eng);
		eng->t.maybe_buffered = true;
	}
	/* Our pings need our helper; with stock sshd TCP keepalive and
	 * TCP_USER_TIMEOUT notice a dead server. */
	if (eng->state == ST_UP && eng->opts->alive_interval && !eng->openssh) {
		if (eng->missed_pings >= eng->opts->alive_count) {
			fail(EXIT_ERROR, "the server stopped answering (%u keepalives missed)", eng->missed_pings);
			link_lost(eng, EXIT_ERROR);
		} else if (now - eng->last_ping_ms >= (uint64_t)eng->opts->alive_interval * 1000) {
			eng->last_ping_ms = now;
			engine_send_ping(eng, eng->opts->alive_interval * 1000, NULL, NULL);
		}
	}
	eng->tick_timer = loop_timer(loop, 1000, on_tick, eng);
}

static void on_signal(struct loop *loop, int signo, void *ctx)
{
	struct engine *eng = ctx;

	/* At the prompt, Ctrl-C clears the line or stops a waiting command. */
	if (signo == SIGINT && shell_prompt_interrupt())
		return;
	log_verbose("signal %d: closing", signo);
	engine_stop(eng, EXIT_OK);
}

void engine_stop(struct engine *eng, int code)
{
	if (eng->quitting)
		return;
	eng->quitting = true;
	eng->exit_code = code;
	loop_stop(eng->loop);
}

/* ---- -c commands, run one after another once the tunnel is first up ---- */

struct cmd_run {
	struct engine *eng;
	int next;
	bool in_next;		/* inside cmd_next: done() needs no restart */
};

static void cmd_write(void *ctx, int stream, const char *text, size_t len)
{
	fwrite(text, 1, len, stream == 2 ? stderr : stdout);
	fflush(stream == 2 ? stderr : stdout);
}

static void cmd_done(void *ctx, int status);
static const struct shell_out_ops cmd_ops = { .write = cmd_write, .done = cmd_done };
static struct cmd_run cmd_state;

static void cmd_next(struct engine *eng)
{
	cmd_state.in_next = true;
	while (cmd_state.next < eng->opts->ncommands && !eng->quitting) {
		const char *line = eng->opts->commands[cmd_state.next++];

		if (shell_run(eng, line, &cmd_ops, &cmd_state) == SHELL_PENDING)
			break;
	}
	cmd_state.in_next = false;
}

static void cmd_done(void *ctx, int status)
{
	struct cmd_run *r = ctx;

	if (status)
		log_warn("-c command failed (status %d)", status);
	if (!r->in_next)
		cmd_next(r->eng);	/* a command that waited has finished */
}

static void run_commands(struct loop *loop, void *ctx)
{
	struct engine *eng = ctx;

	cmd_state.eng = eng;
	cmd_state.next = 0;
	cmd_next(eng);
}

/* ---- start and end ---- */

static int make_client_id(char out[HELLO_ID_LEN + 1])
{
	uint8_t raw[HELLO_ID_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return fail(EXIT_ERROR, "no randomness for a client identity: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* -f: the parent waits until the child reports the tunnel up (a byte on
 * the pipe) and exits 0, or takes the child's exit status. */
static int daemon_pipe = -1;

static int go_background(void)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return fail(EXIT_ERROR, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return fail(EXIT_ERROR, "fork: %s", strerror(errno));
	if (pid > 0) {
		char b;
		int status = 0;

		close(fds[1]);
		if (read(fds[0], &b, 1) == 1)
			_exit(EXIT_OK);
		waitpid(pid, &status, 0);
		/* Gone before the tunnel was up: never 0 (-f promises up). */
		_exit(WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : EXIT_ERROR);
	}
	close(fds[0]);
	daemon_pipe = fds[1];
	return 0;
}

static void background_ready(void)
{
	int null;

	if (daemon_pipe < 0)
		return;
	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	if (write(daemon_pipe, "u", 1) < 0) {
		/* the parent is gone; nothing to tell */
	}
	close(daemon_pipe);
	daemon_pipe = -1;
}

static void on_state_first_up(void *ctx, const struct engine_status *st);

int client_main(int argc, char **argv)
{
	static struct client_opts opts;
	static struct engine eng;
	char sock_path[256];
	int rc;

	rc = options_parse(argc, argv, &opts);
	if (rc)
		return rc > 0 ? EXIT_OK : fail_code();
	log_level = (enum log_level)(LOG_INFO + opts.verbosity);

	memset(&eng, 0, sizeof(eng));
	eng.opts = &opts;
	eng.conn.sock = -1;
	eng.t.tun_fd = -1;
	if (make_client_id(eng.client_id) < 0)
		return fail_code();
	if (opts.sock_path)
		snprintf(sock_path, sizeof(sock_path), "%s", opts.sock_path);
	else if (control_default_path(opts.name, sock_path, sizeof(sock_path)) < 0)
		return fail_code();
	if (tunnel_init(&eng.t, &channel_link, &eng, &handler, &eng) < 0 || ossh_link_init(&eng.ossh) < 0)
		return fail_code();
	/* What a crashed instance of this name left behind goes first. */
	char state_path[300];

	if (state_path_for(sock_path, state_path, sizeof(state_path)) < 0)
		return fail_code();
	if (state_undo(state_path, false) > 0)
		log_info("cleaned up after an earlier instance of `%s'", opts.name);
	if (fail_code())
		return fail_code();
	state_init(&eng.undo, state_path);

	/* The TUN first: a missing privilege is reported before we connect. */
	snprintf(eng.ifname, sizeof(eng.ifname), "%s", opts.ifname[0] ? opts.ifname : "sshtun%d");
	eng.t.tun_fd = tun_open(eng.ifname);
	if (eng.t.tun_fd < 0)
		goto out;
	eng.ifindex = net_link_index(eng.ifname);
	eng.loop = loop_new();
	if (!eng.loop || eng.ifindex < 0) {
		fail(EXIT_LOCAL, "cannot find the new interface %s", eng.ifname);
		goto out;
	}
	if (control_listen(&eng, eng.loop, sock_path) < 0)
		goto out;
	if (opts.background && go_background() < 0)
		goto out;
	loop_signals(eng.loop, on_signal, &eng);
	loop_watch(eng.loop, eng.t.tun_fd, POLLIN, on_tun, &eng);
	loop_hook(eng.loop, before_poll, &eng);
	eng.rate_at_ms = now_ms();
	eng.tick_timer = loop_timer(eng.loop, 1000, on_tick, &eng);
	eng.pressure_timer = loop_timer(eng.loop, PRESSURE_MS, on_pressure, &eng);
	engine_on_state(&eng, on_state_first_up, &eng);

	if (start_session(&eng) < 0)
		goto out;
	loop_run(eng.loop);
	if (eng.exit_code == EXIT_OK)
		fail_clear();
	else if (!fail_code())
		fail(eng.exit_code, "stopped");
out:
	shell_prompt_stop();
	/* A connect thread still running owns the session: leave it to the
	 * process's end rather than pull it away under the thread. */
	if (!eng.connector.running)
		close_session(&eng);
	dns_revert(&eng.undo);
	routes_unexclude_all(&eng);
	routes_unpin_server(&eng);
	state_discard(&eng.undo);
	control_close();
	eng.state = ST_CLOSED;
	/* Closing the TUN removes the device and every route through it. */
	if (eng.t.tun_fd >= 0)
		close(eng.t.tun_fd);
	tunnel_free(&eng.t);
	ossh_link_free(&eng.ossh);
	if (eng.loop)
		loop_free(eng.loop);
	return fail_code();
}

/* The first time the tunnel is up: -f detaches, the prompt starts. */
static void on_state_first_up(void *ctx, const struct engine_status *st)
{
	struct engine *eng = ctx;

	if (strcmp(st->state, "up"))
		return;
	engine_on_state(eng, NULL, NULL);
	for (int i = 0; i < eng->opts->nroutes; i++) {
		char err[256];

		if (engine_route_add(eng, eng->opts->routes[i], err, sizeof(err)) < 0)
			log_error("%s", err);
	}
	if (eng->opts->accept_routes) {
		for (int i = 0; i < eng->lease.routes.n; i++) {
			char a[ENGINE_CIDR_STRLEN], err[256];

			inet_prefix_str(&eng->lease.routes.p[i], true, a, sizeof(a));
			if (engine_route_add(eng, a, err, sizeof(err)) < 0)
				log_warn("not accepting the offered route %s: %s", a, err);
		}
	} else if (eng->lease.routes.n) {
		log_info("the server offers %d route%s (--accept-routes to take them)", eng->lease.routes.n,
			 eng->lease.routes.n == 1 ? "" : "s");
	}
	if (eng->opts->dns) {
		char err[ERROR_MSG_MAX];

		if (engine_dns_set(eng, true, err, sizeof(err)) < 0)
			log_error("--dns: %s", err);
	}
	if (eng->opts->background) {
		background_ready();
		return;
	}
	if (eng->opts->no_shell)
		return;
	if (isatty(STDIN_FILENO))
		shell_prompt_start(eng, eng->loop, eng->opts->name);
	else
		shell_stdin_start(eng, eng->loop);
}
