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

/* The helper's user-space mode (userspace.h), one process with a thread:
 * the allow-list above for every thread of the process, and what the
 * user-space stack needs besides, the login user's own network access:
 * IPv4 and IPv6 sockets (other families answer EAFNOSUPPORT), connect,
 * bind, socket options and names, shutdown, FIONREAD.  With files_ro (set
 * after sandbox_fs_readonly() succeeded), opening a file read-only is
 * allowed too: Landlock decides which.  Returns as sandbox_seccomp(). */
int sandbox_seccomp_net(bool files_ro, char *err, size_t errlen);

/* Landlock: from here on this thread and the threads it starts can open
 * no file but path, and that one only for reading (slirp rereads
 * /etc/resolv.conf when it changes).  Sets no_new_privs.  Returns 0; 1
 * when the kernel has no Landlock, with the reason in err; -1 with err. */
int sandbox_fs_readonly(const char *path, char *err, size_t errlen);

#endif
