/* One SSH session of the client and its tunnel channel: connect (on a
 * thread), negotiate, move packets, notice the end, reconnect.  The engine
 * (engine.h) holds the state; this is what drives it. */
#ifndef SSHTUN_SESSION_H
#define SSHTUN_SESSION_H

struct engine;

/* Sets up the tunnel and both links (once).  Returns 0, or -1 with fail()
 * set. */
int session_init(struct engine *eng);
/* Connects on a thread of its own; the loop (prompt, ctl, TUN) goes on.
 * Returns 0, or -1 with fail() set. */
int session_start(struct engine *eng);
/* Watches the TUN and the socket from the engine's loop. */
void session_watch(struct engine *eng);
/* The last close, before the process ends: here, and it waits for a close
 * still running on its thread. */
void session_close_now(struct engine *eng);
/* The session failed or ended: stop, or reconnect after a backoff. */
void session_lost(struct engine *eng, int code);
/* engine_reconnect (api.h) is here too: it restarts the session. */

#endif
