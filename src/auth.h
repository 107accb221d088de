/* User authentication on a handshaken session, in ssh's order: the agent,
 * identity files, then keyboard-interactive and password at the terminal. */
#ifndef SSHTUN_AUTH_H
#define SSHTUN_AUTH_H

#include <libssh2.h>

#include "ssh_opts.h"

int auth_run(const struct ssh_opts *opts, LIBSSH2_SESSION *s);

#endif
