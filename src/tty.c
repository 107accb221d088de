/* Prompting on /dev/tty with echo control, in the manner of readpassphrase. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tty.h"

bool tty_available(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int tty_ask(const char *prompt, bool echo, char *buf, size_t cap)
{
	struct termios old, quiet;
	size_t len = 0;
	int fd, rc = -1;
	bool restore = false;

	if (cap == 0)
		return -1;
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!echo && tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		goto out;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		if (c == '\n' || c == '\r')
			break;
		if (len + 1 < cap)
			buf[len++] = c;
	}
	buf[len] = '\0';
	rc = 0;
out:
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &old);
		if (write(fd, "\n", 1) < 0) {
			/* nothing to do: the answer is already read */
		}
	}
	close(fd);
	return rc;
}
