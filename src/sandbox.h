/* The helper worker's sandbox: what the process that parses the client's
 * bytes gives up before it reads any of them.  One header; sandbox-linux.c
 * drops to an unprivileged user, clears every capability, sets
 * no_new_privs and installs a seccomp allow-list (other systems follow with
 * pledge(2), Capsicum or sandbox_init behind the same calls). */
#ifndef SSHTUN_SANDBOX_H
#define SSHTUN_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* May this process create a TUN device and configure interfaces (root, or
 * CAP_NET_ADMIN in its effective set)? */
bool sandbox_privileged(void);

/* Becomes uid/gid for good (no supplementary groups when we were root),
 * with no capabilities left in any set and no way to regain them.  Returns
 * 0, or -1 with a one-line reason in err. */
int sandbox_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errlen);

/* Installs the allow-list: from here on the process can read and write the
 * descriptors it holds, poll, pass descriptors over a socket it holds,
 * allocate memory, read clocks, sleep and exit.  Anything else (opening a
 * file answers EACCES) kills the whole process with SIGSYS.  Returns 0; 1
 * when this system has no seccomp (or valgrind runs us), with the reason
 * in err; -1 with a one-line reason in err when installing it failed. */
int sandbox_seccomp(char *err, size_t errlen);

#endif
