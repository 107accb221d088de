/* The forwarding sysctls that the helper's --nat turns on, saved first and
 * restored exactly when the last client leaves.  Turning on IPv4 forwarding
 * (ip_forward) or IPv6 forwarding (conf/all/forwarding) also rewrites every
 * interface's own forwarding setting, so each of those is saved too and put
 * back after the global one.  IPv6 forwarding makes the kernel ignore router
 * advertisements on interfaces with accept_ra=1: the uplink gets
 * accept_ra=2 meanwhile, or the server would lose its default route. */
#ifndef SSHTUN_FORWARDING_H
#define SSHTUN_FORWARDING_H

#include <stdbool.h>
#include <stddef.h>

struct fwd_before {
	bool v4, v6;	/* forwarding was on before sshtun turned it on */
};

/* Records the settings in the file saved (kept if it exists: a helper that
 * was killed left it, and it holds the settings from before sshtun), then
 * turns forwarding on for the families asked for and sets accept_ra 2 on
 * uplink where it was 1.  Returns 0, or -1 with a reason in err. */
int fwd_enable(const char *saved, bool v4, bool v6, const char *uplink, struct fwd_before *before,
	       char *err, size_t errlen);

/* Writes back what saved records, in its order, and removes it. */
void fwd_restore(const char *saved);

#endif
