/* The narrow surface the shell (shell/) uses to reach a running client.  The
 * shell never sees libssh2, sockets or netlink; the engine never formats
 * output for people.  Functions that can fail return 0, or -1 with a one-line
 * reason in err (which names the bad value). */
#ifndef SSHTUN_API_H
#define SSHTUN_API_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct engine;
struct loop;

#define ENGINE_ADDR_STRLEN 48	/* an IPv6 address with room to spare */
#define ENGINE_CIDR_STRLEN 52

#define ENGINE_MAX_SERVERS 8
#define ENGINE_MAX_CONNECTIONS 8	/* --connections */

/* One server of the list (sshtun HOST [HOST...]). */
struct engine_server {
	char host[256];		/* as given on the command line */
	const char *state;	/* standby connecting up failed busy */
	char error[200];	/* the last failure; "" when none */
};

struct engine_status {
	const char *state;	/* connecting authenticating negotiating up reconnecting closed */
	char state_detail[64];	/* for the prompt: "up", "reconnecting in 3s" */
	char server[300];	/* "host:port": the one in use, or being tried */
	struct engine_server servers[ENGINE_MAX_SERVERS];	/* the list, as given */
	unsigned nservers;
	char ifname[IFNAMSIZ];
	char local_addr[ENGINE_ADDR_STRLEN];	/* "" when none */
	char peer_addr[ENGINE_ADDR_STRLEN];
	char local_addr6[ENGINE_ADDR_STRLEN];
	char peer_addr6[ENGINE_ADDR_STRLEN];
	const char *mode;	/* "sshtun" or "openssh" */
	const char *server_stack;	/* the server's side: "tun", "userspace" (its
				 * user-space network stack), "" before a hello */
	char compression[32];	/* "auto", "off", "6", "zlib@openssh.com" ... */
	unsigned mtu;
	uint64_t uptime_s;	/* since the tunnel last came up; 0 when not up */
	unsigned reconnects;
	bool kill_switch;	/* --kill-switch's table is in place */
	bool dns_guard;		/* DNS outside the tunnel blocked */
	unsigned connections;	/* --connections N */
	unsigned connections_up;
	char connections_note[400];	/* why only one runs; "" otherwise */
};

/* One connection of --connections N. */
struct engine_conn_stats {
	const char *state;	/* up connecting negotiating waiting down */
	char bind[64];		/* its -b (address or interface); "" none */
	char local[ENGINE_ADDR_STRLEN + 8];	/* "ADDR:PORT" it leaves from; "" when not connected */
	uint64_t tx_bytes, rx_bytes, tx_packets, rx_packets;	/* IP, as the totals */
	double rtt_ms;		/* -1 when not measured */
	unsigned reconnects;	/* times it came up again */
	bool attached;		/* the kernel steers flows to its TUN queue */
};

struct engine_stats {
	uint64_t tx_packets, rx_packets;
	uint64_t tx_bytes, rx_bytes;		/* IP bytes, before compression */
	uint64_t tx_wire_bytes, rx_wire_bytes;	/* bytes on the channel */
	uint64_t drops;
	uint64_t tx_compressed, tx_uncompressed;	/* packets sent deflated, and not */
	/* Offloads (vnet.h): GSO super-packets carried each way, those cut
	 * here for a peer without GSO, and the server's packets whose
	 * virtio-net header was refused. */
	uint64_t gso_tx_frames, gso_rx_frames, gso_split, gso_bad;
	char offload[40];	/* what the TUN offloads now: "csum,tcp4,...", "off" */
	/* The fair queue toward the server (fq.h). */
	double fq_delay_ms, fq_delay_peak_ms;	/* wait now (0 when empty), longest */
	uint64_t fq_drops;			/* CoDel and cap drops */
	unsigned fq_flows;			/* flows with packets queued */
	double rtt_ms, rtt_avg_ms;		/* -1 when not measured yet */
	uint64_t rx_window;			/* credit we keep open for the server (window.h); 0: none */
	double tx_rate_bps, rx_rate_bps;	/* IP bits per second, last interval */
	unsigned reconnects;
	uint64_t uptime_s;
	struct engine_conn_stats conns[ENGINE_MAX_CONNECTIONS];
	unsigned nconns;
};

void engine_status(struct engine *eng, struct engine_status *st);
void engine_stats(struct engine *eng, struct engine_stats *st);

/* Routes this instance added, as "CIDR" strings; returns how many (at most
 * max are written). */
size_t engine_routes(struct engine *eng, char (*out)[ENGINE_CIDR_STRLEN], size_t max);
/* cidr: "198.51.100.0/24", "2001:db8::/32", a bare address, or "default". */
int engine_route_add(struct engine *eng, const char *cidr, char *err, size_t errlen);
int engine_route_del(struct engine *eng, const char *cidr, char *err, size_t errlen);

/* One uid's traffic to cidr ("default": all of it) through the tunnel, by
 * policy routing; the rest of the machine keeps its routes.  A user's
 * instance may name its own uid only. */
int engine_uid_route(struct engine *eng, bool add, const char *cidr, unsigned uid, char *err, size_t errlen);
/* The per-uid routes: their CIDRs in out, uids in uids; returns how many. */
size_t engine_uid_routes(struct engine *eng, char (*out)[ENGINE_CIDR_STRLEN], unsigned *uids, size_t max);

/* Sends one ping through the tunnel's own channel; fn is called exactly once
 * from the loop with the round trip in ms, or rtt_ms < 0 on timeout (after
 * timeout_ms) or when the tunnel is not up.  Returns a handle for
 * engine_ping_cancel (call it if ctx dies first), or -1 with err. */
typedef void (*engine_ping_fn)(void *ctx, double rtt_ms);
long engine_ping(struct engine *eng, unsigned timeout_ms, engine_ping_fn fn, void *ctx,
		 char *err, size_t errlen);
void engine_ping_cancel(struct engine *eng, long handle);

/* Events (state changes, reconnects, routes) as one-line JSON objects:
 * engine_event_head is where a new watcher starts; engine_event_next copies
 * the event at *seq to out and advances it (1), or returns 0 when there is
 * none yet.  A watcher that fell behind gets a "lost" event first. */
uint64_t engine_event_head(struct engine *eng);
int engine_event_next(struct engine *eng, uint64_t *seq, char *out, size_t cap);

/* Keeps cidr on the path the SSH server itself takes (not the tunnel). */
int engine_route_exclude(struct engine *eng, const char *cidr, char *err, size_t errlen);

struct engine_dns {
	bool active;		/* applied now */
	const char *method;	/* "resolved", "resolvconf", "file", "" */
	char servers[160];	/* offered by the server, comma list */
	char domains[512];	/* offered, or --dns-domain's for split DNS */
	bool split;
};
void engine_dns(struct engine *eng, struct engine_dns *d);
/* Applies (on) or removes (off) the server's DNS settings. */
int engine_dns_set(struct engine *eng, bool on, char *err, size_t errlen);

/* Drops the SSH connection and connects again: to host (one of the list's,
 * as given or its HostName), or to the same server when host is NULL. */
int engine_reconnect(struct engine *eng, const char *host, char *err, size_t errlen);
int engine_set_compress(struct engine *eng, const char *mode, char *err, size_t errlen);
/* Ends the run with exit code 0 once the current command has answered. */
void engine_quit(struct engine *eng);
struct loop *engine_loop(struct engine *eng);

/* State changes, for the prompt (called by the engine). */
typedef void (*engine_state_fn)(void *ctx, const struct engine_status *st);
void engine_on_state(struct engine *eng, engine_state_fn fn, void *ctx);

#endif
