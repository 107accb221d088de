/* See serve_monitor.h: the worker's side of the requests. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "serve_monitor.h"

/* The descriptor attached to mh, if exactly one came; -1 otherwise (any
 * others are closed). */
static int take_fd(struct msghdr *mh)
{
	int fd = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	return fd;
}

int mon_lease(int sock, const struct lease_request *q, struct lease_reply *r)
{
	struct mon_msg msg;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = r, .iov_len = sizeof(*r) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int fd;

	memset(&msg, 0, sizeof(msg));
	msg.type = MON_LEASE;
	msg.body.lease = *q;
	do
		n = send(sock, &msg, MON_MSG_LEN(sizeof(*q)), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)MON_MSG_LEN(sizeof(*q))) {
		do
			n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
	}
	fd = n == (ssize_t)sizeof(*r) ? take_fd(&mh) : -1;
	if (n != (ssize_t)sizeof(*r) || (mh.msg_flags & MSG_CTRUNC) || (r->status == 0) != (fd >= 0)) {
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
	return fd;
}
