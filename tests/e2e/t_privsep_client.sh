#!/bin/bash
# t_privsep_client.sh: the client runs as the user; only a small root side
# is root (issue 12, "Root only where it is needed").
#
# A test user (tunuser) with the alias `labhost' in their own ~/.ssh/config
# (HostName, IdentityFile, UserKnownHostsFile: all in their home under $TMP)
# exists only inside private mount namespaces: passwd, group, shadow and
# sudoers are temp copies bind-mounted over /etc's, and /run is a temp dir
# (nothing under the real /etc or /run changes).  sudoers lets tunuser run
# the binary under test as root without a password; tunother may not.
#
#   A. `sshtun labhost' as tunuser: the user's process starts the root side
#      through sudo.  It comes up; it has tunuser's uid and no capability;
#      exactly one root process (the root side) beside sudo; routes added
#      through ctl are in the kernel; `route add default' pins the server
#      in the root side's state file; quit removes all of it.
#   B. `sudo sshtun labhost' as tunuser: the process sudo starts stays the
#      root side and the network side drops to tunuser (HOME from passwd);
#      the control socket /run/sshtun/labhost.sock is tunuser's, and ctl as
#      tunuser adds a route; the log says the agent is missing; quit.
#   C. plain root (no SUDO_UID): the network side keeps uid 0 with no
#      capability at all and no_new_privs.
#   D. tunother, whom sudo refuses: exit 7 and one line that says sudo.
#   E. -f both ways: exits 0 once up, both processes leave the terminal,
#      quit ends both.
#   F. a persistent TUN another user owns (victim0, made by an admin for
#      tunother): `sshtun -w victim0' as tunuser is refused by the root
#      side, which creates new devices only; victim0 keeps no address.
. "$(dirname "$0")/lib.sh"

U=tunuser
U_ID=64711
O=tunother
O_ID=64712
UHOME=$TMP/uhome
OHOME=$TMP/ohome
# Who may read what: the users need to reach their homes and the binary.
chmod 755 "$TMP"

# ---- the private /etc and /run ------------------------------------------------

mkdir -p "$TMP/etc" "$TMP/run" "$UHOME/.ssh" "$UHOME/xdg" "$OHOME"
cp /etc/passwd /etc/group /etc/shadow "$TMP/etc/"
echo "$U:x:$U_ID:$U_ID:sshtun test user:$UHOME:/bin/sh" >>"$TMP/etc/passwd"
echo "$O:x:$O_ID:$O_ID:sshtun test user:$OHOME:/bin/sh" >>"$TMP/etc/passwd"
echo "$U:x:$U_ID:" >>"$TMP/etc/group"
echo "$O:x:$O_ID:" >>"$TMP/etc/group"
echo "$U:*:20000:0:99999:7:::" >>"$TMP/etc/shadow"
echo "$O:*:20000:0:99999:7:::" >>"$TMP/etc/shadow"
cat >"$TMP/etc/sudoers" <<EOF
Defaults env_reset
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root ALL=(ALL:ALL) ALL
$U ALL=(root) NOPASSWD: $SSHTUN
EOF
chown root:root "$TMP/etc/sudoers"
chmod 0440 "$TMP/etc/sudoers"

cat >"$TMP/privns.sh" <<EOF
#!/bin/sh
# privns.sh CMD...: CMD with the test's users, sudoers and /run.
set -e
for f in passwd group shadow sudoers; do mount --bind "$TMP/etc/\$f" "/etc/\$f"; done
mount --bind "$TMP/run" /run
exec "\$@"
EOF
chmod 755 "$TMP/privns.sh"

cp "$TMP/client_key" "$UHOME/.ssh/id_ed25519"
cp "$TMP/known_hosts" "$UHOME/.ssh/known_hosts"
cat >"$UHOME/.ssh/config" <<EOF
Host labhost
    HostName $S_ADDR
    User root
    IdentityFile ~/.ssh/id_ed25519
    UserKnownHostsFile ~/.ssh/known_hosts
    StrictHostKeyChecking yes
    ConnectTimeout 5
EOF
chown -R "$U_ID:$U_ID" "$UHOME"
chown -R "$O_ID:$O_ID" "$OHOME"
chmod 700 "$UHOME/.ssh"
chmod 600 "$UHOME/.ssh/id_ed25519"

# as USER_ID HOME cmd...: in the client namespace, as that user, with a
# clean environment (no agent), in a private mount namespace.  as_argv sets
# AS to the same command line without cmd.
as_argv() {
	AS=(ip netns exec "$NS_C" unshare -m --propagation private "$TMP/privns.sh"
		setpriv --reuid="$1" --regid="$1" --init-groups
		env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$2" XDG_RUNTIME_DIR="$2/xdg")
}
as() {
	as_argv "$1" "$2"
	shift 2
	"${AS[@]}" "$@"
}

# ---- processes ------------------------------------------------------------------

children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' ' '\n' | grep .; }
# tree PID: PID and every descendant, one a line.
tree() { local c; echo "$1"; for c in $(children "$1"); do tree "$c"; done; }
is_sshtun() { [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$SSHTUN" ]; }
# sshtun_pids PID: the sshtun processes in PID's tree.
sshtun_pids() { local p; for p in $(tree "$1"); do is_sshtun "$p" && echo "$p"; done; }
field() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status"; }
uid_of() { field "$1" Uid; }
# root_sshtun PID: the sshtun processes in PID's tree running as uid 0.
root_sshtun() { local p; for p in $(sshtun_pids "$1"); do [ "$(uid_of "$p")" = 0 ] && echo "$p"; done; }
user_sshtun() { local p; for p in $(sshtun_pids "$1"); do [ "$(uid_of "$p")" != 0 ] && echo "$p"; done; }
# no_caps PID: nothing effective, permitted, inheritable or ambient.
no_caps() {
	local k
	for k in CapInh CapPrm CapEff CapAmb; do
		[ "$(field "$1" $k)" = 0000000000000000 ] || { echo "$k $(field "$1" $k)"; return 1; }
	done
}
# all_uids PID WANT: real, effective, saved and filesystem uid are WANT.
all_uids() { [ "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status")" = "$2 $2 $2 $2" ]; }

status_of() { in_c "$SSHTUN" ctl -S "$1" status --json >"$TMP/st.json" 2>/dev/null; }
up_at() { status_of "$1" && [ "$(json_get "$TMP/st.json" state)" = up ]; }
up_or_gone() { up_at "$1" || ! alive "$2"; }
route_via() { ip -n "$NS_C" route show "$1" | grep -q "dev $2"; }
no_route() { [ -z "$(ip -n "$NS_C" route show "$1")" ]; }
no_sshtun_links() { ! ip -n "$NS_C" -o link show | awk -F': ' '{ print $2 }' | grep -q '^sshtun'; }

check "namespaces" netns_setup
check "sshd" sshd_start
fail_fast "no server"

# ---- A. sshtun labhost, as the user ----------------------------------------------
diag "--- A. sshtun labhost as $U: the root side through sudo"
SOCK_A=$UHOME/xdg/sshtun/labhost.sock
as_argv "$U_ID" "$UHOME"
"${AS[@]}" "$SSHTUN" -N labhost >"$TMP/a.log" 2>&1 </dev/null &
A=$!
PIDS+=("$A")
wait_for 20 up_or_gone "$SOCK_A" "$A"
check "A: sshtun labhost as $U comes up with the alias from ~/.ssh/config" up_at "$SOCK_A"
fail_fast "A did not come up"
IF_A=$(json_get "$TMP/st.json" ifname)
check "A: the user's process (pid $A) is sshtun" is_sshtun "$A"
check "A: it runs as $U (uid $U_ID in every slot)" all_uids "$A" "$U_ID"
check "A: it has no capability" no_caps "$A"
ROOT_A=$(root_sshtun "$A")
diag "A: process tree: $(for p in $(tree "$A"); do printf '%s(%s,uid %s) ' "$p" "$(cat /proc/"$p"/comm)" "$(uid_of "$p")"; done)"
is "$(echo "$ROOT_A" | grep -c .)" 1 "A: exactly one root process of sshtun (the root side)"
check "A: the root side was started by sudo" \
	eval '[ "$(cat /proc/$(awk "{print \$4}" /proc/$ROOT_A/stat)/comm)" = sudo ]'
check "A: ctl route add 203.0.113.0/24" in_c "$SSHTUN" ctl -S "$SOCK_A" route add 203.0.113.0/24
check "A: the kernel routes 203.0.113.0/24 via $IF_A" route_via 203.0.113.0/24 "$IF_A"
check "A: ctl route add default" in_c "$SSHTUN" ctl -S "$SOCK_A" route add default
check "A: the root side's state file records the server pin" \
	grep -q "^pin $S_ADDR/32 " "$TMP/run/sshtun/labhost.state"
check "A: the pin route to $S_ADDR is in the kernel" \
	eval 'ip -n "$NS_C" route show "$S_ADDR" | grep -q "dev veth-c"'
# An admin's IPv6 route for a prefix the user then excludes: the user's
# exclude (metric 1024) goes on top; quitting must remove that one, never
# the admin's (metric 100 comes first for a delete by prefix alone).
ip -n "$NS_C" -6 route add 2001:db8:99::/48 dev veth-c metric 100
check "A: ctl route exclude 2001:db8:99::/48" in_c "$SSHTUN" ctl -S "$SOCK_A" route exclude 2001:db8:99::/48
check "A: ctl quit" in_c "$SSHTUN" ctl -S "$SOCK_A" quit
wait_exit "$A" 10
is "$EXIT_RC" 0 "A: exits with status 0"
check "A: the root side is gone" wait_for 5 eval '! alive "$ROOT_A"'
check "A: the interface is gone" wait_for 5 no_sshtun_links
check "A: the route 203.0.113.0/24 is gone" no_route 203.0.113.0/24
check "A: the pin is gone" no_route "$S_ADDR"
check "A: the state file is gone" test ! -e "$TMP/run/sshtun/labhost.state"
check "A: the admin's route 2001:db8:99::/48 (metric 100) is still there" \
	eval 'ip -n "$NS_C" -6 route show 2001:db8:99::/48 | grep -q "metric 100"'
check "A: the excluded route is gone (no route of sshtun's protocol 77)" \
	eval '[ -z "$(ip -n "$NS_C" -6 route show proto 77)$(ip -n "$NS_C" route show proto 77)" ]'
ip -n "$NS_C" -6 route del 2001:db8:99::/48 dev veth-c metric 100 2>/dev/null

# ---- B. sudo sshtun labhost --------------------------------------------------------
diag "--- B. sudo sshtun labhost as $U: the network side drops to $U"
SOCK_B=$TMP/run/sshtun/labhost.sock
"${AS[@]}" sudo -- "$SSHTUN" -N labhost >"$TMP/b.log" 2>&1 </dev/null &
B=$!
PIDS+=("$B")
wait_for 20 up_or_gone "$SOCK_B" "$B"
check "B: sudo sshtun labhost comes up with $U's alias, key and known_hosts" up_at "$SOCK_B"
fail_fast "B did not come up"
IF_B=$(json_get "$TMP/st.json" ifname)
ROOT_B=$(root_sshtun "$B")
USER_B=$(user_sshtun "$B")
diag "B: process tree: $(for p in $(tree "$B"); do printf '%s(%s,uid %s) ' "$p" "$(cat /proc/"$p"/comm)" "$(uid_of "$p")"; done)"
is "$(echo "$ROOT_B" | grep -c .)" 1 "B: exactly one root process of sshtun (the root side)"
is "$(echo "$USER_B" | grep -c .)" 1 "B: one network-facing process"
check "B: the network side is the root side's child" \
	eval '[ "$(awk "{print \$4}" /proc/$USER_B/stat)" = "$ROOT_B" ]'
check "B: the network side runs as $U (uid $U_ID in every slot)" all_uids "$USER_B" "$U_ID"
check "B: the network side has no capability" no_caps "$USER_B"
check "B: the network side has no_new_privs" eval '[ "$(field "$USER_B" NoNewPrivs)" = 1 ]'
check "B: the log says the agent is not there" grep -q "SSH_AUTH_SOCK" "$TMP/b.log"
is "$(stat -c %u "$SOCK_B" 2>/dev/null)" "$U_ID" "B: /run/sshtun/labhost.sock belongs to $U"
check "B: ctl as $U: route add 203.0.113.0/24" \
	as "$U_ID" "$UHOME" "$SSHTUN" ctl -S /run/sshtun/labhost.sock route add 203.0.113.0/24
check "B: the kernel routes 203.0.113.0/24 via $IF_B" route_via 203.0.113.0/24 "$IF_B"
check "B: ctl as $U finds it by name: sshtun ctl labhost status" \
	as "$U_ID" "$UHOME" "$SSHTUN" ctl labhost status
check "B: ctl as $U: quit" as "$U_ID" "$UHOME" "$SSHTUN" ctl -S /run/sshtun/labhost.sock quit
wait_exit "$B" 10
is "$EXIT_RC" 0 "B: sudo sshtun exits with status 0"
check "B: the interface is gone" wait_for 5 no_sshtun_links
check "B: the route 203.0.113.0/24 is gone" no_route 203.0.113.0/24
check "B: the control socket is gone" test ! -e "$SOCK_B"
check "B: no sshtun process left" eval '[ -z "$(sshtun_pids "$B")" ]'

# ---- E. -f, both ways -----------------------------------------------------------------
diag "--- E. -f: the parent exits 0 once up; both sides leave the terminal"
ns_sshtun() { local p; for p in $(ip netns pids "$NS_C"); do is_sshtun "$p" && echo "$p"; done; }
no_ns_sshtun() { [ -z "$(ns_sshtun)" ]; }
for how in user sudo; do
	if [ $how = user ]; then
		SOCK_E=$UHOME/xdg/sshtun/labhost.sock
		E_CMD=("$SSHTUN" -f labhost)
	else
		SOCK_E=$TMP/run/sshtun/labhost.sock
		E_CMD=(sudo -- "$SSHTUN" -f labhost)
	fi
	as_argv "$U_ID" "$UHOME"
	timeout -k 5 30 "${AS[@]}" "${E_CMD[@]}" >"$TMP/e-$how.log" 2>&1 </dev/null
	is "$?" 0 "E ($how): ${E_CMD[*]} exits 0"
	check "E ($how): the instance is up" up_at "$SOCK_E"
	is "$(ns_sshtun | grep -c .)" 2 "E ($how): two sshtun processes run on (root side, network side)"
	for p in $(ns_sshtun); do
		check "E ($how): pid $p left the terminal's session (its own session)" \
			eval '[ "$(awk "{print \$6}" /proc/$p/stat)" != "$(awk "{print \$6}" /proc/$$/stat)" ]'
	done
	check "E ($how): ctl quit" in_c "$SSHTUN" ctl -S "$SOCK_E" quit
	check "E ($how): no sshtun process left" wait_for 10 no_ns_sshtun
	check "E ($how): the interface is gone" wait_for 5 no_sshtun_links
done

# ---- F. another user's persistent TUN --------------------------------------------
diag "--- F. -w names a persistent TUN that belongs to $O"
ip -n "$NS_C" tuntap add mode tun user "$O_ID" name victim0
as_argv "$U_ID" "$UHOME"
timeout -k 5 30 "${AS[@]}" "$SSHTUN" -N -w victim0 labhost >"$TMP/f.log" 2>&1 </dev/null
RC=$?
is "$RC" 7 "F: sshtun -w victim0 as $U: exit status 7"
check "F: the last line names victim0" eval 'tail -n 1 "$TMP/f.log" | grep -q "^sshtun: .*victim0"'
diag "F: $(tail -n 2 "$TMP/f.log" | tr '\n' ' ')"
check "F: victim0 has no address" eval '[ -z "$(ip -n "$NS_C" -o addr show dev victim0)" ]'
check "F: victim0 is still $O's" eval 'ip -n "$NS_C" -d link show victim0 | grep -q "user $O_ID"'
ip -n "$NS_C" tuntap del mode tun name victim0

# ---- C. plain root -----------------------------------------------------------------
diag "--- C. plain root: uid 0 without capabilities"
client_run c
check "C: comes up" client_wait_up c
C_ROOT=$(client_pid c)
C_NET=$(children "$C_ROOT")
is "$(echo "$C_NET" | grep -c .)" 1 "C: the root side has one child, the network side"
check "C: the network side keeps uid 0" all_uids "$C_NET" 0
check "C: the network side has no capability" no_caps "$C_NET"
check "C: the network side's bounding set is empty" eval '[ "$(field "$C_NET" CapBnd)" = 0000000000000000 ]'
check "C: the network side has no_new_privs" eval '[ "$(field "$C_NET" NoNewPrivs)" = 1 ]'
ctl c quit >/dev/null 2>&1
wait_exit "$C_ROOT" 10
is "$EXIT_RC" 0 "C: exits with status 0"

# ---- D. a user sudo refuses -------------------------------------------------------
diag "--- D. $O, whom sudo refuses"
as_argv "$O_ID" "$OHOME"
timeout -k 5 20 "${AS[@]}" "$SSHTUN" -N labhost >"$TMP/d.log" 2>&1 </dev/null
RC=$?
is "$RC" 7 "D: exit status 7"
check "D: the last line names sudo" eval 'tail -n 1 "$TMP/d.log" | grep -q "^sshtun: .*sudo"'
diag "D: $(tail -n 2 "$TMP/d.log" | tr '\n' ' ')"
check "D: no interface left" no_sshtun_links

done_testing
