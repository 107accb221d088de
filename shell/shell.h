/* The command interpreter: one command table drives parsing, argument
 * checking, help, completion and the man page's COMMANDS section.  Four ways
 * in share shell_drive(): the readline prompt, `sshtun ctl` (through the
 * control socket), -c COMMAND, and lines on a non-terminal stdin. */
#ifndef SSHTUN_SHELL_H
#define SSHTUN_SHELL_H

#include <stdbool.h>
#include <stddef.h>

struct engine;
struct loop;

/* Where one command's answer goes.  write: stream 1 = output, 2 = error
 * lines.  done: called exactly once with the command's status (0 ok, 1
 * failed, 2 usage), possibly later from the loop for commands that wait
 * (ping, stats --watch). */
struct shell_out_ops {
	void (*write)(void *ctx, int stream, const char *text, size_t len);
	void (*done)(void *ctx, int status);
};

#define SHELL_PENDING (-1)

/* Runs one line and calls done exactly once: before it returns, or later
 * from the loop for a command that waits.  Returns the status, or
 * SHELL_PENDING when the command went on waiting (done may have come
 * already, when it finished at once: shell_drive tells the two apart).  A
 * pending command is abandoned (its done never called, its output dropped)
 * by shell_cancel(ctx). */
int shell_run(struct engine *eng, const char *line, const struct shell_out_ops *ops, void *ctx);
void shell_cancel(void *ctx);

/* The one way the four callers run their lines, one at a time.
 * shell_drive returns the status of a command that finished before it
 * returned; for one that waits it returns SHELL_PENDING, and out->done comes
 * later from the loop, never from inside shell_drive, so a done handler may
 * run the caller's next line at once.  The driver is the ctx of
 * shell_pending, shell_stop and shell_cancel. */
struct shell_driver {
	struct engine *eng;
	const struct shell_out_ops *out;	/* done: only for commands that waited */
	void *ctx;			/* out's */
	bool in_run, finished, waiting;
	int status;
};

void shell_driver_init(struct shell_driver *d, struct engine *eng, const struct shell_out_ops *out,
		       void *ctx);
int shell_drive(struct shell_driver *d, const char *line);

/* Completion candidates for the word under the cursor of line (text typed so
 * far).  Calls fn for each; used by readline and by `ctl` over the socket. */
typedef void (*shell_complete_fn)(void *ctx, const char *word);
void shell_complete(struct engine *eng, const char *line, shell_complete_fn fn, void *ctx);

/* The readline prompt on the terminal, in callback mode inside the loop.
 * EOF (Ctrl-D) and `quit` call engine_quit(). */
int shell_prompt_start(struct engine *eng, struct loop *loop, const char *name);
void shell_prompt_stop(void);

/* Lines from a non-terminal stdin, run one after another; EOF quits. */
int shell_stdin_start(struct engine *eng, struct loop *loop);

#endif
