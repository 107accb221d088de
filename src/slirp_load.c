/* See slirp_load.h. */
#include <stddef.h>

#include "fail.h"
#include "slirp_load.h"

#ifdef SSHTUN_SLIRP_DLOPEN
#include <dlfcn.h>
#include <stdbool.h>

#include <slirp/libslirp.h>

/* The functions userspace.c calls, found in libslirp.so.0. */
static struct {
	bool loaded;
	Slirp *(*new_)(const SlirpConfig *, const SlirpCb *, void *);
	void (*cleanup)(Slirp *);
	void (*input)(Slirp *, const uint8_t *, int);
	void (*fill)(Slirp *, uint32_t *, SlirpAddPollCb, void *);
	void (*poll)(Slirp *, int, SlirpGetREventsCb, void *);
} fn;

#define SLIRP_PACKAGES "Debian and Ubuntu: libslirp0; Fedora and RHEL: libslirp; Arch: libslirp"

int slirp_load(char *err, size_t errlen)
{
	void *h;

	if (fn.loaded)
		return 0;
	h = dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return errorf(err, errlen, "user-space mode needs libslirp, which this server lacks (%s): "
			      "install it (" SLIRP_PACKAGES ")", dlerror());
	*(void **)&fn.new_ = dlsym(h, "slirp_new");
	*(void **)&fn.cleanup = dlsym(h, "slirp_cleanup");
	*(void **)&fn.input = dlsym(h, "slirp_input");
	*(void **)&fn.fill = dlsym(h, "slirp_pollfds_fill");
	*(void **)&fn.poll = dlsym(h, "slirp_pollfds_poll");
	if (!fn.new_ || !fn.cleanup || !fn.input || !fn.fill || !fn.poll)
		return errorf(err, errlen, "user-space mode: libslirp.so.0 lacks slirp_new or its kin "
			      "(version 4.0 or later needed: " SLIRP_PACKAGES ")");
	fn.loaded = true;
	return 0;
}

/* The names userspace.c links against, in this build only. */
Slirp *slirp_new(const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque)
{
	return fn.new_(cfg, callbacks, opaque);
}

void slirp_cleanup(Slirp *slirp)
{
	fn.cleanup(slirp);
}

void slirp_input(Slirp *slirp, const uint8_t *pkt, int pkt_len)
{
	fn.input(slirp, pkt, pkt_len);
}

void slirp_pollfds_fill(Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll, void *opaque)
{
	fn.fill(slirp, timeout, add_poll, opaque);
}

void slirp_pollfds_poll(Slirp *slirp, int select_error, SlirpGetREventsCb get_revents, void *opaque)
{
	fn.poll(slirp, select_error, get_revents, opaque);
}
#else
int slirp_load(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return 0;
}
#endif
