/* libssh2's channel calls that openssh.c makes, answered by the harness:
 * defined in the fuzz binary, they take the place of the shared library's
 * (the executable's own symbols win), so ossh_link_ops runs unchanged.
 * Include from one .c per binary. */
#ifndef SSHTUN_FAKE_SSH_H
#define SSHTUN_FAKE_SSH_H

#include <libssh2.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "fuzz.h"

struct fake_ssh {
	/* Reads: the bytes sshd "sent", chunk at a time, then EAGAIN or
	 * (eof) end of channel. */
	const uint8_t *in;
	size_t in_len, in_off, chunk;
	bool eof;
	/* Writes: answered by next() (the harness's input); each message
	 * taken goes to sent(). */
	int (*next)(void);
	void (*sent)(const uint8_t *p, size_t len);
	unsigned long window;	/* sshd's window for us */
	size_t held;		/* a message libssh2 took but could not send */
};

static struct fake_ssh fssh;

ssize_t libssh2_channel_read_ex(LIBSSH2_CHANNEL *channel, int stream_id, char *buf, size_t buflen)
{
	size_t n = fssh.in_len - fssh.in_off;

	CHECK(stream_id == 0 && buflen > 0);
	if (!n)
		return fssh.eof ? 0 : LIBSSH2_ERROR_EAGAIN;
	if (n > fssh.chunk)
		n = fssh.chunk;
	if (n > buflen)
		n = buflen;
	memcpy(buf, fssh.in + fssh.in_off, n);
	fssh.in_off += n;
	return (ssize_t)n;
}

int libssh2_channel_eof(LIBSSH2_CHANNEL *channel)
{
	return fssh.eof && fssh.in_off == fssh.in_len;
}

unsigned long libssh2_channel_window_write_ex(LIBSSH2_CHANNEL *channel, unsigned long *initial)
{
	if (initial)
		*initial = 2 * 1024 * 1024;
	return fssh.window;
}

/* As libssh2 1.10: at most one message of min(len, 32700, window), taken
 * whole or not at all; after EAGAIN the same message must come again. */
ssize_t libssh2_channel_write_ex(LIBSSH2_CHANNEL *channel, int stream_id, const char *buf, size_t buflen)
{
	size_t n = buflen;

	CHECK(stream_id == 0 && buflen > 0);
	if (fssh.held) {
		CHECK(buflen == fssh.held);
	} else {
		if (n > 32700)
			n = 32700;
		if (n > fssh.window)
			n = fssh.window;
		if (!n)
			return 0;
	}
	if (fssh.next && fssh.next() == 0) {
		fssh.held = n;
		return LIBSSH2_ERROR_EAGAIN;
	}
	fssh.held = 0;
	fssh.window -= n;
	if (fssh.sent)
		fssh.sent((const uint8_t *)buf, n);
	return (ssize_t)n;
}

#endif
