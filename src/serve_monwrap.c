/* See serve_monitor.h: the worker's side of the requests. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "fdpass.h"
#include "serve_monitor.h"

int mon_lease(int sock, const struct lease_request *q, struct lease_reply *r)
{
	struct mon_msg msg;
	ssize_t n;
	int fd = -1;

	memset(&msg, 0, sizeof(msg));
	msg.type = MON_LEASE;
	msg.body.lease = *q;
	do
		n = send(sock, &msg, MON_MSG_LEN(sizeof(*q)), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)MON_MSG_LEN(sizeof(*q)))
		n = fdpass_recv(sock, r, sizeof(*r), &fd);
	if (n != (ssize_t)sizeof(*r) || (r->status == 0) != (fd >= 0)) {
		if (fd >= 0)
			close(fd);
		memset(r, 0, sizeof(*r));
		r->status = EXIT_ERROR;
		snprintf(r->why, sizeof(r->why), "server: the helper's monitor did not answer: %s",
			 n < 0 ? strerror(errno) : "short or malformed reply");
		return -1;
	}
	r->why[sizeof(r->why) - 1] = '\0';
	r->ifname[sizeof(r->ifname) - 1] = '\0';
	r->join[sizeof(r->join) - 1] = '\0';
	return fd;
}

int mon_lost(int sock, unsigned conn)
{
	struct mon_msg msg;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.type = MON_LOST;
	msg.body.lost.conn = conn;
	do
		n = send(sock, &msg, MON_MSG_LEN(sizeof(msg.body.lost)), MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}
