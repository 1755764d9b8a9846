-- lm_most_similar over the 30,000 GloVe words (100 dimensions), beside the
-- same ranking written in plain SQL over lm.word_vectors.  A benchmark, not
-- a test: it asserts nothing.  In a database with pg_lm installed:
--   PG_LM_MODELS=.../shared/models psql -X -q -f bench/classic_bench.sql
-- Each figure is the best of 3 rounds, in one backend (one thread).
\getenv models PG_LM_MODELS
\o /dev/null
SELECT set_config('bench.glove', :'models' || '/glove-6B-100d/glove-6B-100d-top30k.bin', false);
SELECT lm_drop('bench-glove') FROM _lm.model WHERE name = 'bench-glove';
\o

CREATE TEMP TABLE bench_times (what text, queries int, seconds float8);

CREATE FUNCTION pg_temp.best_of(what text, sql text, queries int, rounds int DEFAULT 3)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	best float8 := 'Infinity';
BEGIN
	FOR r IN 1..rounds LOOP
		t0 := clock_timestamp();
		EXECUTE sql;
		best := least(best, extract(epoch FROM clock_timestamp() - t0));
	END LOOP;
	INSERT INTO bench_times VALUES (what, queries, best);
END $$;

-- Import, then the first call, which loads the 30,000 rows into the backend.
SELECT pg_temp.best_of('import (30,000 words)', $$SELECT lm_import('bench-glove', current_setting('bench.glove'))$$, 1, 1);
SELECT pg_temp.best_of('first call (load into memory)', $$SELECT * FROM lm_most_similar('bench-glove', 'king', 10)$$, 1, 1);

CREATE TEMP TABLE bench_words AS
SELECT w.word, w.vector FROM _lm.word_vector w JOIN _lm.model m ON m.id = w.model_id
WHERE m.name = 'bench-glove' ORDER BY w.index LIMIT 1000;

SELECT pg_temp.best_of('lm_most_similar(word, 10)',
	$$SELECT count(*) FROM bench_words b, LATERAL lm_most_similar('bench-glove', b.word, 10) s$$, 1000);
SELECT pg_temp.best_of('lm_most_similar(vector, 10)',
	$$SELECT count(*) FROM bench_words b, LATERAL lm_most_similar('bench-glove', b.vector, 10) s$$, 1000);
SELECT pg_temp.best_of('lm_analogy(a, b, c, 5)',
	$$SELECT count(*) FROM (SELECT word, lead(word) OVER () AS b, lead(word, 2) OVER () AS c FROM bench_words) t,
	  LATERAL lm_analogy('bench-glove', t.word, t.b, t.c, 5) s WHERE t.c IS NOT NULL$$, 998);

-- The peer: the same top 10 by cosine in plain SQL over lm.word_vectors.
SELECT pg_temp.best_of('plain SQL cosine over lm.word_vectors',
	$$SELECT count(*) FROM (SELECT word, vector FROM bench_words LIMIT 10) q,
	  LATERAL (SELECT w.word FROM lm.word_vectors w
	           WHERE w.model = 'bench-glove' AND w.word <> q.word
	           ORDER BY (SELECT sum(a * b) / sqrt(sum(a * a) * sum(b * b)) FROM unnest(w.vector, q.vector) AS z(a, b)) DESC
	           LIMIT 10) s$$, 10);

SELECT what, queries, round(seconds::numeric, 4) AS seconds,
       round((1000 * seconds / queries)::numeric, 3) AS ms_per_query
FROM bench_times;

\o /dev/null
SELECT lm_drop('bench-glove');
\o

-- Measured 2026-11-26 on a 2-core development VM (AMD EPYC), PostgreSQL 15,
-- one backend, after the first call:
--   import (30,000 words)                   979 ms
--   first call (load 30,000 rows)           182 ms
--   lm_most_similar(word, 10)             0.70 ms per query
--   lm_most_similar(vector, 10)           1.33 ms per query
--   lm_analogy(a, b, c, 5)                1.02 ms per query
--   plain SQL cosine over lm.word_vectors  786 ms per query
