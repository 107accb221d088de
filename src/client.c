/* The client: bring up the TUN, start the session (session.c), then run
 * the loop until told to stop; -c commands, -f and the prompt start once
 * the tunnel is first up. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "common.h"
#include "control.h"
#include "dns.h"
#include "dropuser.h"
#include "engine.h"
#include "fail.h"
#include "guard.h"
#include "killswitch.h"
#include "keepalive.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "paths.h"
#include "priv.h"
#include "session.h"
#include "shell.h"
#include "tun.h"

/* -c commands, run one after another once the tunnel is first up. */
struct cmd_run {
	struct engine *eng;
	struct shell_driver drv;
	int next;
};

/* One client per process. */
struct client {
	struct client_opts opts;
	struct engine eng;
	struct cmd_run cmds;
	int daemon_pipe;	/* -f: tells the waiting parent we are up */
};

static void on_signal(struct loop *loop, int signo, void *ctx)
{
	struct engine *eng = ctx;

	/* At the prompt, Ctrl-C clears the line or stops a waiting command. */
	if (signo == SIGINT && shell_prompt_interrupt())
		return;
	log_verbose("signal %d: closing", signo);
	engine_stop(eng, EXIT_OK);
}

/* ---- -c commands ---- */

static void cmd_write(void *ctx, int stream, const char *text, size_t len)
{
	fwrite(text, 1, len, stream == 2 ? stderr : stdout);
	fflush(stream == 2 ? stderr : stdout);
}

static void cmd_failed(int status)
{
	if (status)
		log_warn("-c command failed (status %d)", status);
}

static void cmd_next(struct cmd_run *r)
{
	struct engine *eng = r->eng;

	while (r->next < eng->opts->ncommands && !eng->quitting) {
		int st = shell_drive(&r->drv, eng->opts->commands[r->next++]);

		if (st == SHELL_PENDING)
			break;
		cmd_failed(st);
	}
}

/* A command that waited has finished. */
static void cmd_done(void *ctx, int status)
{
	cmd_failed(status);
	cmd_next(ctx);
}

static const struct shell_out_ops cmd_ops = { .write = cmd_write, .done = cmd_done };

static void run_commands(struct loop *loop, void *ctx)
{
	struct client *c = ctx;

	c->cmds.eng = &c->eng;
	c->cmds.next = 0;
	shell_driver_init(&c->cmds.drv, &c->eng, &cmd_ops, &c->cmds);
	cmd_next(&c->cmds);
}

/* ---- start and end ---- */

static int make_client_id(char out[HELLO_ID_LEN + 1])
{
	uint8_t raw[HELLO_ID_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return fail(EXIT_ERROR, "no randomness for a client identity: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* -f: the parent waits until the child reports the tunnel up (a byte on
 * the pipe) and exits 0, or takes the child's exit status. */
static int go_background(struct client *c)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return fail(EXIT_ERROR, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return fail(EXIT_ERROR, "fork: %s", strerror(errno));
	if (pid > 0) {
		char b;
		int status = 0;

		close(fds[1]);
		if (read(fds[0], &b, 1) == 1)
			_exit(EXIT_OK);
		waitpid(pid, &status, 0);
		/* Gone before the tunnel was up: never 0 (-f promises up). */
		_exit(WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : EXIT_ERROR);
	}
	close(fds[0]);
	c->daemon_pipe = fds[1];
	return 0;
}

static void background_ready(struct client *c)
{
	int null;

	if (c->daemon_pipe < 0)
		return;
	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	priv_detach();	/* the root side leaves the terminal too */
	if (write(c->daemon_pipe, "u", 1) < 0) {
		/* the parent is gone; nothing to tell */
	}
	close(c->daemon_pipe);
	c->daemon_pipe = -1;
}

static void on_state_first_up(void *ctx, const struct engine_status *st);
static int open_queues(struct engine *eng);

/* Root here (`sudo sshtun`): this process stays the root side and forks
 * the rest, dropped to the user sudo names (or --user; plain root keeps
 * uid 0 without capabilities).  A user: the root side comes through sudo.
 * Returns 0 in the user's side, 1 in a root side whose instance is over
 * (*code: its exit status), -1 with fail(). */
static int split_privileges(struct client *c, const char *sock_path, int *code)
{
	const struct client_opts *o = &c->opts;
	struct drop_target t;
	char state_path[300];
	pid_t pid;
	int fd;

	if (geteuid() != 0) {
		if (o->run_as)
			return fail(EXIT_USAGE, "--user USER is for a client started as root (sudo sshtun)");
		return priv_spawn_sudo(o->verbosity);
	}
	if (drop_target_find(o->run_as, &t) < 0 || paths_state(sock_path, state_path, sizeof(state_path)) < 0)
		return -1;
	/* Bound here: the user could not create it in root's directory. */
	if (control_bind(sock_path, t.user ? t.uid : (uid_t)-1, t.user ? t.gid : (gid_t)-1) < 0)
		return -1;
	if (o->background && go_background(c) < 0)
		return -1;
	pid = priv_split(&t, &fd);
	if (pid <= 0)
		return pid;
	control_forget();
	if (c->daemon_pipe >= 0)
		close(c->daemon_pipe);	/* the user's side says when it is up */
	c->daemon_pipe = -1;
	*code = priv_root_run(fd, state_path);
	control_unlink();
	return 1;
}

/* The root side went away under us: nothing can be set up or undone. */
static void on_root_side_gone(struct loop *loop, int fd, short revents, void *ctx)
{
	if (!priv_gone())
		return;	/* an answer to the connect thread's request */
	loop_unwatch(loop, fd);
	fail(EXIT_LOCAL, "sshtun's root side ended; closing");
	engine_stop(ctx, EXIT_LOCAL);
}

int client_main(int argc, char **argv)
{
	static struct client client;
	struct client *c = &client;
	struct client_opts *opts = &c->opts;
	struct engine *eng = &c->eng;
	char sock_path[256];
	int rc, code = 0;

	rc = options_parse(argc, argv, opts);
	if (rc)
		return rc > 0 ? EXIT_OK : fail_code();
	log_level = (enum log_level)(LOG_INFO + opts->verbosity);

	memset(eng, 0, sizeof(*eng));
	c->daemon_pipe = -1;
	eng->opts = opts;
	eng->nconns = (int)opts->connections;
	session_prepare(eng);
	eng->lease_from = -1;
	if (opts->sock_path)
		snprintf(sock_path, sizeof(sock_path), "%s", opts->sock_path);
	else if (paths_socket(opts->name, sock_path, sizeof(sock_path)) < 0)
		return fail_code();
	rc = split_privileges(c, sock_path, &code);
	if (rc)
		return rc > 0 ? code : fail_code();
	/* From here on as the user: their ~/.ssh, agent, known_hosts. */
	if (options_resolve(opts) < 0 || servers_init(&eng->servers, opts, argc, argv) < 0 ||
	    make_client_id(eng->client_id) < 0 || session_init(eng) < 0)
		goto out;

	/* The TUN first: a missing privilege is reported before we connect.
	 * The root side cleans up after an earlier instance of this name. */
	snprintf(eng->ifname, sizeof(eng->ifname), "%s", opts->ifname[0] ? opts->ifname : "sshtun%d");
	if (eng->nconns < 2)
		tunnel_set_tun(&eng->conns[0].t, priv_open(opts->name, eng->ifname, &eng->ifindex));
	else if (open_queues(eng) < 0)
		goto out;
	if (eng->conns[0].t.tun_fd < 0)
		goto out;
	/* The kill switch lets the SSH connection out to every server of the
	 * list, not only the first. */
	for (int i = 0; i < eng->servers.n; i++)
		if (guard_start(eng->servers.s[i].opts, &eng->guard_flags) < 0)
			goto out;
	eng->loop = loop_new();
	if (!eng->loop) {
		fail(EXIT_LOCAL, "cannot set up the event loop");
		goto out;
	}
	if (control_listen(eng, eng->loop, sock_path) < 0)
		goto out;
	if (opts->background && c->daemon_pipe < 0 && go_background(c) < 0)
		goto out;
	loop_signals(eng->loop, on_signal, eng);
	loop_watch(eng->loop, priv_fd(), POLLIN, on_root_side_gone, eng);
	session_watch(eng);
	keepalive_start(eng);
	engine_on_state(eng, on_state_first_up, c);

	if (session_start(eng) < 0)
		goto out;
	loop_run(eng->loop);
	if (eng->exit_code == EXIT_OK)
		fail_clear();
	else if (!fail_code())
		fail(eng->exit_code, "stopped");
out:
	shell_prompt_stop();
	/* A connect thread still running owns the session: leave it to the
	 * process's end rather than pull it away under the thread. */
	session_close_now(eng);
	control_close();
	eng->state = ST_CLOSED;
	/* Closing the TUN (its last queue) removes the device and every
	 * route through it; the root side undoes the rest (pin, excluded
	 * prefixes, DNS, the state file) when its socket closes. */
	for (int i = 0; i < ENGINE_MAX_CONNS; i++) {
		if (eng->conns[i].t.tun_fd >= 0)
			close(eng->conns[i].t.tun_fd);
		eng->conns[i].t.tun_fd = -1;
	}
	/* Fail closed: a tunnel that was up and ended in an error keeps the
	 * kill switch until `sshtun cleanup'. */
	if (fail_code() == EXIT_OK || !eng->up_since_ms || !(eng->guard_flags & KS_KILL))
		guard_end(&eng->guard_flags);
	else if (eng->guard_flags & KS_KILL)
		log_warn("the kill switch stays after this error; `sshtun cleanup' removes it");
	servers_free(&eng->servers);
	if (eng->loop && priv_fd() >= 0)
		loop_unwatch(eng->loop, priv_fd());
	priv_close();
	session_free(eng);
	if (eng->loop)
		loop_free(eng->loop);
	return fail_code();
}

/* --connections N: a multi-queue TUN, a queue per connection.  Only the
 * first is attached until the others are up (the kernel would steer flows
 * to queues nobody reads). */
static int open_queues(struct engine *eng)
{
	struct conn *c0 = &eng->conns[0];

	tunnel_set_tun(&c0->t, priv_open_mq(eng->opts->name, eng->ifname, &eng->ifindex, (unsigned)eng->nconns));
	if (c0->t.tun_fd < 0)
		return -1;
	c0->attached = true;
	eng->multi = true;
	for (int i = 1; i < eng->nconns; i++) {
		struct conn *c = &eng->conns[i];
		int rc;

		tunnel_set_tun(&c->t, priv_tun_queue(eng->ifindex));
		if (c->t.tun_fd < 0)
			return -1;
		rc = tun_queue_enable(c->t.tun_fd, false);
		if (rc < 0)
			return fail(EXIT_LOCAL, "cannot detach queue %d of %s: %s", i, eng->ifname, strerror(-rc));
	}
	return 0;
}

/* The first time the tunnel is up: -f detaches, the prompt starts. */
static void on_state_first_up(void *ctx, const struct engine_status *st)
{
	struct client *c = ctx;
	struct engine *eng = &c->eng;

	if (strcmp(st->state, "up"))
		return;
	engine_on_state(eng, NULL, NULL);
	for (int i = 0; i < eng->opts->nroutes; i++) {
		char err[256];

		if ((eng->opts->route_has_uid[i]
			     ? engine_uid_route(eng, true, eng->opts->routes[i], eng->opts->route_uid[i], err, sizeof(err))
			     : engine_route_add(eng, eng->opts->routes[i], err, sizeof(err))) < 0)
			log_error("%s", err);
	}
	if (eng->opts->accept_routes) {
		for (int i = 0; i < eng->lease.routes.n; i++) {
			char a[ENGINE_CIDR_STRLEN], err[256];

			inet_prefix_str(&eng->lease.routes.p[i], true, a, sizeof(a));
			if (engine_route_add(eng, a, err, sizeof(err)) < 0)
				log_warn("not accepting the offered route %s: %s", a, err);
		}
	} else if (eng->lease.routes.n) {
		log_info("the server offers %d route%s (--accept-routes to take them)", eng->lease.routes.n,
			 eng->lease.routes.n == 1 ? "" : "s");
	}
	if (eng->opts->dns) {
		char err[ERROR_MSG_MAX];

		if (engine_dns_set(eng, true, err, sizeof(err)) < 0)
			log_error("--dns: %s", err);
	}
	/* From the loop, not from here (inside the receive path): a command
	 * such as reconnect tears the session down. */
	if (eng->opts->ncommands)
		loop_timer(eng->loop, 0, run_commands, c);
	if (eng->opts->background) {
		background_ready(c);
		return;
	}
	if (eng->opts->no_shell)
		return;
	if (isatty(STDIN_FILENO))
		shell_prompt_start(eng, eng->loop, eng->opts->name);
	else
		shell_stdin_start(eng, eng->loop);
}
