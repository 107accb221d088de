/* Stock sshd's own tunnel channel, tun@openssh.com (what ssh -w uses), as a
 * link for the tunnel: each CHANNEL_DATA message is one IP packet behind a
 * 4-byte address family in OpenBSD numbering (2 IPv4, 24 IPv6).  libssh2
 * merges what it reads, so the stream is cut again at the IP headers'
 * lengths; and one libssh2 write is one message, so each packet goes in its
 * own write, only when the window takes all of it (a cut packet would be
 * two broken datagrams).  Those writes are batched below libssh2: while
 * one wakeup's datagrams go in (ossh_link_batch), libssh2's socket sends
 * land in one buffer that goes out in one send, and its reads before each
 * write stop at the first EAGAIN, so a batch of packets costs one send and
 * one recv, not two recvs and a send per packet.
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
/* What one batch may hold of libssh2's encrypted output: room for the
 * tunnel's largest write (TUNNEL_BUDGET_MAX) and a datagram more, with its
 * SSH framing. */
#define OSSH_WBUF_CAP (128 * 1024)

struct ossh_link {
	LIBSSH2_CHANNEL *channel;
	uint8_t *rx;		/* datagrams read, not yet turned into frames */
	size_t rx_len;
	uint8_t out[4 + OSSH_MAX_PACKET];	/* the datagram being written */
	size_t out_len;
	size_t out_frame;	/* bytes of our frame it stands for; 0: none */
	uint64_t dropped;	/* frames that cannot go this way */

	/* Batching (ossh_link_batch; without it every send goes straight out). */
	LIBSSH2_SESSION *session;
	int sock;
	char *debug;		/* where sshd's debug messages go */
	uint8_t *wbuf;		/* sends taken but not yet on the socket */
	size_t wbuf_len;
	bool batching;		/* inside ossh_write: sends are collected */
	bool rx_dry;		/* the socket said EAGAIN in this batch */
	uint64_t sends;		/* send() calls, for the tests' counts */
};

extern const struct link_ops ossh_link_ops;

int ossh_link_init(struct ossh_link *l);
void ossh_link_free(struct ossh_link *l);
void ossh_link_reset(struct ossh_link *l, LIBSSH2_CHANNEL *channel);

/* Routes the session's socket I/O through the link (libssh2's send and
 * recv callbacks, and its abstract pointer: ossh_open's debug buffer moves
 * to the link) so that writes batch.  On the loop's thread, before the
 * first write; ossh_link_unbatch undoes it before the session goes to
 * another thread (it sends what it can of the last batch). */
void ossh_link_batch(struct ossh_link *l, LIBSSH2_SESSION *session, int sock);
void ossh_link_unbatch(struct ossh_link *l);
/* Sends what the last batch left (the socket was full).  Returns 0, or -1
 * with fail() when the connection is gone.  ossh_link_pending: bytes wait
 * (the owner polls for POLLOUT). */
int ossh_link_push(struct ossh_link *l);
bool ossh_link_pending(const struct ossh_link *l);

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
