-- chrF, chrF++ and BLEU against sacrebleu's numbers; LCS.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

CREATE TEMP TABLE m AS SELECT n, c->>'hyp' AS hyp, c->>'ref' AS ref, c FROM jsonl(fx('metrics/sentence_metrics.jsonl'));

-- Every row within 0.01 of sacrebleu.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE abs(lm_chrf(hyp, ref) - (c->>'chrf')::float8) <= 0.01) AS chrf_ok,
       count(*) FILTER (WHERE abs(lm_chrf(hyp, ref, word_order => 2) - (c->>'chrf_pp')::float8) <= 0.01) AS chrf_pp_ok,
       count(*) FILTER (WHERE abs(lm_bleu(hyp, ref) - (c->>'bleu')::float8) <= 0.01) AS bleu_ok
FROM m;

-- Corpus level: sums of statistics, not means of sentence scores.
SELECT abs(lm_chrf_agg(hyp, ref ORDER BY n) - (j->>'chrf')::float8) <= 0.01 AS corpus_chrf_ok,
       abs(lm_chrf_agg(hyp, ref, 6, 2, 2 ORDER BY n) - (j->>'chrf_pp')::float8) <= 0.01 AS corpus_chrf_pp_ok,
       abs(lm_bleu_agg(hyp, ref ORDER BY n) - (j->>'bleu')::float8) <= 0.01 AS corpus_bleu_ok
FROM m, (SELECT pg_read_file(fx('metrics/corpus_metrics.json'))::jsonb AS j) x
GROUP BY j;

-- The same aggregates in parallel.
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TEMP TABLE big AS SELECT hyp, ref FROM m, generate_series(1, 50);
SELECT abs(lm_bleu_agg(hyp, ref) - (SELECT lm_bleu_agg(hyp, ref) FROM m)) < 1e-9 AS bleu_of_repeats_equal,
       abs(lm_chrf_agg(hyp, ref) - (SELECT lm_chrf_agg(hyp, ref) FROM m)) < 1e-9 AS chrf_of_repeats_equal
FROM big;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather;

-- Readable examples.
SELECT round(lm_chrf('The cat is on the roof.', 'The cat sat on the roof.')::numeric, 2) AS chrf,
       round(lm_bleu('The cat is on the roof.', 'The cat sat on the roof.')::numeric, 2) AS bleu;

-- LCS of words: the lecture's memorisation measure.
SELECT lm_lcs('the quick brown fox jumps', 'the brown dog jumps') AS lcs3,
       lm_lcs('', 'anything') AS empty0,
       lm_lcs('a b c', 'c b a') AS reversed1;

-- Bad arguments.
SELECT lm_test_try($$SELECT lm_chrf('a', 'b', 0)$$);
SELECT lm_test_try($$SELECT lm_chrf('a', 'b', 6, -1)$$);
SELECT lm_test_try($$SELECT lm_chrf('a', 'b', 6, 0, 0)$$);
SELECT lm_chrf(NULL, 'b') IS NULL AS null_gives_null;
SELECT lm_bleu_agg(hyp, ref) IS NULL AS no_rows_give_null FROM m WHERE false;

-- Cosine of two vectors, against the formula computed here in float8.
CREATE TEMP TABLE vecs AS
SELECT i, ARRAY(SELECT sin(i * 7 + j)::real FROM generate_series(1, 50) j) AS a,
          ARRAY(SELECT cos(i * 3 + j * j)::real FROM generate_series(1, 50) j) AS b
FROM generate_series(1, 20) i;
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE abs(lm_cosine(a, b) - (SELECT sum(x::float8 * y) / sqrt(sum(x::float8 * x) * sum(y::float8 * y))
                                                      FROM unnest(a, b) AS u(x, y))) < 1e-12) AS within_1e_12
FROM vecs;
SELECT round(lm_cosine('{1,2,3}', '{2,4,6}')::numeric, 12) AS parallel, lm_cosine('{1,0}', '{0,5}') AS orthogonal,
       round(lm_cosine('{1,1}', '{-1,-1}')::numeric, 12) AS opposite, lm_cosine('{0,0}', '{1,2}') IS NULL AS zero_is_null,
       lm_cosine('{}', '{}') IS NULL AS empty_is_null;
SELECT lm_test_try($$SELECT lm_cosine('{1,2,3}', '{1,2}')$$);
SELECT lm_test_try($$SELECT lm_cosine('{1,NULL}', '{1,2}')$$);
SELECT lm_test_try($$SELECT lm_cosine('{{1,2},{3,4}}', '{1,2,3,4}')$$);

-- Huge texts (16 MB a side; scoring them takes seconds) stop promptly at statement_timeout.
CREATE TEMP TABLE huge AS SELECT repeat('abc def ', 2000000) AS hyp, repeat('abd deg ', 2000000) AS ref;
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '200ms';
SELECT lm_test_try($$SELECT lm_bleu(hyp, ref) FROM huge$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS bleu_stopped_promptly;
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '200ms';
SELECT lm_test_try($$SELECT lm_chrf(hyp, ref, word_order => 2) FROM huge$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS chrf_stopped_promptly;
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '200ms';
SELECT lm_test_try($$SELECT lm_lcs(repeat('a b c ', 30000), repeat('b c a ', 30000))$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS lcs_stopped_promptly;
