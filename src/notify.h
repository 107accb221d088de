/* The sd_notify protocol, written by hand (one datagram, no libsystemd):
 * under systemd with Type=notify, READY=1 once the tunnel is first up,
 * STATUS= on each state change, STOPPING=1 when it ends.  Without
 * NOTIFY_SOCKET, nothing. */
#ifndef SSHTUN_NOTIFY_H
#define SSHTUN_NOTIFY_H

#include <stdbool.h>

/* The instance's state changed: STATUS=<state>: <detail>, with READY=1
 * the first time it is up. */
void notify_state(const char *state, const char *detail, bool up);
void notify_stopping(void);

#endif
