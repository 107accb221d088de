/* See openssh.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "common.h"
#include "fail.h"
#include "log.h"
#include "openssh.h"

int ossh_link_init(struct ossh_link *l)
{
	memset(l, 0, sizeof(*l));
	l->rx = malloc(OSSH_RX_CAP);
	return l->rx ? 0 : fail(EXIT_ERROR, "out of memory for the tunnel channel");
}

void ossh_link_free(struct ossh_link *l)
{
	free(l->rx);
	l->rx = NULL;
}

void ossh_link_reset(struct ossh_link *l, LIBSSH2_CHANNEL *channel)
{
	l->channel = channel;
	l->rx_len = 0;
	l->out_len = 0;
	l->out_frame = 0;
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
	ssize_t n;

	if (l->rx_len < OSSH_RX_CAP) {
		n = libssh2_channel_read(l->channel, (char *)l->rx + l->rx_len, OSSH_RX_CAP - l->rx_len);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			/* At EOF a partial datagram will never complete. */
			if (libssh2_channel_eof(l->channel))
				return 0;
		} else if (n < 0) {
			return fail(EXIT_ERROR, "SSH connection lost (tunnel channel read: error %zd)", n);
		} else if (n == 0 && !l->rx_len) {
			return 0;
		} else {
			l->rx_len += (size_t)n;
		}
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
	return out ? (ssize_t)out : -EAGAIN;
}

/* Writes whole frames from buf as datagrams; returns the frame bytes
 * consumed.  A datagram libssh2 has taken but not sent (EAGAIN) is sent
 * again from our copy, so the caller's bytes may move meanwhile. */
static ssize_t ossh_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct ossh_link *l = ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t n;

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
			if (libssh2_channel_window_write_ex(l->channel, NULL) < 4 + f.len)
				return done ? (ssize_t)done : -ENOBUFS;
			put_u32(l->out, (buf[done + FRAME_HDR_LEN] >> 4) == 6 ? OSSH_AF_INET6 : OSSH_AF_INET);
			memcpy(l->out + 4, f.payload, f.len);
			l->out_len = 4 + f.len;
			l->out_frame = (size_t)used;
		}
		n = libssh2_channel_write(l->channel, (const char *)l->out, l->out_len);
		if (n == LIBSSH2_ERROR_EAGAIN)
			return done ? (ssize_t)done : -EAGAIN;
		if (n < 0)
			return fail(EXIT_ERROR, "SSH connection lost (tunnel channel write: error %zd)", n);
		if ((size_t)n != l->out_len)
			return fail(EXIT_ERROR, "libssh2 cut a %zu-byte datagram at %zd bytes", l->out_len, n);
		done += l->out_frame;
		l->out_frame = 0;
	}
	return (ssize_t)done;
}

const struct link_ops ossh_link_ops = { .read = ossh_read, .write = ossh_write, .serialize = true };
