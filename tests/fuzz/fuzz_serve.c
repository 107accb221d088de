/* The helper's handlers for what a client sends besides packets
 * (serve_hello.c): its hello, answered with a lease from a pool on a temp
 * lease file, and its CONTROL lines.
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

static void on_answer(const struct pool *pool, const struct serve_answer *ans, int acct, pid_t pid,
		      const struct prefix_list *inuse, unsigned grace)
{
	const struct lease *l = &ans->lease;
	const struct hello *h = &ans->client;
	struct owner *o;
	struct lease want;
	struct hello reply;
	char err[256];
	unsigned asked = h->client4.family || h->client6.family;

	CHECK(l->index < PAIRS);
	pool_pair(pool, l->index, &want);
	CHECK(same_prefix(&l->client4, &want.client4) && same_prefix(&l->server4, &want.server4));
	CHECK(same_prefix(&l->client6, &want.client6) && same_prefix(&l->server6, &want.server6));
	/* A pair new to anyone is never one of the server's networks. */
	for (int i = 0; !asked && !owners[l->index].used && inuse && i < inuse->n; i++)
		CHECK(!inet_prefix_overlaps(&l->client4, &inuse->p[i]));
	CHECK(ans->mtu <= cfg.mtu && (!h->mtu || ans->mtu <= h->mtu));
	CHECK(ans->reply_len > 0 && ans->reply_len <= sizeof(ans->reply));
	CHECK(hello_parse(ans->reply, ans->reply_len, &reply, err, sizeof(err)) == 0);
	CHECK(same_prefix(&reply.client4, &l->client4) && same_prefix(&reply.server6, &l->server6));
	CHECK(reply.mtu == ans->mtu);
	CHECK(ans->compress_mode == COMPRESS_AUTO ||
	      (ans->compress_mode >= COMPRESS_OFF && ans->compress_mode <= 9));

	/* Whose was it? */
	o = &owners[l->index];
	if (o->used && (o->account != acct || strcmp(o->id, h->id))) {
		CHECK(!o->live);
		CHECK(o->account == acct || grace == 0);
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
	o->account = acct;
	o->pid = pid;
	snprintf(o->id, sizeof(o->id), "%s", h->id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct serve_answer *ans = malloc(sizeof(*ans));
	struct prefix_list inuse = { 0 };
	struct pool pool;
	char why[ERROR_MSG_MAX], err[256];
	const uint8_t *p = data, *end = data + size;
	int last_acct = -1, steps = 0;
	char last_id[HELLO_ID_LEN + 1] = "";
	pid_t last_pid = 0;

	CHECK(ans);
	if (size < 1)
		goto out;
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
		uint8_t op = p[0];
		int acct = (op >> 2) & 3, mode = 99, rc;
		pid_t pid = op & 16 ? dead : getpid();
		bool leased = true;

		if (len == 0)
			goto next;
		switch (op & 3) {
		case 0:
		case 1:
			memset(why, 'X', sizeof(why));
			rc = serve_hello(&cfg, &pool, &accounts[acct], pid, cfg.mtu,
					 inuse.n ? &inuse : NULL, p + 1, len - 1, ans, &leased, why,
					 sizeof(why));
			if (rc < 0) {
				check_why(why, sizeof(why));
				CHECK(!leased);
				break;
			}
			CHECK(leased);
			on_answer(&pool, ans, acct, pid, inuse.n ? &inuse : NULL, pool.grace);
			last_acct = acct;
			last_pid = pid;
			snprintf(last_id, sizeof(last_id), "%s", ans->client.id);
			break;
		case 2:
			rc = serve_control(p + 1, len - 1, &mode);
			CHECK(rc >= -1 && rc <= 1);
			if (rc == 1)
				CHECK(mode == COMPRESS_AUTO || (mode >= COMPRESS_OFF && mode <= 9));
			break;
		case 3:
			if (last_acct < 0)
				break;
			{
				struct lease_holder who = { .id = last_id,
							    .account = &accounts[last_acct],
							    .pid = last_pid };

				CHECK(pool_release(&pool, &who) == 0);
				for (int i = 0; i < PAIRS; i++)
					if (owners[i].used && owners[i].account == last_acct &&
					    !strcmp(owners[i].id, last_id) && owners[i].pid == last_pid)
						owners[i].live = false;
			}
			break;
		}
next:
		if (!stop)
			break;
		p = stop + 1;
	}
out:
	free(ans);
	return 0;
}
