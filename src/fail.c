/* The run's failure: the first one recorded is the cause the user sees. */
#include <stdarg.h>
#include <stdio.h>

#include "common.h"
#include "fail.h"
#include "log.h"

/* Per thread: a background connect records its own failure (bg.c). */
static _Thread_local int code;
static _Thread_local char msg[ERROR_MSG_MAX];

int fail(int exit_code, const char *fmt, ...)
{
	va_list ap;

	if (code) {
		/* Later failures are usually consequences; keep them for -v. */
		char later[ERROR_MSG_MAX];

		va_start(ap, fmt);
		vsnprintf(later, sizeof(later), fmt, ap);
		va_end(ap);
		log_debug("also: %s", later);
		return -1;
	}
	code = exit_code ? exit_code : EXIT_ERROR;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	return -1;
}

int errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void fail_clear(void)
{
	code = 0;
	msg[0] = '\0';
}

int fail_code(void)
{
	return code;
}

const char *fail_msg(void)
{
	return msg;
}
