/* sshtun's root side and the fixed set of requests it answers.
 *
 * The client runs as the user (or as root with no capabilities); what needs
 * root lives in a second, small process: the one `sudo sshtun` began (it
 * forks the user's side), or one the user's process starts through sudo.
 * The two talk over a SOCK_SEQPACKET socketpair: one request, one answer,
 * both of a fixed size, in order.  As in OpenSSH's monitor, each request
 * has a handler on the root side (priv_root.c, a table) and a wrapper on
 * the user's side (priv_wrap.c).  Every request names the instance's
 * interface and is refused if it names another; routes go through that
 * interface only; the pin and the excluded prefixes follow the path the
 * kernel itself uses to reach the server.  The root side keeps the state
 * file and, when the socketpair closes, undoes everything and exits. */
#ifndef SSHTUN_PRIV_H
#define SSHTUN_PRIV_H

#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dns.h"
#include "hello.h"
#include "killswitch.h"
#include "state.h"

#define PRIV_ROOT_SUBCOMMAND "__root-side"	/* hidden: what sudo runs */
#define PRIV_MAX_EXCLUDES 256
#define PRIV_METRIC_MAX 100000u
#define PRIV_MAX_UID_ROUTES 64

enum priv_op {
	PRIV_OPEN = 1,		/* name, ifname; arg: queues (0 or 1: one; 2..TUN_MAX_QUEUES:
				 * a multi-queue TUN) -> the TUN fd (its first queue), name, index */
	PRIV_LINK_UP,		/* arg: MTU */
	PRIV_ADDR_ADD,		/* a: our end of the pair (/31 or /127) */
	PRIV_ADDR_DEL,
	PRIV_ROUTE_ADD,		/* a: prefix through our interface; arg: metric (0: none) */
	PRIV_ROUTE_DEL,
	PRIV_PIN,		/* a: the SSH server's address -> the path pinned */
	PRIV_UNPIN,
	PRIV_EXCLUDE,		/* a: prefix kept on the original path; b: the server */
	PRIV_UNEXCLUDE_ALL,
	PRIV_UNEXCLUDE,		/* a: one excluded prefix back to normal routing */
	PRIV_REPATH,		/* a: the server: pin and excludes follow its path now */
	PRIV_DNS_APPLY,		/* dns -> msg: the method used */
	PRIV_DNS_REVERT,
	PRIV_DETACH,		/* -f: the instance left the terminal */
	PRIV_GUARD,		/* arg: KS_ flags | port << 16; a: a server to allow (family 0: none) */
	PRIV_UNREACH,		/* arg: 1 add, 0 del; a: a half (/1) the tunnel cannot carry */
	PRIV_UID_ROUTE_ADD,	/* a: prefix; arg: uid: that uid's traffic to it, through us */
	PRIV_UID_ROUTE_DEL,
	PRIV_EXEC,		/* fd: an `sshtun exec' connection; the root side runs its command */
	PRIV_QUEUE,		/* --connections: one more queue of our multi-queue TUN -> its fd */
	PRIV_OP_END
};

struct priv_req {
	uint32_t op;
	int32_t ifindex;	/* the instance's interface (not for PRIV_OPEN) */
	uint32_t arg;
	struct inet_prefix a, b;
	char name[64];		/* PRIV_OPEN: the instance */
	char ifname[IFNAMSIZ];	/* PRIV_OPEN: wanted name or pattern */
	struct dns_config dns;
};

struct priv_resp {
	int32_t rc;		/* 0 or a negative errno */
	int32_t exit_code;	/* rc < 0: the exit status it means (SPEC.md) */
	int32_t ifindex;	/* PRIV_OPEN: ours; PIN, EXCLUDE: the path's */
	struct inet_prefix gw;	/* PIN, EXCLUDE: the path's gateway */
	char ifname[IFNAMSIZ];
	char msg[300];		/* rc < 0: why; PRIV_DNS_APPLY: the method */
};

/* ---- the root side (priv_root.c) ---- */

struct priv_root {
	int fd;			/* our end of the socketpair */
	int tun_fd;		/* our copy: the interface is ours while we live */
	bool multi;		/* we created it multi-queue (PRIV_OPEN's arg > 1) */
	int ifindex;
	char ifname[IFNAMSIZ];
	char state_path[300];	/* "" : /run/sshtun/NAME.state from PRIV_OPEN */
	struct state st;
	struct inet_prefix pin, pin_gw;
	int pin_ifindex;
	struct inet_prefix excludes[PRIV_MAX_EXCLUDES];
	int exclude_ifindex[PRIV_MAX_EXCLUDES];	/* the path each was added on */
	struct inet_prefix exclude_gw[PRIV_MAX_EXCLUDES];
	int nexcludes;
	bool dns_on, detached;
	const char *dns_method;
	struct killswitch ks;	/* ks.table "": none; flags 0 at the end: a clean exit */
	struct inet_prefix unreach[4];	/* unreachable halves (PRIV_UNREACH) */
	int nunreach;
	struct priv_uid_route {
		struct inet_prefix dst;
		uint32_t uid;
	} uid_routes[PRIV_MAX_UID_ROUTES];
	int nuid_routes;
	uint32_t uid_table;	/* their routing table, 0: none picked yet */
	uid_t peer_uid;		/* the other side's, when the socketpair was made */
	int in_fd;		/* the descriptor that came with the request, -1: none */
	struct inet_prefix dns1;	/* the tunnel's first resolver (family 0: none), for exec */
	struct priv_exec {		/* execns.c: the exec namespace */
		int ns_fd;		/* -1: none */
		int veth;		/* our end's ifindex */
		char table[32];		/* nft table "": none */
		char resolv[320];	/* the namespace's resolv.conf, "" : none */
		struct inet_prefix host, peer;
		uint32_t rt_table;	/* its routing table (net_table_pick) */
		int n;
		int pid[32], pidfd[32];	/* the managers (EXECNS_MAX) */
	} ex;
};

/* fd: the socketpair; state_path: NULL to name it from the instance. */
void priv_root_init(struct priv_root *r, int fd, const char *state_path);
/* Reads one request and answers it.  1: answered; 0: the other side has
 * gone; -1: interrupted (EINTR), call again. */
int priv_root_step(struct priv_root *r);
/* Answers until the other side goes; then priv_root_undo. */
void priv_root_serve(struct priv_root *r, volatile sig_atomic_t *stop);
/* Undoes everything this instance set up and removes the state file. */
void priv_root_undo(struct priv_root *r);
/* `sshtun __root-side`, as sudo runs it: the socket is standard input. */
int priv_root_main(int argc, char **argv);

/* priv_start.c, for `sudo sshtun` (or root): forks the user's side and
 * drops it to t.  Returns the child's pid in the parent (the root side,
 * root_fd its end), 0 in the child (attached), -1 with fail(). */
struct drop_target;
pid_t priv_split(const struct drop_target *t, int *root_fd);
/* The parent's part: answers until the user's side ends, undoes, and
 * returns the user's side's exit status. */
int priv_root_run(int fd, const char *state_path);

/* ---- the user's side (priv_wrap.c) ---- */

/* Uses fd (the forked user side of `sudo sshtun`). */
void priv_attach(int fd);
/* Starts the root side through sudo (as the user).  0 or -1 with fail(). */
int priv_spawn_sudo(int verbosity);
/* The root side has ended (priv_fd() readable with no answer owed). */
bool priv_gone(void);
/* The socketpair, for the loop to notice the root side ending; -1: none. */
int priv_fd(void);
void priv_close(void);

/* Each returns 0 or a negative errno; err gets the reason when given. */
int priv_open(const char *name, char ifname[IFNAMSIZ], int *ifindex);	/* fd, or -1 with fail() */
/* The same with queues: 1 as priv_open, 2..TUN_MAX_QUEUES a multi-queue
 * TUN whose first queue is the fd returned (--connections). */
int priv_open_mq(const char *name, char ifname[IFNAMSIZ], int *ifindex, unsigned queues);
/* One more queue of the instance's multi-queue TUN, ifindex the one
 * priv_open_mq gave: its fd (non-blocking, close-on-exec), or -1 with
 * fail() set.  The root side refuses a single-queue instance, another
 * interface, and a device that has TUN_MAX_QUEUES open (attached or
 * detached: a queue closed here can be asked for again).  Never close
 * the first queue while the instance runs (the root side holds a copy
 * of it, so it would stay attached with nobody reading it): detach it. */
int priv_tun_queue(int ifindex);
int priv_link_up(unsigned mtu);
int priv_addr(bool add, const struct inet_prefix *local);
int priv_route(bool add, const struct inet_prefix *dst, unsigned metric);
int priv_pin(const struct inet_prefix *server, int *ifindex, struct inet_prefix *gw, char *err,
	     size_t errlen);
void priv_unpin(void);
int priv_exclude(const struct inet_prefix *p, const struct inet_prefix *server, char *err, size_t errlen);
void priv_unexclude_all(void);
int priv_unexclude(const struct inet_prefix *p, char *err, size_t errlen);
/* Before a reconnect: the pin and the excludes move to the path the
 * machine's own routes now give the server (a new gateway, a new link).
 * ifindex/gw: that path.  0, or a negative errno with err set. */
int priv_repath(const struct inet_prefix *server, int *ifindex, struct inet_prefix *gw, char *err,
		size_t errlen);
int priv_dns_apply(const struct dns_config *cfg, char *err, size_t errlen);
void priv_dns_revert(void);
const char *priv_dns_method(void);
void priv_detach(void);
/* The guard table (killswitch.h): sets its flags and, with server (may be
 * NULL), allows one more SSH server's address and port.  flags 0 removes
 * it: a clean exit says so; without it the table outlives the instance. */
/* A full tunnel's half of a family the server does not carry: made
 * unreachable (add) or given back (del). */
int priv_unreach(bool add, const struct inet_prefix *half);
/* uid's traffic to dst through the tunnel (`ip rule ... uidrange'); a user's
 * instance may ask for its own uid only.  0 or a negative errno (err). */
int priv_uid_route(bool add, const struct inet_prefix *dst, uint32_t uid, char *err, size_t errlen);
/* Hands an `sshtun exec' connection (taken: closed here) to the root side,
 * which runs its command.  0 or a negative errno (err). */
int priv_exec(int conn, char *err, size_t errlen);
int priv_guard(unsigned flags, const struct inet_prefix *server, unsigned port, char *err, size_t errlen);

#endif
