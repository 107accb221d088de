/* One message with at most one file descriptor attached (SCM_RIGHTS), over
 * a SOCK_SEQPACKET socket: how the client's root side hands the TUN to the
 * network side, and the helper's monitor to its worker. */
#ifndef SSHTUN_FDPASS_H
#define SSHTUN_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* Sends len bytes of msg with fd attached when fd >= 0.  Returns 0 when the
 * whole message went, -1 otherwise (errno set; a short send is EMSGSIZE). */
int fdpass_send(int sock, const void *msg, size_t len, int fd);

/* Receives one message of at most len bytes.  *fd is the first descriptor
 * that came with it (close-on-exec), or -1; any others are closed.  Returns
 * the byte count, 0 at end of stream, or -1 (errno set). */
ssize_t fdpass_recv(int sock, void *msg, size_t len, int *fd);

/* A stream socket or pipe, blocking, both ways whole: every byte or -1
 * (errno set; end of stream is -1 with errno 0).  send_all never raises
 * SIGPIPE.  ctl, exec and the root side's exec requests use them. */
int fd_send_all(int fd, const void *buf, size_t len);
int fd_read_full(int fd, void *buf, size_t len);

#endif
