/* Our helper's channel as a link (chanlink.c) and the window it grants
 * (window.c), against a fake libssh2 1.10 channel that keeps its window
 * the way channel.c does: the peer sends what its view of the window allows;
 * libssh2_channel_read_ex adjusts by the read's length when that exceeds the
 * window (and goes on to read whatever that send returned), then
 * _libssh2_channel_read adjusts on its own when the window falls within 3/4
 * of the initial one plus the read's length, recomputing its amount (a
 * uint32_t) each time it comes back to a cut one; there is one window adjust
 * packet per channel, whoever started it, and whoever finishes it adds its
 * own argument to the window; any send may be cut by the socket (EAGAIN, the
 * packet half sent), and a second send while one is half done is BAD_USE.
 *
 * Input: a list of operations, one byte each plus an argument byte:
 *   peer sends (up to its window), we read (a room from a table), we write,
 *   a round trip is measured, time passes, a stalled reader, the once a
 *   second tick (the helper's stderr);
 *   the low bit of the argument says whether the socket cuts the next send.
 * Checks: no send starts while another is half done (the fakes); a window
 * adjust cut by the socket is finished with the same amount before anything
 * else; while one is, writes are refused; every adjust that reaches sshd is
 * one it accepts (sshd 9.2 drops the connection on "adjust ... overflows
 * remote window": a wrapped, negative amount did, under rekeys) and libssh2's
 * window stays what sshd's view says (else libssh2 truncates data); the
 * credit out (the window the peer has plus what arrived unread) only grows
 * on our reads and tick, never past the cap plus one read. */
#include <errno.h>
#include <string.h>

#include <libssh2.h>

#include "chanlink.h"
#include "fail.h"
#include "fuzz.h"
#include "log.h"
#include "tunnel.h"
#include "window.h"

enum pending { NONE, ADJUST, WRITE };

static struct {
	uint64_t now;
	bool cut;		/* the socket cuts the next send */
	uint32_t window;	/* libssh2's remote.window_size: granted, not read */
	uint64_t avail;		/* arrived, not read */
	uint64_t peer;		/* sshd's view: what it may still send */
	bool jump1;		/* _libssh2_channel_read's own adjust is under way */
	uint32_t adjust_wire;	/* the amount in the adjust packet */
	enum pending pending;
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

/* channel.c _libssh2_channel_receive_window_adjust with force: the packet
 * is built only when none is half sent; on its way out the window grows by
 * this call's adjustment, whatever the packet said. */
static int adjust(uint32_t adjustment)
{
	if (F.pending != ADJUST)
		F.adjust_wire = adjustment;
	if (send_cut(ADJUST))
		return LIBSSH2_ERROR_EAGAIN;
	/* sshd: channels.c channel_input_window_adjust */
	CHECK(F.peer + F.adjust_wire <= UINT32_MAX);
	CHECK(F.adjust_wire <= WINDOW_CAP + TUNNEL_RX_CAP);
	F.peer += F.adjust_wire;
	F.window += adjustment;
	CHECK(F.window == F.peer + F.avail);
	return 0;
}

ssize_t libssh2_channel_read_ex(LIBSSH2_CHANNEL *channel, int stream_id, char *buf, size_t buflen)
{
	size_t n;

	CHECK((stream_id == 0 || stream_id == SSH_EXTENDED_DATA_STDERR) && buflen > 0);
	/* libssh2_channel_read_ex: its EAGAIN is not returned. */
	if (buflen > F.window)
		(void)adjust((uint32_t)buflen);
	/* _libssh2_channel_read */
	if (F.jump1 || F.window < WINDOW_OPEN / 4 * 3 + buflen) {
		uint32_t adj = (uint32_t)(WINDOW_OPEN + buflen - F.window);

		if (adj < 1024)
			adj = 1024;
		F.jump1 = true;
		if (adjust(adj) == LIBSSH2_ERROR_EAGAIN)
			return LIBSSH2_ERROR_EAGAIN;
		F.jump1 = false;
	}
	n = stream_id == 0 && F.avail < buflen ? (size_t)F.avail : stream_id == 0 ? buflen : 0;
	if (!n) {
		F.dirs = LIBSSH2_SESSION_BLOCK_INBOUND;
		return LIBSSH2_ERROR_EAGAIN;
	}
	memset(buf, 0, n);
	F.avail -= n;
	F.window -= (uint32_t)n;
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

/* Ours: after EAGAIN the packet waits; the next call sends it and adds its
 * own argument to the window, so it must be the same amount. */
int libssh2_channel_receive_window_adjust2(LIBSSH2_CHANNEL *channel, unsigned long adjustment,
					   unsigned char force, unsigned int *storewindow)
{
	CHECK(force && adjustment > 0 && adjustment <= WINDOW_CAP);
	if (F.pending == ADJUST)
		CHECK(adjustment == F.adjust_wire);
	return adjust((uint32_t)adjustment);
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
	F.peer = WINDOW_OPEN;
	memset(&T, 0, sizeof(T));
	T.up = true;
	memset(&L, 0, sizeof(L));
	chan_link_reset(&L, (LIBSSH2_SESSION *)&F, (LIBSSH2_CHANNEL *)&F);
	L.t = &T;

	for (size_t i = 0; i + 1 < size; i += 2) {
		uint8_t op = data[i] % 7, arg = data[i + 1];
		uint64_t credit = F.peer + F.avail;
		ssize_t r;

		F.cut = arg & 1;
		switch (op) {
		case 0: {	/* the peer sends, within its window */
			uint64_t k = (uint64_t)(arg >> 1) * (arg & 0x80 ? 65536 : 512);

			if (k > F.peer)
				k = F.peer;
			F.peer -= k;
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
		case 5:		/* the once a second tick: the helper's stderr */
			if (!T.write_blocked)
				(void)chan_link_tick(&L);
			break;
		default:	/* a stalled reader */
			break;
		}
		/* A half sent adjust holds writes back. */
		if (F.pending == ADJUST)
			CHECK(L.read_half);
		/* Credit grows only when we read (what we consumed comes back). */
		if (op != 1 && op != 5)
			CHECK(F.peer + F.avail <= credit);
		CHECK(F.peer + F.avail <= (uint64_t)WINDOW_CAP + WINDOW_OPEN + TUNNEL_RX_CAP);
		CHECK(L.win.target >= WINDOW_FLOOR && L.win.target <= WINDOW_CAP);
	}
	return 0;
}
