/* --push: no helper on the server, so the client copies its own binary
 * there over the SSH session and runs that.
 *
 * The copy lives in ~/.cache/sshtun/sshtun-VERSION-HASH (HASH: the first
 * 12 hex digits of its SHA-256, so two builds of one version never share a
 * name), mode 0700.  Only when the server's `uname -m' is this machine's.
 * An existing copy is used when its SHA-256 (sha256sum on the server) is
 * this binary's; any other file there (another hash, a symbolic link, not
 * the login user's) is left alone and refused.  An upload goes to a new
 * file of its own (noclobber), is checked with sha256sum on the server and
 * only then linked to its name, which never replaces a file. */
#ifndef SSHTUN_PUSH_H
#define SSHTUN_PUSH_H

#include <libssh2.h>
#include <stdbool.h>
#include <stddef.h>

/* The binary --push sends: a self-contained build next to this one
 * (PATH-static, `make static') when there is one, else this one. */
int push_local_binary(char *path, size_t cap);

/* On the connect thread, the session blocking: makes sure the copy is on
 * the server (uploading it when it is not) and writes the command that
 * runs it as the helper into cmd: the copy with the arguments that follow
 * `sshtun' in remote_command ("serve" when none).  *uploaded says whether
 * it was sent this time.  timeout_s bounds each step but the upload.
 * Returns 0, or -1 with fail() set (EXIT_REFUSED: another machine, a file
 * in the way, a failed check). */
int push_helper(LIBSSH2_SESSION *s, const char *remote_command, unsigned timeout_s, char *cmd,
		size_t cap, bool *uploaded);

/* The name the copy gets: "sshtun-" VERSION "-" 12 hex digits, VERSION's
 * characters outside [A-Za-z0-9.] made '-'.  Returns 0 or -1 (no room). */
int push_name(const char *version, const char *hash_hex, char *out, size_t cap);

/* The helper's arguments in remote_command: what follows its first word
 * that is or ends in "sshtun"; "serve" when there is none.  Writes the
 * command that runs path with them.  Returns 0 or -1 (no room). */
int push_command(const char *remote_command, const char *path, char *out, size_t cap);

#endif
