#!/bin/bash
# The model server against running models in the backend, through SQL, on a
# throwaway cluster that preloads pg_lm:
#   overhead  one client, server beside backend (taking turns, a round each):
#             lm_embed of short texts with
#             the bundled sentiment-rt, and lm_generate of 64 tokens with a
#             GPT-2-small-shaped model (124M random weights, written by
#             bench_transformers --write-models, GPT-2's real vocabulary);
#   threads   one client generating 64 tokens, pg_lm.threads = 1 and 2 (taking
#             turns, a round each);
#   clients   8 clients at once (pgbench, bench/pgbench/*.sql) generating or
#             embedding, against one client, through the server, and 8
#             clients in backend mode (the three taking turns, a round each).
# Prints a table and writes bench/results/server.txt.
#   bench/server.sh [runs]        (default 3: best of 3)
# Needs root for `make install` and the throwaway cluster.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
RUNS=${1:-3}
PORT=${PG_LM_BENCH_PORT:-54347}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
OUT=bench/results/server.txt
PGBENCH_SECONDS=${PGBENCH_SECONDS:-12}
mkdir -p bench/results
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null
make -s -j2 bench-build PG_CONFIG=$PG_CONFIG >/dev/null
export OPENBLAS_NUM_THREADS=1

TMP=$(mktemp -d /tmp/pg_lm_bench_server.XXXXXX); chmod 755 "$TMP"
trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT
build/bench/bench_transformers --shape gpt2-small --shape minilm-l6 --write-models "$TMP" >/dev/null
cp "$SHARED/fixtures/real-tokenizers/gpt2/tokenizer.json" "$TMP/gpt2-small/"
cp -r models/sentiment-rt "$TMP/sentiment-rt"
chmod -R a+rX "$TMP"
scripts/cluster.sh start "$TMP/pg" "$PORT"
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $TMP/pg -p $PORT -U postgres -d postgres"
$PSQL -c "CREATE EXTENSION pg_lm" \
      -c "SELECT lm_import('gpt2-small', '$TMP/gpt2-small'), lm_import('minilm-l6', '$TMP/minilm-l6'),
                 lm_import('sentiment-rt', '$TMP/sentiment-rt')" >/dev/null

# Best of RUNS of a statement, in ms, after one warm-up run, in a session with settings $1.
best_ms() {
	local settings=$1 sql=$2 args=()
	for _ in $(seq $((RUNS + 1))); do args+=(-c "$sql"); done
	$PSQL -c "$settings" -c '\timing on' "${args[@]}" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n +2 | sort -n | head -1
}
# Best ms of a statement in backend mode and through the server, taking turns: "backend server".
both_ms() {
	local b= s= t
	for _ in $(seq "$RUNS"); do
		t=$(RUNS=1 best_ms "$BACKEND" "$1"); b=$(printf '%s\n' $b "$t" | sort -n | head -1)
		t=$(RUNS=1 best_ms "$SERVER" "$1"); s=$(printf '%s\n' $s "$t" | sort -n | head -1)
	done
	echo "$b $s"
}
use_threads() {
	local before
	[ "$($PSQL -c "SHOW pg_lm.threads")" != "$1" ] || return 0
	before=$($PSQL -c "SELECT pid FROM lm.server")
	$PSQL -c "ALTER SYSTEM SET pg_lm.threads = $1" -c "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 100); do
		[ "$($PSQL -c "SELECT pid FROM lm.server" 2>/dev/null)" != "$before" ] && return; sleep 0.1
	done
	echo "the server did not restart" >&2; exit 1
}
# Transactions per second of pgbench: tps MODE CLIENTS WORKLOAD
tps() {
	PGOPTIONS="-c pg_lm.execution=$1" /usr/lib/postgresql/15/bin/pgbench -n -h "$TMP/pg" -p "$PORT" -U postgres \
		-c "$2" -j "$2" -T "$PGBENCH_SECONDS" -f "bench/pgbench/$3.sql" postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
max() { echo "if ($1 > $2) $1 else $2" | bc -l; }
SERVER="SET pg_lm.execution = server"
BACKEND="SET pg_lm.execution = backend"
EMBED="SELECT count(lm_embed('sentiment-rt', 'review number ' || g || ': a fine, moving film')) FROM generate_series(1, 200) g"
GEN="SELECT length(lm_generate('gpt2-small', 'A man in a', 64))"
tokens=$($PSQL -c "SELECT array_length(lm_tokenize('gpt2-small', lm_generate('gpt2-small', 'A man in a', 64)), 1)")

use_threads 1
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores;" \
	     "OpenBLAS core ${OPENBLAS_CORETYPE:-auto}, one OpenBLAS thread"
	echo "# best of $RUNS runs; the generated text has $tokens tokens"
	echo
	echo "## one client: server against backend (pg_lm.threads = 1)"
	printf "%-44s %10s %10s %8s\n" "workload" "backend" "server" "server÷backend"
	read -r b s < <(both_ms "$EMBED")
	printf "%-44s %8.3f ms %8.3f ms %8.2f\n" "lm_embed, sentiment-rt, short text (per call)" \
		"$(echo "$b / 200" | bc -l)" "$(echo "$s / 200" | bc -l)" "$(echo "$s / $b" | bc -l)"
	read -r b s < <(both_ms "$GEN")
	printf "%-44s %8.1f ms %8.1f ms %8.2f\n" "lm_generate, GPT-2-small shape, 64 tokens" "$b" "$s" "$(echo "$s / $b" | bc -l)"
	echo
	echo "## one client generating 64 tokens: pg_lm.threads (1 and 2 taking turns, $RUNS rounds)"
	printf "%-12s %12s %10s\n" "threads" "tokens/s" "speed-up"
	t1=; t2=
	for _ in $(seq "$RUNS"); do
		use_threads 1
		t=$(RUNS=1 best_ms "$SERVER" "$GEN"); t1=$(printf '%s\n' $t1 "$t" | sort -n | head -1)
		use_threads 2
		t=$(RUNS=1 best_ms "$SERVER" "$GEN"); t2=$(printf '%s\n' $t2 "$t" | sort -n | head -1)
	done
	printf "%-12s %12.1f %10s\n" 1 "$(echo "$tokens * 1000 / $t1" | bc -l)" "1.00"
	printf "%-12s %12.1f %10.2f\n" 2 "$(echo "$tokens * 1000 / $t2" | bc -l)" "$(echo "$t1 / $t2" | bc -l)"
	echo
	echo "## clients at once (pgbench -T $PGBENCH_SECONDS, bench/pgbench/*.sql, best of $RUNS taking turns; pg_lm.threads = 2, pg_lm.max_batch = 32)"
	printf "%-44s %12s %12s %12s %10s %12s\n" "workload" "1 client" "8, server" "8, backend" "8 ÷ 1" "server÷backend"
	for w in generate embed; do
		# the three take turns, RUNS rounds of PGBENCH_SECONDS each; the best of each
		r1=0; r8=0; b8=0
		for _ in $(seq "$RUNS"); do
			r1=$(max "$r1" "$(tps server 1 $w)"); r8=$(max "$r8" "$(tps server 8 $w)")
			b8=$(max "$b8" "$(tps backend 8 $w)")
		done
		label=$([ $w = generate ] && echo "lm_generate, GPT-2-small shape, 32 tokens/s" || echo "lm_embed, MiniLM-L6 shape, 24 tokens, calls/s")
		unit=$([ $w = generate ] && echo 32 || echo 1)
		printf "%-44s %12.1f %12.1f %12.1f %10.2f %12.2f\n" "$label" "$(echo "$r1 * $unit" | bc -l)" \
			"$(echo "$r8 * $unit" | bc -l)" "$(echo "$b8 * $unit" | bc -l)" "$(echo "$r8 / $r1" | bc -l)" "$(echo "$r8 / $b8" | bc -l)"
	done
	$PSQL -c "SELECT 'server: ' || string_agg(format('%s %s requests, mean batch %s, mean decode batch %s',
	                 name, requests, coalesce(mean_batch, 0), coalesce(mean_decode_batch, 0)), '; ')
	          FROM lm.server_models WHERE name IN ('gpt2-small', 'minilm-l6')" | sed 's/^/# /'
} | tee "$OUT"
