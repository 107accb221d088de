/* What happened in this instance, for `sshtun ctl NAME events': state
 * changes, reconnects, route changes, kept in a small ring that each
 * watcher reads at its own pace (a slow one loses the oldest and is told
 * how many).  One instance per process: the ring is the process's. */
#ifndef SSHTUN_EVENTS_H
#define SSHTUN_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define EVENTS_RING 128
#define EVENT_JSON_MAX 512

/* Records one event: kind ("state", "reconnect", "route"), and the rest of
 * the JSON object's members as "key", value pairs (strings, escaped here),
 * ending in NULL.  A member whose key starts with '#' is a number given as
 * text ("#reconnects", "3"). */
void events_note(const char *kind, ...) __attribute__((sentinel));

/* The sequence number the next event will get. */
uint64_t events_head(void);

#endif
