/* Units for people and escaping for JSON. */
#include <math.h>
#include <stdio.h>

#include "format.h"

/* One decimal below 100 ("12.3"), none above ("840"): three digits at most
 * keep table columns steady. */
static char *scaled(char *out, size_t cap, double v, double step, const char *const *units,
		    size_t nunits)
{
	size_t u = 0;

	while (v >= step && u + 1 < nunits) {
		v /= step;
		u++;
	}
	if (u == 0 || v >= 99.95)
		snprintf(out, cap, "%.0f %s", v, units[u]);
	else
		snprintf(out, cap, "%.1f %s", v, units[u]);
	return out;
}

char *fmt_bytes(char *out, size_t cap, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

	return scaled(out, cap, (double)bytes, 1024, units, sizeof(units) / sizeof(units[0]));
}

char *fmt_rate(char *out, size_t cap, double bps)
{
	static const char *const units[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s" };

	if (!isfinite(bps) || bps < 0)
		bps = 0;
	return scaled(out, cap, bps, 1000, units, sizeof(units) / sizeof(units[0]));
}

char *fmt_duration(char *out, size_t cap, uint64_t s)
{
	unsigned long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;

	if (d)
		snprintf(out, cap, "%llud%02lluh%02llum%02llus", d, h, m, sec);
	else if (h)
		snprintf(out, cap, "%lluh%02llum%02llus", h, m, sec);
	else if (m)
		snprintf(out, cap, "%llum%02llus", m, sec);
	else
		snprintf(out, cap, "%llus", sec);
	return out;
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp, min;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* a NUL stops here too */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	fputc('"', f);
	while (*s) {
		size_t n = utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", f);
			s++;
		} else if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s++, f);
		} else if (*s == '\n') {
			fputs("\\n", f), s++;
		} else if (*s == '\t') {
			fputs("\\t", f), s++;
		} else if (*s == '\r') {
			fputs("\\r", f), s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else {
			fwrite(s, 1, n, f);
			s += n;
		}
	}
	fputc('"', f);
}

void json_num(FILE *f, double v, int prec, int neg_is_null)
{
	if (!isfinite(v) || (neg_is_null && v < 0))
		fputs("null", f);
	else
		fprintf(f, "%.*f", prec, v);
}
