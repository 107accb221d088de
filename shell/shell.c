/* The readline prompt, in callback mode inside the loop so that packets keep
 * moving while the user types (as bluez' shell does it), and lines from a
 * stdin that is not a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "commands.h"
#include "common.h"
#include "fail.h"
#include "loop.h"
#include "shell.h"

#define HISTORY_MAX	1000
#define CANDS_MAX	512

/* --- history --- */

static char history_path[PATH_MAX];

/* mkdir -p, each new directory with mode. */
static int mkdirs(char *path, mode_t mode)
{
	for (char *p = path + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		int rc = mkdir(path, mode);

		*p = c;
		if (rc < 0 && errno != EEXIST)
			return -1;
		if (!c)
			return 0;
	}
}

static bool history_init(void)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX - sizeof("/history")];
	int n, fd;

	if (history_path[0])
		return true;
	if (state && state[0] == '/') {	/* XDG: a relative value is invalid */
		n = snprintf(dir, sizeof(dir), "%s/sshtun", state);
	} else {
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());

			home = pw ? pw->pw_dir : NULL;
		}
		if (!home)
			return false;
		n = snprintf(dir, sizeof(dir), "%s/.local/state/sshtun", home);
	}
	if (n < 0 || (size_t)n >= sizeof(dir) || mkdirs(dir, 0700) < 0)
		return false;
	snprintf(history_path, sizeof(history_path), "%s/history", dir);
	/* append_history() will not create the file, and must not make it
	 * readable by others when it does. */
	fd = open(history_path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		history_path[0] = '\0';
		return false;
	}
	if (fchmod(fd, 0600) < 0) {
		/* not ours to change: use it as it is */
	}
	close(fd);
	return true;
}

void shell_history_load(void)
{
	using_history();
	stifle_history(HISTORY_MAX);
	if (!history_init())
		return;
	read_history(history_path);
	history_truncate_file(history_path, HISTORY_MAX);
}

void shell_history_add(const char *line)
{
	HIST_ENTRY *last = history_length ? history_get(history_base + history_length - 1) : NULL;

	if (!line[strspn(line, " \t")] || (last && !strcmp(last->line, line)))
		return;
	add_history(line);
	if (history_path[0])
		append_history(1, history_path);
}

/* --- completion glue --- */

static shell_source_fn rl_source;
static char *cands[CANDS_MAX];
static size_t ncands, next_cand;

static void collect(void *ctx, const char *word)
{
	char *w;

	if (ncands < CANDS_MAX && (w = strdup(word)))
		cands[ncands++] = w;
}

/* Hands the collected words to readline, which frees them. */
static char *generate(const char *text, int state)
{
	return next_cand < ncands ? cands[next_cand++] : NULL;
}

static char **attempt(const char *text, int start, int end)
{
	char line[CTL_LINE_MAX];

	rl_attempted_completion_over = 1;	/* never file names */
	while (next_cand < ncands)
		free(cands[next_cand++]);
	ncands = next_cand = 0;
	if (end < 0 || (size_t)end >= sizeof(line))
		return NULL;
	memcpy(line, rl_line_buffer, (size_t)end);
	line[end] = '\0';
	rl_source(line, collect, NULL);
	return rl_completion_matches(text, generate);
}

static char *no_files(const char *text, int state)
{
	return NULL;
}

void shell_rl_setup(shell_source_fn source)
{
	static char breaks[] = " \t";	/* the tokenizer's blanks, nothing else */

	rl_source = source;
	rl_readline_name = "sshtun";
	rl_attempted_completion_function = attempt;
	rl_completion_entry_function = no_files;
	rl_completer_word_break_characters = breaks;
}

/* --- the prompt --- */

static void clean(char *out, size_t cap, const char *in)
{
	size_t i = 0;

	for (; in && in[i] && i + 1 < cap; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[i] = '\0';
}

void shell_format_prompt(char *out, size_t cap, const char *name, const char *state)
{
	const char *term = getenv("TERM");
	bool colour = term && *term && strcmp(term, "dumb") && !getenv("NO_COLOR") &&
		      isatty(STDOUT_FILENO);
	const char *hue = !strncmp(state, "up", 2) ? "32" : !strncmp(state, "closed", 6) ? "31" : "33";
	char n[64], s[64];

	clean(n, sizeof(n), name);
	clean(s, sizeof(s), state);
	if (!*s)
		snprintf(out, cap, colour ? "\001\033[1m\002sshtun %s\001\033[0m\002> " :
			 "sshtun %s> ", n);
	else if (colour)
		snprintf(out, cap, "\001\033[1m\002sshtun %s\001\033[0m\002 (\001\033[%sm\002%s"
			 "\001\033[0m\002)> ", n, hue, s);
	else
		snprintf(out, cap, "sshtun %s (%s)> ", n, s);
}

static struct {
	bool active;		/* between start and stop */
	bool installed;		/* the readline handler is */
	bool busy;		/* a command is pending: keys go to it */
	bool in_run;		/* inside the line handler: readline redraws */
	bool raw;		/* saved holds the terminal to restore */
	struct shell_driver drv;
	struct engine *eng;
	struct loop *loop;
	char name[64];
	char prompt[256];
	struct termios saved;
} P;

/* Prints text above the line being typed: clear the visible line, print,
 * draw prompt and typed text again below. */
static void above(FILE *stream, const char *text, size_t len)
{
	bool live = P.installed && !P.in_run;

	if (live) {
		rl_clear_visible_line();
		fflush(rl_outstream);
	}
	fwrite(text, 1, len, stream);
	if (len && text[len - 1] != '\n')
		fputc('\n', stream);
	fflush(stream);
	if (live)
		rl_forced_update_display();
}

static void prompt_write(void *ctx, int stream, const char *text, size_t len)
{
	above(stream == 2 ? stderr : stdout, text, len);
}

static void on_line(char *line);

static void install(void)
{
	rl_callback_handler_install(P.prompt, on_line);
	P.installed = true;
}

static void uninstall(void)
{
	if (P.installed)
		rl_callback_handler_remove();
	P.installed = false;
}

/* While a command is pending there is no line editing; the keys are read
 * raw so that one key stops stats --watch without waiting for Enter. */
static void keys_raw(void)
{
	struct termios t;

	if (P.raw || tcgetattr(STDIN_FILENO, &P.saved) < 0)
		return;
	t = P.saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	P.raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
}

static void keys_restore(void)
{
	if (P.raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &P.saved);
	P.raw = false;
}

/* A command that waited has finished (from the loop). */
static void prompt_done(void *ctx, int status)
{
	if (!P.busy)
		return;
	P.busy = false;
	keys_restore();	/* before install, which saves the mode to go back to */
	if (P.active && !shell_quit_requested())
		install();
}

static const struct shell_out_ops prompt_ops = { prompt_write, prompt_done };

static void on_line(char *line)
{
	int st;

	if (!line) {	/* Ctrl-D */
		fputc('\n', rl_outstream);
		uninstall();
		engine_quit(P.eng);
		return;
	}
	shell_history_add(line);
	P.in_run = true;
	st = shell_drive(&P.drv, line);
	P.in_run = false;
	free(line);
	if (shell_quit_requested()) {
		uninstall();
	} else if (st == SHELL_PENDING) {
		uninstall();
		P.busy = true;
		keys_raw();
	}
}

static void on_prompt_stdin(struct loop *loop, int fd, short revents, void *ctx)
{
	char keys[64];
	ssize_t n;

	if (P.busy) {
		n = read(fd, keys, sizeof(keys));
		if (n > 0 && shell_watching(&P.drv))
			shell_stop(&P.drv);
		else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			goto gone;
		return;
	}
	if (!(revents & POLLIN))
		goto gone;
	rl_callback_read_char();
	return;
gone:
	/* The terminal went away: as good as Ctrl-D. */
	loop_unwatch(loop, fd);
	uninstall();
	engine_quit(P.eng);
}

static void on_state(void *ctx, const struct engine_status *st)
{
	if (!P.active)
		return;
	shell_format_prompt(P.prompt, sizeof(P.prompt), P.name,
			    st->state_detail[0] ? st->state_detail : st->state ? st->state : "");
	if (P.installed && !P.in_run) {
		rl_clear_visible_line();
		rl_set_prompt(P.prompt);
		rl_forced_update_display();
	}
}

static void on_log(enum log_level level, const char *line, void *ctx)
{
	char buf[1200];
	int n = snprintf(buf, sizeof(buf), "%s%s\n", level == LOG_ERROR ? "error: " :
			 level == LOG_WARN ? "warning: " : "", line);

	if (n > 0)
		above(stderr, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void local_source(const char *line, shell_complete_fn fn, void *ctx)
{
	shell_complete(P.eng, line, fn, ctx);
}

/* For exit() paths that never reach shell_prompt_stop(): the terminal must
 * not be left without echo. */
static void restore_tty(void)
{
	uninstall();
	keys_restore();
}

int shell_prompt_start(struct engine *eng, struct loop *loop, const char *name)
{
	static bool registered;
	struct engine_status st;

	if (P.active)
		return 0;
	P.eng = eng;
	P.loop = loop;
	shell_driver_init(&P.drv, eng, &prompt_ops, NULL);
	clean(P.name, sizeof(P.name), name);
	memset(&st, 0, sizeof(st));
	engine_status(eng, &st);
	shell_format_prompt(P.prompt, sizeof(P.prompt), P.name,
			    st.state_detail[0] ? st.state_detail : st.state ? st.state : "");
	shell_rl_setup(local_source);
	shell_history_load();
	/* Ctrl-C is the loop's signal; the engine hands it to
	 * shell_prompt_interrupt(). */
	rl_catch_signals = 0;
	if (loop_watch(loop, STDIN_FILENO, POLLIN, on_prompt_stdin, NULL) < 0)
		return fail(EXIT_ERROR, "cannot watch the terminal (too many open descriptors)");
	if (!registered && atexit(restore_tty) == 0)
		registered = true;
	engine_on_state(eng, on_state, NULL);
	log_set_sink(on_log, NULL);
	P.active = true;
	install();
	return 0;
}

void shell_prompt_stop(void)
{
	if (!P.active)
		return;
	P.active = false;
	log_set_sink(NULL, NULL);
	if (P.installed) {
		uninstall();
		fputc('\n', rl_outstream);	/* leave the prompt's line */
		fflush(rl_outstream);
	}
	if (P.busy)
		shell_cancel(&P.drv);
	P.busy = false;
	keys_restore();
	loop_unwatch(P.loop, STDIN_FILENO);
}

bool shell_prompt_interrupt(void)
{
	if (!P.active || (!P.installed && !P.busy))
		return false;
	if (P.busy) {
		fputs("^C\n", stdout);
		shell_stop(&P.drv);
		return true;
	}
	/* As bash does: show ^C, forget the line, a fresh prompt. */
	rl_callback_sigcleanup();
	rl_point = rl_end;
	rl_redisplay();
	fputs("^C", rl_outstream);
	rl_crlf();
	rl_replace_line("", 1);
	rl_on_new_line();
	rl_redisplay();
	return true;
}

/* --- lines from a stdin that is not a terminal --- */

static struct {
	struct engine *eng;
	struct loop *loop;
	char buf[CTL_LINE_MAX];
	size_t len;
	bool skipping;		/* inside a line that was too long */
	bool eof, busy, watched;
	struct shell_driver drv;
} S;

static void stdin_write(void *ctx, int stream, const char *text, size_t len)
{
	FILE *f = stream == 2 ? stderr : stdout;

	fflush(stream == 2 ? stdout : stderr);	/* keep the two in order */
	fwrite(text, 1, len, f);
	fflush(f);
}

static void stdin_next(void);

/* A command that waited has finished (from the loop). */
static void stdin_done(void *ctx, int status)
{
	S.busy = false;
	stdin_next();
}

static const struct shell_out_ops stdin_ops = { stdin_write, stdin_done };

static void stdin_readable(struct loop *loop, int fd, short revents, void *ctx);

static void stdin_run(char *line)
{
	size_t n = strlen(line);

	if (n && line[n - 1] == '\r')
		line[n - 1] = '\0';
	S.busy = shell_drive(&S.drv, line) == SHELL_PENDING;
}

/* Runs the complete lines in the buffer, one at a time: a pending command
 * (ping) holds the next back until its done. */
static void stdin_next(void)
{
	while (!S.busy && !shell_quit_requested()) {
		char *nl = memchr(S.buf, '\n', S.len);
		size_t used;

		if (!nl && S.len == sizeof(S.buf)) {
			if (!S.skipping)
				fprintf(stderr, "line too long (max %d bytes), skipped\n",
					CTL_LINE_MAX - 1);
			S.skipping = true;
			S.len = 0;
			continue;
		}
		if (!nl && S.eof && S.len && !S.skipping) {
			S.buf[S.len] = '\0';	/* a last line without newline */
			nl = S.buf + S.len;
		}
		if (!nl)
			break;
		*nl = '\0';
		used = (size_t)(nl - S.buf) + (nl < S.buf + S.len);
		if (!S.skipping)
			stdin_run(S.buf);
		S.skipping = false;
		memmove(S.buf, S.buf + used, S.len - used);
		S.len -= used;
	}
	if (shell_quit_requested() || (S.eof && !S.busy)) {
		if (S.watched)
			loop_unwatch(S.loop, STDIN_FILENO);
		S.watched = false;
		if (S.eof && !S.busy && !shell_quit_requested())
			engine_quit(S.eng);
		S.eof = false;	/* quit once */
		return;
	}
	/* Not read while busy: unwatched, since a hung-up pipe would report
	 * POLLHUP at every poll even with no events asked for. */
	if (S.busy && S.watched)
		loop_unwatch(S.loop, STDIN_FILENO);
	else if (!S.busy && !S.watched)
		loop_watch(S.loop, STDIN_FILENO, POLLIN, stdin_readable, NULL);
	S.watched = !S.busy;
}

static void stdin_readable(struct loop *loop, int fd, short revents, void *ctx)
{
	/* One read per wakeup: poll said readable, so it will not block, and
	 * stdin need not be made non-blocking (a flag shared with others). */
	ssize_t n = read(fd, S.buf + S.len, sizeof(S.buf) - S.len);

	if (n > 0)
		S.len += (size_t)n;
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		S.eof = true;
	stdin_next();
}

int shell_stdin_start(struct engine *eng, struct loop *loop)
{
	S.eng = eng;
	S.loop = loop;
	shell_driver_init(&S.drv, eng, &stdin_ops, NULL);
	if (loop_watch(loop, STDIN_FILENO, POLLIN, stdin_readable, NULL) < 0)
		return fail(EXIT_ERROR, "cannot watch standard input (too many open descriptors)");
	S.watched = true;
	return 0;
}
