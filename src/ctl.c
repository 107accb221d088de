/* `sshtun ctl`: one command, a script on stdin, or an interactive prompt,
 * against a running instance's control socket (see control.h for the
 * wire).  Each interactive command uses a connection of its own, so that
 * abandoning one (a key during stats --watch) is just closing it. */
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <readline/readline.h>

#include "commands.h"
#include "common.h"
#include "control.h"
#include "fail.h"
#include "fdpass.h"
#include "paths.h"
#include "tokenize.h"

#define ANSWER_LINE_MAX	(1024 * 1024)	/* status --json with many routes is long */

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char inst[128];
static volatile sig_atomic_t got_sigint;

static int ctl_connect(bool quiet)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, sock_path, sizeof(sock_path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (!quiet)
		fprintf(stderr, "sshtun: no running instance `%s' (%s: %s)%s\n", inst, sock_path,
			strerror(errno), errno == ECONNREFUSED ?
			"; it died: sshtun cleanup tidies up after it" : "");
	if (fd >= 0)
		close(fd);
	return -1;
}

static int send_request(int fd, const char *verb, const char *line)
{
	return fd_send_all(fd, verb, strlen(verb)) || fd_send_all(fd, " ", 1) ||
	       fd_send_all(fd, line, strlen(line)) || fd_send_all(fd, "\n", 1) ? -1 : 0;
}

/* Reading the answer's lines, of any length up to ANSWER_LINE_MAX. */
struct conn {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Calls fn for each whole line in the buffer until it returns >= 0 (the
 * answer is over); returns that, or -1 when more input is needed. */
static int drain(struct conn *c, int (*fn)(const char *line, void *ctx), void *ctx)
{
	char *nl;

	while (c->len && (nl = memchr(c->buf, '\n', c->len))) {
		size_t used = (size_t)(nl - c->buf) + 1;
		int rc;

		*nl = '\0';
		rc = fn(c->buf, ctx);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (rc >= 0)
			return rc;
	}
	return -1;
}

/* Reads until fn ends the answer.  keys: also watch the terminal, and give
 * up on a key or Ctrl-C (returns -2).  Returns fn's status, or -1 when the
 * connection ends early. */
static int read_answer(int fd, bool keys, int (*fn)(const char *line, void *ctx), void *ctx)
{
	struct conn c = { .fd = fd };
	int rc = -1;

	for (;;) {
		struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 } };
		ssize_t n;

		if ((rc = drain(&c, fn, ctx)) >= 0)
			break;
		if (c.len == c.cap) {
			char *p = c.cap < ANSWER_LINE_MAX ? realloc(c.buf, c.cap ? c.cap * 2 : 4096) : NULL;

			if (!p)
				break;
			c.buf = p;
			c.cap = c.cap ? c.cap * 2 : 4096;
		}
		if (poll(pfd, keys ? 2 : 1, -1) < 0) {
			if (errno == EINTR && !got_sigint)
				continue;
			rc = -2;
			break;
		}
		if (keys && pfd[1].revents) {
			char k[64];

			if (read(STDIN_FILENO, k, sizeof(k)) < 0) {
				/* stopping either way */
			}
			rc = -2;
			break;
		}
		n = read(fd, c.buf + c.len, c.cap - c.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		c.len += (size_t)n;
	}
	free(c.buf);
	return rc;
}

/* "o text" to stdout, "e text" to stderr, "x N" ends with N. */
static int print_line(const char *line, void *ctx)
{
	if (!strncmp(line, "o ", 2)) {
		/* Line by line even into a pipe: ping and stats --watch
		 * answer over time, and a reader wants each line as it comes. */
		puts(line + 2);
		fflush(stdout);
	} else if (!strncmp(line, "e ", 2)) {
		fflush(stdout);
		fprintf(stderr, "%s\n", line + 2);
	} else if (!strncmp(line, "x ", 2)) {
		fflush(stdout);
		return atoi(line + 2) & 0xff;
	}
	return -1;
}

static int run_line(int fd, const char *line, bool keys)
{
	int rc;

	if (send_request(fd, "run", line) < 0) {
		/* The instance may have refused us with a reason already
		 * waiting on the socket (too many clients): show that. */
		rc = read_answer(fd, false, print_line, NULL);
		if (rc >= 0)
			return rc;
		fprintf(stderr, "sshtun: lost the connection to instance `%s'\n", inst);
		return 1;
	}
	rc = read_answer(fd, keys, print_line, NULL);
	fflush(stdout);
	if (rc == -1)
		fprintf(stderr, "sshtun: instance `%s' closed the connection before answering\n",
			inst);
	return rc < 0 ? 1 : rc;
}

/* --- the interactive prompt --- */

struct words {
	shell_complete_fn fn;
	void *ctx;
};

static int word_line(const char *line, void *ctx)
{
	struct words *w = ctx;

	if (!strncmp(line, "o ", 2))
		w->fn(w->ctx, line + 2);
	return !strncmp(line, "x ", 2) ? 0 : -1;
}

static void remote_source(const char *line, shell_complete_fn fn, void *ctx)
{
	struct words w = { fn, ctx };
	int fd = ctl_connect(true);

	if (fd < 0)
		return;
	if (send_request(fd, "complete", line) == 0)
		read_answer(fd, false, word_line, &w);
	close(fd);
}

/* The state for the prompt, from status --json's state_detail. */
static int state_line(const char *line, void *ctx)
{
	static const char key[] = "\"state_detail\":\"";
	const char *p = strstr(line, key);
	char *out = ctx;
	size_t n = 0;

	if (!strncmp(line, "o ", 2) && p)
		for (p += sizeof(key) - 1; *p && *p != '"' && *p != '\\' && n < 63; p++)
			out[n++] = *p;
	if (n)
		out[n] = '\0';
	return !strncmp(line, "x ", 2) ? 0 : -1;
}

static void fetch_state(char *state)
{
	int fd = ctl_connect(true);

	snprintf(state, 64, "%s", fd < 0 ? "gone" : "?");
	if (fd < 0)
		return;
	if (send_request(fd, "run", "status --json") == 0)
		read_answer(fd, false, state_line, state);
	close(fd);
}

static void on_sigint(int sig)
{
	got_sigint = 1;
}

/* Ctrl-C at the prompt: forget the line, as bash does. */
static int sig_event(void)
{
	if (!got_sigint)
		return 0;
	got_sigint = 0;
	rl_point = rl_end;
	rl_redisplay();
	fputs("^C", rl_outstream);
	rl_crlf();
	rl_replace_line("", 1);
	rl_on_new_line();
	rl_redisplay();
	return 0;
}

/* `quit' (and nothing else) was asked: true for the line "  quit  ". */
static bool is_quit(const char *line)
{
	line += strspn(line, " \t");
	if (strncmp(line, "quit", 4))
		return false;
	line += 4;
	return line[strspn(line, " \t")] == '\0';
}

/* After a `quit' that the instance accepted: wait, bounded, for it to go
 * away, so the prompt ends with the instance instead of asking a socket
 * that no longer answers. */
static bool wait_gone(unsigned ms)
{
	for (unsigned waited = 0; waited < ms; waited += 50) {
		int fd = ctl_connect(true);

		if (fd < 0)
			return true;
		close(fd);
		usleep(50 * 1000);
	}
	return false;
}

static int interactive(void)
{
	struct sigaction sa = { .sa_handler = on_sigint };
	struct termios saved, raw;
	bool tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	char state[64], prompt[256];
	char *line;
	int rc, fd = ctl_connect(false);

	if (fd < 0)
		return 1;
	close(fd);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: reads see EINTR */
	rl_catch_signals = 0;
	rl_signal_event_hook = sig_event;
	shell_rl_setup(remote_source);
	shell_history_load();
	printf("connected to instance `%s'; Ctrl-D leaves, `quit' stops the tunnel\n", inst);
	for (;;) {
		fetch_state(state);
		shell_format_prompt(prompt, sizeof(prompt), inst, state);
		got_sigint = 0;
		if (!(line = readline(prompt)))
			break;
		shell_history_add(line);
		if ((fd = ctl_connect(false)) >= 0) {
			raw = saved;
			raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
			if (tty)	/* one key stops stats --watch */
				tcsetattr(STDIN_FILENO, TCSANOW, &raw);
			got_sigint = 0;
			rc = run_line(fd, line, tty);
			if (rc && got_sigint)
				puts("^C");
			if (tty)
				tcsetattr(STDIN_FILENO, TCSANOW, &saved);
			close(fd);
			if (!rc && is_quit(line) && wait_gone(5000)) {
				printf("instance `%s' stopped\n", inst);
				free(line);
				return 0;
			}
		}
		free(line);
	}
	putchar('\n');
	return 0;
}

/* --- finding the instance --- */

/* With no -n or -S: the one instance running, if there is exactly one. */
static void print_word(void *ctx, const char *word)
{
	printf("%s\n", word);
}

/* --list: the names of the instances with a control socket here, one a
 * line (for completion and scripts). */
static int list_instances(void)
{
	char dir[sizeof(sock_path)];
	struct dirent *de;
	DIR *d;

	if (paths_dir(dir, sizeof(dir)) < 0)
		return fail_code();
	if (!(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		size_t len = paths_sock_name_len(de->d_name);

		if (len)
			printf("%.*s\n", (int)len, de->d_name);
	}
	closedir(d);
	return 0;
}

static int pick_instance(void)
{
	char dir[sizeof(sock_path)], found[2][128];
	struct dirent *de;
	DIR *d;
	int n = 0, fd;

	if (paths_dir(dir, sizeof(dir)) < 0)
		return fail_code();	/* main prints the message */
	if ((d = opendir(dir))) {
		while ((de = readdir(d))) {
			size_t len = paths_sock_name_len(de->d_name);
			char probe[PATHS_SOCK_MAX + 8];

			/* A socket nobody answers on is a dead instance's. */
			if (!len || len >= 128 ||
			    snprintf(probe, sizeof(probe), "%s/%s", dir, de->d_name) >= (int)sizeof(sock_path))
				continue;
			memcpy(sock_path, probe, strlen(probe) + 1);
			fd = ctl_connect(true);
			if (fd < 0)
				continue;
			close(fd);
			if (n < 2)
				snprintf(found[n], sizeof(found[n]), "%.*s", (int)len, de->d_name);
			n++;
		}
		closedir(d);
	}
	if (n == 0) {
		fprintf(stderr, "sshtun: no running instance (no live control socket in %s)\n", dir);
		return 1;
	}
	if (n > 1) {
		fprintf(stderr, "sshtun: %d instances are running (%s, %s%s); pick one with -n NAME\n",
			n, found[0], found[1], n > 2 ? ", ..." : "");
		return 2;
	}
	snprintf(inst, sizeof(inst), "%s", found[0]);
	return paths_socket(inst, sock_path, sizeof(sock_path)) < 0 ? fail_code() : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: sshtun ctl [-n NAME | -S PATH] [COMMAND [ARG...]]\n");
	return 2;
}

/* Joins the arguments back into one command line, quoting where needed. */
static int join_args(int argc, char **argv, char *line, size_t cap)
{
	size_t len = 0;

	for (int i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\n\r")) {
			fprintf(stderr, "sshtun: argument %d contains a line break\n", i + 1);
			return -1;
		}
		len += tok_quote(argv[i], len < cap ? line + len : NULL, len < cap ? cap - len : 0);
		if (i + 1 < argc && len + 1 < cap)
			line[len] = ' ';
		len += i + 1 < argc;
	}
	if (len + sizeof("run \n") > CTL_LINE_MAX || len >= cap) {
		fprintf(stderr, "sshtun: command too long (max %zu bytes)\n",
			CTL_LINE_MAX - sizeof("run \n"));
		return -1;
	}
	line[len] = '\0';
	return 0;
}

/* A script on stdin: each line a command, one connection for all.  Exits
 * with the last failing command's status, 0 when all went well. */
static int script(int fd)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = 0;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		int rc;

		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((size_t)n + sizeof("run \n") > CTL_LINE_MAX) {
			fprintf(stderr, "sshtun: line too long (max %zu bytes), skipped\n",
				CTL_LINE_MAX - sizeof("run \n"));
			status = 2;
			continue;
		}
		if ((rc = run_line(fd, line, false)))
			status = rc;
	}
	free(line);
	return status;
}

int ctl_main(int argc, char **argv)
{
	char line[CTL_LINE_MAX];
	static const struct option longopts[] = {
		{ "list", no_argument, NULL, 'L' },
		{ "complete", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *path = NULL, *complete = NULL;
	int opt, fd, rc;

	optind = 0;	/* main may have used getopt already */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+n:S:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'L':
			return list_instances();
		case 'C':
			complete = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'S':
			path = optarg;
			break;
		case 'h':
			printf("usage: sshtun ctl [-n NAME | -S PATH] [COMMAND [ARG...]]\n"
			       "       sshtun ctl [-n NAME | -S PATH] --complete LINE\n"
			       "       sshtun ctl --list\n"
			       "Runs one shell command in a running sshtun (help lists them);\n"
			       "without COMMAND, an interactive prompt to it.\n");
			return 0;
		default:
			if (optopt == 'n' || optopt == 'S')
				fprintf(stderr, "sshtun: ctl -%c needs a value\n", optopt);
			else
				fprintf(stderr, "sshtun: unknown option `-%c' for ctl\n", optopt);
			return usage();
		}
	}
	if (name && path)
		return usage();
	/* `sshtun ctl NAME status`: a first word that is no command but names
	 * a running instance. */
	if (!name && !path && optind < argc && !shell_is_command(argv[optind]) &&
	    paths_find_socket(argv[optind], sock_path, sizeof(sock_path)) == 0 &&
	    access(sock_path, F_OK) == 0)
		name = argv[optind++];
	fail_clear();
	if (path) {
		if (strlen(path) >= sizeof(sock_path)) {
			fprintf(stderr, "sshtun: control socket path `%s' is too long\n", path);
			return 2;
		}
		snprintf(sock_path, sizeof(sock_path), "%s", path);
		paths_instance(sock_path, inst, sizeof(inst));
	} else if (name) {
		snprintf(inst, sizeof(inst), "%s", name);
		if (paths_find_socket(name, sock_path, sizeof(sock_path)) < 0)
			return fail_code();	/* main prints the message */
	} else if ((rc = pick_instance())) {
		return rc;
	}
	if (complete) {
		/* --complete LINE: the words the instance offers for the last
		 * word of LINE, one a line (what bash completion asks). */
		remote_source(complete, print_word, NULL);
		return 0;
	}
	if (optind < argc && join_args(argc - optind, argv + optind, line, sizeof(line)) < 0)
		return 2;
	if (optind == argc && isatty(STDIN_FILENO))
		return interactive();
	if ((fd = ctl_connect(false)) < 0)
		return 1;
	rc = optind < argc ? run_line(fd, line, false) : script(fd);
	close(fd);
	return rc;
}
