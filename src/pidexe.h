/* Is a pid one of ours?  Used before acting on a pid from a file (a stale
 * helper to stop, a dead instance's records to undo): the pid may have been
 * reused by anything else since. */
#ifndef SSHTUN_PIDEXE_H
#define SSHTUN_PIDEXE_H

#include <stdbool.h>
#include <sys/types.h>

/* 1: pid runs this program's binary (also one since replaced by an upgrade
 * or a rebuild); 0: it runs something else, or is gone; -1: cannot tell
 * (no /proc, no permission). */
int pid_runs_our_binary(pid_t pid);

/* The comparison itself, on two /proc/PID/exe link texts: a replaced file
 * reads "PATH (deleted)", and counts as PATH. */
bool exe_same(const char *a, const char *b);

#endif
