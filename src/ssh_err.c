/* See ssh_err.h. */
#include "ssh_err.h"

const char *ssh_errmsg(LIBSSH2_SESSION *session)
{
	char *msg = NULL;

	if (!session)
		return "no session";
	libssh2_session_last_error(session, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown error";
}
