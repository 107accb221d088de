/* The helper's user-space mode (`sshtun serve --userspace`): a user-space
 * TCP/IP stack (libslirp) in place of the TUN device, for a login that may
 * not create one.  The client's packets end as the login user's own
 * sockets (TCP, UDP, and ICMP echo through an unprivileged ping socket),
 * as with `ssh -D'; nothing can connect in to the client.
 *
 * The stack runs on a thread of its own.  serve.c sees an ordinary TUN
 * descriptor: one end of a SOCK_SEQPACKET socketpair, one IP packet a datagram,
 * so tunnel.c is the same in both modes.  The thread adds and strips the
 * Ethernet header libslirp works with and answers its ARP and neighbour
 * questions for the client's address.
 *
 * The pair: slirp's host address is the server's end (nothing answers
 * there but ping: it never leads to the server's loopback), its guest
 * address the client's.  The pool's first address is the resolver: port 53
 * there goes to the server's own resolvers. */
#ifndef SSHTUN_USERSPACE_H
#define SSHTUN_USERSPACE_H

#include <stdbool.h>
#include <stddef.h>

#include "hello.h"
#include "pool.h"
#include "prefix.h"

#define USERSPACE_MTU_MAX 65521	/* libslirp's largest interface MTU */

struct uspace;

/* Starts the stack's thread, idle until uspace_begin().  Call it before
 * the sandbox (it is a thread the system call filter must cover, and it
 * restricts its own file access: sandbox_fs_readonly).  Returns 0, or -1
 * with err. */
int uspace_start(struct uspace **out, char *err, size_t errlen);

/* The pair for a client in the pools pool4/pool6 ("none" or "" for no such
 * family): the first /31 (/127) from the second on whose addresses overlap
 * none of avoid (the client's networks).  The stack's virtual network is
 * the pool.  Returns 0 with l's addresses set, or -1 with err. */
int uspace_pick(const char *pool4, const char *pool6, const struct prefix_list *avoid,
		struct lease *l, char *err, size_t errlen);

/* The stack's resolvers for the pair l: one address per family. */
void uspace_resolvers(const char *pool4, const char *pool6, const struct lease *l,
		      struct prefix_list *dns);

/* Brings the stack up for the pair l (from uspace_pick) with this MTU.
 * Returns the descriptor that stands for the TUN, or -1 with err. */
int uspace_begin(struct uspace *u, const char *pool4, const char *pool6, const struct lease *l,
		 unsigned mtu, char *err, size_t errlen);

/* Stops the thread and frees everything (u may be NULL). */
void uspace_stop(struct uspace *u);

/* Can this process open an unprivileged ICMP echo socket
 * (net.ipv4.ping_group_range)?  Without one, ping through the tunnel gets
 * no answer. */
bool uspace_ping_ok(void);

/* Is an IP packet from the client one the stack may act on?  No for what
 * would reach the server's own loopback (127.0.0.0/8, ::1, an IPv4-mapped
 * address), "this host" (0.0.0.0/8, ::), multicast and broadcast, and an
 * ICMPv6 echo to anyone but the server's end (libslirp cannot forward
 * one).  l: the pair. */
bool uspace_packet_ok(const unsigned char *pkt, size_t len, const struct lease *l);

/* Is addr (4 or 16 bytes) one of this machine's own addresses?  The
 * kernel's answer: a UDP socket connected to it (nothing is sent) gets it
 * as its source.  Yes when no socket can be had.  The stack drops the
 * client's packets to such addresses too (cached a while per address): a
 * connection there would arrive over loopback. */
bool uspace_own_address(int family, const void *addr);

#endif
