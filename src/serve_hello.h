/* The worker's side of what a client sends besides packets: its hello
 * (checked, and turned into the lease request for the monitor; our hello
 * written from the monitor's reply) and its CONTROL lines.  No loop, no
 * TUN, no channel: serve.c does those, and the fuzz target calls these with
 * serve_lease_pick() in between. */
#ifndef SSHTUN_SERVE_HELLO_H
#define SSHTUN_SERVE_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "hello.h"
#include "serve_config.h"
#include "serve_lease.h"

/* Parses and checks the client's hello (payload of len bytes) into h, and
 * the request for the monitor into q.  Returns 0, or -1 with a one-line
 * reason for the client in why. */
int serve_hello_request(const uint8_t *payload, size_t len, struct hello *h,
			struct lease_request *q, char *why, size_t cap);

/* Our hello for the monitor's reply r, into out; gso: the VNET_CAP_* our
 * TUN takes (tunnel.h's caps).  Returns its length, or -1 when it does not
 * fit. */
int serve_hello_reply(const struct serve_config *cfg, const struct lease_reply *r, unsigned gso,
		      uint8_t *out, size_t cap);

/* How the client wants its downloads compressed (its hello): a
 * compress_mode, COMPRESS_OFF unless it asks for a valid one. */
int serve_hello_compress(const struct hello *h);

/* A CONTROL frame: key=value lines, unknown keys ignored.  Sets *mode and
 * returns 1 when it asks for a compression mode, 0 when it asks for nothing,
 * -1 for a bad compression mode.  *lost gets bit K for each lost=K (the
 * client's connection K is dead), K 0..7; a bad K is logged and ignored. */
int serve_control(const uint8_t *payload, size_t len, int *mode, unsigned *lost);

#endif
