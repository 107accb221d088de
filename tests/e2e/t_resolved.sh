#!/bin/bash
# t_resolved.sh: --dns through a real systemd-resolved (issue 18).  The
# package is not installed on the host (its scripts replace
# /etc/resolv.conf): its .deb is fetched with apt-get download and unpacked
# under build/deb.  In a private mount namespace: tmpfs over /run/dbus and
# /run/systemd, a passwd/group copy with the systemd-resolve user bind-
# mounted over /etc's, a D-Bus system bus of the test's own, resolvectl laid
# over /usr/bin with overlayfs; systemd-resolved itself runs in the client
# network namespace, where it sees the tunnel's interface.
#
#   1. --dns: resolvectl shows the tunnel's link with the server's resolver,
#      the search domain, and `~.' (all names); dns --json says resolved
#   2. quit: the link's DNS is gone from resolved
#   3. --dns-domain (split): only `~corp.test' is routed to the link
#   4. SIGKILL of the instance (its root side), then sshtun cleanup: resolved
#      holds nothing for the link any more
if [ -z "$T_RESOLVED_MNTNS" ]; then
	T_RESOLVED_MNTNS=1 exec unshare -m --propagation private "$0" "$@"
fi
# Our network namespaces live on a tmpfs of this mount namespace: a name
# under the machine's /run/netns without its mount would show as an invalid
# entry to every other test's `ip netns list'.
mkdir -p /run/netns && mount -t tmpfs -o mode=0755 sshtun-netns /run/netns ||
	{ echo "Bail out! cannot mount a tmpfs on /run/netns in a private mount namespace"; exit 1; }
. "$(dirname "$0")/lib.sh"

DEB=$REPO/build/deb
if [ ! -x "$DEB/systemd-resolved/lib/systemd/systemd-resolved" ]; then
	mkdir -p "$DEB" && (cd "$DEB" && rm -f systemd-resolved_*.deb && apt-get download systemd-resolved >/dev/null 2>&1 &&
		rm -rf systemd-resolved && dpkg-deb -x systemd-resolved_*.deb systemd-resolved)
fi
RD=$DEB/systemd-resolved
if [ ! -x "$RD/lib/systemd/systemd-resolved" ] || ! "$RD/lib/systemd/systemd-resolved" --help >/dev/null 2>&1 ||
	! command -v dbus-daemon >/dev/null; then
	echo "ok 1 # SKIP systemd-resolved's package or dbus-daemon is missing, or it does not run with this libsystemd-shared"
	echo "1..1"
	exit 0
fi

RUID=64790
mount -t tmpfs -o mode=0755 sshtun-test /run/dbus && mount -t tmpfs -o mode=0755 sshtun-test /run/systemd ||
	{ echo "Bail out! cannot mount tmpfs on /run/dbus and /run/systemd in a private mount namespace"; exit 1; }
cp /etc/passwd "$TMP/passwd" && echo "systemd-resolve:x:$RUID:$RUID:resolved:/:/usr/sbin/nologin" >>"$TMP/passwd"
cp /etc/group "$TMP/group" && echo "systemd-resolve:x:$RUID:" >>"$TMP/group"
mount --bind "$TMP/passwd" /etc/passwd && mount --bind "$TMP/group" /etc/group ||
	{ echo "Bail out! cannot bind-mount passwd and group copies"; exit 1; }
mkdir -p /run/systemd/resolve && chown "$RUID:$RUID" /run/systemd/resolve
mount -t overlay overlay -o "lowerdir=$RD/usr/bin:/usr/bin" /usr/bin ||
	{ echo "Bail out! cannot lay resolvectl over /usr/bin"; exit 1; }
cat >"$TMP/bus.conf" <<CFG
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
CFG
bg_run dbus dbus-daemon --config-file="$TMP/bus.conf" --nofork --nopidfile
check "the test's D-Bus system bus is up" wait_for 10 test -S /run/dbus/system_bus_socket

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
bg_run resolved ip netns exec "$NS_C" "$RD/lib/systemd/systemd-resolved"
check "systemd-resolved runs in the client namespace" wait_for 10 test -S /run/systemd/resolve/io.systemd.Resolve
SSHD_SUBSYSTEM="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases --dns 198.18.0.53 --dns-domain corp.test" \
	sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

link_status() { in_c resolvectl status "$1" 2>&1; }
up_dns() { client_run "$@"; client_wait_up "$1"; }

up_dns v1 --dns
check "1: up with --dns" client_is_up v1
IF=$(json_get "$TMP/v1.status" ifname)
link_status "$IF" >"$TMP/v1.resolved"
diag "$(cat "$TMP/v1.resolved")"
check "1: resolved has the server's resolver on $IF" grep -qE "DNS Servers?: 198\.18\.0\.53" "$TMP/v1.resolved"
check "1: ... the search domain and ~. (every name)" grep -qE "DNS Domain: .*corp\.test.*~\.|DNS Domain: .*~\..*corp\.test" "$TMP/v1.resolved"
ctl v1 dns --json >"$TMP/v1.dns"
is "$(json_get "$TMP/v1.dns" method)" resolved "1: dns method resolved"
check "2: quit" ctl v1 quit
wait_exit "$(client_pid v1)" 10
check "2: resolved holds no resolver of the tunnel's any more" eval '! in_c resolvectl dns 2>/dev/null | grep -q 198.18.0.53'

up_dns v2 --dns-domain corp.test
IF=$(json_get "$TMP/v2.status" ifname)
link_status "$IF" >"$TMP/v2.resolved"
diag "$(cat "$TMP/v2.resolved")"
check "3: split: the resolver on $IF" grep -qE "DNS Servers?: 198\.18\.0\.53" "$TMP/v2.resolved"
check "3: split: only ~corp.test is routed there" eval 'grep -q "DNS Domain: ~corp.test$" "$TMP/v2.resolved"'
ctl v2 dns --json >"$TMP/v2.dns"
is "$(json_get "$TMP/v2.dns" split)" true "3: dns split true"
kill -KILL "$(client_pid v2)"
wait_exit "$(client_pid v2)" 10
check "4: sshtun cleanup after SIGKILL" in_c "$SSHTUN" cleanup -S "$TMP/v2.sock"
check "4: resolved holds no resolver of the tunnel's" eval '! in_c resolvectl dns 2>/dev/null | grep -q 198.18.0.53'
check "4: nor its domain" eval '! in_c resolvectl domain 2>/dev/null | grep -q corp.test'
done_testing
