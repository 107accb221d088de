/* `sshtun exec NAME -- COMMAND': the root side's part.  One network
 * namespace per instance, made when the first command comes and gone when
 * the last ends or the instance does; its only way out is a veth pair into
 * the instance's namespace:
 *
 *   addresses  169.254.77.2k/31 (our end) and .2k+1 (the namespace's), k =
 *              the tunnel's ifindex mod 128: link-local, never routed, so
 *              they cannot collide with a LAN or a tunnel's prefixes
 *   routing    in the namespace a default route via our end; here the rule
 *              "from .2k+1 lookup NET_EXEC_TABLE_BASE + ifindex", a table
 *              whose default is the tunnel
 *   nftables   inet sshtun_exec_PID: masquerade to the tunnel's address,
 *              forwarding only between the veth and the tunnel
 *   DNS        with the tunnel's DNS, the command's own mount namespace has
 *              a resolv.conf naming it (bind mount)
 *
 * Each command is run by a manager process (root, forked here) that talks
 * to `sshtun exec' over the connection the control socket passed on: the
 * caller's standard descriptors and argv come in, the exit status goes
 * back.  The command runs as the caller (SO_PEERCRED, SO_PEERGROUPS), with
 * no_new_privs. */
#ifndef SSHTUN_EXECNS_H
#define SSHTUN_EXECNS_H

#include <stdbool.h>
#include <stddef.h>

struct priv_root;

#define EXECNS_MAX 32		/* commands at once per instance */
#define EXECNS_ARGS_MAX (256 * 1024)	/* argv, environment and cwd, in bytes */

/* Runs one command for the caller on conn (the fd is taken: closed here).
 * 0, or a negative errno with the reason in err. */
int execns_start(struct priv_root *r, int conn, char *err, size_t errlen);
/* A manager has ended (its pidfd became readable): reaps it; the last one
 * takes the namespace with it. */
void execns_reap(struct priv_root *r);
/* The namespace's link, rule and NAT go; the commands still running lose
 * their way out.  The table keeps its spoof guard (execns.c) until final,
 * when the instance ends. */
void execns_stop(struct priv_root *r, bool final);

#endif
