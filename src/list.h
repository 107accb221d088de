/* `sshtun list [--json]`: every running instance on this machine that the
 * caller may talk to, from the control sockets in /run/sshtun and
 * $XDG_RUNTIME_DIR/sshtun, each asked for its status and stats. */
#ifndef SSHTUN_LIST_H
#define SSHTUN_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* Asks the instance at sock_path to run line and copies its first output
 * line (without "o ") to out.  Bounded by timeout_ms.  0 on exit status 0,
 * -1 on a failure (errno set for a connect failure; ECONNREFUSED: stale). */
int ctl_query(const char *sock_path, const char *line, char *out, size_t cap, int timeout_ms);

/* The value of key in a one-line JSON object (strings unescaped only as far
 * as names and addresses need, numbers as text); false when absent. */
bool json_field(const char *obj, const char *key, char *out, size_t cap);

int list_main(int argc, char **argv);

#endif
