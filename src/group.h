/* The server's connection groups (--connections, issue 17): the helpers of
 * one client's several connections, each serving one queue of the lease's
 * multi-queue TUN.  A group hangs off a lease (its index) and lives in a
 * file beside the lease file, "<lease file>.groups", root's, mode 0600,
 * replaced whole by rename under the lease file's lock (pool.c takes it;
 * this file only reads and writes the table):
 *
 *   <index> <uid> <id> <sha256 of the token, hex> <ifname> <ifindex> <mtu> <member>[,...]
 *   member: <pid>:<start>[:<conn>]
 *
 * The members are the helpers' monitors, each with its start in clock
 * ticks since boot (/proc/PID/stat): a pid that started otherwise is a
 * reused one, not the member.  Not a wall-clock time, which a clock step
 * would move against the boot time.  <conn> is the client's number for
 * that connection (hello conn=, 0..7), absent when it said none (as in
 * lines written before there was one): a join with the same number
 * replaces the member, and the client's CONTROL lost= names it.  The token
 * itself is never written: only its hash, which a join's token is
 * compared with in constant time. */
#ifndef SSHTUN_GROUP_H
#define SSHTUN_GROUP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hello.h"

#define GROUP_MAX_MEMBERS HELLO_CONNS_MAX	/* the TUN's queues (TUN_MAX_QUEUES) */
#define GROUP_HASH_LEN 32			/* SHA-256 */
#define GROUP_FILE_SUFFIX ".groups"

struct group_member {
	pid_t pid;
	unsigned long long start;	/* its start, clock ticks since boot; 0 unknown */
	int conn;			/* the client's conn=, 0..HELLO_CONN_LAST; -1 none */
};

struct group {
	unsigned index;		/* the lease's */
	uid_t uid;		/* the account */
	char id[HELLO_ID_LEN + 1];	/* the client */
	uint8_t hash[GROUP_HASH_LEN];	/* of the token's 32 hex digits */
	char ifname[IFNAMSIZ];
	int ifindex;		/* the device's: a name taken by a new device is not it */
	unsigned mtu;
	unsigned n;
	struct group_member m[GROUP_MAX_MEMBERS];
};

struct groups {
	unsigned n, cap;
	struct group *g;
};

/* A new token: 16 bytes from getrandom as 32 lowercase hex digits.
 * Returns 0, or -1 with err. */
int group_token_new(char token[HELLO_ID_LEN + 1], char *err, size_t errlen);
/* The hash kept of a token. */
void group_token_hash(const char *token, uint8_t hash[GROUP_HASH_LEN]);
/* Does token hash to g's?  Constant time in the token. */
bool group_token_ok(const struct group *g, const char *token);

/* Reads path (missing: no groups) into gs, keeping groups whose index is
 * below size; malformed lines are logged and skipped.  Returns 0, or -1
 * with err when it cannot be read. */
int groups_read(const char *path, unsigned size, struct groups *gs, char *err, size_t errlen);
/* Replaces path with gs (tmp file, rename); removes it when gs is empty.
 * Returns 0, or -1 with err. */
int groups_write(const char *path, const struct groups *gs, char *err, size_t errlen);
void groups_free(struct groups *gs);

/* The line parsing the group and lease files share. */
/* Strict decimal of at most 19 digits, no sign, no leading zero, at most
 * max.  Returns 0 with *out, or -1. */
int group_parse_num(const char *s, unsigned long long max, unsigned long long *out);
/* Cuts line at each single space into f[0..max-1]; returns how many fields
 * there were, max + 1 when more than max (the last one then is cut short). */
unsigned group_split_fields(char *line, char **f, unsigned max);

/* The group of lease index, or NULL. */
struct group *groups_find(struct groups *gs, unsigned index);
/* A new, empty group for index (replacing one there was).  NULL when out
 * of memory. */
struct group *groups_add(struct groups *gs, unsigned index);
void groups_drop(struct groups *gs, struct group *g);
/* Takes pid off g's members; returns whether it was one. */
bool group_leave(struct group *g, pid_t pid);
/* The member that said conn (0..HELLO_CONN_LAST) other than pid `except',
 * or NULL (conn -1, or nobody said it). */
struct group_member *group_conn(struct group *g, int conn, pid_t except);

#endif
