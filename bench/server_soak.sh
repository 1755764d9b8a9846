#!/bin/bash
# The model server under a long mixed load: 32 pgbench clients for 5 minutes
# (bench/pgbench/mixed.sql: embed, classify, translate and generate with the
# bundled models, at random), the server's memory read every 10 seconds.
# Passes when no transaction failed and the server's RSS after warm-up (the
# first minute) grew by less than 5%.
#   bench/server_soak.sh [clients] [seconds]      (default 32, 300)
# Writes bench/results/server_soak.txt.  Needs root for the throwaway cluster.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CLIENTS=${1:-32}
SECONDS_TOTAL=${2:-300}
PORT=${PG_LM_BENCH_PORT:-54349}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
OUT=bench/results/server_soak.txt
mkdir -p bench/results
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null
export OPENBLAS_NUM_THREADS=1

TMP=$(mktemp -d /tmp/pg_lm_bench_soak.XXXXXX); chmod 755 "$TMP"
trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT
cp -r models "$TMP/models"; chmod -R a+rX "$TMP"
scripts/cluster.sh start "$TMP/pg" "$PORT"
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $TMP/pg -p $PORT -U postgres -d postgres"
$PSQL -c "CREATE EXTENSION pg_lm" \
      -c "SELECT lm_import(m, '$TMP/models/' || m) FROM unnest(ARRAY['sentiment-rt', 'mt-en-de', 'captions-gpt2']) m" >/dev/null
server=$($PSQL -c "SELECT pid FROM lm.server")
rss() { awk '/^Rss:/ {print $2}' /proc/$server/smaps_rollup; }

/usr/lib/postgresql/15/bin/pgbench -n -h "$TMP/pg" -p "$PORT" -U postgres -c "$CLIENTS" -j "$CLIENTS" \
	-T "$SECONDS_TOTAL" -f bench/pgbench/mixed.sql postgres >"$TMP/pgbench.out" 2>&1 &
bench=$!
: >"$TMP/rss"
for t in $(seq 10 10 "$SECONDS_TOTAL"); do
	sleep 10
	echo "$t $(rss)" >>"$TMP/rss"
done
wait $bench || true
after=$($PSQL -c "SELECT pid FROM lm.server")
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
	echo "# $CLIENTS clients, ${SECONDS_TOTAL} s, bench/pgbench/mixed.sql (embed, classify, translate, generate)"
	grep -E "^number of (transactions actually processed|failed transactions)|^tps" "$TMP/pgbench.out"
	echo "clients aborted by an error: $(grep -c 'aborted in command' "$TMP/pgbench.out")"
	echo "server pid before $server, after $after (the same: it never restarted)"
	warm=$(awk '$1 == 60 {print $2}' "$TMP/rss")
	last=$(tail -1 "$TMP/rss" | cut -d' ' -f2)
	echo "server RSS: $(awk 'NR == 1 {print $2}' "$TMP/rss") KB at 10 s, $warm KB at 60 s, $last KB at the end" \
	     "($(awk -v a="$warm" -v b="$last" 'BEGIN {printf "%+.1f%%", (b - a) * 100 / a}') after warm-up)"
	echo "server RSS every 10 s, MB: $(awk '{printf "%s%.0f", (NR > 1 ? " " : ""), $2 / 1024}' "$TMP/rss")"
	$PSQL -c "SELECT format('%s: %s requests, %s failures, mean batch %s, mean decode batch %s', name, requests,
	                 failures, coalesce(mean_batch, 0), coalesce(mean_decode_batch, 0)) FROM lm.server_models ORDER BY 1"
} | tee "$OUT"
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$TMP/pgbench.out")
[ "${failed:-1}" = 0 ] && [ "$(grep -c 'aborted in command' "$TMP/pgbench.out")" = 0 ] && [ "$server" = "$after" ]
