#!/bin/bash
# The whole test suite: install dependencies, build, install, start a
# throwaway cluster, run the pg_regress suites and the engine's C tests, stop
# the cluster, and print one closing line "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
PORT=${PG_LM_TEST_PORT:-54329}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
export PG_LM_FIXTURES="$SHARED/fixtures" PG_LM_MODELS="$SHARED/models" PG_LM_DATA="$SHARED/data"
export OPENBLAS_NUM_THREADS=1
# The n-gram test compares with NLTK, which install-deps.sh installs.
export PG_LM_REQUIRE_NLTK=1
# The word2vec test compares with gensim, which install-deps.sh installs too.
export PG_LM_REQUIRE_GENSIM=1
# The chat-template test compares with jinja2 (python3-jinja2, from install-deps.sh too).
export PG_LM_REQUIRE_JINJA2=1

scripts/install-deps.sh || { echo "could not install dependencies"; echo "0 passed, 1 failed"; exit 1; }
[ -d "$PG_LM_FIXTURES" ] || { echo "fixtures not found at $PG_LM_FIXTURES (set PG_LM_SHARED)"; echo "0 passed, 1 failed"; exit 1; }

echo "== build"
if ! make -s -j2 PG_CONFIG=$PG_CONFIG >build.log 2>&1 || ! make -s install PG_CONFIG=$PG_CONFIG >>build.log 2>&1 \
	|| ! make -s -j2 engine-tests PG_CONFIG=$PG_CONFIG >>build.log 2>&1 \
	|| ! make -s -j2 bench-build PG_CONFIG=$PG_CONFIG >>build.log 2>&1; then
	cat build.log; echo "0 passed, 1 failed"; exit 1
fi
rm -f build.log

TMP=$(mktemp -d /tmp/pg_lm_test.XXXXXX)
chmod 755 "$TMP"
cleanup() { scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"; }
trap cleanup EXIT

# The server runs as postgres and reads the fixtures itself: if it cannot
# reach them where they are (a checkout under /root, say), use a copy.
if ! runuser -u postgres -- test -r "$PG_LM_FIXTURES/README.md" 2>/dev/null; then
	mkdir -p "$TMP/shared"
	cp -r "$PG_LM_FIXTURES" "$PG_LM_MODELS" "$PG_LM_DATA" "$TMP/shared/"
	chmod -R a+rX "$TMP/shared"
	export PG_LM_FIXTURES="$TMP/shared/fixtures" PG_LM_MODELS="$TMP/shared/models" PG_LM_DATA="$TMP/shared/data"
fi
scripts/make-bad-inputs.sh "$TMP/bad" "$PG_LM_FIXTURES" || { echo "0 passed, 1 failed"; exit 1; }
# GGUF test files live in the repository: a copy the server can read, beside the bad inputs.
mkdir -p "$TMP/bad/gguf" && cp -r tests/data/gguf/. "$TMP/bad/gguf/" &&
	head -c 100000 tests/data/gguf/llama-tiny-f32.gguf >"$TMP/bad/gguf/truncated.gguf" &&
	perl -0777 -pe 's/gpt-2/bloom/' tests/data/gguf/gpt2-tiny-f32.gguf >"$TMP/bad/gguf/gpt2-tiny-bloom-pre.gguf" &&
	perl -0777 -pe 's/llama-bpe/unknown12/' tests/data/gguf/llama3-style-vocab.gguf >"$TMP/bad/gguf/unknown-pre-vocab.gguf" &&
	chmod -R a+rX "$TMP/bad/gguf"
# Chat models (19_chat): fixtures with real chat templates, GGUF files with one in their metadata.
python3 scripts/make-chat-models.py "$TMP/bad/chat" "$PG_LM_FIXTURES" || { echo "0 passed, 1 failed"; exit 1; }
export PG_LM_SCRATCH="$TMP/bad"

echo "== cluster"
scripts/cluster.sh start "$TMP/pg" "$PORT" || { echo "0 passed, 1 failed"; exit 1; }

echo "== pg_regress"
mkdir -p build/regress-in build/regress
ln -sfn "$ROOT/sql-tests" build/regress-in/sql
ln -sfn "$ROOT/expected" build/regress-in/expected
TESTS=$(cd sql-tests && ls *.sql | sed 's/\.sql$//')
PG_REGRESS=$($PG_CONFIG --pkglibdir)/pgxs/src/test/regress/pg_regress
"$PG_REGRESS" --inputdir=build/regress-in --outputdir=build/regress --bindir=$($PG_CONFIG --bindir) \
	--host="$TMP/pg" --port="$PORT" --user=postgres --dbname=pg_lm_regress $TESTS | tee "$TMP/regress.out"
rp=$(grep -cE '\.\.\. ok' "$TMP/regress.out")
rf=$(grep -cE '\.\.\. FAILED' "$TMP/regress.out")
if [ "$rf" -gt 0 ] && [ -f build/regress/regression.diffs ]; then
	head -c 20000 build/regress/regression.diffs
fi
if [ $((rp + rf)) -eq 0 ]; then rf=1; echo "pg_regress ran no test"; fi

# The translation quality the suite measured (10_translate keeps its table).
psql -X -At -h "$TMP/pg" -p "$PORT" -U postgres -d pg_lm_regress -c \
	"SELECT format('mt-en-de on Multi30k test 2016 (beam 4, %s sentences): BLEU %s, chrF %s (quality.json: 34.96, 60.55)',
	               count(*), round(lm_bleu_agg(hyp, de)::numeric, 2), round(lm_chrf_agg(hyp, de)::numeric, 2))
	 FROM translated" 2>/dev/null

echo "== isolation"
# Sessions interleaved step by step (tests/isolation/specs): a database of their own.
psql -X -q -h "$TMP/pg" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE pg_lm_isolation" &&
psql -X -q -h "$TMP/pg" -p "$PORT" -U postgres -d pg_lm_isolation -c "CREATE EXTENSION pg_lm" \
	-c "ALTER DATABASE pg_lm_isolation SET lm_test.fixtures = '$PG_LM_FIXTURES'"
ISOLATION_TESTS=$(cd tests/isolation/specs && ls *.spec | sed 's/\.spec$//')
$($PG_CONFIG --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress --inputdir=tests/isolation \
	--outputdir=build/isolation --bindir=$($PG_CONFIG --bindir) --host="$TMP/pg" --port="$PORT" \
	--user=postgres --use-existing --dbname=pg_lm_isolation $ISOLATION_TESTS | tee "$TMP/isolation.out"
iso_pass=$(grep -cE '\.\.\. ok' "$TMP/isolation.out")
iso_fail=$(grep -cE '\.\.\. FAILED' "$TMP/isolation.out")
if [ "$iso_fail" -gt 0 ] && [ -f build/isolation/regression.diffs ]; then
	head -c 20000 build/isolation/regression.diffs
fi
if [ $((iso_pass + iso_fail)) -eq 0 ]; then iso_fail=1; echo "the isolation tests did not run"; fi
rp=$((rp + iso_pass)); rf=$((rf + iso_fail))

# A script suite run against the cluster: its output shown, its closing
# "PREFIX: N passed, N failed" added to sp/sf (one failure when it has none).
sp=0; sf=0
run_suite() {	# run_suite TITLE PREFIX WHAT-DID-NOT-FINISH SCRIPT ARGS...
	local title=$1 prefix=$2 what=$3 p f
	shift 3
	echo "== $title"
	"$@" | tee "$TMP/$prefix.out"
	p=$(sed -n "s/^$prefix: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p" "$TMP/$prefix.out")
	f=$(sed -n "s/^$prefix: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p" "$TMP/$prefix.out")
	[ -n "$p" ] || { p=0; f=1; echo "the $what tests did not finish"; }
	sp=$((sp + p)); sf=$((sf + f))
}
run_suite "model server faults" server-tests "server" tests/server/faults.sh "$TMP/pg" "$PORT" "$TMP/pg/data"
run_suite "backup, restore and replication" dba-tests "backup and restore" tests/dba/restore.sh "$TMP/pg" "$PORT"
run_suite "similarity indexes: concurrency, crash recovery, replication" hnsw-tests "lm_hnsw durability" \
	tests/dba/hnsw.sh "$TMP/pg" "$PORT"
run_suite "beside pgvector" interop-tests "pgvector interoperation" tests/interop/pgvector.sh "$TMP/pg" "$PORT"
run_suite "scale-out on Citus (a coordinator and two workers)" citus-tests "Citus" tests/citus/suite.sh

echo "== engine C tests"
scripts/run-c-tests.sh $(ls build/tests/test_* | grep -v "\.[a-z]*$") | tee "$TMP/c.out"
cp=$(sed -n 's/^c-tests: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$TMP/c.out")
cf=$(sed -n 's/^c-tests: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$TMP/c.out")

echo "== summary: pg_regress and isolation $rp passed, $rf failed; server, backup, restore, indexes, pgvector and Citus $sp passed, $sf failed; C checks $cp passed, $cf failed"
passed=$((rp + sp + cp)); failed=$((rf + sf + cf))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
