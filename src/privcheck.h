/* sshtun changes routes, DNS and firewall rules for whoever runs it.  A
 * binary with file capabilities (setcap cap_net_admin+ep) or setuid root
 * would hand that to every local user: refuse to run that way.  Root, or a
 * user started through sudo (real uid 0 too), is how sshtun gets its
 * privilege; capabilities a parent raised deliberately in the ambient set
 * (systemd's AmbientCapabilities=) are the admin's choice and pass. */
#ifndef SSHTUN_PRIVCHECK_H
#define SSHTUN_PRIVCHECK_H

/* Returns 0, or -1 with fail(EXIT_LOCAL, ...) set. */
int priv_check(void);

#endif
