/* Numbers for people (12.3 MiB, 840 Mbit/s, 1h02m03s) and for scripts
 * (JSON strings and numbers, escaped and always valid). */
#ifndef SSHTUN_FORMAT_H
#define SSHTUN_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Each writes at most cap bytes (NUL included) to out and returns out. */
char *fmt_bytes(char *out, size_t cap, uint64_t bytes);	/* IEC: "12.3 MiB" */
char *fmt_rate(char *out, size_t cap, double bps);		/* SI: "840 Mbit/s" */
char *fmt_duration(char *out, size_t cap, uint64_t s);	/* "1h02m03s" */

/* A JSON string: quotes added, " \ and control characters escaped, bytes
 * that are not UTF-8 replaced by U+FFFD so the output always parses.
 * NULL prints as "". */
void json_str(FILE *f, const char *s);
/* A JSON number with prec decimals; null when v is negative and
 * neg_is_null is set ("not measured"), or when v is not finite. */
void json_num(FILE *f, double v, int prec, int neg_is_null);

#endif
