/* What a client changed outside its own TUN device, recorded so that it can
 * be undone after a crash or SIGKILL.  The TUN, its addresses and the routes
 * through it vanish with the process; what lives elsewhere (the pin route
 * through the real gateway, DNS settings) is written to NAME.state beside
 * the control socket, one record a line:
 *
 *   pid <pid>
 *   pin <cidr> <ifindex> [<gateway>]
 *   dns <method> <argument>            (resolv.conf backup, resolvectl link)
 *   nft <table>                        (the kill switch: inet sshtun_guard_PID)
 *   unreach <cidr>                     (a full tunnel's half of a family it lacks)
 *   rule <cidr> <uid> <table>          (a per-uid route's `ip rule')
 *   srcrule <addr>/32 <table>          (the exec namespace's `ip rule from')
 *   nft sshtun_exec_PID                (the exec namespace's NAT)
 *
 * `sshtun cleanup [-n NAME]` and a new instance of the same name undo what a
 * dead instance left; a clean exit undoes it and removes the file. */
#ifndef SSHTUN_STATE_H
#define SSHTUN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "prefix.h"

#define STATE_MAX_RECORDS 64
#define STATE_LINE_MAX 600

struct state {
	char path[256];
	int n;
	char rec[STATE_MAX_RECORDS][STATE_LINE_MAX];
};

/* The path: paths_state() of the control socket. */
void state_init(struct state *st, const char *path);
/* Adds or removes one record ("pin ...") and rewrites the file (atomically:
 * a temporary file renamed over it).  Returns 0 or -1 (logged). */
int state_add(struct state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int state_remove(struct state *st, const char *record);
/* The file goes (clean exit, everything undone). */
void state_discard(struct state *st);

enum state_kind { STATE_PID = 1, STATE_PIN, STATE_DNS, STATE_NFT, STATE_UNREACH, STATE_RULE, STATE_SRCRULE };

/* One record, checked. */
struct state_record {
	enum state_kind kind;
	int pid;			/* STATE_PID */
	struct inet_prefix dst;		/* STATE_PIN, STATE_UNREACH, STATE_RULE, STATE_SRCRULE */
	unsigned uid, rule_table;	/* STATE_RULE (rule_table: STATE_SRCRULE too) */
	int ifindex;			/* STATE_PIN */
	char table[32];			/* STATE_NFT: killswitch.h's ks_table_ok */
	char args[STATE_LINE_MAX];	/* what follows the record's name */
};

/* Reads up to cap records from the text of the state file at path (named in
 * warnings); a dns file record must name backup.  Malformed lines are
 * skipped with a warning; a line too long or with a NUL byte ends the
 * reading.  Returns the number of records. */
int state_parse(const char *text, size_t len, const char *path, const char *backup,
		struct state_record *out, int cap);

#endif
