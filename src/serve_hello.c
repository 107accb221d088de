/* See serve_hello.h. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "compress.h"
#include "fail.h"
#include "frame.h"
#include "log.h"
#include "serve_hello.h"

int serve_hello_request(const uint8_t *payload, size_t len, struct hello *h,
			struct lease_request *q, char *why, size_t cap)
{
	char err[256];

	memset(q, 0, sizeof(*q));
	if (hello_parse(payload, len, h, err, sizeof(err)) < 0)
		return errorf(why, cap, "server: bad hello from the client: %s", err);
	if (proto_check(h->proto, "the client's hello", "server", why, cap) < 0)
		return -1;
	if (!h->id[0])
		return errorf(why, cap, "server: the client sent no identity");
	snprintf(q->id, sizeof(q->id), "%s", h->id);
	q->want4 = h->client4;
	q->want6 = h->client6;
	q->avoid = h->avoid;
	q->mtu = h->mtu;
	q->conns = h->conns;
	snprintf(q->join, sizeof(q->join), "%s", h->join);
	q->conn = h->has_conn ? (int)h->conn : -1;
	return 0;
}

int serve_hello_reply(const struct serve_config *cfg, const struct lease_reply *r, unsigned gso,
		      uint8_t *out, size_t cap)
{
	struct hello reply;

	memset(&reply, 0, sizeof(reply));
	reply.proto = PROTO_VERSION;
	snprintf(reply.software, sizeof(reply.software), "sshtun %s", sshtun_version);
	reply.mtu = r->mtu;
	reply.compress = hello_compress_ours();
	reply.gso = gso;
	reply.client4 = r->lease.client4;
	reply.server4 = r->lease.server4;
	reply.client6 = r->lease.client6;
	reply.server6 = r->lease.server6;
	reply.routes = cfg->routes;
	reply.dns = cfg->dns;
	snprintf(reply.domains, sizeof(reply.domains), "%s", cfg->domains);
	if (r->userspace)
		snprintf(reply.stack, sizeof(reply.stack), "userspace");
	snprintf(reply.join, sizeof(reply.join), "%s", r->join);
	return hello_format(&reply, out, cap);
}

int serve_hello_compress(const struct hello *h)
{
	int mode = COMPRESS_OFF;

	if (h->compress_mode[0] && compress_mode_parse(h->compress_mode, &mode) < 0)
		mode = COMPRESS_OFF;
	return mode;
}

/* lost=K: K one digit of 0..HELLO_CONN_LAST, else a log line and nothing. */
static void control_lost(const char *v, unsigned *lost)
{
	char shown[17];
	unsigned k;
	size_t i;

	if (dec_parse(v, HELLO_CONN_LAST, &k) < 0) {
		/* The client's bytes go to a log: printable ASCII only. */
		for (i = 0; v[i] && i < sizeof(shown) - 1; i++)
			shown[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
		shown[i] = '\0';
		log_warn("client: lost=%s ignored: not a connection (0..%d)", shown, HELLO_CONN_LAST);
		return;
	}
	*lost |= 1u << k;
}

int serve_control(const uint8_t *payload, size_t len, int *mode, unsigned *lost)
{
	char text[256], *line, *save = NULL;
	size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
	int rc = 0;

	*lost = 0;
	memcpy(text, payload, n);
	text[n] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "compress_mode=", 14)) {
			if (compress_mode_parse(line + 14, mode) < 0)
				return -1;
			log_verbose("client asks for compression %s", line + 14);
			rc = 1;
		} else if (!strncmp(line, "lost=", 5)) {
			control_lost(line + 5, lost);
		}
	}
	return rc;
}
