#!/bin/bash
# How promptly the tokenizers let a query cancel through: builds
# build/bench/cancel_gaps (make bench-build) and runs it on every
# fixture tokenizer (tokenizer.json and SentencePiece .model) with its default
# snippets, each repeated to 12 MB; prints the longest time between two
# cancel checks for encode and decode and writes bench/results/cancel_gaps.txt.
#   bench/cancel_gaps.sh [rounds]      (default 1; the median of the rounds is reported)
# Needs gcc, libjansson-dev, libutf8proc-dev, libpcre2-dev; no PostgreSQL.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
ROUNDS=${1:-${ROUNDS:-1}}
OUT=bench/results/cancel_gaps.txt
FIX=$SHARED/fixtures
OUT_ABS=$ROOT/$OUT
mkdir -p build/bench bench/results

make -s -j2 bench-build >/dev/null

{
	echo "# longest gap between cancel checks, 12 MB texts, median of $ROUNDS round(s), one thread"
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	cd "$FIX"
	"$ROOT"/build/bench/cancel_gaps -r "$ROUNDS" tokenizers/*/tokenizer.json \
		tokenizers/*/*.model real-tokenizers/*/tokenizer.model
} | tee "$OUT_ABS"
