#!/bin/bash
# The demo: install what is needed, build, start a throwaway cluster, import
# the bundled models and run real queries.  The cluster is removed at the
# end (KEEP=1 keeps it running and prints how to connect).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PORT=${PG_LM_DEMO_PORT:-54349}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

scripts/install-deps.sh
echo "== building pg_lm"
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null

DIR=$(mktemp -d /tmp/pg_lm_demo.XXXXXX); chmod 755 "$DIR"
[ "${KEEP:-0}" = 1 ] || trap 'scripts/cluster.sh stop "$DIR/pg"; rm -rf "$DIR"' EXIT
echo "== starting a throwaway cluster in $DIR"
scripts/cluster.sh start "$DIR/pg" "$PORT"
# The server reads the model files itself: give it a copy it can always reach.
cp -r models "$DIR/models"; chmod -R a+rX "$DIR/models"

run() {
	echo
	echo "pg_lm=# $1"
	psql -X -q -h "$DIR/pg" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$1"
}

run "CREATE EXTENSION pg_lm"
run "SELECT lm_import('captions-gpt2', '$DIR/models/captions-gpt2'),
       lm_import('sentiment-rt', '$DIR/models/sentiment-rt'),
       lm_import('mt-en-de', '$DIR/models/mt-en-de'),
       lm_import('glove', '$DIR/models/glove-6B-100d/glove-6B-100d-top30k.bin')"
run "SELECT name, architecture, task, parameters, bytes, dtype FROM lm.models ORDER BY name"

echo; echo "-- Continue captions (the model was trained with <|endoftext|> before each caption)"
run "SELECT prompt, lm_generate('captions-gpt2', '<|endoftext|>' || prompt, 24) AS continuation
     FROM unnest(ARRAY['A man in a', 'Two dogs', 'A little girl']) AS prompt"
run "SELECT lm_generate('captions-gpt2', '<|endoftext|>A woman', 20, temperature => 0.8, top_p => 0.9, seed => 7) AS sampled"

echo; echo "-- Classify movie reviews"
run "CREATE TABLE reviews (id int, body text, sentiment text);
     INSERT INTO reviews VALUES
       (1, 'an utterly charming and hilarious film that will make you smile', NULL),
       (2, 'a dull , lifeless mess with nothing to say', NULL),
       (3, 'the performances are wonderful and the story is moving', NULL),
       (4, 'too long , too loud and not funny at all', NULL);
     UPDATE reviews SET sentiment = lm_classify('sentiment-rt', body);
     SELECT id, sentiment, body FROM reviews ORDER BY id"
run "SELECT label, round(score::numeric, 3) AS score FROM lm_classify_scores('sentiment-rt', 'a gorgeous , witty , seductive movie')"

echo; echo "-- Translate captions and score the translations"
run "CREATE TABLE captions (en text, de text);
     INSERT INTO captions VALUES
       ('Two young, White males are outside near many bushes.', 'Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.'),
       ('A man in an orange hat starring at something.', 'Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt.'),
       ('A little girl climbing into a wooden playhouse.', 'Ein kleines Mädchen klettert in ein Spielhaus aus Holz.'),
       ('People are fixing the roof of a house.', 'Leute reparieren das Dach eines Hauses.');
     ALTER TABLE captions ADD COLUMN hyp text;
     UPDATE captions SET hyp = lm_translate('mt-en-de', en, 'eng_Latn', 'deu_Latn');
     SELECT en, hyp FROM captions"
run "SELECT round(lm_bleu_agg(hyp, de)::numeric, 2) AS bleu, round(lm_chrf_agg(hyp, de)::numeric, 2) AS chrf FROM captions"

echo; echo "-- Compare words and sentences with GloVe vectors"
run "SELECT word, round(similarity::numeric, 3) AS similarity FROM lm_analogy('glove', 'man', 'king', 'woman', 3)"
run "SELECT round(lm_similarity('glove', 'a dog runs on the beach', 'a puppy plays in the sand')::numeric, 3) AS related,
            round(lm_similarity('glove', 'a dog runs on the beach', 'stocks fell sharply today')::numeric, 3) AS unrelated"

echo; echo "-- Similarity search with an index (lm_hnsw) over the 30,000 GloVe words; a filter still gets its LIMIT"
run "CREATE TABLE words AS SELECT word, vector AS emb FROM lm.word_vectors WHERE model = 'glove';
     CREATE INDEX words_emb ON words USING lm_hnsw (emb);
     ANALYZE words;
     SELECT word FROM words ORDER BY emb <=> lm_word_vector('glove', 'river') LIMIT 6"
run "SELECT word FROM words WHERE word LIKE 's%' ORDER BY emb <=> lm_word_vector('glove', 'river') LIMIT 5"
run "EXPLAIN (costs off) SELECT word FROM words ORDER BY emb <=> (SELECT lm_word_vector('glove', 'river')) LIMIT 6"

echo; echo "-- The lecture's n-gram model: New York has amazing ___"
run "CREATE TABLE city (s text);
     INSERT INTO city VALUES ('New York has amazing food'), ('New York has amazing nightlife'),
                             ('Paris has amazing art'), ('Paris has amazing culture');
     SELECT lm_ngram_train('city', 'SELECT s FROM city', 3, 'mle');
     SELECT word, probability FROM lm_next_word('city', 'New York has amazing', 4)"

echo; echo "-- The transformers above ran in the cluster's one model server (pg_lm in shared_preload_libraries)"
run "SELECT pid, uptime, restarts, device, threads, requests FROM lm.server"
run "SELECT name, pg_size_pretty(bytes) AS weights, requests, mean_batch, mean_decode_batch FROM lm.server_models ORDER BY name"

if [ "${KEEP:-0}" = 1 ]; then
	echo; echo "cluster kept: psql -h $DIR/pg -p $PORT -U postgres"
fi
