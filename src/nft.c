/* See nft.h. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "nft.h"

extern char **environ;

int nft_run(const char *script)
{
	char *argv[] = { "nft", "-f", "-", NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], status = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	/* The helper's stdout is the protocol channel: nft must not write
	 * there.  Its stderr reaches the log (through sshd on a server). */
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, access("/usr/sbin/nft", X_OK) == 0 ? "/usr/sbin/nft" : "/sbin/nft", &fa, NULL,
			argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		errno = ENOENT;
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (write(fds[1], script, strlen(script)) < 0)
		log_debug("nft: writing its script: %s", strerror(errno));
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
