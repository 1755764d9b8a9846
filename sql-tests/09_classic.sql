-- The lecture's classic models: word vectors (word2vec, GloVe), fastText,
-- bag of words and TF-IDF.  Every figure is checked against the reference
-- files themselves, read here in SQL.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

-- GloVe 6B 100d: the 30,000 most frequent words as word2vec binary, the
-- first 5,000 as GloVe text (no header); both formats found by lm_import.
SELECT lm_import('glove-bin', shared_model('glove-6B-100d/glove-6B-100d-top30k.bin')) > 0 AS imported;
SELECT lm_import('glove-txt', shared_model('glove-6B-100d/glove-6B-100d-top5k.txt')) > 0 AS imported;
SELECT s.name, s.architecture, s.task, s.parameters, s.bytes, s.dtype, m.config->>'format' AS format
FROM lm.models s JOIN _lm.model m USING (name) WHERE s.name LIKE 'glove-%' ORDER BY s.name;

-- The .bin's own "COUNT DIM" header: one row per word, count x dim parameters.
WITH h AS (SELECT pg_read_binary_file(shared_model('glove-6B-100d/glove-6B-100d-top30k.bin'), 0, 64) AS b),
     header AS (SELECT string_to_array(convert_from(substring(b FROM 1 FOR position('\x0a'::bytea IN b) - 1), 'UTF8'), ' ')::bigint[] AS cd FROM h)
SELECT (SELECT count(*) FROM lm.word_vectors WHERE model = 'glove-bin') = cd[1] AS rows_match_header,
       (SELECT parameters FROM lm.models WHERE name = 'glove-bin') = cd[1] * cd[2] AS parameters_match_header,
       (SELECT min(cardinality(vector)) = cd[2] AND max(cardinality(vector)) = cd[2] FROM lm.word_vectors WHERE model = 'glove-bin') AS every_vector_has_dim
FROM header;

-- The .txt read independently, in SQL: every stored vector is the file's line,
-- in the file's order.
CREATE TEMP TABLE glove_lines AS
SELECT t.n, split_part(t.line, ' ', 1) AS word, string_to_array(substr(t.line, position(' ' IN t.line) + 1), ' ')::real[] AS vector
FROM regexp_split_to_table(rtrim(pg_read_file(shared_model('glove-6B-100d/glove-6B-100d-top5k.txt')), E'\n'), E'\n') WITH ORDINALITY AS t(line, n);
SELECT count(*) AS lines,
       count(w.word) AS stored,
       count(*) FILTER (WHERE w.vector = g.vector) AS vectors_equal,
       count(*) FILTER (WHERE w.index = g.n) AS in_file_order,
       (SELECT parameters FROM lm.models WHERE name = 'glove-txt') = count(*) * max(cardinality(g.vector)) AS parameters_match
FROM glove_lines g
LEFT JOIN _lm.word_vector w ON w.word = g.word AND w.model_id = (SELECT id FROM _lm.model WHERE name = 'glove-txt');
-- The two files hold the same numbers for the 5,000 words they share.
SELECT count(*) AS shared_words,
       count(*) FILTER (WHERE lm_word_vector('glove-bin', g.word) = g.vector) AS same_vector
FROM glove_lines g;

-- Provenance: the file, its size and SHA-256 (word vectors keep no copy of the file).
SELECT f.file, f.bytes = (pg_stat_file(f.source_path)).size AS bytes_match,
       f.sha256 = encode(sha256(pg_read_binary_file(f.source_path)), 'hex') AS sha256_match,
       f.content IS NULL AS no_copy
FROM _lm.model_file f JOIN _lm.model m ON m.id = f.model_id WHERE m.name LIKE 'glove-%' ORDER BY f.file;

-- glove-reference.json: "b-a+c" analogies (a is to b as c is to ?: 3CosAdd on
-- the raw vectors), each list word for word, similarities to 3 decimals.
CREATE TEMP TABLE glove_ref AS SELECT key, value FROM jsonb_each(pg_read_file(shared_model('glove-6B-100d/glove-reference.json'))::jsonb);
SELECT r.key, a.rank, a.word, a.word = r.value->(a.rank::int - 1)->>0 AS word_ok,
       abs(a.similarity - (r.value->(a.rank::int - 1)->>1)::float8) < 5e-4 AS similarity_ok
FROM (SELECT * FROM glove_ref WHERE key ~ '^\w+-\w+\+\w+$') AS r,
     LATERAL regexp_match(r.key, '^(\w+)-(\w+)\+(\w+)$') AS p,
     LATERAL lm_analogy('glove-bin', p[2], p[1], p[3], jsonb_array_length(r.value)) WITH ORDINALITY AS a(word, similarity, rank)
ORDER BY r.key, a.rank;
-- "nearest banana": lm_most_similar.
SELECT r.key, s.rank, s.word, s.word = r.value->(s.rank::int - 1)->>0 AS word_ok,
       abs(s.similarity - (r.value->(s.rank::int - 1)->>1)::float8) < 5e-4 AS similarity_ok
FROM (SELECT * FROM glove_ref WHERE key ~ '^nearest \w+$') AS r,
     LATERAL regexp_match(r.key, '^nearest (\w+)$') AS p,
     LATERAL lm_most_similar('glove-bin', p[1], jsonb_array_length(r.value)) WITH ORDINALITY AS s(word, similarity, rank)
ORDER BY s.rank;
-- "cos x y": lm_similarity of the two words.
SELECT r.key, abs(lm_similarity('glove-bin', p[1], p[2]) - r.value::float8) < 5e-4 AS similarity_ok
FROM (SELECT * FROM glove_ref WHERE key ~ '^cos \w+ \w+$') AS r,
     LATERAL regexp_match(r.key, '^cos (\w+) (\w+)$') AS p
ORDER BY r.key;
-- Every figure of the reference file was checked above.
SELECT count(*) AS reference_entries FROM glove_ref;

-- gensim's most_similar makes the vectors unit length first: queen still
-- comes first, with another similarity.
SELECT u.word, abs(u.similarity - r.similarity) > 1e-3 AS differs_from_raw
FROM lm_analogy('glove-bin', 'man', 'king', 'woman', 1, 'unit') AS u,
     lm_analogy('glove-bin', 'man', 'king', 'woman', 1) AS r;
-- The 5,000-word text file gives the same answer.
SELECT word FROM lm_analogy('glove-txt', 'man', 'king', 'woman', 1);

-- Nearest words of a vector: a word is its own nearest neighbour.
SELECT word, round(similarity::numeric, 6) AS similarity FROM lm_most_similar('glove-bin', lm_word_vector('glove-bin', 'paris'), 1);

-- The other word-vector formats: fastText .vec, and word2vec text (a
-- "COUNT DIM" line, here with Windows line ends) in a .txt.
SELECT lm_import('tiny-vec', scratch('tiny.vec')) > 0 AS vec, lm_import('tiny-w2v', scratch('tiny-w2v.txt')) > 0 AS w2v_text;
SELECT name, config->>'format' AS format, config->>'count' AS count, config->>'dim' AS dim
FROM _lm.model WHERE name LIKE 'tiny-%' ORDER BY name;
SELECT lm_word_vector('tiny-vec', 'dog') = '{0.9,0.1,0}'::real[] AS vec_exact,
       lm_word_vector('tiny-w2v', 'queen') = '{-0.1,2}'::real[] AS w2v_exact,
       (SELECT array_agg(word ORDER BY similarity DESC) FROM lm_most_similar('tiny-vec', 'cat', 2)) AS nearest_cat,
       (SELECT array_agg(word) FROM lm_analogy('tiny-w2v', 'man', 'king', 'woman')) AS man_king_woman;

-- Words as rows: join a table of words to the model's vocabulary.
CREATE TEMP TABLE animals (word text);
INSERT INTO animals VALUES ('dog'), ('cat'), ('zebra'), ('wug');
SELECT a.word, w.word IS NOT NULL AS known, cardinality(w.vector) AS dim
FROM animals a LEFT JOIN lm.word_vectors w ON w.model = 'glove-bin' AND w.word = a.word ORDER BY a.word;

-- Unknown words: NULL from lm_word_vector, no rows from the others.
SELECT lm_word_vector('glove-bin', 'wug') IS NULL AS unknown_is_null,
       lm_word_vector('glove-bin', 'King') IS NULL AS lookup_is_exact,
       (SELECT count(*) FROM lm_most_similar('glove-bin', 'wug')) AS most_similar_rows,
       (SELECT count(*) FROM lm_analogy('glove-bin', 'man', 'king', 'wug')) AS analogy_rows;

-- lm_embed of a text is the mean of its words' vectors (unknown words
-- skipped, tokens lowercased when needed), computed again here in SQL.
WITH e AS (SELECT lm_embed('glove-bin', 'Banana, mango wug') AS v),
     m AS (SELECT array_agg(x ORDER BY i) AS v
           FROM (SELECT i, avg(x) AS x
                 FROM unnest(ARRAY['banana', ',', 'mango']) AS w(word),
                      LATERAL unnest(lm_word_vector('glove-bin', w.word)) WITH ORDINALITY AS u(x, i)
                 GROUP BY i) s)
SELECT cardinality(e.v) AS dim,
       (SELECT max(abs(a - b)) FROM unnest(e.v, m.v) AS z(a, b)) < 1e-6 AS is_the_mean
FROM e, m;
-- The lecture: word order is lost in the mean (the "sum" representation).
SELECT round(lm_similarity('glove-bin', 'the dog bit the man', 'the man bit the dog')::numeric, 6) AS same_words,
       lm_similarity('glove-bin', 'the dog bit the man', 'stock prices fell') < 0.9 AS different_words,
       lm_similarity('glove-bin', 'wug', 'dog') IS NULL AS no_known_word_is_null;

-- fastText: lid.176, language identification, 176 labels, quantized (.ftz).
SELECT lm_import('lid176', shared_model('fasttext-lid176/lid.176.ftz')) > 0 AS imported;
SELECT s.name, s.architecture, s.task, s.dtype, m.config->>'labels' AS labels, m.config->>'dim' AS dim,
       m.config->>'quantized' AS quantized
FROM lm.models s JOIN _lm.model m USING (name) WHERE s.name = 'lid176';
-- The file is kept whole, as read.
SELECT f.file, f.content = pg_read_binary_file(f.source_path) AS content_is_the_file,
       f.sha256 = encode(sha256(f.content), 'hex') AS sha256_match,
       f.bytes = length(f.content) AS bytes_match,
       (SELECT bytes FROM lm.models WHERE name = 'lid176') = f.bytes AS models_bytes
FROM _lm.model_file f JOIN _lm.model m ON m.id = f.model_id WHERE m.name = 'lid176';

-- reference_predictions.tsv (fastText 0.9.2, predict-prob k=3): the text is
-- everything before the last tab (texts may hold tabs), then "label prob"
-- pairs separated by spaces.
CREATE TEMP TABLE lid_ref AS
SELECT t.n,
       regexp_replace(t.line, E'\t[^\t]*$', '') AS input,
       regexp_split_to_array(substring(t.line FROM E'\t([^\t]*)$'), ' ') AS f
FROM regexp_split_to_table(rtrim(pg_read_file(shared_model('fasttext-lid176/reference_predictions.tsv')), E'\n'), E'\n')
     WITH ORDINALITY AS t(line, n);
WITH ref AS (
	SELECT n, input,
	       ARRAY(SELECT replace(f[2 * i - 1], '__label__', '') FROM generate_series(1, cardinality(f) / 2) AS i ORDER BY i) AS labels,
	       ARRAY(SELECT f[2 * i]::float8 FROM generate_series(1, cardinality(f) / 2) AS i ORDER BY i) AS probs
	FROM lid_ref),
got AS (
	SELECT ref.n,
	       ARRAY(SELECT label FROM lm_classify_scores('lid176', ref.input) WITH ORDINALITY AS s(label, score, r)
	             WHERE r <= cardinality(ref.labels) ORDER BY r) AS labels,
	       ARRAY(SELECT score FROM lm_classify_scores('lid176', ref.input) WITH ORDINALITY AS s(label, score, r)
	             WHERE r <= cardinality(ref.labels) ORDER BY r) AS probs,
	       lm_classify('lid176', ref.input) AS top
	FROM ref)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE cardinality(ref.labels) = 3) AS with_3_labels,
       count(*) FILTER (WHERE got.labels = ref.labels) AS labels_match,
       count(*) FILTER (WHERE got.labels = ref.labels
                        AND (SELECT bool_and(abs(a - b) <= 1e-4) FROM unnest(got.probs, ref.probs) AS z(a, b))) AS probs_within,
       count(*) FILTER (WHERE got.top = ref.labels[1]) AS classify_match
FROM ref JOIN got USING (n);
-- lm_classify_scores lists the labels fastText's search keeps, best first.
SELECT count(*) BETWEEN 3 AND 176 AS some_labels, bool_and(label NOT LIKE '\_\_label\_\_%') AS prefix_removed,
       bool_and(score <= prev) AS best_first
FROM (SELECT label, score, lag(score, 1, 1.0) OVER (ORDER BY r) AS prev
      FROM lm_classify_scores('lid176', 'Der Hund schläft.') WITH ORDINALITY AS s(label, score, r)) s;
-- Sentence and word vectors; fastText builds vectors of unseen words from subwords.
SELECT cardinality(lm_embed('lid176', 'Der Hund schläft.')) AS dim,
       lm_word_vector('lid176', 'schlafenden') IS NOT NULL AS unseen_word_has_vector,
       (SELECT count(*) FROM lm_most_similar('lid176', 'the', 5)) AS neighbours;

-- Bag of words and TF-IDF: scikit-learn's CountVectorizer and
-- TfidfVectorizer (defaults) on the documents of bow_tfidf.json.
CREATE TEMP TABLE bow_ref AS SELECT pg_read_file(fx('metrics/bow_tfidf.json'))::jsonb AS j;
CREATE TEMP TABLE bow_docs AS SELECT t.n, t.d FROM bow_ref, jsonb_array_elements_text(j->'docs') WITH ORDINALITY AS t(d, n);
SELECT lm_tfidf_train('fx-tfidf', 'SELECT d FROM bow_docs ORDER BY n') > 0 AS trained;
SELECT name, architecture, task, parameters, dtype FROM lm.models WHERE name = 'fx-tfidf';
SELECT (SELECT count(*) FROM bow_docs) AS documents,
       (SELECT array_agg(term ORDER BY index) FROM lm_vocabulary('fx-tfidf')) = text_array(j->'vocabulary') AS vocabulary_equal,
       (SELECT array_agg(term ORDER BY index) FROM lm_vocabulary('fx-tfidf')) = text_array(j->'tfidf'->'vocabulary') AS tfidf_vocabulary_equal,
       (SELECT count(*) FROM lm_vocabulary('fx-tfidf') v WHERE abs(v.idf - (j->'tfidf'->'idf'->>(v.index - 1))::float8) < 1e-6) AS idf_within,
       jsonb_array_length(j->'vocabulary') AS terms
FROM bow_ref;
-- _lm.tfidf_term holds the same vocabulary.
SELECT count(*) AS stored_terms, bool_and(t.term = v.term AND t.idf = v.idf) AS same_as_lm_vocabulary
FROM _lm.tfidf_term t JOIN lm_vocabulary('fx-tfidf') v USING (index)
WHERE t.model_id = (SELECT id FROM _lm.model WHERE name = 'fx-tfidf');
SELECT count(*) AS documents,
       count(*) FILTER (WHERE lm_bow('fx-tfidf', d.d)::int[] = int_array(j->'counts'->(d.n::int - 1))) AS counts_equal,
       count(*) FILTER (WHERE (SELECT max(abs(a - b::float8))
                               FROM unnest(lm_tfidf('fx-tfidf', d.d),
                                           ARRAY(SELECT e FROM jsonb_array_elements_text(j->'tfidf'->'matrix'->(d.n::int - 1)) WITH ORDINALITY AS x(e, o) ORDER BY o)) AS z(a, b)) < 1e-6) AS tfidf_within
FROM bow_docs d, bow_ref;

-- The lecture's example: the bag of words forgets word order, so these two
-- sentences have the same vector (and TF-IDF cosine 1).
SELECT lm_bow('fx-tfidf', 'El perro se comió la tarea del niño.') = lm_bow('fx-tfidf', 'El niño se comió la tarea del perro.') AS same_bag,
       round(lm_similarity('fx-tfidf', 'El perro se comió la tarea del niño.', 'El niño se comió la tarea del perro.')::numeric, 6) AS tfidf_cosine;
SELECT v.term, (lm_bow('fx-tfidf', 'El perro se comió la tarea del niño.'))[v.index] AS count
FROM lm_vocabulary('fx-tfidf') v
WHERE (lm_bow('fx-tfidf', 'El perro se comió la tarea del niño.'))[v.index] > 0 ORDER BY v.index;
-- lm_embed of a TF-IDF model is the TF-IDF row; words it never saw count for nothing.
SELECT lm_embed('fx-tfidf', 'Paris has amazing art') = lm_tfidf('fx-tfidf', 'Paris has amazing art') AS embed_is_tfidf,
       (SELECT sum(x) FROM unnest(lm_bow('fx-tfidf', 'zzz qqq')) AS x) AS unseen_counts;

-- Options: bigrams, sublinear tf, df limits, a custom token pattern, no norm.
SELECT lm_tfidf_train('fx-bigrams', 'SELECT d FROM bow_docs', ngram_min => 1, ngram_max => 2, min_df => 2) > 0 AS trained;
SELECT count(*) FILTER (WHERE v.term ~ ' ') > 0 AS has_bigrams,
       count(*) FILTER (WHERE v.term !~ ' ') > 0 AS has_words,
       bool_and((SELECT count(*) FROM bow_docs d WHERE (lm_bow('fx-bigrams', d.d))[v.index] > 0) >= 2) AS every_term_in_2_docs
FROM lm_vocabulary('fx-bigrams') v;
SELECT lm_tfidf_train('fx-words', 'SELECT d FROM bow_docs', lowercase => false, token_pattern => '\S+',
                      max_features => 10, norm => 'none', sublinear_tf => true) > 0 AS trained;
SELECT count(*) AS terms FROM lm_vocabulary('fx-words');
-- smooth idf = ln((1 + n) / (1 + df)) + 1, with df counted here from lm_bow;
-- sublinear tf without norm: tf-idf = (1 + ln tf) * idf.
WITH v AS (SELECT * FROM lm_vocabulary('fx-words')),
     df AS (SELECT v.index, count(*) FILTER (WHERE (lm_bow('fx-words', d.d))[v.index] > 0) AS df
            FROM v, bow_docs d GROUP BY v.index)
SELECT count(*) FILTER (WHERE abs(v.idf - (ln((1.0 + (SELECT count(*) FROM bow_docs)) / (1 + df.df)) + 1)) < 1e-9) AS idf_ok
FROM v JOIN df USING (index);
WITH v AS (SELECT * FROM lm_vocabulary('fx-words')),
     cells AS (SELECT v.idf, (lm_bow('fx-words', d.d))[v.index] AS tf, (lm_tfidf('fx-words', d.d))[v.index] AS x
               FROM v, bow_docs d)
SELECT count(*) AS cells, count(*) FILTER (WHERE tf > 0) AS non_zero, count(*) FILTER (WHERE tf > 1) AS above_one,
       count(*) FILTER (WHERE abs(x - CASE WHEN tf > 0 THEN (1 + ln(tf)) * idf ELSE 0 END) <= 1e-6 * greatest(1, abs(x))) AS cells_ok
FROM cells;
SELECT config->>'token_pattern' AS token_pattern, config->>'norm' AS norm, config->>'max_features' AS max_features
FROM _lm.model WHERE name = 'fx-words';

-- Bad input, and nothing left behind by a failed import.
SELECT lm_test_try($$SELECT lm_import('bad', scratch('truncated-vectors.bin'))$$);
SELECT lm_test_try($$SELECT lm_import('bad', scratch('short-vectors.vec'))$$);
SELECT lm_test_try($$SELECT lm_import('bad', scratch('ragged-glove.txt'))$$);
SELECT lm_test_try($$SELECT lm_import('bad', scratch('bad-magic.ftz'))$$);
SELECT lm_test_try($$SELECT lm_import('bad', scratch('truncated.ftz'))$$);
SELECT lm_test_try($$SELECT lm_import('bad', shared_model('glove-6B-100d/glove-6B-100d-top5k.txt'), 'word2vec')$$);
SELECT lm_test_try($$SELECT lm_import('bad', shared_model('glove-6B-100d/glove-6B-100d-top30k.bin'), 'fasttext')$$);
SELECT lm_test_try($$SELECT lm_import('glove-bin', shared_model('glove-6B-100d/glove-6B-100d-top30k.bin'))$$);
SELECT (SELECT count(*) FROM _lm.model WHERE name = 'bad') AS bad_models,
       (SELECT count(*) FROM _lm.word_vector w WHERE NOT EXISTS (SELECT 1 FROM _lm.model m WHERE m.id = w.model_id)) AS orphan_rows;
SELECT lm_test_try($$SELECT lm_embed('glove-bin', ARRAY[1, 2])$$);
SELECT lm_test_try($$SELECT lm_classify('lid176', ARRAY[1, 2])$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT d FROM bow_docs WHERE false')$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT 42')$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT n FROM bow_docs WHERE false')$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'DELETE FROM bow_docs')$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT ''a b c''')$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT d FROM bow_docs', min_df => 2.5)$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT d FROM bow_docs', min_df => 5, max_df => 0.01)$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT d FROM bow_docs', norm => 'l3')$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT d FROM bow_docs', token_pattern => '(')$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT d FROM bow_docs', ngram_min => 2, ngram_max => 1)$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('bad', 'SELECT d FROM bow_docs', max_features => 0)$$);
SELECT lm_test_try($$SELECT lm_tfidf_train('fx-tfidf', 'SELECT d FROM bow_docs')$$);
SELECT (SELECT count(*) FROM _lm.model WHERE name = 'bad') AS bad_models;
SELECT lm_test_try($$SELECT * FROM lm_most_similar('glove-bin', 'king', 0)$$);
SELECT lm_test_try($$SELECT * FROM lm_most_similar('glove-bin', ARRAY[1, 2, 3]::real[])$$);
SELECT lm_test_try($$SELECT * FROM lm_analogy('glove-bin', 'man', 'king', 'woman', 5, 'cosmul')$$);
SELECT lm_test_try($$SELECT lm_classify('glove-bin', 'a text')$$);
SELECT lm_test_try($$SELECT * FROM lm_classify_scores('fx-tfidf', 'a text')$$);
SELECT lm_test_try($$SELECT lm_bow('glove-bin', 'a text')$$);
SELECT lm_test_try($$SELECT * FROM lm_vocabulary('lid176')$$);
SELECT lm_test_try($$SELECT lm_word_vector('fx-tfidf', 'amazing')$$);
SELECT lm_test_try($$SELECT * FROM lm_most_similar('fx-tfidf', 'amazing')$$);
SELECT lm_test_try($$SELECT lm_word_vector('no-such-model', 'king')$$);

-- A huge text (31 MB) stops promptly at statement_timeout.
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '200ms';
SELECT lm_test_try($$SELECT lm_tfidf('fx-tfidf', repeat('New York has amazing food ', 1200000))$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS tfidf_stopped_promptly;
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '200ms';
SELECT lm_test_try($$SELECT lm_bow('fx-words', repeat('New York has amazing food ', 1200000))$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS bow_stopped_promptly;

SELECT lm_drop(name) FROM (VALUES ('glove-bin'), ('glove-txt'), ('tiny-vec'), ('tiny-w2v'), ('lid176'),
                              ('fx-tfidf'), ('fx-bigrams'), ('fx-words')) AS d(name);
SELECT (SELECT count(*) FROM _lm.word_vector) AS word_vector_rows, (SELECT count(*) FROM _lm.tfidf_term) AS tfidf_term_rows;
