/* Shared by the interpreter's files (commands.c: the table and dispatch;
 * handlers.c and waiting.c: what each command does).  Not for the rest of
 * sshtun. */
#ifndef SSHTUN_SHELL_INTERNAL_H
#define SSHTUN_SHELL_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "commands.h"
#include "shell.h"

/* One command being run.  Output on stream 1 collects in a memory stream so
 * that an answer leaves in one piece; an error line first sends whatever
 * output came before it, to keep the order. */
struct call {
	struct engine *eng;
	const struct shell_out_ops *ops;
	void *ctx;
	const char *name;	/* "route add", for messages */
	int argc;		/* positional arguments, flags taken out */
	char **argv;
	bool json, watch;
	const char *flag_value;	/* the value of a flag that takes one (--uid) */
	FILE *out;
	char *obuf;
	size_t olen, osent;
};

int call_open(struct call *c);
void call_flush(struct call *c);
void call_close(struct call *c);
void say(struct call *c, int stream, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Handlers return a status (0, 1, 2) or SHELL_PENDING (then they own the
 * done call).  Arguments were counted and flags checked against the table. */
int cmd_status(struct call *c);
int cmd_stats(struct call *c);
int cmd_route_add(struct call *c);
int cmd_route_del(struct call *c);
int cmd_route_list(struct call *c);
int cmd_route_exclude(struct call *c);
int cmd_dns(struct call *c);
int cmd_ping(struct call *c);
int cmd_events(struct call *c);
int cmd_reconnect(struct call *c);
int cmd_compress(struct call *c);
int cmd_log(struct call *c);
int cmd_quit(struct call *c);

/* Shared by stats and stats --watch. */
void stats_json(FILE *f, const struct engine_stats *s);
void stats_table(struct call *c, const struct engine_stats *s);
char *fmt_rtt(char *out, size_t cap, double ms);

/* Candidate words for completers. */
struct cands {
	const char *prefix;
	shell_complete_fn fn;
	void *ctx;
};
void cand(struct cands *cd, const char *word);
void complete_routes(struct engine *eng, struct cands *cd);
void complete_levels(struct engine *eng, struct cands *cd);
void complete_servers(struct engine *eng, struct cands *cd);

#endif
