/* ssh_config(5) files, read the way OpenSSH's ssh reads them, so that a
 * ~/.ssh/config written for ssh means the same to sshtun.
 *
 * The parser decides which lines apply to a host and hands each one to a
 * callback in file order; the caller keeps the first value of each keyword
 * (as ssh does) and judges the values.
 *
 * Lines:  `Keyword value', `Keyword=value', `Keyword = value'; keywords in any
 *   case (handed over as written); '#' at the start of a word begins a
 *   comment.  Words follow ssh's rules: "double" and 'single' quotes group,
 *   a backslash escapes a quote, a backslash or (outside quotes) a space.
 *   An unterminated quote, a line over SSHCONFIG_LINE_MAX bytes, a NUL byte,
 *   a keyword with no value and a file over SSHCONFIG_FILE_MAX bytes are
 *   errors naming FILE:LINE.
 * Value: a single word comes without its quotes and escapes
 *   (`IdentityFile "~/my keys/id"' gives `~/my keys/id'); several words come
 *   as written, quotes kept, trailing comment dropped.  ProxyCommand,
 *   LocalCommand, RemoteCommand and KnownHostsCommand always come as written
 *   (the rest of the line), since a shell reads them.
 * Host PATTERN...: '*' and '?' wildcards, case-sensitive as in ssh, matched
 *   against the host as typed (the alias); a matching !PATTERN excludes the
 *   block whatever else matches.  Lines before the first Host or Match apply
 *   to every host.
 * Match: `all', and host, originalhost, user, localuser with a
 *   comma-separated pattern list (`Match host a,!b*'), each criterion
 *   optionally negated with '!'; all criteria must hold.  `host' is the
 *   HostName the lines read so far set (%h expanded), else the alias, as in
 *   ssh; `user' is the remote user: sshconfig_target.user, else the first
 *   User line that applied, else the local user.  exec, canonical, final,
 *   localnetwork, tagged, sessiontype, command and version are not
 *   evaluated: a warning names FILE:LINE and the block does not apply.
 *   Unknown criteria are errors.
 * Include FILE...: glob patterns; ~ expands; a relative path is relative to
 *   ~/.ssh (as for ssh's user configuration; /etc/ssh for the system file is
 *   not distinguished).  An included file starts in the including line's
 *   Host/Match state, cannot change it for the lines after the Include, and
 *   inside a block that does not apply is only checked for syntax.  Patterns
 *   that match nothing are fine; nesting past SSHCONFIG_DEPTH_MAX is an
 *   error.  Included files must be owned by the user or root and not
 *   writable by group or others, as ssh requires.
 * Host, Match and Include lines themselves are not handed to the callback. */
#ifndef SSHTUN_SSHCONFIG_H
#define SSHTUN_SSHCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define SSHCONFIG_LINE_MAX	4096		/* bytes in one line, newline excluded */
#define SSHCONFIG_FILE_MAX	(1024 * 1024)	/* bytes in one file */
#define SSHCONFIG_DEPTH_MAX	16		/* nested Includes, as ssh */

/* Called for each line that applies.  keyword and value are valid only
 * during the call: copy what you keep.  Returns 0, or -1 with fail() set
 * (mention file:line in the message; the parser adds a generic one if fail()
 * is not set). */
typedef int (*sshconfig_fn)(void *ctx, const char *keyword, const char *value,
			    const char *file, int line);

/* What sshconfig_read_target() matches against: what ssh knows before it
 * reads its files. */
struct sshconfig_target {
	const char *host;		/* as typed, without user@: Host, Match originalhost */
	const char *original_host;	/* NULL: host */
	const char *user;		/* -l, user@host or -o User; NULL: from the files */
	const char *hostname;		/* -o HostName; NULL: from the files */
	bool missing_ok;		/* a missing file reads as empty */
	bool check_perm;		/* owner and mode checked, as for a default file */
};

/* Reads one ssh_config file and calls fn(keyword, value) for each line that
 * applies to t (Host and Match), in file order.  Returns 0 (also when the
 * file does not exist and missing_ok), or -1 with
 * fail(EXIT_USAGE, "FILE:LINE: reason") for a syntax error or an fn that
 * returned -1 (fn sets its own fail()).  check_perm, for a default file
 * (~/.ssh/config): like ssh, it must then be owned by the user or root and
 * not writable by group or others; a file named with -F is not checked. */
int sshconfig_read_target(const char *path, const struct sshconfig_target *t,
			  sshconfig_fn fn, void *ctx);

/* Expands a leading ~ (with $HOME; ~user from the passwd file) and the
 * tokens %h (host name), %p (port), %r (remote user), %u (local user),
 * %d (local home directory, as ~), %% in value into out.  Returns 0 or -1
 * (does not fit / unknown token, with fail()); out is "" after a failure. */
int sshconfig_expand(const char *value, const char *host, unsigned port,
		     const char *ruser, char *out, size_t cap);

#endif
