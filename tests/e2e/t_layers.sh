#!/bin/bash
# t_layers.sh: tests/layers.sh as TAP: no module includes or calls back into
# one above it.  Needs no namespaces and no root.
cd "$(dirname "$0")/../.." || exit 1
out=$(tests/layers.sh 2>&1)
rc=$?
if [ "$rc" = 0 ]; then
	echo "ok 1 - $out"
else
	echo "not ok 1 - module layers (tests/layers.sh)"
	sed 's/^/# /' <<<"$out"
fi
echo "1..1"
exit "$rc"
