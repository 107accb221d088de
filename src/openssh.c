/* See openssh.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "common.h"
#include "fail.h"
#include "log.h"
#include "openssh.h"
#include "ssh.h"

int ossh_link_init(struct ossh_link *l)
{
	memset(l, 0, sizeof(*l));
	l->sock = -1;
	l->rx = malloc(OSSH_RX_CAP);
	l->wbuf = malloc(OSSH_WBUF_CAP);
	return l->rx && l->wbuf ? 0 : fail(EXIT_ERROR, "out of memory for the tunnel channel");
}

void ossh_link_free(struct ossh_link *l)
{
	free(l->rx);
	free(l->wbuf);
	l->rx = l->wbuf = NULL;
}

void ossh_link_reset(struct ossh_link *l, LIBSSH2_CHANNEL *channel)
{
	l->channel = channel;
	l->rx_len = 0;
	l->out_len = 0;
	l->out_frame = 0;
	l->wbuf_len = 0;
	l->batching = false;
}

/* ---- batching below libssh2: its send and recv callbacks ---- */

static ssize_t plain_send(libssh2_socket_t fd, const void *buf, size_t len, int flags, void **abstract)
{
	ssize_t n = send(fd, buf, len, flags);

	return n < 0 ? -errno : n;
}

static ssize_t plain_recv(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
	ssize_t n = recv(fd, buf, len, flags);

	return n < 0 ? -errno : n;
}

/* Sends what wbuf holds until the socket is full.  Returns 0, or -errno
 * when the connection is gone. */
static int push_some(struct ossh_link *l)
{
	while (l->wbuf_len) {
		ssize_t n = send(l->sock, l->wbuf, l->wbuf_len, MSG_NOSIGNAL);

		l->sends++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		memmove(l->wbuf, l->wbuf + n, l->wbuf_len - (size_t)n);
		l->wbuf_len -= (size_t)n;
	}
	return 0;
}

/* While batching, and while an earlier batch still waits (so that the
 * bytes stay in order), sends are collected; libssh2 sees them taken. */
static ssize_t batch_send(libssh2_socket_t fd, const void *buf, size_t len, int flags, void **abstract)
{
	struct ossh_link *l = *abstract;
	int rc;

	if (!l->batching && !l->wbuf_len) {
		l->sends++;
		return plain_send(fd, buf, len, flags, abstract);
	}
	if (OSSH_WBUF_CAP - l->wbuf_len < len && (rc = push_some(l)) < 0)
		return rc;
	if (OSSH_WBUF_CAP - l->wbuf_len < len) {
		if (l->wbuf_len)
			return -EAGAIN;	/* libssh2 keeps its packet and comes again */
		l->sends++;
		return plain_send(fd, buf, len, flags, abstract);
	}
	memcpy(l->wbuf + l->wbuf_len, buf, len);
	l->wbuf_len += len;
	return (ssize_t)len;
}

/* libssh2 reads before every channel write (for window adjusts): within a
 * batch, once the socket said it has nothing, it has nothing. */
static ssize_t batch_recv(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
	struct ossh_link *l = *abstract;
	ssize_t n;

	if (l->batching && l->rx_dry)
		return -EAGAIN;
	n = plain_recv(fd, buf, len, flags, abstract);
	if (n == -EAGAIN && l->batching)
		l->rx_dry = true;
	return n;
}

static void keep_debug(char *msg, const char *message, int message_len)
{
	int n = message_len < 0 ? 0 : message_len;

	if (!msg)
		return;
	snprintf(msg, OSSH_DEBUG_MAX, "%.*s", n, message);
	/* The server's words reach a terminal: no C0, DEL or 8-bit bytes (C1
	 * controls are 8-bit, and a terminal may take them as escapes). */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = (unsigned char)*c < 0x20 ? ' ' : '?';
	log_verbose("server says: %s", msg);
}

static void on_ssh_debug_link(LIBSSH2_SESSION *session, int always_display, const char *message,
			      int message_len, const char *language, int language_len, void **abstract)
{
	struct ossh_link *l = *abstract;

	keep_debug(l->debug, message, message_len);
}

static void on_ssh_debug(LIBSSH2_SESSION *session, int always_display, const char *message,
			 int message_len, const char *language, int language_len, void **abstract)
{
	keep_debug(*abstract, message, message_len);
}

void ossh_link_batch(struct ossh_link *l, LIBSSH2_SESSION *session, int sock)
{
	void **abstract = libssh2_session_abstract(session);

	l->session = session;
	l->sock = sock;
	l->debug = *abstract;
	l->wbuf_len = 0;
	l->batching = false;
	*abstract = l;
	libssh2_session_callback_set(session, LIBSSH2_CALLBACK_DEBUG, (void *)on_ssh_debug_link);
	libssh2_session_callback_set(session, LIBSSH2_CALLBACK_SEND, (void *)batch_send);
	libssh2_session_callback_set(session, LIBSSH2_CALLBACK_RECV, (void *)batch_recv);
}

void ossh_link_unbatch(struct ossh_link *l)
{
	if (!l->session)
		return;
	push_some(l);	/* best effort: the session is ending */
	libssh2_session_callback_set(l->session, LIBSSH2_CALLBACK_SEND, (void *)plain_send);
	libssh2_session_callback_set(l->session, LIBSSH2_CALLBACK_RECV, (void *)plain_recv);
	libssh2_session_callback_set(l->session, LIBSSH2_CALLBACK_DEBUG, (void *)on_ssh_debug);
	*libssh2_session_abstract(l->session) = l->debug;
	l->session = NULL;
	l->sock = -1;
	l->wbuf_len = 0;
	l->batching = false;
}

int ossh_link_push(struct ossh_link *l)
{
	int rc = push_some(l);

	return rc < 0 ? fail(EXIT_ERROR, "SSH connection lost (sending: %s)", strerror(-rc)) : 0;
}

bool ossh_link_pending(const struct ossh_link *l)
{
	return l->wbuf_len > 0;
}

long ossh_datagram_len(const uint8_t *p, size_t avail)
{
	uint32_t af;
	size_t len;

	if (avail < 4 + 20)
		return 0;
	af = get_u32(p);
	if (af == OSSH_AF_INET && p[4] >> 4 == 4)
		len = (size_t)get_u16(p + 4 + 2);
	else if (af == OSSH_AF_INET6 && p[4] >> 4 == 6) {
		if (avail < 4 + 40)
			return 0;
		len = 40 + (size_t)get_u16(p + 4 + 4);
	} else
		return -1;
	if (len < 20 || len > OSSH_MAX_PACKET)
		return -1;
	return avail >= 4 + len ? (long)(4 + len) : 0;
}

/* Reads what the channel has, and hands the tunnel whole packets as DATA
 * frames. */
static ssize_t ossh_read(void *ctx, uint8_t *buf, size_t cap)
{
	struct ossh_link *l = ctx;
	size_t out = 0, off = 0;
	bool eof = false;
	ssize_t n;

	if (l->rx_len < OSSH_RX_CAP) {
		n = libssh2_channel_read(l->channel, (char *)l->rx + l->rx_len, OSSH_RX_CAP - l->rx_len);
		if (n == LIBSSH2_ERROR_EAGAIN)
			eof = libssh2_channel_eof(l->channel);
		else if (n < 0)
			return fail(EXIT_ERROR, "SSH connection lost (tunnel channel read: error %zd)", n);
		else if (n == 0)
			eof = true;
		else
			l->rx_len += (size_t)n;
	}
	while (off < l->rx_len) {
		long dlen = ossh_datagram_len(l->rx + off, l->rx_len - off);
		size_t plen;

		if (dlen < 0)
			return fail(EXIT_ERROR, "sshd's tunnel channel sent something that is not an IP packet (family %u)",
				    l->rx_len - off >= 4 ? get_u32(l->rx + off) : 0);
		if (dlen == 0)
			break;
		plen = (size_t)dlen - 4;
		if (out + FRAME_HDR_LEN + plen > cap)
			break;
		frame_put_header(buf + out, FRAME_DATA, 0, (uint32_t)plen);
		memcpy(buf + out + FRAME_HDR_LEN, l->rx + off + 4, plen);
		out += FRAME_HDR_LEN + plen;
		off += (size_t)dlen;
	}
	if (off) {
		memmove(l->rx, l->rx + off, l->rx_len - off);
		l->rx_len -= off;
	}
	/* At EOF a partial datagram will never complete: the stream ends
	 * once the whole ones are out. */
	if (out)
		return (ssize_t)out;
	return eof && ossh_datagram_len(l->rx, l->rx_len) == 0 ? 0 : -EAGAIN;
}

/* Writes whole frames from buf as datagrams; returns the frame bytes
 * consumed.  A datagram libssh2 has taken but not sent (EAGAIN) is sent
 * again from our copy, so the caller's bytes may move meanwhile. */
static ssize_t ossh_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct ossh_link *l = ctx;
	size_t done = 0;
	ssize_t rc = 0;

	if (l->session) {
		/* What the last batch left goes first (the owner polls for it). */
		if (ossh_link_push(l) < 0)
			return -1;
		if (l->wbuf_len)
			return -EAGAIN;
		l->batching = true;
		l->rx_dry = false;
	}
	while (done < len) {
		ssize_t n;

		/* A batch ends where the next datagram might not fit. */
		if (l->session && OSSH_WBUF_CAP - l->wbuf_len < 4 + OSSH_MAX_PACKET + 256)
			break;
		if (!l->out_frame) {
			struct frame f;
			long used = frame_decode(buf + done, len - done, FRAME_MAX_PAYLOAD, &f);

			if (used <= 0)
				break;	/* only whole frames are queued; cannot happen */
			if (f.type != FRAME_DATA || (f.flags & FRAME_F_COMPRESSED) || f.len > OSSH_MAX_PACKET ||
			    f.len < 20) {
				l->dropped++;
				done += (size_t)used;
				continue;
			}
			/* Wait for a window that takes the whole datagram. */
			if (libssh2_channel_window_write_ex(l->channel, NULL) < 4 + f.len) {
				rc = -ENOBUFS;
				break;
			}
			put_u32(l->out, (buf[done + FRAME_HDR_LEN] >> 4) == 6 ? OSSH_AF_INET6 : OSSH_AF_INET);
			memcpy(l->out + 4, f.payload, f.len);
			l->out_len = 4 + f.len;
			l->out_frame = (size_t)used;
		}
		n = libssh2_channel_write(l->channel, (const char *)l->out, l->out_len);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			rc = -EAGAIN;
			break;
		}
		if (n < 0) {
			rc = fail(EXIT_ERROR, "SSH connection lost (tunnel channel write: error %zd)", n);
			break;
		}
		if ((size_t)n != l->out_len) {
			rc = fail(EXIT_ERROR, "libssh2 cut a %zu-byte datagram at %zd bytes", l->out_len, n);
			break;
		}
		done += l->out_frame;
		l->out_frame = 0;
	}
	/* The batch goes out in one send; what the socket cannot take now
	 * waits in wbuf (ossh_link_pending). */
	if (l->batching) {
		l->batching = false;
		if (rc >= 0 && ossh_link_push(l) < 0)
			rc = -1;
	}
	if (rc == -1)
		return -1;
	return done ? (ssize_t)done : rc;
}

const struct link_ops ossh_link_ops = { .read = ossh_read, .write = ossh_write, .serialize = true };

/* ---- opening: picking a unit, the channel, the server's end ---- */

/* Runs cmd on the server (blocking session) and returns its exit status, or
 * -1; its output (stdout then stderr) lands in out. */
static int remote_run(LIBSSH2_SESSION *s, const char *cmd, char *out, size_t cap)
{
	LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(s);
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
static void openssh_addresses(const struct client_opts *opts, struct hello *h)
{
	if (h->client4.family)
		return;	/* a reconnect keeps them */
	memset(h, 0, sizeof(*h));
	h->client4 = opts->want4;
	if (!h->client4.family)
		inet_prefix_parse("10.77.0.1", &h->client4);
	h->client4.plen = 31;
	h->server4 = h->client4;
	h->server4.addr.v4.s_addr ^= htonl(1);
	h->client6 = opts->want6;
	if (!h->client6.family)
		inet_prefix_parse("fd77:7373:6874::3", &h->client6);
	h->client6.plen = 127;
	h->server6 = h->client6;
	h->server6.addr.v6.s6_addr[15] ^= 1;
}

/* Configures the server's end of a tun@openssh.com device (sshd only opens
 * it): as root, or with sudo -n; else says exactly what to run there. */
static void configure_remote(LIBSSH2_SESSION *s, const struct client_opts *opts,
			     const struct hello *lease, unsigned mtu, unsigned unit)
{
	char cmd[600], out[1024], s4[64], s6[64];
	bool root = !strcmp(opts->ssh.user, "root");
	int n;

	inet_prefix_str(&lease->server4, true, s4, sizeof(s4));
	inet_prefix_str(&lease->server6, true, s6, sizeof(s6));
	n = snprintf(cmd, sizeof(cmd),
		     "%sip addr replace %s dev tun%u && %sip -6 addr replace %s dev tun%u nodad && "
		     "%sip link set tun%u mtu %u up",
		     root ? "" : "sudo -n ", s4, unit, root ? "" : "sudo -n ", s6, unit,
		     root ? "" : "sudo -n ", unit, mtu);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return;
	if (remote_run(s, cmd, out, sizeof(out)) == 0) {
		log_verbose("configured tun%u on the server", unit);
		return;
	}
	out[strcspn(out, "\n")] = '\0';
	log_warn("cannot configure the server's end (%s); run there as root: ip addr add %s dev tun%u; "
		 "ip -6 addr add %s dev tun%u; ip link set tun%u mtu %u up",
		 out[0] ? out : "no permission", s4, unit, s6, unit, unit, mtu);
}

/* The first unit with no tunN on the server, so that we know its name. */
static unsigned free_unit(LIBSSH2_SESSION *s)
{
	char list[8192], name[16];

	if (remote_run(s, "ls /sys/class/net", list, sizeof(list)) != 0)
		return OSSH_ANY_UNIT;
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
	return OSSH_ANY_UNIT;
}

LIBSSH2_CHANNEL *ossh_open(LIBSSH2_SESSION *s, const struct client_opts *opts, struct hello *lease,
			   unsigned *mtu, char debug[OSSH_DEBUG_MAX])
{
	LIBSSH2_CHANNEL *ch;
	unsigned unit;
	uint8_t msg[8];

	libssh2_session_set_blocking(s, 1);
	*libssh2_session_abstract(s) = debug;
	libssh2_session_callback_set(s, LIBSSH2_CALLBACK_DEBUG, (void *)on_ssh_debug);
	unit = free_unit(s);
	put_u32(msg, 1);	/* point-to-point: IP packets, no ethernet */
	put_u32(msg + 4, unit);
	debug[0] = '\0';
	ch = libssh2_channel_open_ex(s, "tun@openssh.com", sizeof("tun@openssh.com") - 1,
				     CHANNEL_WINDOW, CHANNEL_PACKET, (const char *)msg, sizeof(msg));
	if (!ch) {
		/* sshd's debug message is the reason; the hint fits it. */
		const char *why = debug[0] ? debug : ssh_errmsg(s);
		const char *hint = strstr(why, "Failed to open") ? "the login user needs CAP_NET_ADMIN (or root) on the server, or the unit is busy"
							  : "it needs PermitTunnel yes (or point-to-point) in sshd_config";
		size_t n = strlen(why);

		while (n && (why[n - 1] == '.' || why[n - 1] == ' '))
			n--;
		fail(EXIT_REFUSED, "the server refused its tunnel channel (tun@openssh.com): %.*s; %s",
		     (int)n, why, hint);
		return NULL;
	}
	openssh_addresses(opts, lease);
	*mtu = opts->mtu < OSSH_MAX_PACKET ? opts->mtu : OSSH_MAX_PACKET;
	if (unit != OSSH_ANY_UNIT)
		configure_remote(s, opts, lease, *mtu, unit);
	else
		log_warn("cannot tell which tun device sshd opened: configure the server's end by hand");
	return ch;
}
