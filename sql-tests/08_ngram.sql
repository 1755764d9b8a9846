-- N-gram language models trained in the database.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

-- The lecture's example: "New York has amazing ___".
CREATE TABLE city (s text);
INSERT INTO city VALUES ('New York has amazing food'), ('New York has amazing nightlife'),
                        ('Paris has amazing art'), ('Paris has amazing culture');
SELECT lm_ngram_train('city-mle', 'SELECT s FROM city', 3, 'mle') > 0 AS trained;
SELECT word, round(probability::numeric, 4) AS p FROM lm_next_word('city-mle', 'New York has amazing', 4);
SELECT name, architecture, task, parameters FROM lm.models WHERE name = 'city-mle';
SELECT count(*) AS ngrams FROM _lm.ngram g JOIN _lm.model m ON m.id = g.model_id WHERE m.name = 'city-mle';

-- Laplace and Kneser-Ney on the same corpus: the candidates lm_next_word lists
-- (every word but <s> and <UNK>) carry most of the probability.
SELECT lm_ngram_train('city-laplace', 'SELECT s FROM city', 3, 'laplace') > 0 AS trained;
SELECT lm_ngram_train('city-kn', 'SELECT s FROM city', 3) > 0 AS trained;
SELECT round(sum(probability)::numeric, 6) AS total FROM lm_next_word('city-laplace', 'Paris has', 1000);
SELECT round(sum(probability)::numeric, 6) AS total FROM lm_next_word('city-kn', 'Paris has', 1000);
SELECT word, round(probability::numeric, 4) AS p FROM lm_next_word('city-kn', 'Paris has amazing', 3);

-- Scores: a seen sentence is likelier than a scrambled one.
SELECT lm_score('city-kn', 'Paris has amazing food') > lm_score('city-kn', 'food amazing has Paris') AS seen_is_likelier,
       lm_perplexity('city-kn', 'Paris has amazing food') < lm_perplexity('city-kn', 'food amazing has Paris') AS lower_perplexity;
SELECT lm_perplexity('city-mle', 'Paris has amazing art') AS mle_perplexity_of_seen;

-- A larger corpus: Multi30k's English captions.
\getenv data PG_LM_DATA
CREATE TABLE captions AS SELECT line FROM regexp_split_to_table(rtrim(pg_read_file(:'data' || '/multi30k.train.en'), E'\n'), E'\n') AS line;
SELECT lm_ngram_train('captions-3gram', 'SELECT line FROM captions', 3, 'kneser_ney', true) > 0 AS trained;
SELECT word FROM lm_next_word('captions-3gram', 'a man in a', 3);

-- Bad input.
SELECT lm_test_try($$SELECT lm_ngram_train('x', 'SELECT s FROM city WHERE false')$$);
SELECT lm_test_try($$SELECT lm_ngram_train('x', 'SELECT 42')$$);
SELECT lm_test_try($$SELECT lm_ngram_train('x', 'SELECT s FROM city', 0)$$);
SELECT lm_test_try($$SELECT lm_ngram_train('x', 'SELECT s FROM city', 3, 'witten_bell')$$);
SELECT lm_test_try($$SELECT lm_ngram_train('x', 'DELETE FROM city')$$);
SELECT lm_test_try($$SELECT lm_ngram_train('city-mle', 'SELECT s FROM city')$$);
SELECT lm_test_try($$SELECT * FROM lm_next_word('captions-gpt2', 'a man')$$);
SELECT lm_test_try($$SELECT * FROM lm_next_word('city-mle', 'x', 0)$$);
SELECT count(*) AS unknown_context_words FROM lm_next_word('city-kn', 'zebra quantum', 3);

-- A huge text (16 MB; scoring it takes seconds) stops promptly at statement_timeout.
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '200ms';
SELECT lm_test_try($$SELECT lm_score('captions-3gram', repeat('a man in a ', 1500000))$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS score_stopped_promptly;
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '200ms';
SELECT lm_test_try($$SELECT lm_perplexity('captions-3gram', repeat('a man in a ', 1500000))$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS perplexity_stopped_promptly;
DROP TABLE city, captions;
