/* Where a client's files live: the directory of this user's instances, an
 * instance's control socket in it, and the state file beside the socket.
 * Depends on nothing of sshtun but fail(): ctl, cleanup, state.c and the
 * client all find the same files through it. */
#ifndef SSHTUN_PATHS_H
#define SSHTUN_PATHS_H

#include <stddef.h>

#define PATHS_SOCK_MAX 108	/* sizeof(sockaddr_un.sun_path) */

/* /run/sshtun as root, else $XDG_RUNTIME_DIR/sshtun, else /tmp/sshtun-UID
 * (no login session).  Returns 0, or -1 with fail() set. */
int paths_dir(char *out, size_t cap);
/* NAME's control socket, DIR/NAME.sock; NAME must be a plain file name.
 * Returns 0, or -1 with fail(EXIT_USAGE) naming the bad name or length. */
int paths_socket(const char *name, char *out, size_t cap);
/* Where a running instance NAME listens: paths_socket's path or, for a
 * user whose instance `sudo sshtun' started, /run/sshtun/NAME.sock when
 * that socket is theirs.  Returns 0, or -1 as paths_socket. */
int paths_find_socket(const char *name, char *out, size_t cap);
/* The state file beside a socket: PATH less ".sock", plus ".state".
 * Returns 0, or -1 with fail(EXIT_USAGE). */
int paths_state(const char *sock_path, char *out, size_t cap);
/* The length of the instance name in a file name "NAME.sock"; 0 when it is
 * not one. */
size_t paths_sock_name_len(const char *fname);
/* The instance name in messages: the path's file name less ".sock". */
void paths_instance(const char *path, char *out, size_t cap);

#endif
