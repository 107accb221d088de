/* The one failure a run ends with: an exit code and a one-line message that
 * names the cause and what to do.  Modules record it with fail() and return
 * -1; only the top level prints it and exits. */
#ifndef SSHTUN_FAIL_H
#define SSHTUN_FAIL_H

/* cmocka defines macros fail() and fail_msg(): unit tests #undef them after
 * <cmocka.h>, or call ours as (fail_msg)(). */

/* Records code and message (the first failure wins until fail_clear()).
 * Always returns -1 so callers can write `return fail(...)`. */
int fail(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fail_clear(void);
/* For parsers that report into the caller's buffer instead (hello, pool,
 * serve config): writes the message to err if there is one; returns -1. */
int errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int fail_code(void);		/* 0 when nothing failed */
const char *fail_msg(void);	/* "" when nothing failed */

#endif
