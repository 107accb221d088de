/* The client instance behind api.h.  Internal to src/: engine.c keeps its
 * state and answers the shell; the instance is the TUN, the lease, routes,
 * DNS, the guard and the servers, carried by one or more connections
 * (conn.h).  session.c (above it) runs each connection, keepalive.c the
 * timers, routes.c the routes; client.c starts it all. */
#ifndef SSHTUN_ENGINE_H
#define SSHTUN_ENGINE_H

#include <libssh2.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "bg.h"
#include "chanlink.h"
#include "conn.h"
#include "hello.h"
#include "openssh.h"
#include "pressure.h"
#include "options.h"
#include "roam.h"
#include "servers.h"
#include "ssh.h"
#include "state.h"
#include "steer.h"
#include "tunnel.h"

#define ENGINE_MAX_ROUTES 256
#define ENGINE_MAX_UID_ROUTES 64
#define ENGINE_MAX_CONNS ENGINE_MAX_CONNECTIONS	/* the TUN's queues (tun.h) */
#define ENGINE_FALLBACK_METRIC 1000	/* + ifindex, for a prefix routed elsewhere */

enum engine_state {
	ST_CONNECTING, ST_AUTHENTICATING, ST_NEGOTIATING, ST_UP, ST_RECONNECTING, ST_CLOSED,
};

struct engine {
	struct client_opts *opts;	/* the first server's; the rest are the same */
	struct servers servers;		/* HOST [HOST...]: ssh options per server */
	int lease_from;			/* the server whose pair the TUN has; -1: none */
	struct loop *loop;
	enum engine_state state;
	char state_detail[64];

	/* The connections (conn.h): conns[0] connects first, afresh; the
	 * others join its group with the server's token, each on a queue of
	 * the multi-queue TUN (multi). */
	struct conn conns[ENGINE_MAX_CONNS];
	int nconns;
	bool multi;
	char join[HELLO_ID_LEN + 1];	/* the server's token for this group; "" none */
	char single_why[400];		/* --connections N, yet one: why; "" otherwise */
	unsigned gen;			/* bumped when every connection starts over */
	/* Several: which connection carries each flow (steer.h); a packet
	 * read on one connection's queue may go out over another. */
	struct steer steer;

	char ifname[IFNAMSIZ];
	int ifindex;
	struct hello lease;		/* the server's hello: our addresses */
	char client_id[HELLO_ID_LEN + 1];

	struct inet_prefix routes[ENGINE_MAX_ROUTES];
	int nroutes;
	/* An `sshtun exec' namespace was handed out: its default route is the
	 * tunnel, so replies come from any IPv4 source (control.c sets it). */
	bool exec_any_src;
	/* Full tunnel: a host route keeps the SSH server on its original path. */
	struct inet_prefix pin, pin_gw;
	int pin_ifindex;
	struct inet_prefix excludes[ENGINE_MAX_ROUTES];
	int nexcludes;
	bool dns_on;
	unsigned guard_flags;		/* killswitch.h's KS_ flags in force */
	/* Full tunnel: the halves of a family the server gave us no address
	 * in, unreachable (never out the physical link). */
	struct inet_prefix unreach[4];
	int nunreach;
	struct inet_prefix uid_dst[ENGINE_MAX_UID_ROUTES];	/* route add CIDR --uid */
	unsigned uid_of[ENGINE_MAX_UID_ROUTES];
	int nuid_routes;

	long next_ping;			/* the last ping handle given out */
	long pressure_timer;
	uint64_t up_since_ms;		/* the instance: since it last came up */
	unsigned reconnects;
	uint64_t rate_at_ms, rate_tx_bytes, rate_rx_bytes;
	double tx_rate_bps, rx_rate_bps;

	long tick_timer;
	int exit_code;
	bool quitting;
	engine_state_fn state_fn;
	void *state_ctx;
};

void engine_set_state(struct engine *eng, enum engine_state st, const char *detail);
/* Ends the run: exit code, message already reported by the caller. */
void engine_stop(struct engine *eng, int code);
/* The root side runs an `sshtun exec' command: from now on the tunnel is
 * that namespace's default route, and IPv4 replies come from anywhere. */
void engine_exec_opened(struct engine *eng);

/* Pings through one connection's channel: the shell's and the
 * keepalive's. */
long engine_send_ping(struct conn *c, enum ping_why why, unsigned timeout_ms, engine_ping_fn fn,
		      void *ctx);
void engine_pong(struct conn *c, const uint8_t *payload, uint32_t len);
void engine_fail_pings(struct conn *c);
/* The tunnel's totals: every connection's counters added up. */
void engine_tunnel_totals(const struct engine *eng, struct tunnel_stats *st);

/* routes.c: parse "CIDR"/"default", refuse what would capture the server. */
int routes_parse(struct engine *eng, const char *cidr, struct inet_prefix *out, int *n,
		 char *err, size_t errlen);
/* Pins the SSH server's address to the path it has now; unpin removes it. */
int routes_pin_server(struct engine *eng, char *err, size_t errlen);
void routes_unpin_server(struct engine *eng);
/* Removes every `route exclude' route. */
void routes_unexclude_all(struct engine *eng);
/* excludes[] index of p, or -1. */
int routes_find_exclude(const struct engine *eng, const struct inet_prefix *p);
int routes_unexclude(struct engine *eng, const struct inet_prefix *p, char *err, size_t errlen);
void routes_repath(struct engine *eng);
/* The SSH server's address as a host prefix; -1 through a ProxyCommand. */
int routes_server_prefix(const struct engine *eng, struct inet_prefix *p);
/* What this machine uses (peer_facts.h), to judge what the server offers.
 * Returns 0, or -1 with the reason in err (both the hello's check, which
 * ends the run, and `dns on', which answers a command, use it). */
struct peer_facts;
int routes_peer_facts(const struct engine *eng, struct peer_facts *f, char *err, size_t errlen);

#endif
