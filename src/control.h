/* The control socket: a running client listens on a unix socket (mode 0600,
 * peer uid checked with SO_PEERCRED) and `sshtun ctl` talks to it.
 *
 * Wire (text lines, each at most CTL_LINE_MAX bytes):
 *   request:   "run <command line>\n"  |  "complete <partial line>\n"
 *   answer:    any number of "o <text>\n" (output) and "e <text>\n" (error)
 *              lines, then "x <status>\n".  For complete: "o <word>\n" lines.
 * A connection may carry many requests, answered in order. */
#ifndef SSHTUN_CONTROL_H
#define SSHTUN_CONTROL_H

#include <stddef.h>

struct engine;
struct loop;

/* Listens on path (creating its directory 0700; a stale socket, one nobody
 * answers on, is removed; a live one is an error naming the instance).
 * Returns 0 or -1 with fail(). */
int control_listen(struct engine *eng, struct loop *loop, const char *path);
void control_close(void);

/* `sshtun ctl [-n NAME | -S PATH] [COMMAND [ARG...]]`; returns exit status. */
int ctl_main(int argc, char **argv);

#endif
