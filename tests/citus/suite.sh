#!/bin/bash
# The scale-out suite: pg_lm on a Citus cluster (a coordinator and two workers
# on this machine, scripts/citus-cluster.sh), Citus built from shared/peers
# (scripts/citus-build.sh; nothing to do when it is installed).  pg_lm's
# tables become reference tables (lm_citus_setup); models imported on the
# coordinator answer on every node, a distributed UPDATE runs as shard tasks
# on the workers and gives the single-node results, similarity search merges
# the shards' top k, a worker added later serves the models, lm_drop reaches
# every node.  Prints "citus-tests: N passed, N failed".
#   tests/citus/suite.sh
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${PG_LM_SHARED:-$(cd "$REPO/.." && pwd)/shared}
DIR=$(mktemp -d /tmp/pg_lm_citus.XXXXXX); chmod 755 "$DIR"
PORT=55432
pass=0; fail=0
cleanup() { "$REPO/scripts/citus-cluster.sh" stop "$DIR/c"; rm -rf "$DIR"; }
trap cleanup EXIT
q() { psql -X -q -At -h "$DIR/c" -p "${P:-$PORT}" -U postgres -d pg_lm_citus -v ON_ERROR_STOP=1 "$@" 2>&1; }
check() {	# check NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok   $1"
	else fail=$((fail + 1)); echo "FAIL $1: expected [$2], got [$3]"; fi
}
t0=$(date +%s)
"$REPO/scripts/citus-build.sh" || { echo "citus-tests: 0 passed, 1 failed"; exit 1; }
"$REPO/scripts/citus-cluster.sh" start "$DIR/c" $PORT || { echo "citus-tests: 0 passed, 1 failed"; exit 1; }
t1=$(date +%s)

q -c "CREATE EXTENSION pg_lm" >/dev/null
check "extension on the workers" "pg_lm pg_lm" "$(P=$((PORT+1)) q -c "SELECT extname FROM pg_extension WHERE extname = 'pg_lm'") $(P=$((PORT+2)) q -c "SELECT extname FROM pg_extension WHERE extname = 'pg_lm'")"
q -c "SELECT lm_citus_setup()" >/dev/null
check "pg_lm's tables are reference tables" "7" "$(q -c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE '_lm.%' AND partmethod = 'n'")"
q -c "SELECT lm_import('sentiment-rt', '$SHARED/models/sentiment-rt'), lm_import('minilm', '$SHARED/fixtures/models/minilm-tiny-st'),
             lm_import('captions-gpt2', '$SHARED/models/captions-gpt2')" >/dev/null
check "models on a worker" "captions-gpt2,minilm,sentiment-rt" "$(P=$((PORT+2)) q -c "SELECT string_agg(name, ',' ORDER BY name) FROM lm.models")"

# every node answers with the models imported on the coordinator
one="a moving and beautiful film"
check "a worker's own query answers as the coordinator" "$(q -c "SELECT lm_classify('sentiment-rt', '$one')") $(q -c "SELECT lm_classify('sentiment-rt', '$one')")" \
	"$(P=$((PORT+1)) q -c "SELECT lm_classify('sentiment-rt', '$one')") $(P=$((PORT+2)) q -c "SELECT lm_classify('sentiment-rt', '$one')")"
# a model trained on the coordinator (from a table there) is used on a worker
q -c "CREATE TABLE city (s text)" \
  -c "INSERT INTO city VALUES ('Paris has amazing food'), ('Paris has amazing art'), ('Paris has old streets'), ('Rome has amazing food')" \
  -c "SELECT lm_ngram_train('city-kn', 'SELECT s FROM city', 3)" >/dev/null
next="SELECT string_agg(word, ',' ORDER BY probability DESC, word) FROM lm_next_word('city-kn', 'Paris has', 3)"
check "a model trained on the coordinator, used on a worker" "$(q -c "$next")" "$(P=$((PORT+2)) q -c "$next")"
# privileges: lm_revoke and lm_grant on the coordinator hold on the workers (Citus creates the role on each)
q -c "CREATE ROLE lm_reader LOGIN" -c "SELECT lm_revoke('sentiment-rt', 'public')" >/dev/null
err=$(P=$((PORT+1)) q -c "SET ROLE lm_reader" -c "SELECT lm_classify('sentiment-rt', '$one')" 2>&1 | head -1)
check "lm_revoke reaches the workers" "ERROR:  permission denied for model \"sentiment-rt\"" "$err"
q -c "SELECT lm_grant('sentiment-rt', 'lm_reader')" >/dev/null
check "lm_grant reaches the workers" "$(q -c "SELECT lm_classify('sentiment-rt', '$one')")" \
	"$(P=$((PORT+1)) q -c "SET ROLE lm_reader" -c "SELECT lm_classify('sentiment-rt', '$one')" 2>&1)"
q -c "SELECT lm_grant('sentiment-rt', 'public')" >/dev/null

# a plain table on the coordinator gives the single-node answers
q -c "CREATE TABLE expect AS SELECT row_number() OVER () AS id, line AS body
      FROM regexp_split_to_table(pg_read_file('$SHARED/data/rt-polarity.pos'), E'\n') line WHERE line <> '' LIMIT 1000" \
  -c "ALTER TABLE expect ADD COLUMN label text, ADD COLUMN emb real[], ADD COLUMN gen text" \
  -c "UPDATE expect SET label = lm_classify('sentiment-rt', body), emb = lm_embed('minilm', body),
             gen = lm_generate('captions-gpt2', body, 8, temperature => 0.8, seed => id)" \
  -c "CREATE TABLE reviews (id bigint PRIMARY KEY, body text NOT NULL, label text, emb real[], gen text)" \
  -c "SELECT create_distributed_table('reviews', 'id')" \
  -c "INSERT INTO reviews (id, body) SELECT id, body FROM expect" >/dev/null
check "the UPDATE is pushed down as shard tasks" "Task Count: 8" \
	"$(q -c "EXPLAIN (COSTS OFF) UPDATE reviews SET label = lm_classify('sentiment-rt', body)" | grep -o 'Task Count: [0-9]*')"
q -c "UPDATE reviews SET label = lm_classify('sentiment-rt', body), emb = lm_embed('minilm', body)" >/dev/null
check "both workers' model servers classified" "t t" "$(P=$((PORT+1)) q -c "SELECT requests > 0 FROM lm.server_models WHERE name = 'sentiment-rt'") $(P=$((PORT+2)) q -c "SELECT requests > 0 FROM lm.server_models WHERE name = 'sentiment-rt'")"
check "distributed classify = single node" "1000" "$(q -c "SELECT count(*) FROM reviews r JOIN expect e USING (id) WHERE r.label = e.label")"
# a parallel query on the coordinator: pg_lm reads its reference tables in parallel workers
check "parallel workers on the coordinator" "1000" "$(q -c "SET force_parallel_mode = on" -c "SET pg_lm.execution = backend" \
	-c "SELECT count(*) FROM expect WHERE lm_classify('sentiment-rt', body) = label" 2>&1)"
# within 1e-6: the model server batches concurrent sessions' requests, and a batch's sums may
# round differently in the last bit (4 sessions on one node give the same 3 in 1000, <= 5e-8)
check "distributed embed = single node" "1000" "$(q -c "SELECT count(*) FROM reviews r JOIN expect e USING (id)
	WHERE (SELECT max(abs(a - b)) FROM unnest(r.emb, e.emb) u(a, b)) < 1e-6")"
err=$(q -c "UPDATE reviews SET gen = lm_generate('captions-gpt2', body, 8, temperature => 0.8, seed => id)" 2>&1 | head -1)
check "VOLATILE refused" "ERROR:  functions used in UPDATE queries on distributed tables must not be VOLATILE" "$err"
q -c "WITH g AS (SELECT id, lm_generate('captions-gpt2', body, 8, temperature => 0.8, seed => id) AS t FROM reviews)
      UPDATE reviews r SET gen = g.t FROM g WHERE r.id = g.id" >/dev/null
check "seeded generation (CTE form) = single node" "1000" "$(q -c "SELECT count(*) FROM reviews r JOIN expect e USING (id) WHERE r.gen = e.gen")"

# translation: 40 captions of Multi30k's test set, on one node and distributed
q -c "SELECT lm_import('mt-en-de', '$SHARED/models/mt-en-de')" >/dev/null
q -c "CREATE TABLE captions_expect AS SELECT row_number() OVER () AS id, line AS en
      FROM regexp_split_to_table(pg_read_file('$SHARED/data/multi30k.test_2016_flickr.en'), E'\n') line WHERE line <> '' LIMIT 40" \
  -c "ALTER TABLE captions_expect ADD COLUMN de text" \
  -c "UPDATE captions_expect SET de = lm_translate('mt-en-de', en, 'eng_Latn', 'deu_Latn')" \
  -c "CREATE TABLE captions (LIKE captions_expect)" -c "SELECT create_distributed_table('captions', 'id')" \
  -c "INSERT INTO captions (id, en) SELECT id, en FROM captions_expect" >/dev/null
check "distributed translate = single node" "40" "$(q -c "UPDATE captions SET de = lm_translate('mt-en-de', en, 'eng_Latn', 'deu_Latn')" \
	-c "SELECT count(*) FROM captions c JOIN captions_expect e USING (id) WHERE c.de = e.de AND c.de <> ''")"

q -c "CREATE INDEX ON reviews USING lm_hnsw (emb)" >/dev/null
knn="SELECT string_agg(id::text, ',') FROM (SELECT id FROM reviews ORDER BY emb <=> lm_embed('minilm', 'a moving and beautiful film') LIMIT 10) s"
exact="SELECT string_agg(id::text, ',') FROM (SELECT id FROM expect ORDER BY emb <=> lm_embed('minilm', 'a moving and beautiful film') LIMIT 10) s"
check "global top 10 via the shards' indexes" "$(q -c "$exact")" "$(q -c "$knn")"

P3=$("$REPO/scripts/citus-cluster.sh" add-worker "$DIR/c")
check "models on a worker added later" "$(q -c "SELECT string_agg(name, ',' ORDER BY name) FROM lm.models")" "$(P=$P3 q -c "SELECT string_agg(name, ',' ORDER BY name) FROM lm.models")"
q -c "SELECT rebalance_table_shards(shard_transfer_mode => 'block_writes')" >/dev/null 2>&1
q -c "UPDATE reviews SET label = NULL" -c "UPDATE reviews SET label = lm_classify('sentiment-rt', body)" >/dev/null
check "classify with a shard on the new worker" "1000" "$(q -c "SELECT count(*) FROM reviews r JOIN expect e USING (id) WHERE r.label = e.label")"
check "the new worker's model server ran it" "t" "$(P=$P3 q -c "SELECT requests > 0 FROM lm.server_models WHERE name = 'sentiment-rt'")"
check "top 10 after the rebalance" "$(q -c "$exact")" "$(q -c "$knn")"

err=$(P=$((PORT+1)) q -c "SELECT lm_import('on-a-worker', '$SHARED/models/sentiment-rt')" 2>&1 | head -1)
check "lm_import on a worker refused" "ERROR:  models are imported and trained on the coordinator of a Citus cluster" "$err"
# the weights file of minilm on each worker (written when its model server first loaded it)
files_before=$(for n in 1 2; do P=$((PORT + n)) q -c "SELECT current_setting('data_directory') || '/pg_lm/' || d.oid || '/' || m.id || '.safetensors'
	FROM pg_database d, _lm.model m WHERE d.datname = current_database() AND m.name = 'minilm'"; done)
check "minilm's weights files on both workers" "2" "$(for f in $files_before; do [ -e "$f" ] && echo "$f"; done | wc -l)"
q -c "SELECT lm_drop('minilm')" >/dev/null
check "lm_drop reaches the workers" "0" "$(P=$((PORT+1)) q -c "SELECT count(*) FROM lm.models WHERE name = 'minilm'")"
check "lm_drop removes the workers' weights files" "" "$(for f in $files_before; do [ -e "$f" ] && echo "$f"; done)"
t2=$(date +%s)
echo "build check + cluster start $((t1 - t0)) s, tests $((t2 - t1)) s"
echo "citus-tests: $pass passed, $fail failed"
