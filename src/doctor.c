/* `sshtun doctor' (doctor.h).  Each check prints "ok", "warn" or "FAIL",
 * what it saw, and for anything but ok what to change.  Nothing is set up
 * on the server: the helper is started only to read its first line (its
 * version), and the facts come from the login user's own view (/proc). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh2.h>

#include "common.h"
#include "doctor.h"
#include "fail.h"
#include "frame.h"
#include "log.h"
#include "options.h"
#include "ssh.h"

#define CAP_NET_ADMIN_BIT 12
#define READ_MAX 8192

static int worst;	/* the exit status the first FAIL means */

__attribute__((format(printf, 3, 4)))
static void report(const char *tag, int code, const char *fmt, ...)
{
	va_list ap;

	printf("%-5s ", tag);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (code && !worst)
		worst = code;
}

/* Reads what the channel sends until EOF, READ_MAX bytes or the session's
 * timeout; returns the length. */
static size_t read_all(LIBSSH2_CHANNEL *ch, char *buf, size_t cap, bool first_line)
{
	size_t len = 0;

	while (len < cap - 1) {
		ssize_t n = libssh2_channel_read(ch, buf + len, cap - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (first_line && memchr(buf, '\n', len) && strstr(buf, "SSHTUN/"))
			break;
	}
	buf[len] = '\0';
	return len;
}

static void check_helper(LIBSSH2_SESSION *s, const struct client_opts *o)
{
	static char buf[READ_MAX];
	const char *how = "subsystem sshtun";
	LIBSSH2_CHANNEL *ch = NULL;
	unsigned proto = 0;
	char software[64] = "";
	long used = 0;

	for (int attempt = 0; attempt < 2 && !used; attempt++) {
		int rc;

		ch = libssh2_channel_open_session(s);
		if (!ch) {
			report("FAIL", EXIT_REFUSED, "helper: the server refused a session channel (%s)", ssh_errmsg(s));
			return;
		}
		rc = attempt == 0 ? libssh2_channel_subsystem(ch, "sshtun") : libssh2_channel_exec(ch, o->remote_command);
		if (rc == 0) {
			size_t len = read_all(ch, buf, sizeof(buf), true);

			used = magic_scan((const uint8_t *)buf, len, &proto, software, sizeof(software));
			if (used < 0)
				fail_clear();
		}
		libssh2_channel_send_eof(ch);
		libssh2_channel_free(ch);
		if (!used && attempt == 0)
			how = o->remote_command;
	}
	if (used <= 0) {
		report("FAIL", EXIT_REFUSED,
		       "helper: neither the sshtun subsystem nor `%s' answered as sshtun: install sshtun on the server and add `Subsystem sshtun /usr/local/bin/sshtun serve' to sshd_config (or name the command with --remote-command)",
		       o->remote_command);
		return;
	}
	if (proto != PROTO_VERSION)
		report("FAIL", EXIT_REFUSED, "helper: %s (via %s) speaks protocol %u, this sshtun %d: install matching versions",
		       software, how, proto, PROTO_VERSION);
	else
		report("ok", 0, "helper: %s via %s, protocol %u (this is sshtun %s)", software, how, proto,
		       sshtun_version);
}

/* What the login user's processes can do, from /proc: root or
 * CAP_NET_ADMIN, /dev/net/tun, the forwarding switches. */
static void check_facts(LIBSSH2_SESSION *s)
{
	static char buf[READ_MAX];
	static const char probe[] =
		"echo uid=$(id -u); grep '^CapEff:' /proc/self/status; "
		"test -c /dev/net/tun && echo tun=yes; "
		"echo fwd4=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null); "
		"echo fwd6=$(cat /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null)";
	LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(s);
	unsigned long long cap = 0;
	char *p;
	int uid = -1, fwd4 = -1, fwd6 = -1;
	bool tun;

	if (!ch || libssh2_channel_exec(ch, probe) != 0) {
		report("warn", 0, "server facts: cannot run a command (%s): CAP_NET_ADMIN and forwarding not checked",
		       ssh_errmsg(s));
		if (ch)
			libssh2_channel_free(ch);
		return;
	}
	read_all(ch, buf, sizeof(buf), false);
	libssh2_channel_free(ch);
	if ((p = strstr(buf, "uid=")))
		uid = atoi(p + 4);
	if ((p = strstr(buf, "CapEff:")))
		cap = strtoull(p + 7, NULL, 16);
	tun = strstr(buf, "tun=yes") != NULL;
	if ((p = strstr(buf, "fwd4=")) && p[5] >= '0' && p[5] <= '9')
		fwd4 = atoi(p + 5);
	if ((p = strstr(buf, "fwd6=")) && p[5] >= '0' && p[5] <= '9')
		fwd6 = atoi(p + 5);
	if (!tun)
		report("FAIL", EXIT_REFUSED, "TUN: the server has no /dev/net/tun: load the tun module (modprobe tun), or in a container pass the device in");
	else if (uid == 0 || (cap >> CAP_NET_ADMIN_BIT & 1))
		report("ok", 0, "CAP_NET_ADMIN: the login user (uid %d) has it, so a helper it starts can make its TUN", uid);
	else
		report("warn", 0, "CAP_NET_ADMIN: the login user (uid %d) lacks it: start the helper through sudo (`Subsystem sshtun /usr/bin/sudo -n /usr/local/bin/sshtun serve' plus a sudoers line) or give the binary the file capability (setcap cap_net_admin+ep)",
		       uid);
	if (fwd4 == 1 && (fwd6 == 1 || fwd6 < 0))
		report("ok", 0, "forwarding: on (IPv4 %d, IPv6 %d): clients can reach beyond the server", fwd4, fwd6);
	else
		report("warn", 0, "forwarding: IPv4 %s, IPv6 %s: only the server itself is reachable through the tunnel unless the helper runs with --nat (it turns forwarding on while clients are connected and masquerades them) or you set net.ipv4.ip_forward=1",
		       fwd4 < 0 ? "unknown" : fwd4 ? "on" : "off", fwd6 < 0 ? "unknown" : fwd6 ? "on" : "off");
}

/* PermitTunnel: only --openssh needs it.  Opening tun@openssh.com is the
 * one way to know; the device sshd makes goes when the channel closes. */
static void check_permit_tunnel(LIBSSH2_SESSION *s)
{
	uint8_t msg[8] = { 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff };	/* point-to-point, any unit */
	LIBSSH2_CHANNEL *ch = libssh2_channel_open_ex(s, "tun@openssh.com", sizeof("tun@openssh.com") - 1,
						      CHANNEL_WINDOW, CHANNEL_PACKET, (const char *)msg, sizeof(msg));

	if (ch) {
		libssh2_channel_free(ch);
		report("ok", 0, "PermitTunnel: sshd opens its own tunnel channel (--openssh works too)");
		return;
	}
	report("warn", 0, "PermitTunnel: sshd refused tun@openssh.com (%s): needed only for --openssh; set `PermitTunnel point-to-point' in sshd_config, and the login user needs CAP_NET_ADMIN",
	       ssh_errmsg(s));
}

static void check_pool(LIBSSH2_SESSION *s)
{
	static char buf[READ_MAX];
	LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(s);
	char *p;

	if (!ch || libssh2_channel_exec(ch, "grep -E '^[[:space:]]*-*pool6?' /etc/sshtun/serve.conf 2>/dev/null") != 0) {
		if (ch)
			libssh2_channel_free(ch);
		return;
	}
	read_all(ch, buf, sizeof(buf), false);
	libssh2_channel_free(ch);
	for (p = buf; *p; p++)
		if (*p == '\n' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (buf[0])
		report("ok", 0, "pool: /etc/sshtun/serve.conf says %.200s", buf);
	else
		report("ok", 0, "pool: no pool in /etc/sshtun/serve.conf: the helper's default or the options on its Subsystem line");
}

int doctor_main(int argc, char **argv)
{
	static struct client_opts o;
	struct ssh_conn conn;
	int rc;

	rc = options_parse(argc, argv, &o);
	if (rc)
		return rc > 0 ? EXIT_OK : fail_code();
	if (options_resolve(&o) < 0)
		return fail_code();
	if (ssh_connect(&o.ssh, &conn) < 0) {
		report("FAIL", fail_code(), "login: %s", fail_msg());
		fail_clear();
		return worst;
	}
	report("ok", 0, "login: %s@%s port %u (%s)", o.ssh.user, o.ssh.host, o.ssh.port, conn.peer);
	check_helper(conn.session, &o);
	check_facts(conn.session);
	check_pool(conn.session);
	check_permit_tunnel(conn.session);
	ssh_close(&conn, "sshtun doctor done");
	return worst;
}
