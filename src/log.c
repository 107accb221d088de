/* Logging: one line per message, to stderr or to the installed sink. */
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

enum log_level log_level = LOG_INFO;

#define DEFERRED_MAX 64

static _Thread_local bool defer;
static pthread_mutex_t deferred_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	enum log_level level;
	char line[1024];
} deferred[DEFERRED_MAX];
static int ndeferred;

static log_sink_fn sink;
static void *sink_ctx;
static char prefix[32] = "sshtun";

static const char *const names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info",
	[LOG_VERBOSE] = "verbose", [LOG_DEBUG] = "debug", [LOG_DEBUG2] = "debug2",
};

void log_set_sink(log_sink_fn fn, void *ctx)
{
	sink = fn;
	sink_ctx = ctx;
}

void log_set_prefix(const char *p)
{
	snprintf(prefix, sizeof(prefix), "%s", p);
}

const char *log_level_name(enum log_level level)
{
	if (level < LOG_ERROR || level > LOG_DEBUG2)
		return "quiet";
	return names[level];
}

int log_level_parse(const char *name, enum log_level *out)
{
	if (!strcasecmp(name, "quiet")) {
		*out = LOG_QUIET;
		return 0;
	}
	for (int i = LOG_ERROR; i <= LOG_DEBUG2; i++) {
		if (!strcasecmp(name, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

static void emit(enum log_level level, const char *line);

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One message is one line: a peer-supplied newline must not forge a
	 * second log line. */
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (defer) {
		pthread_mutex_lock(&deferred_lock);
		if (ndeferred < DEFERRED_MAX) {
			deferred[ndeferred].level = level;
			snprintf(deferred[ndeferred].line, sizeof(deferred[0].line), "%s", line);
			ndeferred++;
		}
		pthread_mutex_unlock(&deferred_lock);
		return;
	}
	emit(level, line);
}

void log_defer_this_thread(void)
{
	defer = true;
}

void log_flush_deferred(void)
{
	pthread_mutex_lock(&deferred_lock);
	for (int i = 0; i < ndeferred; i++)
		emit(deferred[i].level, deferred[i].line);
	ndeferred = 0;
	pthread_mutex_unlock(&deferred_lock);
}

/* Is stderr the journal's stream (JOURNAL_STREAM names its device and
 * inode, as systemd sets it)?  Then each line carries its priority the
 * journal's way ("<3>") and no prefix: the journal records the time, the
 * unit and the program itself. */
bool log_to_journal(void)
{
	static int known = -1;
	unsigned long long dev, ino;
	const char *js;
	struct stat st;

	if (known < 0) {
		js = getenv("JOURNAL_STREAM");
		known = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
			(unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return known;
}

static void emit(enum log_level level, const char *line)
{
	static const int priority[] = {
		[LOG_ERROR] = 3, [LOG_WARN] = 4, [LOG_INFO] = 6,
		[LOG_VERBOSE] = 7, [LOG_DEBUG] = 7, [LOG_DEBUG2] = 7,
	};

	if (sink) {
		sink(level, line, sink_ctx);
		return;
	}
	if (log_to_journal() && level >= LOG_ERROR && level <= LOG_DEBUG2) {
		fprintf(stderr, "<%d>%s%s\n", priority[level], level == LOG_WARN ? "warning: " : "", line);
		return;
	}
	if (level <= LOG_WARN)
		fprintf(stderr, "%s: %s%s\n", prefix, level == LOG_WARN ? "warning: " : "", line);
	else
		fprintf(stderr, "%s: %s\n", prefix, line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
