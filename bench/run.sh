#!/bin/bash
# Benchmarks, each beside a peer in the same run.  Results are printed and
# written to bench/results/.
#   bench/run.sh [tokenizer|transformers|seq2seq|rnn|sql_overhead|word2vec|all]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
PORT=${PG_LM_BENCH_PORT:-54339}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
ROUNDS=${ROUNDS:-3}
mkdir -p bench/results build/bench

scripts/install-deps.sh
command -v npm >/dev/null || { echo "npm is needed for the JavaScript peers (apt-get install npm)"; exit 1; }
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null
make -s -j2 bench-build PG_CONFIG=$PG_CONFIG >/dev/null
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node (bench/run_ort.sh) fetches nothing at install
(cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent >/dev/null)

TMP=$(mktemp -d /tmp/pg_lm_bench.XXXXXX); chmod 755 "$TMP"
trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT
scripts/cluster.sh start "$TMP/pg" "$PORT"
PSQL="psql -X -q -At -h $TMP/pg -p $PORT -U postgres -d postgres"

tokenizer_bench() {
	local tok=$SHARED/fixtures/real-tokenizers/gpt2/tokenizer.json
	local text=$SHARED/data/multi30k.train.en
	local out=bench/results/tokenizer.txt
	{
		echo "# GPT-2 tokenizer (50,257 tokens), $(wc -l < "$text") lines of multi30k.train.en, best of $ROUNDS, one thread"
		echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
		echo "engine $(build/bench/tokenizer_bench "$tok" "$text" "$ROUNDS")"
		$PSQL <<SQL
CREATE EXTENSION pg_lm;
SELECT lm_import('gpt2', '$tok') \gset
CREATE TABLE lines AS
	SELECT line FROM regexp_split_to_table(rtrim(pg_read_file('$text'), E'\n'), E'\n') AS line;
CREATE FUNCTION bench(rounds int) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; best float8 := 1e30; n bigint; rows bigint;
BEGIN
	PERFORM lm_tokenize('gpt2', 'warm up');
	FOR r IN 1..rounds LOOP
		t0 := clock_timestamp();
		SELECT sum(cardinality(lm_tokenize('gpt2', line, false))), count(*) INTO n, rows FROM lines;
		best := least(best, extract(epoch FROM clock_timestamp() - t0));
	END LOOP;
	RETURN format('lines=%s tokens=%s seconds=%s tokens_per_second=%s', rows, n, round(best::numeric, 4), round(n / best));
END \$\$;
SELECT 'sql ' || bench($ROUNDS);
SQL
		node bench/tokenizer_peer.mjs "$text" "$ROUNDS"
	} | tee "$out"
}

case "${1:-all}" in
tokenizer) tokenizer_bench ;;
transformers) bench/run_transformers.sh ;;
seq2seq) bench/run_seq2seq.sh ;;
rnn) bench/run_rnn.sh ;;
sql_overhead) bench/sql_overhead.sh ;;
word2vec) bench/word2vec_bench.sh ;;
all) tokenizer_bench; bench/run_transformers.sh; bench/run_seq2seq.sh; bench/run_rnn.sh
     bench/sql_overhead.sh; bench/word2vec_bench.sh ;;
*) echo "unknown benchmark $1 (tokenizer, transformers, seq2seq, rnn, sql_overhead, word2vec, all)"; exit 2 ;;
esac
