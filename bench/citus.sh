#!/bin/bash
# Scale-out: the 10,000-row UPDATE ... lm_embed with the bundled sentiment
# model on one node against the same UPDATE on a table distributed over two
# Citus workers, on this machine (scripts/citus-cluster.sh: a coordinator and
# two workers, each with its own model server; the coordinator holds no
# shards).  "One node" is a plain table on the coordinator: one backend and
# the coordinator's model server.  Rounds alternated, median of each.
# THREADS (default 1) is each node's pg_lm.threads: with 1, a node computes
# on one core, as two one-core machines against one would; the default of
# pg_lm (a thread per core) lets the single node use both of this machine's
# cores already.
# SHARDS (default 8) is the distributed table's shard count.
# Timed twice: in one warm session (the figure the README gives) and with a
# new session for each statement (the workers' backends start each time).
#   bench/citus.sh [ROUNDS] [THREADS] [SHARDS]
# Writes bench/results/citus.txt.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
ROUNDS=${1:-5}
THREADS=${2:-1}
SHARDS=${3:-8}
PORT=55462
scripts/citus-build.sh
make -s install >/dev/null
DIR=$(mktemp -d /tmp/pg_lm_bench_citus.XXXXXX)
chmod 755 "$DIR"
trap 'scripts/citus-cluster.sh stop "$DIR/c" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
scripts/citus-cluster.sh start "$DIR/c" $PORT >/dev/null
q() { psql -X -q -At -h "$DIR/c" -p $PORT -U postgres -d pg_lm_citus -v ON_ERROR_STOP=1 "$@"; }
for p in $PORT $((PORT + 1)) $((PORT + 2)); do
	psql -X -q -At -h "$DIR/c" -p $p -U postgres -d pg_lm_citus -c "ALTER SYSTEM SET pg_lm.threads = $THREADS" \
		-c "SELECT pg_reload_conf()" >/dev/null
done
# milliseconds of one statement
timed() { psql -X -q -At -h "$DIR/c" -p $PORT -U postgres -d pg_lm_citus -v ON_ERROR_STOP=1 \
	-c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

q -c "CREATE EXTENSION pg_lm" -c "SELECT lm_citus_setup()" \
  -c "SELECT lm_import('sentiment-rt', '$SHARED/models/sentiment-rt')" >/dev/null
q -c "CREATE TABLE one_node AS SELECT row_number() OVER () AS id, body FROM (
        SELECT line AS body FROM regexp_split_to_table(pg_read_file('$SHARED/data/rt-polarity.pos')
          || pg_read_file('$SHARED/data/rt-polarity.neg'), E'\n') line WHERE line <> '' LIMIT 10000) s" \
  -c "ALTER TABLE one_node ADD COLUMN emb real[]" \
  -c "CREATE TABLE distributed (LIKE one_node)" \
  -c "SELECT create_distributed_table('distributed', 'id', shard_count => $SHARDS)" \
  -c "INSERT INTO distributed SELECT * FROM one_node" >/dev/null
rows=$(q -c "SELECT count(*) FROM distributed")
shards=$(q -c "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'distributed'::regclass")
one_sql="UPDATE one_node SET emb = lm_embed('sentiment-rt', body)"
dist_sql="UPDATE distributed SET emb = lm_embed('sentiment-rt', body)"
# Warm: one session runs every round, as an application's pooled connection
# would; citus.max_cached_conns_per_worker = SHARDS / 2 keeps the coordinator's
# connections to all the shards of each worker (Citus keeps one by default
# and opens the others, each a new backend on a worker, at every statement).
# The first two statements warm up: every node's model server loads the model.
warm=$({
	echo "SET citus.max_cached_conns_per_worker = $(( (SHARDS + 1) / 2 ));"
	echo "$one_sql;"; echo "$dist_sql;"
	echo '\timing on'
	for r in $(seq "$ROUNDS"); do echo "$one_sql;"; echo "$dist_sql;"; done
} | q | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
one=$(echo "$warm" | awk 'NR % 2 == 1' | tr '\n' ' ')
dist=$(echo "$warm" | awk 'NR % 2 == 0' | tr '\n' ' ')
# Cold: each statement in a new session (new backends on the workers).
cold_one=""; cold_dist=""
for r in $(seq "$ROUNDS"); do
	cold_one="$cold_one $(timed "$one_sql")"
	cold_dist="$cold_dist $(timed "$dist_sql")"
done
same=$(q -c "SELECT count(*) FROM one_node o JOIN distributed d USING (id)
             WHERE (SELECT max(abs(a - b)) FROM unnest(o.emb, d.emb) u(a, b)) < 1e-6")
m1=$(echo $one | tr ' ' '\n' | median)
m2=$(echo $dist | tr ' ' '\n' | median)
c1=$(echo $cold_one | tr ' ' '\n' | median)
c2=$(echo $cold_dist | tr ' ' '\n' | median)
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $cpu, $(nproc) cores; Citus $(q -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"), a coordinator and two workers on this machine, pg_lm.execution = server and pg_lm.threads = $THREADS on each"
	echo "# UPDATE ... SET emb = lm_embed('sentiment-rt', body) over $rows rows of rt-polarity; median of $ROUNDS alternated rounds, ms"
	echo "warm session (citus.max_cached_conns_per_worker = $(( (SHARDS + 1) / 2 ))):"
	echo "  one node (a plain table on the coordinator): $m1 ms  [ $one]"
	echo "  two workers ($shards shards):                 $m2 ms  [ $dist]"
	echo "  speed-up: $(echo "$m1 / $m2" | bc -l | cut -c1-4)x"
	echo "a new session for each statement:"
	echo "  one node:    $c1 ms  [$cold_one ]"
	echo "  two workers: $c2 ms  [$cold_dist ]"
	echo "  speed-up: $(echo "$c1 / $c2" | bc -l | cut -c1-4)x"
	echo "embeddings equal to one node's (within 1e-6): $same of $rows"
} | tee bench/results/citus.txt
