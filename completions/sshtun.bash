# bash completion for sshtun(1)                          -*- shell-script -*-
#
# Static words (options, -o keywords and their values) are kept in step with
# src/options.c by tests/e2e/t_docs.sh.  Live words come from the binary
# itself, as in wireguard-tools' wg completion:
#   - the shell's commands and their arguments: `sshtun --commands-mdoc`
#     (the command table as the man page prints it);
#   - the routes of a running instance: `sshtun ctl -n NAME route list --json`.
# Names of running instances are the NAME.sock files in the control socket
# directory, which is what `sshtun ctl` itself looks at (it has no option
# that lists them).  SSHTUN_RUNDIR overrides that directory; only this script
# reads it (the tests use it), the binary does not.

# The control socket directory, as src/control.c picks it.
_sshtun_rundirs()
{
	if [[ -n ${SSHTUN_RUNDIR-} ]]; then
		printf '%s\n' "$SSHTUN_RUNDIR"
		return
	fi
	if ((EUID == 0)); then
		echo /run/sshtun
		return
	fi
	if [[ ${XDG_RUNTIME_DIR-} == /* ]]; then
		echo "$XDG_RUNTIME_DIR/sshtun"
	else
		echo "/tmp/sshtun-$EUID"
	fi
	# Instances started with sudo, when this user may look (rarely).
	[[ -r /run/sshtun && -x /run/sshtun ]] && echo /run/sshtun
}

# _sshtun_instances EXT...: names of the NAME.EXT files there.
_sshtun_instances()
{
	local dir ext f
	while IFS= read -r dir; do
		for ext; do
			for f in "$dir"/*."$ext"; do
				[[ -e $f ]] || continue
				f=${f##*/}
				printf '%s\n' "${f%."$ext"}"
			done
		done
	done < <(_sshtun_rundirs)
}

# _sshtun_config_hosts FILE DEPTH: Host names without patterns, following
# Include as ssh does (relative paths are under ~/.ssh).
_sshtun_config_hosts()
{
	local file=$1 depth=${2:-0} line key w inc f
	local -a list
	[[ -r $file ]] && ((depth < 8)) || return
	while IFS= read -r line || [[ -n $line ]]; do
		[[ $line =~ ^[[:space:]]*([A-Za-z]+)([[:space:]]*=[[:space:]]*|[[:space:]]+)(.*)$ ]] || continue
		key=${BASH_REMATCH[1],,}
		read -ra list <<<"${BASH_REMATCH[3]}"
		case $key in
		host)
			for w in "${list[@]}"; do
				[[ $w == \#* ]] && break
				w=${w//\"/}
				[[ -z $w || $w == *[\*\?\!]* ]] && continue
				printf '%s\n' "$w"
			done
			;;
		include)
			for inc in "${list[@]}"; do
				[[ $inc == \#* ]] && break
				[[ $inc == \~/* ]] && inc=$HOME/${inc#\~/}
				[[ $inc == /* ]] || inc=$HOME/.ssh/$inc
				while IFS= read -r f; do
					_sshtun_config_hosts "$f" $((depth + 1))
				done < <(compgen -G "$inc")
			done
			;;
		esac
	done <"$file"
}

# Names in known_hosts files: plain ones only (hashed |1| entries name
# nobody), [host]:port as host, no patterns.
_sshtun_known_hosts()
{
	local file first second rest n
	local -a names
	for file; do
		[[ -r $file ]] || continue
		while read -r first second rest; do
			[[ $first == @* ]] && first=$second	# @cert-authority, @revoked
			[[ -z $first || $first == \#* || $first == \|* ]] && continue
			IFS=, read -ra names <<<"$first"
			for n in "${names[@]}"; do
				if [[ $n == \[*\]* ]]; then
					n=${n#\[}
					n=${n%%\]*}
				fi
				[[ -z $n || $n == *[\*\?\!]* ]] && continue
				printf '%s\n' "$n"
			done
		done <"$file"
	done
}

# Host names for the word being completed: from the -F file (else
# ~/.ssh/config and /etc/ssh/ssh_config) and the known_hosts files.
_sshtun_hosts()
{
	local i cfg=
	for ((i = 1; i < cword; i++)); do
		[[ ${words[i]} == -F ]] && cfg=${words[i + 1]}
		[[ ${words[i]} == -F?* ]] && cfg=${words[i]#-F}
	done
	{
		if [[ -n $cfg ]]; then
			[[ $cfg == none ]] || _sshtun_config_hosts "$cfg"
		else
			_sshtun_config_hosts "$HOME/.ssh/config"
			_sshtun_config_hosts /etc/ssh/ssh_config
		fi
		_sshtun_known_hosts "$HOME/.ssh/known_hosts" /etc/ssh/ssh_known_hosts
	} | sort -u
}

# Bash splits words at COMP_WORDBREAKS (`-o Key=val' arrives as `-o Key =
# val', `user@host' and `fd00::/8' in pieces): glue back what was typed
# without blanks in between, as bash-completion's _get_comp_words_by_ref
# does.  Sets words, cword, cur and prev.
_sshtun_words()
{
	local i w rest line=${COMP_LINE-} glue
	words=()
	cword=0
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		glue=0
		if [[ -n ${COMP_LINE+set} ]]; then
			rest=${line#"${line%%[![:space:]]*}"}
			((i > 0 && ${#rest} == ${#line})) && glue=1
			line=${rest#"$w"}
		elif ((i > 0)) && [[ $w == [=:@]* || ${COMP_WORDS[i - 1]} == *[=:@] ]]; then
			glue=1
		fi
		if ((glue && ${#words[@]})); then
			words[${#words[@]} - 1]+=$w
		else
			words+=("$w")
		fi
		((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
	done
	cur=${words[cword]-}
	prev=
	((cword > 0)) && prev=${words[cword - 1]}
}

# _sshtun_reply WORD...: the words that start with cur, less the part of cur
# before its last `=', `:' or `@' where bash broke the word (readline only
# replaces from there).
_sshtun_reply()
{
	local w pre='' i c
	for ((i = ${#cur} - 1; i >= 0; i--)); do
		c=${cur:i:1}
		if [[ ($c == = || $c == : || $c == @) && ${COMP_WORDBREAKS-} == *"$c"* ]]; then
			# readline keeps a `@' in the text it replaces
			# (rl_special_prefixes), the others not.
			[[ $c == @ ]] && pre=${cur:0:i} || pre=${cur:0:i+1}
			break
		fi
	done
	for w; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("${w#"$pre"}")
	done
}

_sshtun_files()
{
	compopt -o filenames 2>/dev/null
	local f
	while IFS= read -r f; do
		COMPREPLY+=("$f")
	done < <(compgen -f -- "$cur")
}

_sshtun_keywords=(AddressFamily BatchMode BindAddress CertificateFile Compression ConnectTimeout HostName
	IdentitiesOnly IdentityFile Port ProxyCommand ProxyJump ServerAliveCountMax
	ServerAliveInterval StrictHostKeyChecking User UserKnownHostsFile)

# -o Keyword=Value
_sshtun_option_o()
{
	local key val k
	local -a kw
	if [[ $cur != *=* ]]; then
		for k in "${_sshtun_keywords[@]}"; do
			kw+=("$k=")
		done
		_sshtun_reply "${kw[@]}"
		compopt -o nospace 2>/dev/null
		return
	fi
	key=${cur%%=*}
	val=${cur#*=}
	case ${key,,} in
	stricthostkeychecking) _sshtun_reply "$key="{yes,accept-new,no,ask} ;;
	addressfamily) _sshtun_reply "$key="{any,inet,inet6} ;;
	batchmode | compression | identitiesonly) _sshtun_reply "$key="{yes,no} ;;
	proxycommand) _sshtun_reply "$key=none" ;;
	proxyjump | hostname)
		local -a h
		mapfile -t h < <(_sshtun_hosts)
		_sshtun_reply "${h[@]/#/$key=}"
		[[ ${key,,} == proxyjump ]] && _sshtun_reply "$key=none"
		;;
	identityfile | userknownhostsfile)
		local -a f
		mapfile -t f < <(compgen -f -- "$val")
		compopt -o filenames 2>/dev/null
		_sshtun_reply "${f[@]/#/$key=}"
		;;
	esac
}

# The binary that is being completed, to ask for live words.
_sshtun_bin()
{
	local b=${words[0]-sshtun}
	[[ $b == \~/* ]] && b=$HOME/${b#\~/}
	type -P -- "$b" >/dev/null 2>&1 || b=sshtun
	printf '%s\n' "$b"
}

# The command table: one `.It Ic NAME [ARGS]' line of the man page each,
# with the .It Ic taken off.
_sshtun_table()
{
	"$(_sshtun_bin)" --commands-mdoc 2>/dev/null | sed -n 's/^\.It Ic //p'
}

_sshtun_first_words()
{
	_sshtun_table | while read -r w _; do
		printf '%s\n' "$w"
	done | sort -u
}

# The routes of the running instance (target: -n NAME or -S PATH, or none).
_sshtun_routes()
{
	local json
	local -a r
	json=$("$(_sshtun_bin)" ctl "$@" route list --json 2>/dev/null)
	[[ $json == *'"routes":['* ]] || return
	json=${json#*'"routes":['}
	json=${json%%]*}
	json=${json//\"/}
	IFS=, read -ra r <<<"$json"
	((${#r[@]})) && printf '%s\n' "${r[@]}"
}

# Completes a shell command line.  The caller's cw holds the words typed
# before cur, its target the -n/-S words that reach the instance.
_sshtun_command()
{
	local -a toks cname args alts metas flags live
	local line k t nn argi pos bar i meta
	if ((${#cw[@]} == 0)); then
		mapfile -t live < <(_sshtun_first_words)
		_sshtun_reply "${live[@]}"
		return
	fi
	while IFS= read -r line; do
		read -ra toks <<<"$line"
		cname=()
		for t in "${toks[@]}"; do
			[[ $t == [A-Z][a-z] || $t == '|' ]] && break
			cname+=("$t")
		done
		nn=${#cname[@]}
		# The second word of a group (`route add').
		if ((${#cw[@]} == 1 && nn == 2)) && [[ ${cname[0]} == "${cw[0]}" ]]; then
			_sshtun_reply "${cname[1]}"
			continue
		fi
		((${#cw[@]} >= nn)) || continue
		for ((i = 0; i < nn; i++)); do
			[[ ${cw[i]} == "${cname[i]}" ]] || continue 2
		done
		# The argument spec: positions of Cm (literal) and Ar (meta)
		# alternatives, and Fl flags anywhere.
		alts=() metas=() flags=() pos=-1 bar=0
		for ((k = nn; k < ${#toks[@]}; k++)); do
			t=${toks[k]}
			case $t in
			'|') bar=1 ;;
			# A flag with a value (Fl -uid Ar UID) is typed, not offered.
			Fl) [[ ${toks[k + 2]-} == Ar ]] && k=$((k + 3)) && continue
				flags+=("-${toks[k + 1]}") k=$((k + 1)) bar=0 ;;
			Cm | Ar)
				((bar)) || { pos=$((pos + 1)) alts[pos]='' metas[pos]=''; }
				if [[ $t == Cm ]]; then
					alts[pos]+=" ${toks[k + 1]}"
				else
					metas[pos]+=" ${toks[k + 1]}"
				fi
				k=$((k + 1)) bar=0
				;;
			esac
		done
		args=("${cw[@]:nn}")
		argi=0
		for t in "${args[@]}"; do
			[[ $t == --* ]] || argi=$((argi + 1))
		done
		if [[ $cur == -* ]]; then
			_sshtun_reply "${flags[@]}"
			break
		fi
		[[ -z $cur ]] && _sshtun_reply "${flags[@]}"
		read -ra live <<<"${alts[argi]-}"
		_sshtun_reply "${live[@]}"
		for meta in ${metas[argi]-}; do
			case "${cname[*]} $meta" in
			"compress LEVEL") _sshtun_reply {1..9} ;;
			"log LEVEL") _sshtun_reply error warn info verbose debug debug2 ;;
			"help COMMAND")
				mapfile -t live < <(_sshtun_first_words)
				_sshtun_reply "${live[@]}"
				;;
			"route add CIDR") _sshtun_reply default ;;
			"route del CIDR")
				mapfile -t live < <(_sshtun_routes "${target[@]}")
				_sshtun_reply "${live[@]}"
				;;
			esac
		done
		break
	done < <(_sshtun_table)
}

_sshtun_ctl()
{
	local i=2 w name='' path='' first
	local -a target cw inst firsts
	# ctl's options stop at the first other word (getopt "+n:S:h").
	while ((i < cword)); do
		w=${words[i]}
		case $w in
		-n | -S)
			[[ $w == -n ]] && name=${words[i + 1]-} || path=${words[i + 1]-}
			i=$((i + 2))
			;;
		-n?*) name=${w#-n} i=$((i + 1)) ;;
		-S?*) path=${w#-S} i=$((i + 1)) ;;
		--) i=$((i + 1)); break ;;
		-*) i=$((i + 1)) ;;
		*) break ;;
		esac
	done
	case $prev in
	-n)
		mapfile -t inst < <(_sshtun_instances sock | sort -u)
		_sshtun_reply "${inst[@]}"
		return
		;;
	-S)
		_sshtun_files
		return
		;;
	esac
	mapfile -t firsts < <(_sshtun_first_words)
	# `sshtun ctl NAME status': a first word that is no command but names a
	# running instance.
	if [[ -z $name && -z $path ]] && ((i < cword)); then
		first=${words[i]}
		if [[ " ${firsts[*]} " != *" $first "* ]] &&
			_sshtun_instances sock | grep -qxF -- "$first"; then
			name=$first
			i=$((i + 1))
		fi
	fi
	[[ -n $name ]] && target=(-n "$name")
	[[ -n $path ]] && target=(-S "$path")
	if ((i >= cword)); then
		if [[ $cur == -* ]]; then
			_sshtun_reply -n -S -h
			return
		fi
		if [[ -z $name && -z $path ]]; then
			mapfile -t inst < <(_sshtun_instances sock | sort -u)
			_sshtun_reply "${inst[@]}"
		fi
	fi
	cw=("${words[@]:i:cword-i}")
	# A running instance answers best (live routes, its own commands): ask
	# it with ctl --complete; the command table is the fallback.
	if ((${#target[@]})); then
		local line
		local -a live
		line="${cw[*]}${cw[*]:+ }$cur"
		mapfile -t live < <("$(_sshtun_bin)" ctl "${target[@]}" --complete "$line" 2>/dev/null)
		if ((${#live[@]})); then
			_sshtun_reply "${live[@]}"
			return
		fi
	fi
	_sshtun_command
}

_sshtun_serve()
{
	case $prev in
	--pool | --pool6) _sshtun_reply none ;;
	--lease-file | --config) _sshtun_files ;;
	--nat-out) _sshtun_reply $(ls /sys/class/net 2>/dev/null) ;;
	--worker-user) mapfile -t COMPREPLY < <(compgen -u -- "$cur") ;;
	--mtu | --route | --dns | --dns-domain | --lease-grace | --max-sessions-per-user) ;;
	*)
		_sshtun_reply --client-to-client --config --dns --dns-domain --help --lease-file \
			--lease-grace --max-sessions-per-user --mtu --nat --nat-out --pool --pool6 \
			--route --sandbox-optional --userspace --worker-user -v
		;;
	esac
}

_sshtun_cleanup()
{
	local -a inst
	case $prev in
	-n)
		mapfile -t inst < <(_sshtun_instances state sock | sort -u)
		_sshtun_reply "${inst[@]}"
		;;
	-S) _sshtun_files ;;
	*) [[ $cur == -* ]] && _sshtun_reply -n -S -h ;;
	esac
}

_sshtun_client()
{
	local -a h firsts
	case $cur in
	--compress=*) _sshtun_reply --compress={auto,off,{1..9}}; return ;;
	--*=*) return ;;
	esac
	case $prev in
	--compress) _sshtun_reply auto off {1..9}; return ;;
	--balance) _sshtun_reply order random; return ;;
	-o) _sshtun_option_o; return ;;
	-i | -F | -S) _sshtun_files; return ;;
	-r) _sshtun_reply default; return ;;
	-c)
		mapfile -t firsts < <(_sshtun_first_words)
		_sshtun_reply "${firsts[@]}"
		return
		;;
	-l | --user)
		mapfile -t h < <(compgen -u -- "$cur")
		_sshtun_reply "${h[@]}"
		return
		;;
	--connections) _sshtun_reply {1..8}; return ;;
	-a | -b | -n | -p | -w | --mtu | --remote-command | --dns-domain | --uid) return ;;
	esac
	if [[ $cur == -* ]]; then
		_sshtun_reply -4 -6 -a -b -c -F -f -i -l -N -n -o -p -q -r -S -v -w \
			--accept-routes --allow-lan --balance --compress --connections --dns --dns-domain --help --kill-switch --mtu \
			--openssh --push --remote-command --uid --user --version
		return
	fi
	((cword == 1)) && _sshtun_reply serve ctl cleanup exec list doctor
	mapfile -t h < <(_sshtun_hosts)
	if [[ $cur == *@* ]]; then
		_sshtun_reply "${h[@]/#/${cur%%@*}@}"
	else
		_sshtun_reply "${h[@]}"
	fi
}

_sshtun()
{
	local cur prev cword
	local -a words
	COMPREPLY=()
	_sshtun_words
	if ((cword > 1)); then
		case ${words[1]} in
		serve) _sshtun_serve; return ;;
		ctl) _sshtun_ctl; return ;;
		cleanup) _sshtun_cleanup; return ;;
		list) ((cword == 2)) && _sshtun_reply --json; return ;;
		esac
	fi
	_sshtun_client
}

complete -F _sshtun sshtun
