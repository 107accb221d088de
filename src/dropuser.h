/* Who the user's side of a root-started instance runs as, and the drop
 * itself.  `sudo sshtun`: SUDO_UID/SUDO_GID, or --user USER.  Plain root
 * (no SUDO_UID, no --user): uid 0 stays, every capability goes. */
#ifndef SSHTUN_DROPUSER_H
#define SSHTUN_DROPUSER_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct drop_target {
	bool user;		/* false: plain root, capabilities only */
	uid_t uid;
	gid_t gid;
	char name[64];
	char home[PATH_MAX];
};

/* From --user (NULL: not given) or sudo's variables.  0 or -1 with fail(). */
int drop_target_find(const char *user_opt, struct drop_target *t);
/* Drops this process for good: groups, gid, uid (checked irreversible),
 * HOME/USER/LOGNAME from the passwd entry; or, for plain root, every
 * capability.  Either way no_new_privs.  0 or -1 with fail(). */
int drop_to(const struct drop_target *t);

#endif
