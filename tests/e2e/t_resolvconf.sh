#!/bin/bash
# t_resolvconf.sh: --dns through a real openresolv (issue 18).  openresolv
# is not installed on the host (its package puts hooks under /etc/dhcp,
# /etc/network and /etc/ppp that would change how this machine's DHCP
# writes resolv.conf): its .deb is fetched with apt-get download and
# unpacked under build/deb, its paths pointed at a temp dir, and it is laid
# over /usr/sbin with overlayfs in a private mount namespace, where sshtun
# finds it as it would the installed one.  Its resolv.conf is a temp file.
#
#   1. --dns: `resolvconf -l' has sshtun's entry tun.IFACE (nameserver, search)
#      and the resolv.conf openresolv writes has the server's resolver
#   2. --dns-domain (split): the entry has the domain; dns --json says
#      method resolvconf, split true
#   3. SIGKILL of the instance (its root side): the entry stays; sshtun
#      cleanup removes it and resolv.conf is back to what it was
if [ -z "$T_RESOLVCONF_MNTNS" ]; then
	T_RESOLVCONF_MNTNS=1 exec unshare -m --propagation private "$0" "$@"
fi
# Our network namespaces live on a tmpfs of this mount namespace: a name
# under the machine's /run/netns without its mount would show as an invalid
# entry to every other test's `ip netns list'.
mkdir -p /run/netns && mount -t tmpfs -o mode=0755 sshtun-netns /run/netns ||
	{ echo "Bail out! cannot mount a tmpfs on /run/netns in a private mount namespace"; exit 1; }
. "$(dirname "$0")/lib.sh"

DEB=$REPO/build/deb
if [ ! -x "$DEB/openresolv/sbin/resolvconf" ]; then
	mkdir -p "$DEB" && (cd "$DEB" && rm -f openresolv_*.deb && apt-get download openresolv >/dev/null 2>&1 &&
		rm -rf openresolv && dpkg-deb -x openresolv_*.deb openresolv)
fi
if [ ! -x "$DEB/openresolv/sbin/resolvconf" ]; then
	echo "ok 1 # SKIP openresolv's package could not be fetched (apt-get download openresolv)"
	echo "1..1"
	exit 0
fi

# openresolv, its paths in $R, over /usr/sbin.
R=$TMP/openresolv
mkdir -p "$R/sbin" "$R/lib" "$R/etc" "$R/run"
cp -r "$DEB/openresolv/lib/resolvconf" "$R/lib/"
cp "$DEB/openresolv/sbin/resolvconf" "$R/sbin/"
for f in "$R/sbin/resolvconf" "$R"/lib/resolvconf/*; do
	[ -f "$f" ] && sed -i -e "s|^SYSCONFDIR=.*|SYSCONFDIR=$R/etc|" -e "s|^LIBEXECDIR=.*|LIBEXECDIR=$R/lib/resolvconf|" \
		-e "s|^VARDIR=.*|VARDIR=$R/run|" "$f"
done
RESOLV=$R/resolv.conf
printf 'nameserver 203.0.113.99\n' >"$R/resolv.conf.orig"
printf 'nameserver 203.0.113.99\n' >"$RESOLV"
echo "resolv_conf=$RESOLV" >"$R/etc/resolvconf.conf"
mount -t overlay overlay -o "lowerdir=$R/sbin:/usr/sbin" /usr/sbin ||
	{ echo "Bail out! cannot lay openresolv over /usr/sbin in a private mount namespace"; exit 1; }
# The system's own entry, as a DHCP client would have added it.
printf 'nameserver 203.0.113.99\n' | resolvconf -a veth-c.dhcp || { echo "Bail out! openresolv does not run"; exit 1; }
cp "$RESOLV" "$R/resolv.conf.before"

netns_setup || { echo "Bail out! cannot set up namespaces"; exit 1; }
SSHD_SUBSYSTEM="$SSHTUN serve --pool $POOL4 --pool6 $POOL6 --lease-file $TMP/leases --dns 198.18.0.53 --dns-domain corp.test" \
	sshd_start || { echo "Bail out! sshd did not start"; exit 1; }

entry() { resolvconf -l "tun.$1" 2>/dev/null; }
up_dns() { client_run "$@"; client_wait_up "$1"; }

up_dns r1 --dns
check "1: up with --dns" client_is_up r1
IF=$(json_get "$TMP/r1.status" ifname)
check "1: resolvconf -l has sshtun's entry tun.$IF with the resolver" eval 'entry "$IF" | grep -qx "nameserver 198.18.0.53"'
check "1: ... and the domain" eval 'entry "$IF" | grep -qx "search corp.test"'
check "1: openresolv's resolv.conf has the tunnel's resolver" grep -q "nameserver 198.18.0.53" "$RESOLV"
ctl r1 dns --json >"$TMP/r1.dns"
is "$(json_get "$TMP/r1.dns" method)" resolvconf "1: dns method resolvconf"
check "1: quit" ctl r1 quit
wait_exit "$(client_pid r1)" 10
check "1: gone: the entry is removed" eval '[ -z "$(entry "$IF")" ]'
check "1: resolv.conf is as before" cmp -s "$RESOLV" "$R/resolv.conf.before"

up_dns r2 --dns-domain corp.test
IF=$(json_get "$TMP/r2.status" ifname)
check "2: split DNS: the entry has the resolver" eval 'entry "$IF" | grep -qx "nameserver 198.18.0.53"'
ctl r2 dns --json >"$TMP/r2.dns"
is "$(json_get "$TMP/r2.dns" split)" true "2: dns split true"
is "$(json_get "$TMP/r2.dns" method)" resolvconf "2: dns method resolvconf"
# As root, the process started is the root side: SIGKILL leaves its
# record for cleanup (the network side ends with it).
kill -KILL "$(client_pid r2)"
wait_exit "$(client_pid r2)" 10
check "3: SIGKILLed: the entry is still there" eval 'entry "$IF" | grep -qx "nameserver 198.18.0.53"'
check "3: after SIGKILL, sshtun cleanup" in_c "$SSHTUN" cleanup -S "$TMP/r2.sock"
check "3: the entry is gone" eval '[ -z "$(entry "$IF")" ]'
check "3: resolv.conf is as before" cmp -s "$RESOLV" "$R/resolv.conf.before"
done_testing
