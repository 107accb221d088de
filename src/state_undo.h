/* Undoing a state file's records (state.h) after a crash: each kind of
 * record through its own undo function.  Above state.c and the modules that
 * made the changes (dns.c, the routes). */
#ifndef SSHTUN_STATE_UNDO_H
#define SSHTUN_STATE_UNDO_H

#include <stdbool.h>

/* Undoes what the state file at path records, if the instance that wrote
 * it is not running.  Returns the number of records undone (0: nothing
 * there), or -1 with fail() set (it is still running, or unreadable). */
int state_undo(const char *path, bool verbose);

#endif
