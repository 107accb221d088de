/* The helper's handlers for what a client sends besides packets: its hello
 * as the worker checks it (serve_hello.c), the lease the monitor picks for
 * it from a pool on a temp lease file (serve_lease_pick, all of the
 * monitor's lease work but the TUN and NAT), our hello from the monitor's
 * reply; and its CONTROL lines.
 *
 * Input: steps separated by 0xff bytes (never part of a UTF-8 hello).  A
 * step's first byte says what it is, the rest is its payload:
 *   bits 0-1  0, 1: a hello; 2: CONTROL; 3: the helper of the last hello
 *             that got a lease ends and releases it
 *   bits 2-3  the account (uids 1000, 1001, 1002, 0)
 *   bit 4     the helper's pid is one that has died (else ours, alive)
 * The first step also sets up the run (the lease file starts empty):
 *   bit 5     grace time 0, else the default
 *   bit 6     at most 1 session per account, else 2
 *   bit 7     the server's own networks cover pair 1
 * Checks: a hello is answered or refused with one line; an answer carries
 * the lease's own pair (inside the pool, never the one the server uses) in
 * a hello that parses back, an MTU no larger than either side's; a pair
 * held by a live helper never goes to another id or account, one in its
 * grace time never to another account; the same id and account get their
 * pair back; CONTROL yields a valid compression mode or a refusal. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "compress.h"
#include "fuzz.h"
#include "log.h"
#include "serve_hello.h"

#define PAIRS 4		/* 198.18.0.0/29: easy to fill */
#define STEPS_MAX 64

static char path[256];
static pid_t dead;
static struct serve_config cfg;
static const struct account accounts[] = {
	{ 1000, "alice" }, { 1001, "bob" }, { 1002, "carol" }, { 0, "root" },
};

/* What the harness believes of each pair. */
static struct owner {
	bool used, live;
	/* Its account went past --max-sessions-per-user while this was only a
	 * reservation: the pool may have dropped it (the oldest such goes). */
	bool may_be_dropped;
	int account;
	char id[HELLO_ID_LEN + 1];
	pid_t pid;
} owners[PAIRS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[200];

	fuzz_tempdir("serve", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/leases", dir);
	dead = fork();
	if (dead == 0)
		_exit(0);
	CHECK(dead > 0 && waitpid(dead, NULL, 0) == dead);
	log_level = LOG_QUIET;
	cfg.mtu = 1400;
	inet_prefix_parse("203.0.113.0/24", &cfg.routes.p[cfg.routes.n++]);
	inet_prefix_parse("2001:db8:5::/48", &cfg.routes.p[cfg.routes.n++]);
	inet_prefix_parse("203.0.113.53", &cfg.dns.p[cfg.dns.n++]);
	snprintf(cfg.domains, sizeof(cfg.domains), "lan.test");
	return 0;
}

static bool same_prefix(const struct inet_prefix *a, const struct inet_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(&a->addr, &b->addr, a->family == AF_INET ? 4 : a->family ? 16 : 0);
}

static void check_why(const char *why, size_t cap)
{
	size_t n = strnlen(why, cap);

	CHECK(n > 0 && n < cap);
	CHECK(!memchr(why, '\n', n));
	CHECK(!strncmp(why, "server: ", 8) || !strncmp(why, "version mismatch: ", 18));
}

static void on_answer(const struct pool *pool, const struct hello *h, const struct lease_reply *r,
		      int acct, pid_t pid, const struct prefix_list *inuse, unsigned grace)
{
	const struct lease *l = &r->lease;
	struct owner *o;
	struct lease want;
	struct hello reply;
	uint8_t out[HELLO_MAX];
	char err[256];
	unsigned asked = h->client4.family || h->client6.family;
	int n, mode;

	CHECK(l->index < PAIRS);
	pool_pair(pool, l->index, &want);
	CHECK(same_prefix(&l->client4, &want.client4) && same_prefix(&l->server4, &want.server4));
	CHECK(same_prefix(&l->client6, &want.client6) && same_prefix(&l->server6, &want.server6));
	/* A pair new to anyone is never one of the server's networks. */
	for (int i = 0; !asked && !owners[l->index].used && inuse && i < inuse->n; i++)
		CHECK(!inet_prefix_overlaps(&l->client4, &inuse->p[i]));
	CHECK(r->mtu <= cfg.mtu && (!h->mtu || r->mtu <= h->mtu));
	n = serve_hello_reply(&cfg, r, 0, out, sizeof(out));
	CHECK(n > 0 && (size_t)n <= sizeof(out));
	CHECK(hello_parse(out, (size_t)n, &reply, err, sizeof(err)) == 0);
	CHECK(same_prefix(&reply.client4, &l->client4) && same_prefix(&reply.server6, &l->server6));
	CHECK(reply.mtu == r->mtu);
	mode = serve_hello_compress(h);
	CHECK(mode == COMPRESS_AUTO || (mode >= COMPRESS_OFF && mode <= 9));

	/* Whose was it? */
	o = &owners[l->index];
	if (o->used && (o->account != acct || strcmp(o->id, h->id))) {
		CHECK(!o->live);
		CHECK(o->account == acct || grace == 0 || o->may_be_dropped);
	}
	/* Our id's pair moved (or was given up): the old one is no longer ours. */
	for (int i = 0; i < PAIRS; i++)
		if (owners[i].used && owners[i].account == acct && !strcmp(owners[i].id, h->id)) {
			if (!asked && owners[i].live)
				CHECK((unsigned)i == l->index);
			owners[i].used = false;
		}
	o->used = true;
	o->live = pid != dead;
	o->may_be_dropped = false;
	o->account = acct;
	o->pid = pid;
	snprintf(o->id, sizeof(o->id), "%s", h->id);
	/* Over its cap, an account gives up its own reservations first. */
	n = 0;
	for (int i = 0; i < PAIRS; i++)
		n += owners[i].used && owners[i].account == acct;
	for (int i = 0; n > (int)pool->max_per_account && i < PAIRS; i++)
		if (owners[i].used && owners[i].account == acct && !owners[i].live)
			owners[i].may_be_dropped = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prefix_list inuse = { 0 };
	struct serve_priv last = { 0 };
	struct pool pool;
	char why[ERROR_MSG_MAX], err[256];
	const uint8_t *p = data, *end = data + size;
	int last_acct = -1, steps = 0;

	if (size < 1)
		return 0;
	unlink(path);
	memset(owners, 0, sizeof(owners));
	CHECK(pool_init(&pool, "198.18.0.0/29", "2001:db8:77::/64", path, err, sizeof(err)) == 0);
	pool.grace = data[0] & 32 ? 0 : POOL_GRACE_DEFAULT;
	pool.max_per_account = data[0] & 64 ? 1 : 2;
	if (data[0] & 128)
		inet_prefix_parse("198.18.0.2/31", &inuse.p[inuse.n++]);

	while (p < end && steps++ < STEPS_MAX) {
		const uint8_t *stop = memchr(p, 0xff, (size_t)(end - p));
		size_t len = (size_t)((stop ? stop : end) - p);
		uint8_t op = len ? p[0] : 0;
		int acct = (op >> 2) & 3, mode = 99, rc;
		unsigned lost;
		/* Each hello is a helper of its own, as sshd starts them. */
		struct serve_priv priv = { .cfg = &cfg, .pool = pool, .account = accounts[acct],
					   .holder = op & 16 ? dead : getpid() };
		struct lease_request q;
		struct lease_reply r;
		struct hello h;

		if (len == 0)
			goto next;
		switch (op & 3) {
		case 0:
		case 1:
			memset(why, 'X', sizeof(why));
			if (serve_hello_request(p + 1, len - 1, &h, &q, why, sizeof(why)) < 0) {
				check_why(why, sizeof(why));
				break;
			}
			CHECK(lease_request_check(&q, err, sizeof(err)) == 0);
			if (serve_lease_pick(&priv, &q, inuse.n ? &inuse : NULL, &r) < 0) {
				CHECK(r.status == EXIT_REFUSED);
				check_why(r.why, sizeof(r.why));
				CHECK(!priv.leased);
				break;
			}
			CHECK(priv.leased && r.status == 0);
			on_answer(&pool, &h, &r, acct, priv.holder, inuse.n ? &inuse : NULL,
				  pool.grace);
			last = priv;
			last_acct = acct;
			/* A second lease for the same helper is refused. */
			CHECK(serve_lease_pick(&priv, &q, NULL, &r) < 0);
			break;
		case 2:
			rc = serve_control(p + 1, len - 1, &mode, &lost);
			CHECK(rc >= -1 && rc <= 1);
			CHECK(lost < 1u << HELLO_CONNS_MAX);
			if (rc == 1)
				CHECK(mode == COMPRESS_AUTO || (mode >= COMPRESS_OFF && mode <= 9));
			break;
		case 3:
			if (last_acct < 0 || !last.leased)
				break;
			serve_lease_release(&last);
			CHECK(!last.leased);
			for (int i = 0; i < PAIRS; i++)
				if (owners[i].used && owners[i].account == last_acct &&
				    !strcmp(owners[i].id, last.client_id) && owners[i].pid == last.holder)
					owners[i].live = false;
			break;
		}
next:
		if (!stop)
			break;
		p = stop + 1;
	}
	return 0;
}
