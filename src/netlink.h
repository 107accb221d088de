/* Interface addresses and routes.  One header; netlink-linux.c talks
 * rtnetlink (the BSDs and macOS will add netlink-bsd.c with a routing
 * socket).  Every function returns 0 or a negative errno. */
#ifndef SSHTUN_NETLINK_H
#define SSHTUN_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "prefix.h"

/* Is name a usable interface name: 1..IFNAMSIZ-1 characters of A-Z a-z 0-9
 * '.' '_' '-', not starting with '-' (it reaches other programs' argv), not
 * "." or "..", and at most one "%d" (the kernel's pattern for a free
 * number)? */
bool net_ifname_ok(const char *name);

/* ifindex of ifname, or -ENODEV. */
int net_link_index(const char *ifname);
/* Sets the MTU (0: leave) and brings the link up or down. */
int net_link_set(int ifindex, unsigned mtu, bool up);
/* Deletes the link (the client's root side, when its instance ends: a TUN
 * another holder keeps open or made persistent goes too). */
int net_link_del(int ifindex);
/* The queues of the multi-queue TUN ifindex, attached and detached (what
 * `ip -d link' shows as numqueues + numdisabled).  -EOPNOTSUPP: not a
 * multi-queue TUN (or a kernel before 4.15, which does not say). */
int net_tun_queues(int ifindex, unsigned *queues);

/* Adds local/plen on ifindex.  Adding an address that is already there
 * succeeds (reconnects re-add). */
int net_addr_add(int ifindex, const struct inet_prefix *local);
int net_addr_del(int ifindex, const struct inet_prefix *local);

/* Routes: dst/plen through ifindex, optionally via gateway (family 0: none).
 * route_add fails with -EEXIST if that route exists; route_del with -ESRCH
 * if it does not. */
int net_route_add(const struct inet_prefix *dst, int ifindex, const struct inet_prefix *gateway);
/* The same with a metric: a second route for a prefix that is routed
 * elsewhere already, used only when that one goes. */
int net_route_add_metric(const struct inet_prefix *dst, int ifindex, const struct inet_prefix *gateway,
			 unsigned metric);
int net_route_del(const struct inet_prefix *dst, int ifindex);
/* Only a route sshtun added (its protocol) through ifindex (> 0): never an
 * admin's route for the same prefix, which a delete by prefix alone takes
 * first when its metric is lower (IPv6 adds at metric 1024). */
int net_route_del_ours(const struct inet_prefix *dst, int ifindex);

/* Adds or deletes an unreachable route for dst (ours, by protocol): the
 * kernel refuses what it would catch at once (ENETUNREACH). */
int net_route_unreachable(bool add, const struct inet_prefix *dst);

/* An instance's per-uid routes: a table of its own from
 * NET_UID_TABLE_BASE (net_table_pick), reached by rules at
 * NET_UID_RULE_PRIORITY (before main's 32766). */
#define NET_UID_TABLE_BASE 0x73740000u
#define NET_UID_RULE_PRIORITY 7700u

/* Does any route or rule (either family) use table?  1, 0, or -errno. */
int net_table_used(uint32_t table);
/* A table number of base's range (base + 1 .. base + 0xffff, so the ranges
 * of two bases never meet) that nothing uses: base + ifindex first, which
 * is free unless an ifindex above 0xffff wraps onto another instance's or
 * someone else took it, then the next ones (NET_TABLE_TRIES in all).
 * 0 when none is free or the kernel cannot be asked. */
#define NET_TABLE_TRIES 256u
uint32_t net_table_pick(uint32_t base, int ifindex);

/* A route for dst through ifindex in table (> 255; ours by protocol):
 * the table of an instance's per-uid routes. */
int net_route_table(bool add, const struct inet_prefix *dst, int ifindex, uint32_t table);
/* The policy rule "to dst uidrange uid-uid lookup table" at priority
 * (`ip rule'), added or deleted. */
int net_rule_uid(bool add, const struct inet_prefix *dst, uint32_t uid, uint32_t table, uint32_t priority);

/* `sshtun exec': a veth pair, name here and peer created straight in the
 * network namespace peer_netns_fd (no moment with both ends here). */
int net_veth_add(const char *name, const char *peer, int peer_netns_fd);
/* The policy rule "from src lookup table" at priority, added or deleted:
 * an exec namespace's traffic to the instance's table (net_table_pick from
 * NET_EXEC_TABLE_BASE). */
#define NET_EXEC_TABLE_BASE 0x73750000u
#define NET_EXEC_RULE_PRIORITY 7701u
int net_rule_src(bool add, const struct inet_prefix *src, uint32_t table, uint32_t priority);

/* The route the kernel would use to reach addr: out ifindex and gateway
 * (gateway->family 0 when on-link).  For pinning the SSH server's address. */
int net_route_get(const struct inet_prefix *addr, int *ifindex, struct inet_prefix *gateway);

/* The path this machine's own routes give addr, as if sshtun had added
 * none: the longest main-table prefix that holds it, lowest metric first,
 * leaving out sshtun's routes (pins, excludes), any through avoid_ifindex
 * (the tunnel) and dead links.  For following a new gateway: a lookup
 * (net_route_get) would find our own pin or the tunnel's routes. */
int net_route_path(const struct inet_prefix *addr, int avoid_ifindex, int *ifindex,
		   struct inet_prefix *gateway);

/* Calls fn for every route of the main table (connected ones included) with
 * its output interface: the networks this machine uses. */
typedef void (*net_route_dump_fn)(const struct inet_prefix *dst, int ifindex, void *ctx);
int net_route_dump(net_route_dump_fn fn, void *ctx);

/* Calls fn for the next hop of every main-table route that has one, with
 * the route's output interface: the gateways this machine uses. */
typedef void (*net_gateway_fn)(const struct inet_prefix *gateway, int ifindex, void *ctx);
int net_gateway_dump(net_gateway_fn fn, void *ctx);

/* Network changes as they happen: a socket that becomes readable when an
 * address, a route or a link comes or goes (any process's, ours too).
 * net_watch_open returns the fd or a negative errno; net_watch_drain reads
 * what is pending and returns how many of those changes it saw (> 0 also
 * when the kernel dropped some: too many to tell), 0 for none; new_addr
 * (may be NULL) says whether one was a new usable global address. */
int net_watch_open(void);
int net_watch_drain(int fd, bool *new_addr);

/* Is addr one of this machine's addresses (a socket can still be bound to
 * it)?  1, 0, or a negative errno. */
int net_addr_present(const struct inet_prefix *addr);

#endif
