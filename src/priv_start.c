/* How the root side comes to be: `sudo sshtun` forks the user's side and
 * stays (priv_split, priv_root_run), or the user's process runs
 * `sudo sshtun __root-side` with the socket as its standard input
 * (priv_root_main). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "dropuser.h"
#include "fail.h"
#include "log.h"
#include "priv.h"

static pid_t user_side;
static volatile sig_atomic_t stop;

/* A signal someone sent us goes to the user's side, which ends the
 * instance; one from the terminal reached it already. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	if (user_side > 0 && si->si_code <= 0)
		kill(user_side, sig);
}

static void on_stop(int sig)
{
	stop = 1;
}

static void set_signals(bool fwd)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (fwd) {
		sa.sa_sigaction = forward;
		sa.sa_flags = SA_SIGINFO;	/* no SA_RESTART: recv returns EINTR */
	} else {
		sa.sa_handler = on_stop;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	/* sudo's side: the terminal's Ctrl-C is the user side's to handle. */
	if (!fwd)
		signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

pid_t priv_split(const struct drop_target *t, int *root_fd)
{
	pid_t parent = getpid(), pid;
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return fail(EXIT_LOCAL, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return fail(EXIT_LOCAL, "fork: %s", strerror(errno));
	}
	if (pid > 0) {
		close(sp[1]);
		*root_fd = sp[0];
		user_side = pid;
		set_signals(true);
		return pid;
	}
	close(sp[0]);
	if (drop_to(t) < 0)
		return -1;
	/* The root side killed outright: the instance ends with it, at
	 * once, as if both had been killed.  (After the drop: a change of
	 * uid clears it.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(EXIT_ERROR);
	priv_attach(sp[1]);
	return 0;
}

int priv_root_run(int fd, const char *state_path)
{
	struct priv_root r;
	int status = 0;

	log_set_prefix("sshtun root side");
	priv_root_init(&r, fd, state_path);
	priv_root_serve(&r, NULL);
	close(fd);
	while (waitpid(user_side, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM ? EXIT_OK : EXIT_ERROR;
}

/* Only a socketpair from a process of the user sudo vouches for. */
static int check_socket(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	const char *sudo_uid = getenv("SUDO_UID");
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_SEQPACKET)
		return fail(EXIT_USAGE, PRIV_ROOT_SUBCOMMAND " is started by sshtun itself (through sudo), "
			    "with its socket as standard input");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return fail(EXIT_LOCAL, "SO_PEERCRED: %s", strerror(errno));
	if (sudo_uid && strtoul(sudo_uid, NULL, 10) != cred.uid)
		return fail(EXIT_LOCAL, "the socket's other end is uid %u, not SUDO_UID %s", (unsigned)cred.uid,
			    sudo_uid);
	return 0;
}

int priv_root_main(int argc, char **argv)
{
	struct priv_root r;
	int fd, null;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v"))
			return fail(EXIT_USAGE, "%s: unexpected argument `%s'", PRIV_ROOT_SUBCOMMAND, argv[i]);
		log_level++;
	}
	if (geteuid() != 0)
		return fail(EXIT_LOCAL, PRIV_ROOT_SUBCOMMAND " must run as root");
	if (check_socket(STDIN_FILENO) < 0)
		return fail_code();
	fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || null < 0 || dup2(null, STDIN_FILENO) < 0)
		return fail(EXIT_LOCAL, "cannot set up the root side's descriptors: %s", strerror(errno));
	close(null);
	log_set_prefix("sshtun root side");
	set_signals(false);
	priv_root_init(&r, fd, NULL);
	priv_root_serve(&r, &stop);
	close(fd);
	return EXIT_OK;
}
