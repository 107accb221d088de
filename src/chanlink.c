/* See chanlink.h.
 *
 * libssh2 cannot start a send while another is half done (it returns
 * LIBSSH2_ERROR_BAD_USE): not after a write of ours returned EAGAIN with the
 * packet cut (the tunnel's write_blocked; its serialize flag holds the
 * tunnel's reads back then), and not after a read sent only part of a window
 * adjust (read_half: one of ours, see grant(), or a key exchange's packet).
 * Writes and the stderr reads here check first.
 *
 * Every window adjust is ours (grant()): each read asks libssh2 for no more
 * than keeps its own two quiet (quiet_len()).  libssh2 1.10 adjusts on a read
 * when the length exceeds the window (libssh2_channel_read_ex, which then
 * reads on whatever that send returned) and when the window falls within
 * 3/4 of the initial one plus the length (_libssh2_channel_read).  There is
 * one adjust packet per channel: when a send of one is cut (a rekey makes
 * that likely under a bulk download), the other finishes it adding its own
 * amount, and the second recomputes its amount from the window that grew:
 * negative, sent as ~4 GiB, and sshd drops the connection ("channel 0: adjust
 * 4294913587 overflows remote window 126848"; we saw "SSH connection lost:
 * transport read").  tests/fuzz/fuzz_chanlink.c keeps libssh2's rules. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chanlink.h"
#include "common.h"
#include "fail.h"
#include "log.h"
#include "loop.h"
#include "ssh.h"

void chan_link_reset(struct chan_link *l, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *channel)
{
	l->session = session;
	l->channel = channel;
	l->read_half = false;
	l->grant_pending = 0;
	rx_window_init(&l->win);
}

void chan_link_rtt(struct chan_link *l, double rtt_ms)
{
	rx_window_rtt(&l->win, rtt_ms);
}

/* Sends a window adjust of amount, or finishes the one the socket took only
 * part of (libssh2 then wants the same amount again: it adds the argument,
 * not what it stored, once the packet is out).  Returns 0, -EAGAIN (still
 * half sent: no other send until it is through), or -1 with fail(). */
static int grant(struct chan_link *l, uint32_t amount)
{
	int rc = libssh2_channel_receive_window_adjust2(l->channel, amount, 1, NULL);

	if (rc == LIBSSH2_ERROR_EAGAIN) {
		l->grant_pending = amount;
		l->read_half = true;
		return -EAGAIN;
	}
	l->grant_pending = 0;
	l->read_half = false;
	if (rc < 0)
		return fail(EXIT_ERROR, "SSH connection lost: window adjust: %s (libssh2 error %d)",
			    ssh_errmsg(l->session), rc);
	return 0;
}

/* After we consumed n bytes: credit back up to the target.  What libssh2
 * holds unread counts as credit still out (it arrived, we did not take
 * it), so a reader that stalls grants nothing. */
static int top_up(struct chan_link *l, size_t n)
{
	unsigned long held = 0;
	unsigned long left;
	uint32_t g;

	rx_window_consumed(&l->win, now_us(), n);
	left = libssh2_channel_window_read_ex(l->channel, &held, NULL);
	g = rx_window_grant(&l->win, (uint64_t)left + held);
	return g ? grant(l, g) : 0;
}

/* How much of len a read may ask for without libssh2 adjusting the window on
 * its own (see the top): at most the window less 3/4 of the initial one;
 * 0 when the window is that low (credit is due first). */
static size_t quiet_len(struct chan_link *l, size_t len)
{
	unsigned long initial = 0;
	unsigned long left = libssh2_channel_window_read_ex(l->channel, NULL, &initial);
	unsigned long keep = initial / 4 * 3;

	if (left <= keep)
		return 0;
	return len < left - keep ? len : left - keep;
}

/* The helper's stderr arrives as extended data; it must be read, or it fills
 * the channel window.  Each line is logged and the last kept for messages. */
void chan_link_drain_stderr(struct chan_link *l)
{
	char buf[1024];
	size_t len;
	ssize_t n;

	while ((len = quiet_len(l, sizeof(buf) - 1)) > 0 &&
	       (n = libssh2_channel_read_stderr(l->channel, buf, len)) > 0) {
		char *line, *save = NULL;

		buf[n] = '\0';
		for (line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
			for (char *c = line; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
			log_verbose("server: %s", line);
			snprintf(l->remote_err, sizeof(l->remote_err), "%s", line);
		}
	}
}

static bool send_half_done(const struct chan_link *l)
{
	return l->t->write_blocked || l->read_half;
}

bool chan_link_tick(struct chan_link *l)
{
	if (!l->channel || send_half_done(l))
		return false;
	chan_link_drain_stderr(l);
	return true;
}

static ssize_t ch_read(void *ctx, uint8_t *buf, size_t want)
{
	struct chan_link *l = ctx;
	size_t len;
	ssize_t n;

	if (l->grant_pending) {
		int rc = grant(l, l->grant_pending);

		if (rc < 0)
			return rc;
	}
	/* While up, stderr is read once a second (chan_link_tick): a read of
	 * it is a second recv on every wakeup otherwise. */
	if (!l->t->up)
		chan_link_drain_stderr(l);
	len = quiet_len(l, want);
	if (!len) {
		/* Only when the window fell below libssh2's floor: our credit
		 * then, never its own adjust. */
		unsigned long held = 0;
		unsigned long left = libssh2_channel_window_read_ex(l->channel, &held, NULL);
		uint32_t g = rx_window_grant(&l->win, (uint64_t)left + held);
		int rc = grant(l, g ? g : WINDOW_FLOOR);

		if (rc < 0)
			return rc;
		len = quiet_len(l, want);
		if (!len)
			return -EAGAIN;
	}
	n = libssh2_channel_read(l->channel, (char *)buf, len);
	/* A read may send a key exchange's packet; if the socket took only
	 * part of it, libssh2 refuses any other send until a read finishes it. */
	l->read_half = n == LIBSSH2_ERROR_EAGAIN &&
		       (libssh2_session_block_directions(l->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND);
	if (n == LIBSSH2_ERROR_EAGAIN)
		return libssh2_channel_eof(l->channel) ? 0 : -EAGAIN;
	if (n < 0)
		return fail(EXIT_ERROR, "SSH connection lost: channel read: %s (libssh2 error %zd)",
			    ssh_errmsg(l->session), n);
	/* Half sent, the adjust waits for the next read (grant_pending). */
	if (n > 0 && top_up(l, (size_t)n) == -1)
		return -1;
	return n;
}

static ssize_t ch_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct chan_link *l = ctx;
	ssize_t n;

	if (l->read_half)
		return -ENOBUFS;	/* reads go on and finish it first */
	errno = 0;
	n = libssh2_channel_write(l->channel, (const char *)buf, len);

	if (n == LIBSSH2_ERROR_EAGAIN)
		return -EAGAIN;
	if (n == LIBSSH2_ERROR_SOCKET_SEND)	/* send()'s errno is still there */
		return fail(EXIT_ERROR, "SSH connection lost: channel write: %s (%s)",
			    ssh_errmsg(l->session), errno ? strerror(errno) : "no errno");
	if (n < 0)
		return fail(EXIT_ERROR, "SSH connection lost: channel write: %s (libssh2 error %zd)",
			    ssh_errmsg(l->session), n);
	return n;
}

const struct link_ops chan_link_ops = { .read = ch_read, .write = ch_write, .serialize = true, .drains = true };

LIBSSH2_CHANNEL *chan_link_exec(LIBSSH2_SESSION *s, const char *command)
{
	LIBSSH2_CHANNEL *ch = libssh2_channel_open_ex(s, "session", sizeof("session") - 1, WINDOW_OPEN,
						      CHANNEL_PACKET, NULL, 0);

	if (!ch) {
		fail(EXIT_REFUSED, "the server refused a session channel: %s", ssh_errmsg(s));
		return NULL;
	}
	if (libssh2_channel_exec(ch, command) != 0) {
		fail(EXIT_REFUSED, "the server refused to run the helper `%s': %s", command, ssh_errmsg(s));
		libssh2_channel_free(ch);
		return NULL;
	}
	log_verbose("helper started (%s)", command);
	return ch;
}

LIBSSH2_CHANNEL *chan_link_open(LIBSSH2_SESSION *s, const char *remote_command)
{
	LIBSSH2_CHANNEL *ch;
	const char *how = "subsystem sshtun";
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		ch = libssh2_channel_open_ex(s, "session", sizeof("session") - 1, WINDOW_OPEN,
					     CHANNEL_PACKET, NULL, 0);
		if (!ch) {
			fail(EXIT_REFUSED, "the server refused a session channel: %s", ssh_errmsg(s));
			return NULL;
		}
		if (attempt == 0)
			rc = libssh2_channel_subsystem(ch, "sshtun");
		else
			rc = libssh2_channel_exec(ch, remote_command);
		if (rc == 0) {
			log_verbose("helper started (%s)", how);
			return ch;
		}
		libssh2_channel_free(ch);
		if (attempt == 0) {
			log_verbose("no sshtun subsystem on the server; running `%s'", remote_command);
			how = remote_command;
		}
	}
	fail(EXIT_REFUSED, "the server refused to run the helper `%s': %s", remote_command, ssh_errmsg(s));
	return NULL;
}
