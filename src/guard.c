/* See guard.h. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "fail.h"
#include "guard.h"
#include "killswitch.h"
#include "log.h"
#include "priv.h"

static int allow(unsigned flags, const struct addrinfo *ai, unsigned port, char *err, size_t errlen)
{
	struct inet_prefix p;

	memset(&p, 0, sizeof(p));
	p.family = ai->ai_family;
	if (p.family == AF_INET) {
		p.addr.v4 = ((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		p.plen = 32;
	} else if (p.family == AF_INET6) {
		p.addr.v6 = ((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		p.plen = 128;
	} else {
		return 0;
	}
	return priv_guard(flags, &p, port, err, errlen);
}

/* The connect's fallback (ssh_opts.h): only what the guard allows. */
static void pin(struct ssh_opts *ssh, const struct addrinfo *ai)
{
	if (ssh->npinned == SSH_MAX_PINNED || ai->ai_addrlen > sizeof(ssh->pinned[0]))
		return;
	for (int i = 0; i < ssh->npinned; i++)
		if (!memcmp(&ssh->pinned[i], ai->ai_addr, ai->ai_addrlen))
			return;
	memset(&ssh->pinned[ssh->npinned], 0, sizeof(ssh->pinned[0]));
	memcpy(&ssh->pinned[ssh->npinned++], ai->ai_addr, ai->ai_addrlen);
}

int guard_start(struct client_opts *o, unsigned *flags)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = o->ssh.family }, *res = NULL, *ai;
	unsigned want = KS_KILL | (o->allow_lan ? KS_ALLOW_LAN : 0);
	char port[8], err[ERROR_MSG_MAX];
	int rc;

	if (!o->kill_switch)
		return 0;
	/* Where a ProxyCommand connects is its business: nothing to allow. */
	if (o->ssh.proxy_command && o->ssh.proxy_command[0])
		return fail(EXIT_USAGE, "--kill-switch cannot tell where a ProxyCommand or ProxyJump connects: "
			    "connect to the server directly");
	snprintf(port, sizeof(port), "%u", o->ssh.port);
	rc = getaddrinfo(o->ssh.host, port, &hints, &res);
	if (rc)
		return fail(EXIT_UNREACHABLE, "cannot resolve %s for the kill switch: %s (check the host name)",
			    o->ssh.host, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		if (allow(want, ai, o->ssh.port, err, sizeof(err)) < 0) {
			freeaddrinfo(res);
			return fail(EXIT_LOCAL, "--kill-switch: %s", err);
		}
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			pin(&o->ssh, ai);
		*flags = want;
	}
	freeaddrinfo(res);
	log_info("kill switch on: nothing leaves but through the tunnel, to %s port %u%s", o->ssh.host,
		 o->ssh.port, o->allow_lan ? " or to the LAN" : "");
	return 0;
}

int guard_dns(unsigned *flags, bool on, char *err, size_t errlen)
{
	unsigned want = on ? *flags | KS_DNS : *flags & ~(unsigned)KS_DNS;

	if (want == *flags)
		return 0;
	if (priv_guard(want, NULL, 0, err, errlen) < 0)
		return -1;
	*flags = want;
	return 0;
}

void guard_end(unsigned *flags)
{
	char err[ERROR_MSG_MAX];

	if (!*flags)
		return;
	if (priv_guard(0, NULL, 0, err, sizeof(err)) < 0)
		log_warn("kill switch left in place: %s (sshtun cleanup removes it)", err);
	else
		*flags = 0;
}
