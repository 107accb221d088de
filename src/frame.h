/* The sshtun wire format after the magic line (man/sshtun-protocol.7):
 *
 *   frame  = u8 type, u8 flags, u32 length (big-endian), length bytes payload
 *
 * The channel is a byte stream (libssh2 merges and splits SSH messages), so
 * frames are cut out of whatever bytes have arrived. */
#ifndef SSHTUN_FRAME_H
#define SSHTUN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

enum frame_type {
	FRAME_HELLO = 0x01,	/* key=value text, see hello.h */
	FRAME_DATA = 0x02,	/* one IP packet (maybe compressed) */
	FRAME_PING = 0x03,	/* opaque payload, answered by PONG with the same */
	FRAME_PONG = 0x04,
	FRAME_ERROR = 0x05,	/* UTF-8 text: why the sender is closing */
	FRAME_CONTROL = 0x06,	/* key=value text, reserved for routes/DNS offers */
	/* Types 0x80-0xff may be ignored by a receiver that does not know them;
	 * an unknown type below 0x80 is a protocol error. */
	FRAME_IGNORABLE_MIN = 0x80,
};

#define FRAME_F_COMPRESSED 0x01		/* DATA payload is a zlib stream chunk */
/* DATA: each packet comes behind its 10-byte virtio-net header (vnet.h);
 * only toward a peer whose hello listed gso=. */
#define FRAME_F_GSO 0x02
#define FRAME_F_BUSY 0x04		/* ERROR: at a session or pool limit; try another server */
/* ERROR: a join= refused (no such group, wrong token or account, full):
 * connect afresh, without join=, unless another connection is up. */
#define FRAME_F_NOJOIN 0x08

struct frame {
	uint8_t type;
	uint8_t flags;
	uint32_t len;
	const uint8_t *payload;	/* points into the caller's buffer */
};

/* Cuts one frame from p[0..avail).  Returns the bytes it spans (> 0), 0 when
 * more bytes are needed, or -1 (with fail() set, exit 1) when the header is
 * invalid: length above max_payload (above HELLO_MAX too for a HELLO), or
 * an unknown type below 0x80. */
long frame_decode(const uint8_t *p, size_t avail, uint32_t max_payload, struct frame *f);

/* Writes the 6-byte header for a payload of len bytes. */
void frame_put_header(uint8_t *dst, uint8_t type, uint8_t flags, uint32_t len);

const char *frame_type_name(uint8_t type);

/* The magic line that starts each direction: "SSHTUN/<proto> <software>\n".
 * magic_format writes it and returns its length. */
size_t magic_format(char *dst, size_t cap);

/* Scans p[0..avail) for the magic line, skipping anything before it (a login
 * shell's banner).  Returns the bytes consumed through the magic line's
 * newline (> 0) with *proto and software[] set, 0 when more bytes are needed,
 * or -1 with fail() set when more than MAGIC_MAX_JUNK bytes came without one
 * or the line is malformed. */
long magic_scan(const uint8_t *p, size_t avail, unsigned *proto, char *software, size_t swcap);

/* The one check of the peer's protocol version, for its magic line and its
 * hello alike: 0, or -1 with err naming both versions ("version mismatch:
 * <peer> speaks sshtun protocol 2, this <self> speaks 1; ..."). */
int proto_check(unsigned proto, const char *peer, const char *self, char *err, size_t errlen);

#endif
