/* See account.h. */
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "fail.h"

/* A name fit for a one-line message: printable, no spaces. */
static bool plain_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= ACCOUNT_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

/* Strict decimal: no sign, no leading zero, below (uid_t)-1 (which means
 * "no uid" to setuid and friends). */
static int parse_uid(const char *s, uid_t *out)
{
	unsigned long long v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 10)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v >= (uid_t)-1)
		return -1;
	*out = (uid_t)v;
	return 0;
}

int account_resolve(uid_t ruid, const char *sudo_uid, const char *sudo_user, struct account *out,
		    char *err, size_t errlen)
{
	const struct passwd *pw;

	memset(out, 0, sizeof(*out));
	out->uid = ruid;
	if (ruid == 0 && sudo_uid) {
		if (parse_uid(sudo_uid, &out->uid) < 0)
			return errorf(err, errlen, "bad SUDO_UID `%.20s' (want the uid sudo ran for)",
				      sudo_uid);
	} else {
		sudo_user = NULL;	/* only sudo's word for its own uid */
	}
	pw = getpwuid(out->uid);
	if (pw && plain_name(pw->pw_name))
		snprintf(out->name, sizeof(out->name), "%s", pw->pw_name);
	else if (plain_name(sudo_user))
		snprintf(out->name, sizeof(out->name), "%s", sudo_user);
	else
		snprintf(out->name, sizeof(out->name), "uid %u", (unsigned)out->uid);
	return 0;
}

int account_self(struct account *out, char *err, size_t errlen)
{
	return account_resolve(getuid(), getenv("SUDO_UID"), getenv("SUDO_USER"), out, err, errlen);
}
