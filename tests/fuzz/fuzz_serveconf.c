/* The helper's configuration file (serve_config.c) on arbitrary contents:
 * the input is written to a file that `sshtun serve --config FILE' reads.
 * Checks: a refusal is one line that names the file and line; whatever is
 * accepted lies within the limits the helper relies on (strings end inside
 * their arrays, numbers in range, at most HELLO_MAX_PREFIXES prefixes, the
 * domains fit a hello) and the pools it names are either accepted by
 * pool_init or refused with a message of their own. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fuzz.h"
#include "log.h"
#include "pool.h"
#include "serve_config.h"

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[200];

	fuzz_tempdir("serveconf", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/serve.conf", dir);
	log_level = LOG_QUIET;
	opterr = 0;
	return 0;
}

static void check_prefixes(const struct prefix_list *l)
{
	CHECK(l->n >= 0 && l->n <= HELLO_MAX_PREFIXES);
	for (int i = 0; i < l->n; i++)
		CHECK(l->p[i].family == AF_INET ? l->p[i].plen <= 32 :
		      l->p[i].family == AF_INET6 && l->p[i].plen <= 128);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = { "serve", "--config", path, NULL };
	struct serve_config c;
	struct pool pool;
	char err[ERROR_MSG_MAX];
	size_t n;
	FILE *f = fopen(path, "w");

	CHECK(f);
	CHECK(fwrite(data, 1, size, f) == size);
	CHECK(fclose(f) == 0);
	memset(err, 'X', sizeof(err));
	if (serve_config_load(&c, 3, argv, err, sizeof(err)) < 0) {
		n = strnlen(err, sizeof(err));
		CHECK(n > 0 && n < sizeof(err));
		CHECK(!memchr(err, '\n', n));
		CHECK(!strncmp(err, path, strlen(path)));
		return 0;
	}
	CHECK(strnlen(c.pool4, sizeof(c.pool4)) < sizeof(c.pool4));
	CHECK(strnlen(c.pool6, sizeof(c.pool6)) < sizeof(c.pool6));
	CHECK(strnlen(c.lease_file, sizeof(c.lease_file)) < sizeof(c.lease_file));
	CHECK(strnlen(c.domains, sizeof(c.domains)) < sizeof(c.domains));
	CHECK(c.mtu >= MTU_MIN && c.mtu <= MTU_MAX);
	CHECK(c.max_per_user >= 1 && c.max_per_user <= POOL_MAX_LEASES);
	CHECK(c.lease_grace <= 7 * 86400);
	CHECK(c.verbosity == 0);
	check_prefixes(&c.routes);
	check_prefixes(&c.dns);
	memset(err, 'X', sizeof(err));
	if (pool_init(&pool, c.pool4, c.pool6, c.lease_file, err, sizeof(err)) < 0) {
		n = strnlen(err, sizeof(err));
		CHECK(n > 0 && n < sizeof(err) && !memchr(err, '\n', n));
	} else {
		CHECK(pool_size(&pool) >= 1 && pool_size(&pool) <= POOL_MAX_LEASES);
	}
	return 0;
}
