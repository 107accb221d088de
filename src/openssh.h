/* Stock sshd's own tunnel channel, tun@openssh.com (what ssh -w uses), as a
 * link for the tunnel: each CHANNEL_DATA message is one IP packet behind a
 * 4-byte address family in OpenBSD numbering (2 IPv4, 24 IPv6).  libssh2
 * merges what it reads, so the stream is cut again at the IP headers'
 * lengths; and one libssh2 write is one message, so each packet goes in its
 * own write, only when the window takes all of it (a cut packet would be
 * two broken datagrams).
 *
 * The tunnel's transmit buffer holds our frames; the link turns DATA frames
 * into datagrams and drops the rest (sshd speaks no sshtun protocol).  What
 * it reads comes back as DATA frames, so the tunnel's receive path is the
 * same in both modes. */
#ifndef SSHTUN_OPENSSH_H
#define SSHTUN_OPENSSH_H

#include <libssh2.h>
#include <stdint.h>
#include <sys/types.h>

#include "hello.h"
#include "options.h"
#include "tunnel.h"

#define OSSH_AF_INET 2
#define OSSH_AF_INET6 24
#define OSSH_MAX_PACKET 16380	/* sshd closes the direction on a larger one */
#define OSSH_RX_CAP (256 * 1024)
#define OSSH_DEBUG_MAX 256
#define OSSH_ANY_UNIT 0x7fffffff	/* sshd picks; we cannot tell which */

struct ossh_link {
	LIBSSH2_CHANNEL *channel;
	uint8_t *rx;		/* datagrams read, not yet turned into frames */
	size_t rx_len;
	uint8_t out[4 + OSSH_MAX_PACKET];	/* the datagram being written */
	size_t out_len;
	size_t out_frame;	/* bytes of our frame it stands for; 0: none */
	uint64_t dropped;	/* frames that cannot go this way */
};

extern const struct link_ops ossh_link_ops;

int ossh_link_init(struct ossh_link *l);
void ossh_link_free(struct ossh_link *l);
void ossh_link_reset(struct ossh_link *l, LIBSSH2_CHANNEL *channel);

/* The blocking half of stock-sshd mode (on the connect thread, or in the
 * fallback when the server has no helper): picks a unit, opens sshd's tunnel
 * channel and configures the server's end.  lease: in, the pair a reconnect
 * keeps; out, the addresses we chose.  mtu: out.  debug: where sshd's debug
 * messages land (it tells why it refused a tunnel only there), for as long
 * as the session lives.  Returns the channel, or NULL with fail() set. */
LIBSSH2_CHANNEL *ossh_open(LIBSSH2_SESSION *s, const struct client_opts *opts, struct hello *lease,
			   unsigned *mtu, char debug[OSSH_DEBUG_MAX]);

/* Length of the datagram at p (AF header + IP packet) when a whole one is
 * there; 0 when more bytes are needed; -1 when it is not a datagram (bad
 * family, or IP version/length that disagree). */
long ossh_datagram_len(const uint8_t *p, size_t avail);

#endif
