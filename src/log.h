/* Logging with levels, format-checked.  Lines go to stderr unless a sink is
 * installed (the prompt installs one so that log lines print above the line
 * being typed). */
#ifndef SSHTUN_LOG_H
#define SSHTUN_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_QUIET = -1,
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_VERBOSE,	/* -v */
	LOG_DEBUG,	/* -vv */
	LOG_DEBUG2,	/* -vvv */
};

extern enum log_level log_level;

typedef void (*log_sink_fn)(enum log_level level, const char *line, void *ctx);

void log_set_sink(log_sink_fn sink, void *ctx);
/* Prefix every line (e.g. "serve" on the helper, so sshd logs say who). */
void log_set_prefix(const char *prefix);
const char *log_level_name(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Log lines of the calling thread are kept until log_flush_deferred() runs
 * on the loop's thread (readline and the control socket are not
 * thread-safe). */
void log_defer_this_thread(void);
void log_flush_deferred(void);

#define log_error(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)    log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_debug2(...)  log_msg(LOG_DEBUG2, __VA_ARGS__)

/* Is stderr the journal's stream (JOURNAL_STREAM)?  Then lines carry a
 * priority ("<3>") and neither prefix nor time. */
bool log_to_journal(void);

#endif
