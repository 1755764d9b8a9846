#!/bin/bash
# word2vec against gensim: the quality of the vectors and the training speed,
# on the same tokens, the same cores, one thread each.
#   bench/word2vec_bench.sh        (results in bench/results/word2vec.txt)
#
# 1. The engine (build/tests/test_word2vec, the quality part) reads
#    fortunes-freedict.json ("en") and multi30k.train.en, tokenizes them as
#    lm_word2vec_train does, writes the tokenized corpus, trains with the
#    defaults (dim 100, window 5, negative 5, epochs 5, min_count 5,
#    sample 1e-3, seed 1) and runs tests/word2vec_reference.py: gensim's
#    Word2Vec(sg=1, hs=0, workers=1) trains on that corpus file with the same
#    hyperparameters, and both sets of vectors are scored by the same code on
#    the analogy questions of tests/data/word2vec_pairs.txt.  The two
#    trainings run one after the other.
# 2. In the database: lm_word2vec_train on the same texts in the same order,
#    then the same questions through lm_analogy(model, a, b, c, 1, 'unit').
# words/s = corpus words x epochs / seconds of the training loop (gensim:
# its train() call), the measure both report.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
DATA=$SHARED/data
PORT=${PG_LM_BENCH_PORT:-54341}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
OUT=bench/results/word2vec.txt
mkdir -p bench/results

/usr/bin/python3 -c 'import gensim' 2>/dev/null || { echo "python3-gensim is needed (apt-get install -y python3-gensim)"; exit 1; }
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null
make -s build/tests/test_word2vec PG_CONFIG=$PG_CONFIG >/dev/null

TMP=$(mktemp -d /tmp/pg_lm_w2v_bench.XXXXXX); chmod 755 "$TMP"
trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT

echo "== engine and gensim"
PG_LM_DATA=$DATA PG_LM_REQUIRE_GENSIM=1 PG_LM_WORD2VEC_KEEP=$TMP/files build/tests/test_word2vec > "$TMP/engine.log" 2>&1 \
	|| { grep -E '^not ok|^#' "$TMP/engine.log"; echo "the engine's quality check failed"; exit 1; }
value() { sed -n "s/^# gensim reference: $1 //p" "$TMP/engine.log"; }
engine_line=$(grep '^# pg_lm: ' "$TMP/engine.log" | sed 's/^# pg_lm: //')
engine_wps=$(echo "$engine_line" | sed 's/.* \([0-9]*\) words\/s$/\1/')
engine_seconds=$(echo "$engine_line" | sed 's/.*trained, \([0-9.]*\) s,.*/\1/')

echo "== in the database"
scripts/cluster.sh start "$TMP/pg" "$PORT"
PSQL="psql -X -q -At -h $TMP/pg -p $PORT -U postgres -d postgres"
awk '/^#/ || NF == 0 { next } /^: / { rel = $2; n = 0; next } { n++; print rel "," n "," $1 "," $2 }' \
	tests/data/word2vec_pairs.txt > "$TMP/pairs.csv"
$PSQL <<SQL > "$TMP/sql.out"
CREATE EXTENSION pg_lm;
CREATE TABLE corpus AS
	SELECT 1 AS part, n, t FROM jsonb_array_elements_text(pg_read_file('$DATA/fortunes-freedict.json')::jsonb -> 'en')
		WITH ORDINALITY AS f(t, n)
	UNION ALL
	SELECT 2, n, line FROM regexp_split_to_table(rtrim(pg_read_file('$DATA/multi30k.train.en'), E'\n'), E'\n')
		WITH ORDINALITY AS c(line, n);
CREATE TABLE pairs (rel text, n int, a text, b text);
\copy pairs FROM '$TMP/pairs.csv' CSV
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT lm_word2vec_train('w2v-bench', 'SELECT t FROM corpus ORDER BY part, n') > 0;
SELECT 'call_seconds ' || round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 2);
SELECT 'train_seconds ' || (config->>'seconds') || E'\nwords_per_second ' || (config->>'words_per_second')
       || E'\nvocabulary ' || (config->>'count') || E'\ncorpus_words ' || (config->>'corpus_words')
FROM _lm.model WHERE name = 'w2v-bench';
SELECT 'score ' || round(avg(coalesce(ok, false)::int), 6) FROM (
	SELECT (SELECT word FROM lm_analogy('w2v-bench', p.a, p.b, q.a, 1, 'unit')) = q.b AS ok
	FROM pairs p JOIN pairs q ON p.rel = q.rel AND p.n <> q.n) t;
SQL
sql() { sed -n "s/^$1 //p" "$TMP/sql.out"; }

{
	echo "# word2vec skip-gram, negative sampling: pg_lm against gensim $(/usr/bin/python3 -c 'import gensim; print(gensim.__version__)') (Debian python3-gensim)"
	echo "# corpus: fortunes-freedict.json \"en\" + multi30k.train.en, tokenized by pg_lm (lm_words_tokenize, lowercased), one text a sentence"
	echo "# $(echo "$engine_line" | sed 's/, [0-9.]* s, [0-9]* words\/s$//')"
	echo "# hyperparameters (both): dim 100, window 5, negative 5, epochs 5, min_count 5, sample 1e-3, alpha 0.025 -> 0.0001, seed 1, one thread"
	echo "# task: $(value questions) analogy questions from tests/data/word2vec_pairs.txt (3CosAdd over unit vectors, top-1)"
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# Timings swing 30-50% between runs on these shared 2-core machines: read the ratios."
	echo
	printf "%-34s %10s %10s %10s %10s %14s\n" "" "score" "gender" "plural" "ing" "words/s"
	printf "%-34s %10s %10s %10s %10s %14s\n" "gensim Word2Vec, workers=1" "$(value gensim_score)" \
		"$(value gensim_score_gender)" "$(value gensim_score_plural)" "$(value gensim_score_ing)" "$(value gensim_words_per_second)"
	printf "%-34s %10s %10s %10s %10s %14s\n" "pg_lm engine (test_word2vec)" "$(value ours_score)" \
		"$(value ours_score_gender)" "$(value ours_score_plural)" "$(value ours_score_ing)" "$engine_wps"
	printf "%-34s %10s %10s %10s %10s %14s\n" "pg_lm lm_word2vec_train (SQL)" "$(sql score)" "" "" "" "$(sql words_per_second)"
	echo
	echo "training seconds: gensim $(value gensim_seconds), pg_lm engine $engine_seconds, lm_word2vec_train loop $(sql train_seconds) (whole SQL call with reading, tokenizing and storing $(sql vocabulary) vectors: $(sql call_seconds))"
	awk -v o="$(value ours_score)" -v g="$(value gensim_score)" -v e="$engine_wps" -v gw="$(value gensim_words_per_second)" \
		'BEGIN { printf "pg_lm / gensim: score %.3f, words/s %.2f (done when the score ratio is at least 0.90)\n", o / g, e / gw }'
} | tee "$OUT"
