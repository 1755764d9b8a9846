#!/bin/bash
# Before and after a change: each benchmark of bench/run.sh runs in another
# checkout (BEFORE, e.g. a git worktree of the previous commit), then in this
# one, one right after the other, so that both see the same machine.  The
# outputs go to bench/results/ab/{before,after}-NAME.txt; compare the ratios.
#   bench/ab.sh BEFORE_DIR [benchmark ...]
# (default: tokenizer transformers seq2seq rnn sql_overhead; see bench/run.sh)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: bench/ab.sh BEFORE_DIR [benchmark ...]"; exit 2; }
BEFORE=$(cd "$1" && pwd); shift
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
BENCHES=${*:-tokenizer transformers seq2seq rnn sql_overhead}
OUT=$ROOT/bench/results/ab
LOGS=$ROOT/build/ab
mkdir -p "$OUT" "$LOGS"
for b in $BENCHES; do
	for side in before after; do
		dir=$ROOT
		[ $side = before ] && dir=$BEFORE
		echo "== $b, $side ($dir, $(git -C "$dir" rev-parse --short HEAD))"
		(cd "$dir" && PG_LM_SHARED=$SHARED bench/run.sh "$b") >"$LOGS/$side-$b.log" 2>&1 \
			|| { echo "   failed: see $LOGS/$side-$b.log"; continue; }
		cp "$dir/bench/results/$b.txt" "$OUT/$side-$b.txt"
		grep -v '^#' "$OUT/$side-$b.txt" | head -40
	done
done
