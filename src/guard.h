/* What the client asks of its guard table (killswitch.h) through the root
 * side: the kill switch from the start, DNS kept in the tunnel while a full
 * tunnel has --dns, and off at a clean exit.  *flags is the instance's
 * KS_ flags now (the engine keeps them for status). */
#ifndef SSHTUN_GUARD_H
#define SSHTUN_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

/* --kill-switch: every address the server's name has now, at its port,
 * allowed; everything else blocked before the first connect.  The same
 * addresses go into o->ssh.pinned, where connects go when the name cannot
 * be resolved again behind the guard.  0, or -1 with fail(). */
int guard_start(struct client_opts *o, unsigned *flags);
/* Adds (on) or drops the DNS rule.  0, or -1 with the reason in err. */
int guard_dns(unsigned *flags, bool on, char *err, size_t errlen);
/* A clean exit: the table goes. */
void guard_end(unsigned *flags);

#endif
