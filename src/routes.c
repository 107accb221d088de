/* Which prefixes a route request means, and which it must not touch. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "events.h"
#include "fail.h"
#include "log.h"
#include "netlink.h"
#include "peer_facts.h"
#include "priv.h"

int routes_parse(struct engine *eng, const char *cidr, struct inet_prefix *out, int *n, char *err,
		 size_t errlen)
{
	struct inet_prefix server;
	char s[ENGINE_CIDR_STRLEN];

	*n = 0;
	if (!strcmp(cidr, "default")) {
		/* The halves contain the server, but the pin keeps it out. */
		/* Two halves beat the default route without replacing it, so the
		 * original stays for the SSH connection itself. */
		static const char *const halves[] = { "0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1" };

		for (size_t i = 0; i < 4; i++)
			inet_prefix_parse(halves[i], &out[(*n)++]);
		return 0;
	} else if (inet_prefix_parse_net(cidr, &out[0]) < 0) {
		snprintf(err, errlen, "bad CIDR `%s' (want e.g. 10.20.0.0/16, 2001:db8::/32 or default)", cidr);
		return -1;
	} else {
		*n = 1;
	}
	/* Through a ProxyCommand the server's address is unknown: no check. */
	if (routes_server_prefix(eng, &server) < 0)
		return 0;
	for (int i = 0; i < *n; i++) {
		if (inet_prefix_overlaps(&out[i], &server)) {
			snprintf(err, errlen,
				 "route %s would capture the SSH server's own address %s: the tunnel would carry itself (use a narrower prefix)",
				 inet_prefix_str(&out[i], true, s, sizeof(s)), eng->conns[0].ssh.peer);
			return -1;
		}
	}
	return 0;
}

int routes_server_prefix(const struct engine *eng, struct inet_prefix *p)
{
	/* Every connection goes to the same server: the first says where. */
	return inet_prefix_from_sockaddr(&eng->conns[0].ssh.peer_addr, p);
}

int routes_pin_server(struct engine *eng, char *err, size_t errlen)
{
	struct inet_prefix server, gw;
	int ifindex, rc;

	if (routes_server_prefix(eng, &server) < 0) {
		if (eng->pin.family)
			return 0;	/* now through a ProxyCommand: keep it */
		snprintf(err, errlen, "not connected: cannot pin the server's route");
		return -1;
	}
	/* Another server of the list: the root side moves the pin. */
	if (eng->pin.family && !memcmp(&eng->pin, &server, sizeof(server)))
		return 0;
	/* The root side finds the path and keeps the record. */
	rc = priv_pin(&server, &ifindex, &gw, err, errlen);
	if (rc < 0 && rc != -EEXIST)
		return -1;
	memset(&eng->pin, 0, sizeof(eng->pin));
	if (rc == 0) {	/* -EEXIST: someone's route already does it; not ours */
		eng->pin = server;
		eng->pin_gw = gw;
		eng->pin_ifindex = ifindex;
	}
	return 0;
}

void routes_unpin_server(struct engine *eng)
{
	if (!eng->pin.family)
		return;
	priv_unpin();
	memset(&eng->pin, 0, sizeof(eng->pin));
}

void routes_unexclude_all(struct engine *eng)
{
	priv_unexclude_all();
	eng->nexcludes = 0;
}

int routes_find_exclude(const struct engine *eng, const struct inet_prefix *p)
{
	for (int i = 0; i < eng->nexcludes; i++)
		if (!memcmp(&eng->excludes[i], p, sizeof(*p)))
			return i;
	return -1;
}

int routes_unexclude(struct engine *eng, const struct inet_prefix *p, char *err, size_t errlen)
{
	char s[ENGINE_CIDR_STRLEN];
	int i = routes_find_exclude(eng, p);

	if (i < 0)
		return errorf(err, errlen, "%s is not excluded", inet_prefix_str(p, true, s, sizeof(s)));
	if (priv_unexclude(p, err, errlen) < 0)
		return -1;
	eng->excludes[i] = eng->excludes[--eng->nexcludes];
	log_info("%s no longer excluded", inet_prefix_str(p, true, s, sizeof(s)));
	events_note("route", "action", "unexclude", "cidr", s, (char *)NULL);
	return 0;
}

/* Before a reconnect: the network may have changed under us (a new
 * gateway, another link); the pin and the excludes follow the path the
 * machine's own routes give the server now, so that the new connection
 * and the excluded prefixes take it, not the old gateway or the tunnel. */
void routes_repath(struct engine *eng)
{
	struct inet_prefix server, gw;
	char err[ERROR_MSG_MAX] = "", g[ENGINE_CIDR_STRLEN] = "on-link";
	int ifindex, rc;

	if ((!eng->pin.family && !eng->nexcludes) || routes_server_prefix(eng, &server) < 0)
		return;
	rc = priv_repath(&server, &ifindex, &gw, err, sizeof(err));
	if (rc < 0 && !ifindex) {
		log_warn("%s", err[0] ? err : "cannot move the pin and the excludes: no root side");
		return;
	}
	if (gw.family)
		inet_prefix_str(&gw, false, g, sizeof(g));
	if (eng->pin.family && (eng->pin_ifindex != ifindex || memcmp(&eng->pin_gw, &gw, sizeof(gw)))) {
		log_info("the path to the server changed: now via %s (interface %d)", g, ifindex);
		events_note("path", "gateway", g, (char *)NULL);
	}
	eng->pin_ifindex = ifindex;
	eng->pin_gw = gw;
	if (err[0])
		log_warn("%s", err);
}

int routes_peer_facts(const struct engine *eng, struct peer_facts *f, char *err, size_t errlen)
{
	struct inet_prefix server;
	int rc;

	if (routes_server_prefix(eng, &server) < 0)
		memset(&server, 0, sizeof(server));	/* through a ProxyCommand */
	rc = peer_facts_gather(f, eng->ifindex, &server);
	if (rc < 0)
		return errorf(err, errlen, "cannot read this machine's routes: %s", strerror(-rc));
	return 0;
}
