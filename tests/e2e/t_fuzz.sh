#!/bin/bash
# t_fuzz.sh: the libFuzzer targets, briefly, for CI: tests/fuzz/run.sh with
# FUZZ_SECONDS=5 each builds them, replays every regression input in
# tests/fuzz/regress/ and fuzzes each target from its seed corpus.  Its TAP
# lines pass through; anything else becomes a comment.  `make fuzz' is the
# long run.
cd "$(dirname "$0")/../.." || exit 1

if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
	echo "ok 1 # SKIP ${FUZZ_CC:-clang} is not installed (make deps installs it)"
	echo "1..1"
	exit 0
fi
FUZZ_SECONDS=${FUZZ_SECONDS:-5} tests/fuzz/run.sh 2>&1 |
	sed -E '/^(ok|not ok|#|1\.\.[0-9]+$|Bail out!)/!s/^/# /'
exit "${PIPESTATUS[0]}"
