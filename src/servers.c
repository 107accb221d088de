/* See servers.h.  A walk is one pass over the list: a failure moves on to
 * the next server at once; only when every server of the walk has failed
 * does the caller back off before the next walk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fail.h"
#include "servers.h"

static const char *const state_names[] = {
	[SRV_STANDBY] = "standby", [SRV_CONNECTING] = "connecting", [SRV_UP] = "up",
	[SRV_FAILED] = "failed", [SRV_BUSY] = "busy",
};

const char *server_state_name(enum server_state st)
{
	return (unsigned)st < ARRAY_SIZE(state_names) ? state_names[st] : "?";
}

/* order = the list's order without last, then last (-1: none). */
static void walk(struct servers *sv, int first, int last)
{
	int k = 0;

	if (first >= 0)
		sv->order[k++] = first;
	for (int i = 0; i < sv->n; i++)
		if (sv->pref[i] != first && sv->pref[i] != last)
			sv->order[k++] = sv->pref[i];
	if (last >= 0 && last != first)
		sv->order[k++] = last;
	sv->pos = 0;
}

int servers_init(struct servers *sv, struct client_opts *first, int argc, char **argv)
{
	memset(sv, 0, sizeof(*sv));
	sv->n = first->nhosts ? first->nhosts : 1;
	sv->s[0].opts = first;
	for (int i = 1; i < sv->n; i++) {
		struct client_opts *o = malloc(sizeof(*o));

		if (!o)
			return fail(EXIT_LOCAL, "out of memory for server %d", i + 1);
		if (options_parse_nth(argc, argv, i, o) != 0 || options_resolve(o) < 0) {
			free(o);
			return -1;
		}
		sv->s[i].opts = o;
	}
	for (int i = 0; i < sv->n; i++)
		sv->pref[i] = i;
	if (first->balance == BALANCE_RANDOM) {
		/* Fisher-Yates: a fleet of clients spreads over the servers. */
		for (int i = sv->n - 1; i > 0; i--) {
			uint32_t r = 0;
			int j, t;

			if (getrandom(&r, sizeof(r), 0) != sizeof(r))
				return fail(EXIT_LOCAL, "no random numbers for --balance random");
			j = (int)(r % (uint32_t)(i + 1));
			t = sv->pref[i];
			sv->pref[i] = sv->pref[j];
			sv->pref[j] = t;
		}
	}
	walk(sv, -1, -1);
	return 0;
}

void servers_free(struct servers *sv)
{
	for (int i = 1; i < sv->n; i++)
		free(sv->s[i].opts);
	sv->n = sv->n ? 1 : 0;
}

struct server *servers_current(struct servers *sv)
{
	return &sv->s[sv->order[sv->pos]];
}

const struct client_opts *servers_opts(struct servers *sv)
{
	return servers_current(sv)->opts;
}

void servers_connecting(struct servers *sv)
{
	servers_current(sv)->state = SRV_CONNECTING;
}

void servers_up(struct servers *sv)
{
	struct server *cur = servers_current(sv);

	for (int i = 0; i < sv->n; i++)
		if (sv->s[i].state == SRV_UP)
			sv->s[i].state = SRV_STANDBY;
	cur->state = SRV_UP;
	cur->error[0] = '\0';
}

bool servers_failed(struct servers *sv, const char *why, bool busy)
{
	struct server *cur = servers_current(sv);
	int failed = sv->order[sv->pos];

	cur->state = busy ? SRV_BUSY : SRV_FAILED;
	snprintf(cur->error, sizeof(cur->error), "%s", why);
	if (sv->pos + 1 < sv->n) {
		sv->pos++;
		return true;
	}
	walk(sv, -1, sv->n > 1 ? failed : -1);
	return false;
}

void servers_lost(struct servers *sv, const char *why)
{
	int lost = sv->order[sv->pos];

	sv->s[lost].state = SRV_FAILED;
	snprintf(sv->s[lost].error, sizeof(sv->s[lost].error), "%s", why);
	walk(sv, -1, sv->n > 1 ? lost : -1);
}

void servers_begin_with(struct servers *sv, int i)
{
	walk(sv, i, -1);
}

int servers_find(const struct servers *sv, const char *host)
{
	for (int i = 0; i < sv->n; i++) {
		const struct client_opts *o = sv->s[i].opts;

		if (!strcmp(o->host_arg, host) || !strcmp(o->host_buf, host) ||
		    (o->ssh.host && !strcmp(o->ssh.host, host)))
			return i;
	}
	return -1;
}

void servers_batch(struct servers *sv)
{
	for (int i = 0; i < sv->n; i++)
		sv->s[i].opts->ssh.batch = true;
}
