/* sd_notify by hand (notify.h): NOTIFY_SOCKET is a path, or an abstract
 * socket name written with a leading '@'. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static bool ready_sent;

static void send_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t salen;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path)) {
		log_warn("NOTIFY_SOCKET `%s' is too long (max %zu bytes)", path, sizeof(sa.sun_path) - 1);
		return;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		log_verbose("sd_notify to %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

void notify_state(const char *state, const char *detail, bool up)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "%sSTATUS=%s%s%s", up && !ready_sent ? "READY=1\n" : "", state,
		 detail && strcmp(detail, state) ? ": " : "", detail && strcmp(detail, state) ? detail : "");
	for (char *c = msg + (up && !ready_sent ? 8 : 0); *c; c++)
		if (*c == '\n')
			*c = ' ';	/* one STATUS line, whatever the detail says */
	send_notify(msg);
	ready_sent |= up;
}

void notify_stopping(void)
{
	send_notify("STOPPING=1");
}
