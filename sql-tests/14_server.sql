-- The model server: every network task gives in the server exactly what it
-- gives in the backend (pg_lm.execution), errors included, and the server
-- reports the models it ran.  The cluster of the tests preloads pg_lm, so
-- the other suites ran through the server already.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', '/nowhere', false);
\o

SHOW pg_lm.execution;

-- A query's value (as text) or its error, in one execution mode.
CREATE FUNCTION lm_test_value(sql text, mode text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v text;
BEGIN
	PERFORM set_config('pg_lm.execution', mode, true);
	EXECUTE 'SELECT (' || sql || ')::text' INTO v;
	RETURN coalesce(v, 'NULL');
EXCEPTION WHEN others THEN
	RETURN sqlstate || ': ' || sqlerrm;
END $$;

-- 'same' when the server and the backend agree, else both answers.
CREATE FUNCTION lm_test_both(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	s text := lm_test_value(sql, 'server');
	b text := lm_test_value(sql, 'backend');
BEGIN
	RETURN CASE WHEN s = b THEN 'same' ELSE 'server: ' || s || ' | backend: ' || b END;
END $$;

CREATE TABLE server_cases (n serial, what text, sql text);
INSERT INTO server_cases (what, sql) VALUES
  ('embed text', $$lm_embed('fx-minilm-tiny-st', 'A dog runs on the beach.')$$),
  ('embed ids', $$lm_embed('fx-bert-tiny-langid', ARRAY[2, 759, 1208, 3])$$),
  ('embed rnn', $$lm_embed('fx-rnn-lstm-langid', 'hello world')$$),
  ('similarity', $$lm_similarity('fx-minilm-tiny-st', 'A dog runs.', 'A cat sleeps.')$$),
  ('classify', $$lm_classify('sentiment-rt', 'a wonderful, moving film')$$),
  ('classify rnn', $$lm_classify('fx-rnn-gru-langid', 'guten morgen')$$),
  ('classify scores', $$(SELECT array_agg(label || '=' || score) FROM lm_classify_scores('fx-bert-tiny-langid', 'bonjour tout le monde'))$$),
  ('fill mask', $$(SELECT array_agg(token || '=' || score) FROM lm_fill_mask('fx-bert-tiny-mlm', 'the cat sat on the [MASK].', 3))$$),
  ('score', $$lm_score('captions-gpt2', 'A man in a blue shirt.')$$),
  ('perplexity', $$lm_perplexity('fx-llama-tiny', 'hello world, hello')$$),
  ('logits', $$lm_logits('fx-gpt2-tiny', ARRAY[1, 2, 3])$$),
  ('seq2seq logits', $$lm_logits('fx-t5-tiny', ARRAY[5, 6, 7, 1], ARRAY[0, 9])$$),
  ('zero-shot labels', $$lm_classify('captions-gpt2', 'A dog catches a frisbee.', ARRAY['animal', 'vehicle'])$$),
  ('few-shot labels', $$lm_classify('captions-gpt2', 'A red car.', ARRAY['animal', 'vehicle'], NULL,
                           '[{"text": "A cat.", "label": "animal"}, {"text": "A bus.", "label": "vehicle"}]')$$),
  ('greedy', $$lm_generate('captions-gpt2', 'A man in a', 16)$$),
  ('seeded sampling', $$lm_generate('captions-gpt2', 'Two dogs', 24, 0.9, 40, 0.95, 7)$$),
  ('stop strings', $$lm_generate('captions-gpt2', 'A woman', 32, 0.8, 0, 1.0, 3, ARRAY[' on', '.'])$$),
  ('generate llama', $$lm_generate('fx-llama-tiny', 'hello', 8, 0.7, 0, 1.0, 11)$$),
  ('generate rnn', $$lm_generate('fx-rnn-gru-seq2seq-chars', 'hello', 12)$$),
  ('translate', $$lm_translate('mt-en-de', 'A man is riding a bicycle.')$$),
  ('translate nllb', $$lm_translate('fx-nllb-tiny', 'Hello world', 'eng_Latn', 'spa_Latn', 2, 8)$$),
  ('error: wrong task', $$lm_generate('sentiment-rt', 'hello')$$),
  ('error: wrong head', $$lm_fill_mask('fx-gpt2-tiny', 'a [MASK] b')$$),
  ('error: too long', $$lm_embed('fx-minilm-tiny-st', repeat('word ', 5000))$$),
  ('error: bad sampling', $$lm_generate('captions-gpt2', 'A', 4, 0.5, 0, 1.5, 1)$$),
  ('error: bad language', $$lm_translate('fx-nllb-tiny', 'Hello', 'eng_Latn', 'xxx_Yyyy')$$),
  ('error: no model', $$lm_embed('no-such-model', 'x')$$);

SELECT n, what, lm_test_both(sql) AS server_vs_backend FROM server_cases ORDER BY n;

-- The answers are answers, not errors, where they should be.
SELECT n, what FROM server_cases
WHERE what NOT LIKE 'error:%' AND lm_test_value(sql, 'server') ~ '^[0-9A-Z]{5}: ' ORDER BY n;

-- The server ran them: it lists the models of this database it loaded.
SET pg_lm.execution = 'server';
SELECT count(*) >= 10 AS loaded, bool_and(requests > 0) AS all_used, bool_and(bytes > 0) AS sized,
       bool_and(running = 0) AS idle
FROM lm.server_models;
SELECT pid > 0 AS has_pid, device, threads >= 1 AS threads, requests > 0 AS served FROM lm.server;

-- Drop and import again under the same name: the server never answers with the old weights.
SELECT lm_import('srv-swap', fx('models/gpt2-tiny')) > 0 AS imported;
CREATE TEMP TABLE swap AS SELECT lm_logits('srv-swap', ARRAY[1, 2, 3])::text AS before;
SELECT lm_drop('srv-swap');
SELECT lm_test_try($$SELECT lm_logits('srv-swap', ARRAY[1, 2, 3])$$) AS after_drop;
SELECT lm_import('srv-swap', fx('models/llama-tiny')) > 0 AS imported_other;
SELECT lm_logits('srv-swap', ARRAY[1, 2, 3])::text = before AS stale,
       lm_logits('srv-swap', ARRAY[1, 2, 3])::text = lm_logits('fx-llama-tiny', ARRAY[1, 2, 3])::text AS new_weights
FROM swap;
SELECT lm_drop('srv-swap');

-- Without the weights file, models run in the backend (and still work).
SET pg_lm.weights_files = off;
SELECT lm_classify('sentiment-rt', 'a dull, tedious film') AS backend_without_files;
RESET pg_lm.weights_files;
