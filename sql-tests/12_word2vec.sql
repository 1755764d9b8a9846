-- Word vectors trained in the database: lm_word2vec_train (skip-gram with
-- negative sampling) and the word-vector functions on its models.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\getenv data PG_LM_DATA
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

-- A tiny corpus: min_count keeps words seen twice, most frequent first;
-- words are lowercased and punctuation is a word of its own.
CREATE TABLE tiny (s text);
INSERT INTO tiny VALUES ('The cat sat.'), ('the CAT ran'), ('The dog'), (NULL), ('');
SELECT lm_word2vec_train('tiny', 'SELECT s FROM tiny', dim => 4, min_count => 2, epochs => 1) > 0 AS trained;
SELECT w.index, w.word, array_length(w.vector, 1) AS dim
FROM _lm.word_vector w JOIN _lm.model m ON m.id = w.model_id WHERE m.name = 'tiny' ORDER BY w.index;
SELECT config->'texts' AS texts, config->'sentences' AS sentences, config->'corpus_words' AS corpus_words,
       config->'distinct_words' AS distinct_words, config->'retained_words' AS retained_words,
       config->'count' AS count, config->'dim' AS dim, config->'min_count' AS min_count,
       config->'sample' AS sample, config->'alpha' AS alpha, config->'min_alpha' AS min_alpha
FROM _lm.model WHERE name = 'tiny';
SELECT name, architecture, task, parameters, bytes, dtype FROM lm.models WHERE name = 'tiny';

-- Multi30k's English captions: a few thousand sentences, a few epochs.
CREATE TABLE captions AS SELECT line FROM regexp_split_to_table(rtrim(pg_read_file(:'data' || '/multi30k.train.en'), E'\n'), E'\n') AS line;
CREATE TABLE captions_small AS SELECT line FROM captions LIMIT 5000;
SELECT lm_word2vec_train('cap-a', 'SELECT line FROM captions_small', dim => 32, epochs => 2, seed => 7) > 0 AS trained;
SELECT config->'window' AS "window", config->'negative' AS negative, config->'epochs' AS epochs,
       config->'seed' AS seed, config->'texts' AS texts, (config->>'count')::int > 500 AS vocabulary_over_500,
       (config->>'trained_words')::bigint < 2 * (config->>'retained_words')::bigint AS subsampled,
       (config->>'words_per_second')::float8 > 0 AS timed
FROM _lm.model WHERE name = 'cap-a';
SELECT count(*) = (SELECT (config->>'count')::bigint FROM _lm.model WHERE name = 'cap-a') AS one_row_per_word,
       min(w.index) AS first_index, bool_and(array_length(w.vector, 1) = 32) AS all_dim_32
FROM _lm.word_vector w JOIN _lm.model m ON m.id = w.model_id WHERE m.name = 'cap-a';
SELECT word FROM lm.word_vectors WHERE model = 'cap-a' AND word IN ('a', 'man', '.') ORDER BY word;

-- The same seed gives the same vectors; another seed, others.
SELECT lm_word2vec_train('cap-b', 'SELECT line FROM captions_small', dim => 32, epochs => 2, seed => 7) > 0 AS trained;
SELECT lm_word2vec_train('cap-c', 'SELECT line FROM captions_small', dim => 32, epochs => 2, seed => 8) > 0 AS trained;
SELECT bool_and(a.vector = b.vector) AS same_seed_same_vectors, count(*) AS words
FROM lm.word_vectors a JOIN lm.word_vectors b USING (word) WHERE a.model = 'cap-a' AND b.model = 'cap-b';
SELECT bool_and(a.vector = c.vector) AS other_seed_same_vectors
FROM lm.word_vectors a JOIN lm.word_vectors c USING (word) WHERE a.model = 'cap-a' AND c.model = 'cap-c';

-- Every word-vector function works on a trained model.
SELECT array_length(lm_word_vector('cap-a', 'dog'), 1) AS dog_dim, lm_word_vector('cap-a', 'zyzzyva') IS NULL AS unknown_is_null,
       lm_word_vector('cap-a', 'Dog') IS NULL AS words_are_lowercased;
SELECT count(*) AS neighbours, bool_and(word <> 'dog') AS without_itself, bool_and(similarity <= 1.000001) AS cosines
FROM lm_most_similar('cap-a', 'dog', 5);
SELECT count(*) AS neighbours FROM lm_most_similar('cap-a', lm_word_vector('cap-a', 'dog'), 3);
SELECT count(*) AS answers FROM lm_analogy('cap-a', 'man', 'woman', 'boy', 3);
SELECT round(lm_similarity('cap-a', 'dog', 'dog')::numeric, 6) AS self_similarity,
       array_length(lm_embed('cap-a', 'A dog runs in the park.'), 1) AS embed_dim;

-- What the vectors learned: the whole of Multi30k, 3 epochs.
SELECT lm_word2vec_train('cap', 'SELECT line FROM captions', dim => 50, epochs => 3) > 0 AS trained;
SELECT 'girl' IN (SELECT word FROM lm_analogy('cap', 'man', 'woman', 'boy', 5, 'unit')) AS man_woman_boy_girl,
       'dogs' IN (SELECT word FROM lm_analogy('cap', 'cat', 'cats', 'dog', 5, 'unit')) AS cat_cats_dog_dogs,
       lm_similarity('cap', 'man', 'woman') > lm_similarity('cap', 'man', 'frisbee') AS man_nearer_woman_than_frisbee,
       lm_similarity('cap', 'dog', 'puppy') > lm_similarity('cap', 'dog', 'guitar') AS dog_nearer_puppy_than_guitar;

-- Bad input.
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny WHERE false')$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT 42')$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny WHERE s IS NULL OR s = ''''')$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', min_count => 100)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', dim => 0)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', "window" => 0)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', negative => -1)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', negative => 0)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', epochs => 0)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', min_count => 0)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', sample => -0.5)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', sample => 'NaN')$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', alpha => 0)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', min_alpha => 0.5)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM tiny', dim => NULL)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train(NULL, 'SELECT s FROM tiny')$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('', 'SELECT s FROM tiny', min_count => 1)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('tiny', 'SELECT s FROM tiny', min_count => 1)$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'DELETE FROM tiny')$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELEC s FROM tiny')$$);
SELECT lm_test_try($$SELECT lm_word2vec_train('x', 'SELECT s FROM no_such_table')$$);
SELECT lm_test_try($$SELECT * FROM lm_next_word('tiny', 'the')$$);
SELECT count(*) AS models_left_by_errors FROM _lm.model WHERE name IN ('x', '');

-- A long training (hours) stops at statement_timeout, promptly, and leaves nothing.
SELECT clock_timestamp() AS before_training \gset
SET statement_timeout = '500ms';
SELECT lm_test_try($$SELECT lm_word2vec_train('long', 'SELECT line FROM captions_small', epochs => 100000)$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'before_training'::timestamptz < interval '3 seconds' AS stopped_promptly;
SELECT count(*) AS models_left_by_cancel FROM _lm.model WHERE name = 'long';

SELECT lm_drop('cap-b') IS NOT NULL AS dropped;
DROP TABLE tiny, captions, captions_small;
