/* The client's SSH sessions, one per connection (conn.h), and their tunnel
 * channels: connect (on a thread), negotiate, move packets, notice the end,
 * reconnect.  The engine (engine.h) holds the state; this is what drives
 * it. */
#ifndef SSHTUN_SESSION_H
#define SSHTUN_SESSION_H

struct engine;
struct conn;

/* Each connection slot knows its engine and holds no descriptor yet
 * (before anything can fail). */
void session_prepare(struct engine *eng);
/* Sets up the tunnels and links of eng->nconns connections (once).
 * Returns 0, or -1 with fail() set. */
int session_init(struct engine *eng);
/* Connects on a thread of its own; the loop (prompt, ctl, TUN) goes on.
 * Returns 0, or -1 with fail() set. */
int session_start(struct engine *eng);
/* Watches the TUN queues and the sockets from the engine's loop. */
void session_watch(struct engine *eng);
/* The last close, before the process ends: here, and it waits for a close
 * still running on its thread. */
void session_close_now(struct engine *eng);
/* Closes the TUN queues and frees the connections' buffers. */
void session_free(struct engine *eng);
/* A connection failed or ended: stop, or reconnect after a backoff. */
void session_lost(struct conn *c, int code);
/* engine_reconnect (api.h) is here too: it restarts the session. */

#endif
