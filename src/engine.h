/* The client instance behind api.h.  Internal to src/: engine.c keeps its
 * state and answers the shell; session.c (above it) runs the connection,
 * keepalive.c its timers, routes.c the routes; client.c starts it all. */
#ifndef SSHTUN_ENGINE_H
#define SSHTUN_ENGINE_H

#include <libssh2.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "bg.h"
#include "chanlink.h"
#include "hello.h"
#include "openssh.h"
#include "pressure.h"
#include "options.h"
#include "roam.h"
#include "servers.h"
#include "ssh.h"
#include "state.h"
#include "tunnel.h"

#define ENGINE_MAX_ROUTES 256
#define ENGINE_MAX_PINGS 32
#define ENGINE_MAX_UID_ROUTES 64
#define ENGINE_FALLBACK_METRIC 1000	/* + ifindex, for a prefix routed elsewhere */

enum engine_state {
	ST_CONNECTING, ST_AUTHENTICATING, ST_NEGOTIATING, ST_UP, ST_RECONNECTING, ST_CLOSED,
};

/* What the connect thread works on.  It is the thread's alone while the
 * thread runs; on_connected takes it over on the loop's thread.  The thread
 * touches nothing else of the engine. */
struct session_job {
	const struct client_opts *opts;	/* read only */
	struct ssh_conn conn;
	LIBSSH2_CHANNEL *channel;
	bool openssh;			/* stock sshd's tun@openssh.com channel */
	struct hello lease;		/* stock sshd: in, the pair a reconnect keeps */
	unsigned mtu;			/* stock sshd */
	char debug_msg[OSSH_DEBUG_MAX];	/* sshd's debug messages, while the session lives */
	bool push;			/* in: run the pushed copy (push.h), sending it if need be */
	bool pushed;			/* out: it runs the pushed copy */
	/* A full tunnel: the pin moves to the address tried (in: the one
	 * pinned now; out: where it is when moved). */
	bool pin_follow, pin_moved;
	struct inet_prefix pin, pin_gw;
	int pin_ifindex;
};

/* A session being closed, on a thread of its own: with a dead peer each
 * polite step waits out its timeout. */
struct session_end {
	struct ssh_conn conn;
	LIBSSH2_CHANNEL *channel;
};

struct engine;

struct ping_slot {
	struct engine *eng;
	long handle;		/* 0: free */
	uint32_t id;
	uint64_t sent_us;
	long timer;
	engine_ping_fn fn;	/* NULL: our own keepalive */
	void *ctx;
};

struct engine {
	struct client_opts *opts;	/* the first server's; the rest are the same */
	struct servers servers;		/* HOST [HOST...]: ssh options per server */
	int lease_from;			/* the server whose pair the TUN has; -1: none */
	bool busy;			/* the helper refused: at its limit (ERROR flag) */
	struct roam roam;		/* the local address and path the connection uses */
	struct loop *loop;
	enum engine_state state;
	char state_detail[64];

	struct ssh_conn conn;
	struct bg_job connector;	/* the connect in progress, on its thread */
	struct session_job job;		/* the connect thread's, while it runs */
	struct bg_job closer;		/* the last session's close, on its thread */
	struct session_end ending;	/* the closer's, while it runs */
	LIBSSH2_CHANNEL *channel;	/* the session's, in either mode */
	bool openssh;			/* stock sshd's tun@openssh.com channel */
	bool pushed;			/* the helper is our pushed copy (--push): again so */
	uint64_t eof_deadline_ms;	/* the helper ended early: its exit status by then */
	struct chan_link chan;		/* the link to our helper */
	struct ossh_link ossh;		/* the link to stock sshd */
	struct tunnel t;
	size_t lowat;			/* TCP_NOTSENT_LOWAT set on conn.sock; 0: none yet */

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

	struct ping_slot pings[ENGINE_MAX_PINGS];
	long next_ping;
	unsigned missed_pings;
	uint64_t last_ping_ms;
	double rtt_ms, rtt_sum;
	uint64_t rtt_count;

	struct pressure pressure;	/* for --compress auto */
	long pressure_timer;
	uint64_t pressure_bytes;	/* tx + rx at the last look */
	uint64_t up_since_ms;
	unsigned reconnects;
	unsigned reconnect_attempt;	/* since the last time up: the backoff */
	uint64_t rate_at_ms, rate_tx_bytes, rate_rx_bytes;
	double tx_rate_bps, rx_rate_bps;

	long hello_timer, tick_timer, reconnect_timer;
	uint64_t reconnect_at_ms;	/* when reconnect_timer fires */
	uint64_t net_retry_ms;		/* the last try a network change brought forward */
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

/* Pings through our channel: the shell's and the keepalive's. */
long engine_send_ping(struct engine *eng, unsigned timeout_ms, engine_ping_fn fn, void *ctx);
void engine_pong(struct engine *eng, const uint8_t *payload, uint32_t len);
void engine_fail_pings(struct engine *eng);

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
