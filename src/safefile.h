/* Files that root reads or writes in its own directories (/run/sshtun, the
 * lease file's directory, the directory of the state file and control
 * socket): a symlink or hard link planted there, a file someone else owns or
 * can write, or a directory others can write to would let a local user
 * redirect a root write or feed root a record to act on.  Every such open
 * goes through here. */
#ifndef SSHTUN_SAFEFILE_H
#define SSHTUN_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Checks that dir is a directory owned by us or root that neither group nor
 * others may write to (sticky or not), and so is every directory above it up
 * to /, by name and by real path, except that those above may be sticky
 * (/tmp).  create: make the missing parts first, mode 0700 (the last part:
 * mode), none below a part that fails.  Returns 0, or -1 with a one-line
 * reason naming the bad directory in err. */
int safe_dir(const char *dir, bool create, mode_t mode, char *err, size_t errlen);

/* safe_dir() on path's directory (no create; its parents too), then
 * open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode) and, after the open, the
 * file must be a plain
 * file with one link, owned by us, not writable by group or others.  Returns
 * the fd, or -1 with errno set (ENOENT for a missing file, for callers that
 * accept that) and a reason naming the file in err. */
int safe_open(const char *path, int flags, mode_t mode, char *err, size_t errlen);

/* A new file only: a name already there is removed first if it is a plain
 * file or symlink (never followed), then O_CREAT | O_EXCL. */
int safe_create(const char *path, mode_t mode, char *err, size_t errlen);

#endif
