/* Dropping root for the part of the client that talks to the network. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "dropuser.h"
#include "fail.h"
#include "log.h"

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out >= 0xffffffffUL ? -1 : 0;
}

int drop_target_find(const char *user_opt, struct drop_target *t)
{
	const char *sudo_uid = getenv("SUDO_UID"), *sudo_gid = getenv("SUDO_GID");
	const struct passwd *pw = NULL;
	unsigned long id;

	memset(t, 0, sizeof(*t));
	if (user_opt) {
		pw = getpwnam(user_opt);
		if (!pw && parse_id(user_opt, &id) == 0)
			pw = getpwuid((uid_t)id);
		if (!pw)
			return fail(EXIT_USAGE, "--user `%s': no such user", user_opt);
	} else if (sudo_uid) {
		if (parse_id(sudo_uid, &id) < 0)
			return fail(EXIT_LOCAL, "bad SUDO_UID `%s'", sudo_uid);
		pw = getpwuid((uid_t)id);
		if (!pw)
			return fail(EXIT_LOCAL, "SUDO_UID %lu has no passwd entry; use --user USER", id);
	}
	if (!pw || pw->pw_uid == 0)
		return 0;	/* root asked for root: capabilities go, uid 0 stays */
	t->user = true;
	t->uid = pw->pw_uid;
	t->gid = pw->pw_gid;
	if (!user_opt && sudo_gid) {
		if (parse_id(sudo_gid, &id) < 0)
			return fail(EXIT_LOCAL, "bad SUDO_GID `%s'", sudo_gid);
		t->gid = (gid_t)id;
	}
	if (snprintf(t->name, sizeof(t->name), "%s", pw->pw_name) >= (int)sizeof(t->name) ||
	    snprintf(t->home, sizeof(t->home), "%s", pw->pw_dir) >= (int)sizeof(t->home))
		return fail(EXIT_LOCAL, "user `%s': name or home too long", pw->pw_name);
	return 0;
}

/* uid 0 that is not root: no capability in any set, none to come back
 * through execve (no_new_privs, an empty bounding set, noroot bits). */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			break;	/* no CAP_SETPCAP: no_new_privs still holds */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return fail(EXIT_LOCAL, "cannot drop capabilities: %s", strerror(errno));
	if (syscall(SYS_capget, &h, d) < 0 || d[0].effective || d[0].permitted || d[1].effective ||
	    d[1].permitted)
		return fail(EXIT_LOCAL, "capabilities are still there after dropping them");
	return 0;
}

static int drop_user(const struct drop_target *t)
{
	if (initgroups(t->name, t->gid) < 0 || setgid(t->gid) < 0 || setuid(t->uid) < 0)
		return fail(EXIT_LOCAL, "cannot become user %s (uid %u, gid %u): %s", t->name,
			    (unsigned)t->uid, (unsigned)t->gid, strerror(errno));
	/* For good: root must not come back. */
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != t->uid || geteuid() != t->uid ||
	    getgid() != t->gid || getegid() != t->gid || (t->gid != 0 && setgid(0) == 0))
		return fail(EXIT_LOCAL, "dropping to user %s did not stick", t->name);
	if (setenv("HOME", t->home, 1) < 0 || setenv("USER", t->name, 1) < 0 ||
	    setenv("LOGNAME", t->name, 1) < 0)
		return fail(EXIT_LOCAL, "setenv: %s", strerror(errno));
	if (!getenv("SSH_AUTH_SOCK"))
		log_info("no SSH_AUTH_SOCK (sudo removes it): %s's agent is not used; keep it with "
			 "sudo --preserve-env=SSH_AUTH_SOCK, or run sshtun without sudo", t->name);
	return 0;
}

int drop_to(const struct drop_target *t)
{
	if (t->user ? drop_user(t) < 0 : drop_caps() < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(EXIT_LOCAL, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return 0;
}
