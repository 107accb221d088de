#!/bin/bash
# tests/fuzz/run.sh [TARGET...]: build the libFuzzer targets from the real
# sources with clang, ASan and UBSan, replay each target's regression inputs
# (tests/fuzz/regress/TARGET/), then fuzz it for FUZZ_SECONDS (default 60)
# from a copy of its seed corpus.  TARGET is frame, inflate, hello, shell,
# sshconfig, control, state, tx, ossh, peer_check, serve, leases, serveconf,
# vnet, chanlink, certs or steer (default: all of them).
#
#   FUZZ_SECONDS  per target; 0 runs the seeds and the regressions once
#   FUZZ_JOBS     targets fuzzed at the same time (default: the CPU count)
#   FUZZ_CC       the compiler (default clang)
#
# Everything it writes is under build/fuzz/: objects, binaries, the growing
# corpus corpus-TARGET/ (the committed tests/fuzz/corpus/ is only read),
# TARGET.log, and crash inputs in artifacts/.  Output is TAP, one line per
# target, then "N passed, N failed"; the exit status is 1 when a target
# failed to build, a regression input crashes, or fuzzing found a crash.
set -u
cd "$(dirname "$0")/../.." || exit 1

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
ALL=(frame inflate hello shell sshconfig control state tx ossh peer_check serve leases
     serveconf vnet chanlink certs steer)
# Large enough for each surface's limits: a full frame and the magic line's
# 64 KiB of junk; a hello past HELLO_MAX; lines past CTL_LINE_MAX and
# SSHCONFIG_LINE_MAX, several of them; for tx, enough operations to fill the
# transmit buffer many times over; for ossh, a few full datagrams; for serve,
# a few hellos; a lease file of a pool of 32 pairs and then some; serve.conf
# lines past their 1024 bytes.
declare -A MAXLEN=([frame]=70000 [inflate]=70000 [hello]=4200 [shell]=9000
		   [sshconfig]=20000 [control]=20000 [state]=50000 [tx]=8192 [ossh]=70000
		   [peer_check]=4400 [serve]=9000 [leases]=8000 [serveconf]=6000 [vnet]=65600
		   [chanlink]=4096 [certs]=17000 [steer]=4096)

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL[@]}")
for t in "${targets[@]}"; do
	[ -n "${MAXLEN[$t]:-}" ] || { echo "run.sh: unknown target \`$t' (${ALL[*]})" >&2; exit 2; }
done
case $FUZZ_SECONDS in ''|*[!0-9]*) echo "run.sh: bad FUZZ_SECONDS \`$FUZZ_SECONDS'" >&2; exit 2 ;; esac
if ! command -v "$CC" >/dev/null; then
	echo "Bail out! $CC not found (Debian: clang, libclang-rt-14-dev)"
	exit 1
fi

PKG_CFLAGS=$(pkg-config --cflags libssh2 zlib readline libseccomp libcrypto 2>/dev/null)
PKG_LIBS=$(pkg-config --libs libssh2 zlib readline libseccomp libcrypto 2>/dev/null || echo -lssh2 -lz -lreadline -lseccomp -lcrypto)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
-Wno-unused-parameter -Wno-unused-function -fno-strict-aliasing \
-Isrc -Ishell -Itests/unit -Itests/fuzz $PKG_CFLAGS"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for s in llvm-symbolizer /usr/lib/llvm-14/bin/llvm-symbolizer; do
	if command -v "$s" >/dev/null; then
		export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v "$s")}
		break
	fi
done

mkdir -p "$OUT/obj" "$OUT/artifacts" "$OUT/tmp" || exit 1
# One run at a time: a second one (make check while make fuzz runs) would
# rebuild the binaries and overwrite the results under the first.
exec 9>"$OUT/lock"
if ! flock -n 9; then
	echo "# another tests/fuzz/run.sh is running; waiting for it"
	flock 9
fi

# ---- build ----------------------------------------------------------------

# The library: every .c under src/ and shell/ but main.c, instrumented for
# coverage (fuzzer-no-link), each object rebuilt when its source, any header
# or the flags changed.
SRCS=()
for f in src/*.c shell/*.c; do
	[ "$f" = src/main.c ] || SRCS+=("$f")
done
obj_of() { local o=${1//\//_}; echo "$OUT/obj/${o%.c}.o"; }

build_objects() {
	local stamp=$OUT/obj/flags newest f o stale=()
	local flags="$CC $CFLAGS -fsanitize=fuzzer-no-link $SAN"
	[ "$(cat "$stamp" 2>/dev/null)" = "$flags" ] || rm -f "$OUT"/obj/*.o
	echo "$flags" >"$stamp"
	newest=$(ls -t src/*.h shell/*.h | head -n 1)
	for f in "${SRCS[@]}"; do
		o=$(obj_of "$f")
		if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ "$newest" -nt "$o" ]; then
			stale+=("$f")
		fi
	done
	[ ${#stale[@]} -eq 0 ] && return 0
	echo "# compiling ${#stale[@]} sources with $CC (ASan, UBSan, coverage)"
	: >"$OUT/build.log"
	local running=0 bad=0
	for f in "${stale[@]}"; do
		if [ "$running" -ge "$JOBS" ]; then
			wait -n || bad=1
			running=$((running - 1))
		fi
		rm -f "$(obj_of "$f")"
		# shellcheck disable=SC2086 # CFLAGS and SAN are word lists
		$CC $CFLAGS -fsanitize=fuzzer-no-link $SAN -c -o "$(obj_of "$f")" "$f" \
			>>"$OUT/build.log" 2>&1 &
		running=$((running + 1))
	done
	while [ "$running" -gt 0 ]; do
		wait -n || bad=1
		running=$((running - 1))
	done
	return $bad
}

# The library as an archive, so that a target links only the objects it
# needs and its own definitions win: fuzz_shell and fuzz_control define
# engine_* (tests/unit/shell_fakes.h), and fuzz_control includes control.c to
# reach its static reader; engine.o and control.o are then never pulled in.
LIB=$OUT/libsshtun.a
build_library() {
	local f o objs=() newer=0
	for f in "${SRCS[@]}"; do
		o=$(obj_of "$f")
		objs+=("$o")
		[ "$o" -nt "$LIB" ] && newer=1
	done
	[ -f "$LIB" ] && [ "$newer" = 0 ] && return 0
	rm -f "$LIB" && ar rcs "$LIB" "${objs[@]}" >>"$OUT/build.log" 2>&1
}

# build_target T: build/fuzz/fuzz_T from tests/fuzz/fuzz_T.c and the library.
build_target() {
	local t=$1 bin=$OUT/fuzz_$1 src=tests/fuzz/fuzz_$1.c extra=() o newer=0
	# fuzz_sshconfig.c keeps Include's glob() inside its sandbox.
	[ "$t" = sshconfig ] && extra+=("-Wl,--wrap=glob")
	[ -f "$bin" ] || newer=1
	for o in "$src" tests/fuzz/fuzz.h tests/fuzz/fake_ssh.h tests/unit/shell_fakes.h src/control.c "$LIB"; do
		[ "$o" -nt "$bin" ] && newer=1
	done
	[ "$newer" = 0 ] && return 0
	# shellcheck disable=SC2086
	$CC $CFLAGS -fsanitize=fuzzer $SAN -o "$bin" "$src" "$LIB" "${extra[@]}" \
		$PKG_LIBS >"$OUT/build-$t.log" 2>&1
}

# ---- run ------------------------------------------------------------------

# fuzz_one T: replay, then fuzz; the verdict goes to build/fuzz/T.result as
# "ok - ..." or "not ok - ..." followed by "# " lines.
fuzz_one() {
	local t=$1 bin=$OUT/fuzz_$1 log=$OUT/$1.log res=$OUT/$1.result
	local corpus=$OUT/corpus-$1 regress=tests/fuzz/regress/$1 inputs=() rc f
	local runs rate cov ft units art
	: >"$log"
	for f in "$regress"/*; do [ -f "$f" ] && inputs+=("$f"); done
	if [ ${#inputs[@]} -gt 0 ]; then
		"$bin" -timeout=25 -rss_limit_mb=2048 "${inputs[@]}" >>"$log" 2>&1 </dev/null
		rc=$?
		if [ $rc -ne 0 ]; then
			{
				echo "not ok - fuzz_$t: a regression input fails (exit $rc)"
				echo "#   inputs: $regress/"
				grep -E '^(Running|==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error)' "$log" |
					head -n 8 | sed 's/^/#   /'
			} >"$res"
			return 0
		fi
	fi
	mkdir -p "$corpus"
	cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
	if [ "$FUZZ_SECONDS" -eq 0 ]; then
		TMPDIR=$PWD/$OUT/tmp "$bin" -runs=0 -max_len="${MAXLEN[$t]}" -timeout=25 \
			-print_final_stats=1 "$corpus" >>"$log" 2>&1 </dev/null
	else
		TMPDIR=$PWD/$OUT/tmp "$bin" -max_total_time="$FUZZ_SECONDS" -max_len="${MAXLEN[$t]}" \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$OUT/artifacts/$t-" "$corpus" >>"$log" 2>&1 </dev/null
	fi
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1)
	units=$(find "$corpus" -type f | wc -l)
	if [ $rc -eq 0 ] && [ "$FUZZ_SECONDS" -eq 0 ]; then
		echo "ok - fuzz_$t: corpus of $units replayed, ${cov:-cov: ?}, ${#inputs[@]} regression inputs" >"$res"
		return 0
	elif [ $rc -eq 0 ]; then
		echo "ok - fuzz_$t: ${FUZZ_SECONDS} s, ${runs:-?} runs (${rate:-?}/s), ${cov:-cov: ?}, ${ft:-ft: ?}, corpus $units, ${#inputs[@]} regression inputs" >"$res"
		return 0
	fi
	art=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')
	{
		echo "not ok - fuzz_$t: crash after ${runs:-?} runs (exit $rc)"
		echo "#   input: ${art:-see $log}"
		grep -E '(==[0-9]+==ERROR|SUMMARY|invariant broken|runtime error|ALARM|out-of-memory|deadly signal|    #[0-9] )' "$log" |
			head -n 14 | sed 's/^/#   /'
		echo "#   log: $log; reproduce: $bin ${art:-CRASH_INPUT}"
	} >"$res"
}

echo "# fuzz: ${targets[*]}, $FUZZ_SECONDS s each, $JOBS at a time"
echo "1..${#targets[@]}"
passed=0 failed=0
if ! build_objects || ! build_library; then
	echo "# build failed:"
	grep -E 'error' "$OUT/build.log" | head -n 20 | sed 's/^/#   /'
fi

ready=()
for t in "${targets[@]}"; do
	rm -f "$OUT/$t.result"
	if build_target "$t"; then
		ready+=("$t")
	else
		{
			echo "not ok - fuzz_$t: does not build"
			grep -E 'error|undefined reference' "$OUT/build-$t.log" | head -n 10 | sed 's/^/#   /'
		} >"$OUT/$t.result"
	fi
done

running=0
for t in "${ready[@]}"; do
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	fuzz_one "$t" &
	running=$((running + 1))
done
wait

n=0
for t in "${targets[@]}"; do
	n=$((n + 1))
	if [ ! -s "$OUT/$t.result" ]; then
		echo "not ok $n - fuzz_$t: no result (see $OUT/$t.log)"
		failed=$((failed + 1))
		continue
	fi
	# Number the verdict line; pass the diagnostics through.
	sed "1s/^\(ok\|not ok\) -/\1 $n -/" "$OUT/$t.result"
	if head -n 1 "$OUT/$t.result" | grep -q '^ok'; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
