-- Encoder-decoder parity through SQL (T5, NLLB, Marian, mt-en-de), and the
-- quality of mt-en-de on Multi30k measured with pg_lm's own aggregates.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

CREATE TEMP TABLE s2s AS
SELECT * FROM (VALUES
	('fx-t5-tiny', fx('models/t5-tiny'), NULL, NULL, 1),
	('fx-nllb-tiny', fx('models/nllb-tiny'), 'eng_Latn', 'spa_Latn', 2),
	('fx-marian-tiny', fx('models/marian-tiny'), NULL, NULL, 1),
	('mt-en-de', shared_model('mt-en-de'), 'eng_Latn', 'deu_Latn', 2)) AS v(model, dir, source_lang, target_lang, eos);

-- The text of reference ids without the decoder start token and the final
-- eos (which converted tokenizers may not mark as special).
CREATE FUNCTION target_text(model text, ids jsonb, eos int) RETURNS text LANGUAGE sql AS $$
	SELECT lm_detokenize(model, CASE WHEN a[cardinality(a)] = eos THEN a[2:cardinality(a) - 1] ELSE a[2:] END)
	FROM int_array(ids) AS a
$$;

CREATE TEMP TABLE s2s_cases AS
SELECT s.model, s.source_lang, s.target_lang, s.eos, j.c,
       coalesce(pg_read_file(s.dir || '/reference.json')::jsonb->'meta'->>'prefix', '') || (j.c->>'source') AS source
FROM s2s s, LATERAL jsonl_array(s.dir || '/reference.json') j;

-- Source ids as the reference built them: the tokenizer's own specials, or
-- NLLB's [source code] tokens </s>.
SELECT model, count(*) AS cases,
       count(*) FILTER (WHERE CASE WHEN source_lang IS NULL THEN lm_tokenize(model, source)
                                   ELSE lm_tokenize(model, source_lang, false) || lm_tokenize(model, source, false) || 2 END
                              = int_array(c->'input_ids')) AS source_ids_match,
       count(*) FILTER (WHERE (c->>'greedy_min_margin')::float8 >= 1e-3) AS greedy_comparable,
       count(*) FILTER (WHERE (c->>'greedy_min_margin')::float8 >= 1e-3
                          AND lm_translate(model, source, source_lang, target_lang, 1, 20)
                              = target_text(model, c->'greedy_ids', eos)) AS greedy_match,
       count(*) FILTER (WHERE lm_translate(model, source, source_lang, target_lang, 4, 20,
                                           length_penalty => 1.0, early_stopping => 'true')
                              = target_text(model, c->'beam4_ids', eos)) AS beam4_match
FROM s2s_cases GROUP BY model ORDER BY model;

-- T5 also answers through lm_generate (text-to-text, greedy).
SELECT count(*) FILTER (WHERE lm_generate('fx-t5-tiny', source, 19) = target_text('fx-t5-tiny', c->'greedy_ids', eos)) AS t5_generate_match
FROM s2s_cases WHERE model = 'fx-t5-tiny';

-- Encoder states: lm_embed of an encoder-decoder mean-pools the encoder's
-- last hidden states, so it must equal the mean over positions of the
-- reference's encoder_last_hidden (float16 weights: tolerance 1e-3).
SELECT s.model, count(*) AS cases,
       count(*) FILTER (WHERE rel_err(emb, (SELECT array_agg(v ORDER BY k) FROM (
                   SELECT (idx - 1) % cardinality(emb) AS k, avg(v) AS v
                   FROM unnest(st_floats(s.dir || '/reference.safetensors', 'case' || (j.n - 1) || '.encoder_last_hidden', 0,
                                         jsonb_array_length(j.c->'input_ids') * cardinality(emb))) WITH ORDINALITY AS u(v, idx)
                   GROUP BY 1) per_dim))
                 < CASE WHEN m.dtype = 'F32' THEN 1e-4 ELSE 1e-3 END) AS mean_encoder_state_within_tol
FROM s2s s JOIN lm.models m ON m.name = s.model, LATERAL jsonl_array(s.dir || '/reference.json') j,
     LATERAL lm_embed(s.model, int_array(j.c->'input_ids')) AS emb
GROUP BY s.model ORDER BY s.model;

-- Decoder logits, teacher-forced on the reference's greedy output: row k of
-- decoder_logits follows the first k + 1 decoder ids.
CREATE TEMP TABLE s2s_logits AS
SELECT s.model, j.n - 1 AS i, k, m.dtype,
       rel_err(lm_logits(s.model, int_array(j.c->'input_ids'), (int_array(j.c->'greedy_ids'))[1:k + 1]),
               st_floats(s.dir || '/reference.safetensors', 'case' || (j.n - 1) || '.decoder_logits',
                         k * mi.target_vocab, mi.target_vocab)) AS err
FROM s2s s JOIN lm.models m ON m.name = s.model, LATERAL jsonl_array(s.dir || '/reference.json') j,
     LATERAL (SELECT cardinality(lm_logits(s.model, int_array(j.c->'input_ids'), (int_array(j.c->'greedy_ids'))[1:1])) AS target_vocab) mi,
     LATERAL generate_series(0, jsonb_array_length(j.c->'greedy_ids') - 1) AS k;
SELECT model, count(DISTINCT i) AS cases, count(*) AS positions,
       count(*) FILTER (WHERE err < CASE WHEN dtype = 'F32' THEN 1e-4 ELSE 1e-3 END) AS logits_within_tol
FROM s2s_logits GROUP BY model ORDER BY model;
SELECT lm_test_try($$SELECT lm_logits('fx-gpt2-tiny', '{1,2}', '{0}')$$);
SELECT lm_test_try($$SELECT lm_logits('fx-t5-tiny', '{}', '{0}')$$);
SELECT lm_test_try($$SELECT lm_logits('fx-t5-tiny', '{1,2}', '{}')$$);
SELECT lm_test_try($$SELECT lm_logits('fx-t5-tiny', '{1,2}', '{0,100000}')$$);

-- Multi30k test 2016: 1,000 captions, beam 4, in parallel over both cores.
\getenv data PG_LM_DATA
CREATE TABLE multi30k AS
SELECT en.n, en.line AS en, de.line AS de
FROM regexp_split_to_table(rtrim(pg_read_file(:'data' || '/multi30k.test_2016_flickr.en'), E'\n'), E'\n') WITH ORDINALITY AS en(line, n)
JOIN regexp_split_to_table(rtrim(pg_read_file(:'data' || '/multi30k.test_2016_flickr.de'), E'\n'), E'\n') WITH ORDINALITY AS de(line, n)
  ON de.n = en.n;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
ALTER TABLE multi30k SET (parallel_workers = 2);
CREATE TABLE translated AS
SELECT n, de, lm_translate('mt-en-de', en, 'eng_Latn', 'deu_Latn', 4, 128) AS hyp FROM multi30k;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT count(*) AS sentences FROM translated;
-- Whether corpus BLEU and chrF are within 0.5 of quality.json (34.96 and
-- 60.55); scripts/test.sh prints the figures themselves after the run (they
-- may move in the second decimal with other BLAS kernels).
SELECT abs(lm_bleu_agg(hyp, de) - (q->'test2016'->'beam4'->>'bleu')::float8) <= 0.5 AS bleu_within_half,
       abs(lm_chrf_agg(hyp, de) - (q->'test2016'->'beam4'->>'chrf')::float8) <= 0.5 AS chrf_within_half
FROM translated, (SELECT pg_read_file(shared_model('mt-en-de/quality.json'))::jsonb AS q) x
GROUP BY q;
-- The first 20 hypotheses the reference printed.
SELECT count(*) AS first_20, count(*) FILTER (WHERE t.hyp = h.hyp) AS same_as_reference
FROM jsonb_array_elements_text((SELECT pg_read_file(shared_model('mt-en-de/quality.json'))::jsonb->'first_hyps_beam4'))
     WITH ORDINALITY AS h(hyp, n)
JOIN translated t ON t.n = h.n;

-- Readable examples.
SELECT en, hyp FROM multi30k JOIN translated USING (n) WHERE n <= 3 ORDER BY n;

-- The memorisation probe: continue a caption's first words and measure the
-- longest common subsequence with the real continuation.
SELECT lm_lcs(lm_generate('captions-gpt2', '<|endoftext|>A man in a', 10), ' blue shirt is playing a guitar') AS lcs_words;

-- Bad input.
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', 'Hello', 'eng_Latn', 'xxx_Latn')$$);
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', 'Hello', 'klingon', 'deu_Latn')$$);
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', '', 'eng_Latn', 'deu_Latn')$$);
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', repeat('a man ', 2000), 'eng_Latn', 'deu_Latn')$$);
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', 'Hello', 'eng_Latn', 'deu_Latn', 0)$$);
SELECT lm_test_try($$SELECT lm_translate('captions-gpt2', 'Hello')$$);
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', 'Hello', 'eng_Latn', 'deu_Latn', early_stopping => 'maybe')$$);
SELECT lm_translate('mt-en-de', NULL, 'eng_Latn', 'deu_Latn') IS NULL AS null_gives_null;
-- (translated stays for scripts/test.sh to report.)
DROP TABLE multi30k;
