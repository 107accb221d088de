#!/bin/bash
# tests/demo.sh: what `make demo` runs (as root, or with sudo).  Two network namespaces, a real
# sshd in one, sshtun in the other; a ping through the tunnel; then the
# prompt: yours on a terminal (Ctrl-D leaves), a scripted one otherwise.
# Everything is taken down at the end, however it ends.
if [ "$(id -u)" -ne 0 ]; then
	echo "The demo creates network namespaces and TUN devices: run it as root, or with sudo (sudo make demo)." >&2
	exit 1
fi
. "$(dirname "$0")/e2e/lib.sh"

if [ -t 1 ]; then B=$'\e[1m' N=$'\e[0m'; else B='' N=''; fi
heading() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
die() { echo "demo: $*" >&2; exit 1; }

heading "sshtun demo ($("$SSHTUN" --version 2>/dev/null || echo "$SSHTUN"))"
[ -x "$SSHTUN" ] || die "$SSHTUN is not built (run make)"

heading "Two network namespaces joined by a veth pair"
netns_setup || die "cannot create the namespaces"
echo "server  $NS_S  $S_ADDR  $S_ADDR6"
echo "client  $NS_C  $C_ADDR  $C_ADDR6"

heading "A real OpenSSH sshd in the server namespace"
sshd_start || die "sshd did not start (see above)"
echo "sshd pid $SSHD_PID, Subsystem sshtun -> $SSHTUN serve --pool $POOL4 --pool6 $POOL6"

heading "sshtun root@$S_ADDR from the client namespace"
if [ -t 0 ]; then
	# The tunnel runs in the background; the prompt is `sshtun ctl`, the same
	# shell attached to the running instance.
	client_run demo
else
	# No terminal: the client reads its commands from standard input, which
	# stays open (fd 3) until the script below is written to it.
	mkfifo "$TMP/demo.in"
	CLIENT_N='' client_argv demo
	echo "\$ ${CLIENT_ARGV[*]}"
	ip netns exec "$NS_C" "${CLIENT_ARGV[@]}" <"$TMP/demo.in" &
	PIDS+=($!)
	echo $! >"$TMP/demo.pid"
	exec 3>"$TMP/demo.in"
fi
client_wait_up demo || die "the tunnel did not come up within 20 s"
PEER=$(json_get "$TMP/demo.status" peer_addr)
PEER6=$(json_get "$TMP/demo.status" peer_addr6)
IF=$(json_get "$TMP/demo.status" ifname)
echo "up: $IF, $(json_get "$TMP/demo.status" local_addr) <-> $PEER"

heading "ping -c 3 $PEER (the server's end of the tunnel)"
in_c ping -c 3 "$PEER"
[ -n "$PEER6" ] && in_c ping -c 3 "$PEER6"

heading "ip addr show $IF (client namespace)"
in_c ip addr show dev "$IF"

if [ -t 0 ]; then
	heading "The sshtun prompt: try status, stats, ping, route add 203.0.113.0/24, help.  Ctrl-D leaves."
	trap : INT	# Ctrl-C belongs to the prompt, not to this script
	in_c "$SSHTUN" ctl -S "$TMP/demo.sock"
	trap 'exit 130' INT
	alive "$(client_pid demo)" && ctl demo quit
else
	heading "No terminal: a scripted session (status, stats, quit)"
	printf 'status\nstats\nquit\n' >&3
	exec 3>&-
fi
wait_exit "$(client_pid demo)" 15 || die "sshtun did not exit within 15 s of quit"
echo "sshtun exited with status $EXIT_RC"

heading "Tearing down: namespaces, sshd, keys"
exit "$EXIT_RC"
