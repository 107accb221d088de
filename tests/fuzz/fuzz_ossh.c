/* The stock-sshd link's reader (openssh.c): what sshd's tun@openssh.com
 * channel sends, datagrams of a 4-byte address family and an IP packet,
 * arrives through a fake libssh2_channel_read in pieces of any size and is
 * turned into DATA frames for the tunnel, which asks for them into buffers
 * of any size.
 *
 * Input: one byte of knobs, then the channel's bytes.
 *   bits 0-3  how many bytes each libssh2 read returns (1 .. everything)
 *   bits 4-6  the room each ossh read is given (a frame's worth .. 256 KiB)
 *   bit 7     the channel ends after the bytes
 * Checks: ossh_datagram_len() is -1, 0 (with a whole datagram not yet
 * there) or a span inside what it was given; the frames that come out are
 * exactly the datagrams that went in, each DATA frame one IP packet whose
 * header agrees with its length; every -1 comes with a fail() message. */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "common.h"
#include "fail.h"
#include "fake_ssh.h"
#include "frame.h"
#include "fuzz.h"
#include "log.h"
#include "openssh.h"
#include "tunnel.h"

static struct ossh_link L;
static uint8_t *buf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = LOG_QUIET;
	buf = malloc(TUNNEL_RX_CAP);
	if (!buf || ossh_link_init(&L) < 0)
		abort();
	return 0;
}

/* What ossh_datagram_len() says of every suffix of the input. */
static void check_len(const uint8_t *p, size_t size)
{
	for (size_t off = 0; off < size; off += 1 + off / 8) {
		long n = ossh_datagram_len(p + off, size - off);

		CHECK(n >= -1 && n <= (long)(size - off));
		if (n > 0) {
			CHECK(n >= 4 + 20 && n <= 4 + OSSH_MAX_PACKET);
			/* One byte short: need more. */
			CHECK(ossh_datagram_len(p + off, (size_t)n - 1) == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t rooms[] = { FRAME_HDR_LEN + 20, FRAME_HDR_LEN + 1500, 4096, 20000,
					FRAME_HDR_LEN + OSSH_MAX_PACKET, 65536, 100000, TUNNEL_RX_CAP };
	const uint8_t *in;
	size_t in_len, matched = 0;
	uint8_t knobs;
	size_t room;

	if (!size)
		return 0;
	knobs = data[0];
	in = data + 1;
	in_len = size - 1;
	room = rooms[(knobs >> 4) & 7];
	check_len(in, in_len);

	ossh_link_reset(&L, (LIBSSH2_CHANNEL *)&fssh);
	fssh = (struct fake_ssh){ .in = in, .in_len = in_len, .eof = knobs & 0x80,
				  .chunk = (knobs & 15) == 15 ? in_len + 1 : 1 + (size_t)(knobs & 15) * 97 };
	for (;;) {
		size_t was_off = fssh.in_off, was_len = L.rx_len;
		ssize_t n;

		fail_clear();
		n = ossh_link_ops.read(&L, buf, room);
		if (n == -1) {
			CHECK(fail_code() != 0 && fail_msg()[0]);
			break;
		}
		if (n == 0) {
			/* Only at the channel's end, with every whole datagram out. */
			CHECK(fssh.eof && fssh.in_off == fssh.in_len);
			CHECK(ossh_datagram_len(L.rx, L.rx_len) == 0);
			break;
		}
		if (n == -EAGAIN) {
			/* Stuck only without the channel's end, or for want of room. */
			if (fssh.in_off == was_off && L.rx_len == was_len) {
				CHECK(!fssh.eof || ossh_datagram_len(L.rx, L.rx_len) - 4 + FRAME_HDR_LEN > (long)room);
				break;
			}
			continue;
		}
		CHECK(n > 0 && (size_t)n <= room);
		/* Frames that are the next datagrams of the input, unchanged. */
		for (size_t off = 0; off < (size_t)n;) {
			struct frame f;
			long used = frame_decode(buf + off, (size_t)n - off, FRAME_MAX_PAYLOAD, &f);
			long dlen;

			CHECK(used > 0);
			CHECK(f.type == FRAME_DATA && f.flags == 0);
			CHECK(f.len >= 20 && f.len <= OSSH_MAX_PACKET);
			dlen = ossh_datagram_len(in + matched, in_len - matched);
			CHECK(dlen == 4 + (long)f.len);
			CHECK(!memcmp(f.payload, in + matched + 4, f.len));
			CHECK((f.payload[0] >> 4 == 4 ? get_u16(f.payload + 2)
						       : 40 + get_u16(f.payload + 4)) == f.len);
			matched += (size_t)dlen;
			off += (size_t)used;
		}
	}
	CHECK(L.rx_len <= OSSH_RX_CAP);
	fail_clear();
	return 0;
}
