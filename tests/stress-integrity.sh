#!/bin/bash
# stress-integrity.sh: bulk TCP through the tunnel (TUN offloads on) must
# arrive with the right sha256 while the session is torn down again and
# again.  A hunting tool, not part of make check (minutes per run): it has
# not failed on any commit tried (see git log).  Knobs (environment):
#   MB=60 N=20     size of each transfer, faults per transfer
#   KILL=1         fault = SIGKILL of sshd's per-connection processes
#                  (default: `sshtun ctl reconnect`)
#   SSHD_EXTRA="RekeyLimit 1M"   one more sshd_config line
#   CARGS="--compress 6"         client arguments
#   DIRS=d|u|du    download, upload or both; REPEAT=1 downloads in a row
#   SSHTUN=/path/sshtun          another build (both ends)
. "$(dirname "$0")/e2e/lib.sh"


# xfer TAG SRC_NS DST_NS PEER PORT MB: a sender in SRC_NS listens on PEER:PORT.
xfer_start() {
	local tag=$1 sns=$2 dns=$3 peer=$4 port=$5 mb=$6
	head -c "${mb}M" /dev/urandom >"$TMP/$tag.src"
	XFER_SHA=$(sha "$TMP/$tag.src")
	bg_run "$tag-send" ip netns exec "$sns" "$PYTHON" -c '
import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_server((a, p))
s.settimeout(30)
c, _ = s.accept()
c.settimeout(None)
with open(path, "rb") as f:
    c.sendall(f.read())
c.shutdown(socket.SHUT_WR)
c.settimeout(240)
c.recv(1)
' "$peer" "$port" "$TMP/$tag.src"
	wait_for 10 eval "ip netns exec $sns ss -Hltn '( sport = :$port )' | grep -q ." || return 1
	bg_run "$tag-recv" ip netns exec "$dns" timeout 240 "$PYTHON" -c '
import socket, sys
a, p, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.create_connection((a, p), timeout=10)
c.settimeout(None)
with open(path, "wb", buffering=0) as f:
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        f.write(d)
' "$peer" "$port" "$TMP/$tag.dst"
	XFER_PID=$(cat "$TMP/$tag-recv.pid")
}

check "$SSHTUN is built" test -x "$SSHTUN"
check "namespaces" netns_setup
check "sshd" sshd_start ${SSHD_EXTRA:+"$SSHD_EXTRA"}
fail_fast "no sshtun binary, namespaces or sshd"

client_quit() {
	ctl "$1" quit >/dev/null 2>&1
	wait_exit "$(client_pid "$1")" 10
}

run_one() {
	local name=$1 dir=$2 mb=$3 n=$4; shift 4
	client_run "$name" -o ServerAliveInterval=1 -o ServerAliveCountMax=3 "$@"
	check "$name: up" wait_for 20 client_is_up "$name" || return
	client_status "$name"
	local P4 L4
	P4=$(json_get "$TMP/$name.status" peer_addr)
	L4=$(json_get "$TMP/$name.status" local_addr)
	if [ "$dir" = down ]; then
		xfer_start "$name-x" "$NS_S" "$NS_C" "$P4" 5100 "$mb"
	else
		xfer_start "$name-x" "$NS_C" "$NS_S" "$L4" 5100 "$mb"
	fi
	local i=0
	while alive "$XFER_PID" && [ $i -lt "$n" ]; do
		wait_for 20 client_is_up "$name"
		wait_for 5 eval "[ \$(size_of '$TMP/$name-x.dst') -gt $(( (i + 1) * mb * 1048576 / (n + 2) )) ]"
		alive "$XFER_PID" || break
		if [ -n "$KILL" ]; then
			for p in $(ip netns pids "$NS_S"); do
				case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in
				*"[listener]"*) ;;
				"sshd: "*) kill -KILL "$p" ;;
				esac
			done
		else
			ctl "$name" reconnect >/dev/null 2>&1
		fi
		i=$((i + 1))
	done
	diag "$name: $i reconnects issued"
	wait_exit "$XFER_PID" 200
	is "$EXIT_RC" 0 "$name: receiver exit 0"
	is "$(sha "$TMP/$name-x.dst")" "$XFER_SHA" "$name: sha256 matches ($(size_of "$TMP/$name-x.dst") bytes)"
	grep -E "unknown|over the|malformed|lost" "$TMP/$name.log" | head -3 | while read -r l; do diag "$l"; done
	client_quit "$name"
	rm -f "$TMP/$name-x.src" "$TMP/$name-x.dst"
}

for r in $(seq "${REPEAT:-1}"); do
[ "${DIRS:-du}" = u ] || run_one "d$r" down ${MB:-60} ${N:-20} $CARGS
done
[ "${DIRS:-du}" = d ] || run_one u1 up ${MB:-60} ${N:-20} $CARGS
done_testing
