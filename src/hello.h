/* The hello each side sends once, right after its magic line, as the payload
 * of a FRAME_HELLO: UTF-8 lines "key=value\n", at most HELLO_MAX bytes.
 * Unknown keys are ignored (so either side can add capabilities); a key given
 * twice, a line without '=', a value out of range, or a NUL is an error.
 *
 * keys:  proto=1               protocol version (required)
 *        software=sshtun 0.1   informational
 *        mtu=1400              largest IP packet the sender will send/accept
 *        compress=zlib,zlib-hdr algorithms the sender can decompress, comma list
 *        compress_mode=auto    (client only) how the server should compress
 *                              toward the client: off, auto, or a level 1..9
 *        id=<32 hex digits>    client identity (client to server only)
 *        client4=A.B.C.D/31    the client's inner IPv4 address and prefix:
 *                              asked by the client (-a), assigned by the server
 *        server4=A.B.C.D/31    the server's inner IPv4 address (server only)
 *        client6=2001:db8::3/127, server6=...   the same for IPv6
 *        routes=P,P...         (server) prefixes it offers to route, at most 32
 *        dns=A,A...            (server) resolvers it offers, at most 32
 *        domains=D,D...        (server) search domains, at most 511 characters
 *        avoid=P,P...          (client) prefixes it already uses: the server
 *                              picks a pair outside them, at most 32
 *        stack=userspace       (server) its packets go through a user-space
 *                              network stack, not a TUN (absent: a TUN);
 *                              lowercase letters, at most 15
 *        gso=csum,tcp4,tcp6,udp  what the sender takes behind a virtio-net
 *                              header (FRAME_F_GSO, vnet.h); absent: nothing
 *        conns=N               (client, first connection) it means to open
 *                              N connections, 1..HELLO_CONNS_MAX; absent: 1
 *        join=<32 hex digits>  server: the token that lets the client's
 *                              further connections join this one (only when
 *                              it took conns>1); client: this connection
 *                              joins the group of that token (--connections)
 *        conn=K                (client, --connections) which of its
 *                              connections this is, 0..HELLO_CONN_LAST:
 *                              the server replaces a member of the group
 *                              with the same K, and CONTROL lost=K names it;
 *                              absent: not said (no member is replaced)
 */
#ifndef SSHTUN_HELLO_H
#define SSHTUN_HELLO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"
#include "vnet.h"

#define HELLO_ID_LEN 32		/* hex digits */
#define COMPRESS_ZLIB 0x01	/* bits in hello.compress: zlib */
#define COMPRESS_ZLIB_HDR 0x02	/* zlib-hdr: compressed frames in the header layout */

#define HELLO_MAX_PREFIXES 32
#define HELLO_CONNS_MAX 8	/* conns=: TUN_MAX_QUEUES, queues of one TUN */
#define HELLO_CONN_LAST 7	/* conn=: 0..HELLO_CONNS_MAX - 1 */
#define HELLO_DOMAINS_MAX 512	/* "a.example,b.example" */

struct prefix_list {
	int n;
	struct inet_prefix p[HELLO_MAX_PREFIXES];
};

struct hello {
	unsigned proto;
	char software[64];
	unsigned mtu;
	uint32_t compress;		/* COMPRESS_* bits */
	char compress_mode[5];		/* client only: "off", "auto", "1".."9", "" absent */
	char id[HELLO_ID_LEN + 1];	/* "" when absent */
	struct inet_prefix client4, server4, client6, server6;
	struct prefix_list routes;	/* server: routes it offers */
	struct prefix_list dns;		/* server: resolvers it offers */
	char domains[HELLO_DOMAINS_MAX];	/* server: search domains, comma list */
	struct prefix_list avoid;	/* client: prefixes it uses already */
	char stack[16];			/* server: "userspace", "" for a TUN */
	unsigned gso;			/* VNET_CAP_* the sender takes */
	unsigned conns;			/* client: connections it means to open, 0 absent */
	char join[HELLO_ID_LEN + 1];	/* the group's token, "" when absent */
	unsigned conn;			/* client: which connection this is (conn=) */
	bool has_conn;			/* conn= given: connection 0 is one too */
};

/* Parses a hello payload.  Returns 0, or -1 with a one-line reason in err
 * (e.g. "hello: bad mtu `99999' (576..65535)"). */
int hello_parse(const uint8_t *p, size_t len, struct hello *h, char *err, size_t errlen);

/* Formats h into out.  Returns the length, or -1 when it does not fit. */
int hello_format(const struct hello *h, uint8_t *out, size_t cap);

/* What this sshtun lists in compress: zlib and zlib-hdr; with
 * SSHTUN_ZLIB_HDR=0 in the environment zlib alone, as sshtun before 0.3
 * did (for tests of an old peer). */
uint32_t hello_compress_ours(void);
/* The header layout applies both ways when both hellos list zlib-hdr. */
bool hello_compress_layout(const struct hello *peer);

#endif
