/* Questions to the person at the terminal (passphrases, host keys).  They go
 * to /dev/tty, never stdin/stdout, so scripts and pipes are left alone. */
#ifndef SSHTUN_TTY_H
#define SSHTUN_TTY_H

#include <stdbool.h>
#include <stddef.h>

/* True when /dev/tty can be opened. */
bool tty_available(void);
/* Reads one line with echo off (echo on when echo is true).  Returns 0, or
 * -1 when there is no terminal or input ended.  The caller wipes buf. */
int tty_ask(const char *prompt, bool echo, char *buf, size_t cap);

#endif
