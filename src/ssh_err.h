/* libssh2's last error as text, for messages. */
#ifndef SSHTUN_SSH_ERR_H
#define SSHTUN_SSH_ERR_H

#include <libssh2.h>

const char *ssh_errmsg(LIBSSH2_SESSION *session);

#endif
