/* The event ring (events.h) and engine_event_next (api.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "events.h"

static struct {
	char json[EVENTS_RING][EVENT_JSON_MAX];
	uint64_t next;		/* events ever noted; the newest is next - 1 */
} R;

/* s as a JSON string body: quotes, backslashes and control characters
 * escaped, anything outside ASCII replaced (names and messages are ASCII). */
static size_t put_escaped(char *dst, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(dst + o, cap - o, "\\%c", c);
		else if (c < 0x20)
			o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", c);
		else
			dst[o++] = c < 0x7f ? (char)c : '?';
	}
	dst[o] = '\0';
	return o;
}

void events_note(const char *kind, ...)
{
	char *out = R.json[R.next % EVENTS_RING];
	struct timespec ts;
	const char *key, *val;
	size_t o;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	o = (size_t)snprintf(out, EVENT_JSON_MAX, "{\"event\":\"%s\",\"time\":%lld.%03ld", kind,
			     (long long)ts.tv_sec, ts.tv_nsec / 1000000);
	va_start(ap, kind);
	while ((key = va_arg(ap, const char *)) && (val = va_arg(ap, const char *))) {
		bool num = key[0] == '#';

		if (o + 16 + strlen(key) >= EVENT_JSON_MAX)
			break;
		o += (size_t)snprintf(out + o, EVENT_JSON_MAX - o, ",\"%s\":%s", key + num, num ? "" : "\"");
		if (num)
			o += (size_t)snprintf(out + o, EVENT_JSON_MAX - o - 2, "%s", val);
		else
			o += put_escaped(out + o, EVENT_JSON_MAX - o - 2, val);
		if (o >= EVENT_JSON_MAX - 2)
			o = EVENT_JSON_MAX - 3;
		if (!num)
			out[o++] = '"';
	}
	va_end(ap);
	out[o++] = '}';
	out[o] = '\0';
	R.next++;
}

uint64_t events_head(void)
{
	return R.next;
}

int engine_event_next(struct engine *eng, uint64_t *seq, char *out, size_t cap)
{
	if (*seq >= R.next)
		return 0;
	if (R.next - *seq > EVENTS_RING) {
		/* This watcher fell behind: say so, then go on with the oldest kept. */
		snprintf(out, cap, "{\"event\":\"lost\",\"count\":%llu}",
			 (unsigned long long)(R.next - EVENTS_RING - *seq));
		*seq = R.next - EVENTS_RING;
		return 1;
	}
	snprintf(out, cap, "%s", R.json[*seq % EVENTS_RING]);
	(*seq)++;
	return 1;
}

uint64_t engine_event_head(struct engine *eng)
{
	return events_head();
}
