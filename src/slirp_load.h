/* libslirp at run time, for the self-contained build (`make static'):
 * that binary carries its other libraries inside but not libslirp (and its
 * glib), which it loads with dlopen when the helper needs its user-space
 * stack, so that it runs on servers without them in every other mode.  The
 * normal build links libslirp and this does nothing. */
#ifndef SSHTUN_SLIRP_LOAD_H
#define SSHTUN_SLIRP_LOAD_H

#include <stddef.h>

/* Makes libslirp's functions callable.  Returns 0, or -1 with a one-line
 * reason naming the package to install in err.  Call it before the
 * sandbox: it opens files and maps code. */
int slirp_load(char *err, size_t errlen);

#endif
