/* The SSH account a helper serves: leases belong to it and sessions are
 * counted per account (pool.h).
 *
 * The helper runs as the account sshd logged in, so that is its real uid;
 * except when sudo made it root (the Subsystem line `sudo -n sshtun serve'):
 * then the account is the one sudo ran for, SUDO_UID.  sudo sets SUDO_UID
 * itself; only a process whose real uid is 0 may name another account that
 * way, so a user with file capabilities cannot pose as someone else. */
#ifndef SSHTUN_ACCOUNT_H
#define SSHTUN_ACCOUNT_H

#include <stddef.h>
#include <sys/types.h>

#define ACCOUNT_NAME_MAX 64

struct account {
	uid_t uid;
	char name[ACCOUNT_NAME_MAX];	/* for messages: the login name, or "uid N" */
};

/* Decides from the real uid and the SUDO_UID / SUDO_USER values (NULL when
 * unset).  Returns 0, or -1 with a reason in err (a SUDO_UID that is not a
 * uid). */
int account_resolve(uid_t ruid, const char *sudo_uid, const char *sudo_user, struct account *out,
		    char *err, size_t errlen);

/* account_resolve() for this process. */
int account_self(struct account *out, char *err, size_t errlen);

#endif
