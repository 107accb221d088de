/* The control socket: a running client listens on a unix socket (mode 0600,
 * peer uid checked with SO_PEERCRED) and `sshtun ctl` talks to it.
 *
 * Wire (text lines, each at most CTL_LINE_MAX bytes):
 *   request:   "run <command line>\n"  |  "complete <partial line>\n"
 *   answer:    any number of "o <text>\n" (output) and "e <text>\n" (error)
 *              lines, then "x <status>\n".  For complete: "o <word>\n" lines.
 * A connection may carry many requests, answered in order.
 *   "exec\n" hands the connection to the root side (execns.h), which says
 *   "go\n" and from then on talks to `sshtun exec' on it. */
#ifndef SSHTUN_CONTROL_H
#define SSHTUN_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

struct engine;
struct loop;

/* Listens on path (creating its directory 0700; a stale socket, one nobody
 * answers on, is removed; a live one is an error naming the instance).
 * Returns 0 or -1 with fail(). */
int control_listen(struct engine *eng, struct loop *loop, const char *path);
/* The same socket bound ahead (by root, before the user's side drops;
 * owned by uid:gid unless uid is -1): control_listen then only watches it. */
int control_bind(const char *path, uid_t uid, gid_t gid);
/* The root side keeps no copy of a socket bound for the user's side; it
 * removes the file when the instance ends (the user could not). */
void control_forget(void);
void control_unlink(void);
void control_close(void);

/* `sshtun ctl [-n NAME | -S PATH] [COMMAND [ARG...]]`; returns exit status. */
int ctl_main(int argc, char **argv);
/* `sshtun exec NAME -- COMMAND [ARG...]` (exec.c); returns COMMAND's exit
 * status. */
int exec_main(int argc, char **argv);

#endif
