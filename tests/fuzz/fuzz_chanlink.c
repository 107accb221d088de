/* Our helper's channel as a link (chanlink.c) and the window it grants
 * (window.c), against a fake libssh2 1.10 channel: the peer sends what the
 * window allows, libssh2 keeps its own floor of window on every read
 * (channel.c _libssh2_channel_read), any send may be cut by the socket
 * (EAGAIN, the packet half sent), and a second send while one is half done
 * is libssh2's BAD_USE.
 *
 * Input: a list of operations, one byte each plus an argument byte:
 *   peer sends (up to the window), we read (a room from a table), we write,
 *   a round trip is measured, time passes, nothing (a stalled reader);
 *   the low bit of the argument says whether the socket cuts the next send.
 * Checks: no send starts while another is half done (the fakes); a window
 * adjust cut by the socket is finished with the same amount before anything
 * else; while one is, writes are refused; the credit out (the window the
 * peer has plus what arrived unread) only grows on our reads, never past the
 * cap plus libssh2's own floor. */
#include <errno.h>
#include <string.h>

#include <libssh2.h>

#include "chanlink.h"
#include "fail.h"
#include "fuzz.h"
#include "log.h"
#include "tunnel.h"
#include "window.h"

enum pending { NONE, LIB_ADJUST, OUR_ADJUST, WRITE };

static struct {
	uint64_t now;
	bool cut;		/* the socket cuts the next send */
	uint32_t window;	/* libssh2's remote.window_size: what the peer may send */
	uint64_t avail;		/* arrived, not read */
	bool jump1;		/* libssh2's own adjust is half sent */
	enum pending pending;
	uint32_t pending_amount;
	size_t held;
	int dirs;
} F;

uint64_t now_us(void)
{
	return F.now;
}

/* One send of libssh2's: cut (EAGAIN, half sent) when the input says so. */
static bool send_cut(enum pending what)
{
	CHECK(F.pending == NONE || F.pending == what);	/* else BAD_USE */
	if (F.cut) {
		F.cut = false;
		F.pending = what;
		F.dirs = LIBSSH2_SESSION_BLOCK_OUTBOUND;
		return true;
	}
	F.pending = NONE;
	return false;
}

ssize_t libssh2_channel_read_ex(LIBSSH2_CHANNEL *channel, int stream_id, char *buf, size_t buflen)
{
	size_t n;

	CHECK(stream_id == 0 && buflen > 0);
	/* Its own adjust would carry on with ours half sent (and add its
	 * amount, not ours): chanlink finishes ours first. */
	CHECK(F.pending != OUR_ADJUST && F.pending != WRITE);
	if (F.jump1 || F.window < WINDOW_OPEN / 4 * 3 + buflen) {
		uint32_t adj = (uint32_t)(WINDOW_OPEN + buflen - F.window);

		if (adj < 1024)
			adj = 1024;
		F.jump1 = true;
		if (send_cut(LIB_ADJUST))
			return LIBSSH2_ERROR_EAGAIN;
		F.window += adj;
		F.jump1 = false;
	}
	n = F.avail < buflen ? (size_t)F.avail : buflen;
	if (!n) {
		F.dirs = LIBSSH2_SESSION_BLOCK_INBOUND;
		return LIBSSH2_ERROR_EAGAIN;
	}
	memset(buf, 0, n);
	F.avail -= n;
	return (ssize_t)n;
}

int libssh2_channel_eof(LIBSSH2_CHANNEL *channel)
{
	return 0;
}

int libssh2_session_block_directions(LIBSSH2_SESSION *session)
{
	return F.dirs;
}

unsigned long libssh2_channel_window_read_ex(LIBSSH2_CHANNEL *channel, unsigned long *read_avail,
					     unsigned long *window_size_initial)
{
	if (read_avail)
		*read_avail = (unsigned long)F.avail;
	if (window_size_initial)
		*window_size_initial = WINDOW_OPEN;
	return F.window;
}

/* As 1.10: after EAGAIN the packet waits; the next call sends it and adds
 * its own argument to the window, so it must be the same amount. */
int libssh2_channel_receive_window_adjust2(LIBSSH2_CHANNEL *channel, unsigned long adjustment,
					   unsigned char force, unsigned int *storewindow)
{
	CHECK(force && adjustment > 0 && adjustment <= WINDOW_CAP);
	if (F.pending == OUR_ADJUST)
		CHECK(adjustment == F.pending_amount);
	if (send_cut(OUR_ADJUST)) {
		F.pending_amount = (uint32_t)adjustment;
		return LIBSSH2_ERROR_EAGAIN;
	}
	CHECK(F.window + (uint64_t)adjustment <= UINT32_MAX);
	F.window += (uint32_t)adjustment;
	return 0;
}

ssize_t libssh2_channel_write_ex(LIBSSH2_CHANNEL *channel, int stream_id, const char *buf, size_t buflen)
{
	size_t n = buflen > 32700 ? 32700 : buflen;

	CHECK(stream_id == 0 && buflen > 0);
	if (F.pending == WRITE)
		CHECK(buflen == F.held);
	if (send_cut(WRITE)) {
		F.held = buflen;
		return LIBSSH2_ERROR_EAGAIN;
	}
	return (ssize_t)n;
}

static struct tunnel T;
static struct chan_link L;
static uint8_t *buf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = LOG_QUIET;
	buf = malloc(TUNNEL_RX_CAP);
	if (!buf)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t rooms[] = { 1, 100, 4096, 32768, 65536, TUNNEL_RX_CAP, 1500, 20000 };
	size_t wlen = 0;

	memset(&F, 0, sizeof(F));
	F.now = 1000000;
	F.window = WINDOW_OPEN;
	memset(&T, 0, sizeof(T));
	T.up = true;
	memset(&L, 0, sizeof(L));
	chan_link_reset(&L, (LIBSSH2_SESSION *)&F, (LIBSSH2_CHANNEL *)&F);
	L.t = &T;

	for (size_t i = 0; i + 1 < size; i += 2) {
		uint8_t op = data[i] % 6, arg = data[i + 1];
		uint64_t credit = F.window + F.avail;
		ssize_t r;

		F.cut = arg & 1;
		switch (op) {
		case 0: {	/* the peer sends, within its window */
			uint64_t k = (uint64_t)(arg >> 1) * (arg & 0x80 ? 65536 : 512);

			if (k > F.window)
				k = F.window;
			F.window -= (uint32_t)k;
			F.avail += k;
			break;
		}
		case 1:		/* we read: never while a write is half done */
			if (T.write_blocked)
				break;
			r = chan_link_ops.read(&L, buf, rooms[(arg >> 1) % 8]);
			CHECK(r == -EAGAIN || (r > 0 && (size_t)r <= rooms[(arg >> 1) % 8]));
			break;
		case 2:		/* we write (the same bytes again after EAGAIN) */
			if (!T.write_blocked)
				wlen = 1 + (size_t)(arg >> 1) * 300;
			r = chan_link_ops.write(&L, buf, wlen);
			if (r == -ENOBUFS) {
				CHECK(L.read_half && !T.write_blocked);
			} else if (r == -EAGAIN) {
				T.write_blocked = true;
			} else {
				CHECK(r > 0 && (size_t)r <= wlen);
				T.write_blocked = false;
			}
			break;
		case 3:
			chan_link_rtt(&L, (double)arg / 4.0);
			break;
		case 4:
			F.now += (uint64_t)arg * (arg & 1 ? 1000 : 50);
			break;
		default:	/* a stalled reader */
			break;
		}
		/* A half sent adjust holds writes back. */
		if (F.pending == LIB_ADJUST || F.pending == OUR_ADJUST)
			CHECK(L.read_half);
		/* Credit grows only when we read (what we consumed comes back). */
		if (op != 1)
			CHECK(F.window + F.avail <= credit);
		CHECK(F.window + F.avail <= (uint64_t)WINDOW_CAP + WINDOW_OPEN + TUNNEL_RX_CAP);
		CHECK(L.win.target >= WINDOW_FLOOR && L.win.target <= WINDOW_CAP);
	}
	return 0;
}
