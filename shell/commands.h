/* What the shell offers beyond shell.h: a way to stop a waiting command,
 * the man page's COMMANDS section, and the prompt's Ctrl-C.  shell.h stays
 * the contract the rest of sshtun uses.  The shell calls the engine directly
 * through api.h; its tests link a fake engine of their own in its place
 * (tests/unit/shell_fakes.h). */
#ifndef SSHTUN_COMMANDS_H
#define SSHTUN_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "api.h"
#include "shell.h"

/* Ends the command pending for ctx early but properly (unlike shell_cancel,
 * which drops it): stats --watch stops with status 0, ping prints its
 * summary.  Output and done go out as usual.  No-op when none is pending. */
void shell_stop(void *ctx);
/* True when ctx has a command pending. */
bool shell_pending(void *ctx);
/* True when the pending command for ctx is stats --watch (a key stops it). */
bool shell_watching(void *ctx);

/* True when word names a command (first word), for `sshtun ctl NAME CMD`. */
bool shell_is_command(const char *word);
/* True once `quit` ran: the prompt stops reading. */
bool shell_quit_requested(void);

/* The COMMANDS section of sshtun(1) in mdoc, from the command table (the
 * Sh line included), so the man page cannot drift from `help`. */
void shell_print_mdoc(FILE *f);

/* For the engine's SIGINT handler (the prompt sets rl_catch_signals = 0, so
 * Ctrl-C reaches loop_signals): while the prompt is active it clears the
 * typed line, or stops a pending ping / stats --watch, and returns true.
 * Returns false when no prompt is active: the caller then quits as usual.
 * Implemented in shell.c. */
bool shell_prompt_interrupt(void);

/* Readline glue shared by the prompt and `sshtun ctl`'s prompt (shell.c):
 * completion from source (the local interpreter, or a running instance
 * over its control socket), and the history file
 * $XDG_STATE_HOME/sshtun/history (else ~/.local/state/sshtun/history),
 * created 0600 in a 0700 directory. */
typedef void (*shell_source_fn)(const char *line, shell_complete_fn fn, void *ctx);
void shell_rl_setup(shell_source_fn source);
void shell_history_load(void);
/* Adds line unless it is empty or repeats the previous one. */
void shell_history_add(const char *line);
/* The prompt text "sshtun NAME (STATE)> ", coloured (colour codes wrapped
 * in \001..\002 for readline) unless TERM is dumb or NO_COLOR is set. */
void shell_format_prompt(char *out, size_t cap, const char *name, const char *state);

#endif
