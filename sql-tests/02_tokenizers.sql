-- tokenizer.json parity: every row of every cases.jsonl, through SQL.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

CREATE TEMP TABLE tok AS
SELECT * FROM (VALUES
	('bpe-bytelevel', 'tokenizers/bpe-bytelevel'),
	('bpe-regex-llama3', 'tokenizers/bpe-regex-llama3'),
	('spm-bpe-bytefallback', 'tokenizers/spm-bpe-bytefallback'),
	('spm-bpe-nllb', 'tokenizers/spm-bpe-nllb'),
	('spm-unigram', 'tokenizers/spm-unigram'),
	('wordlevel', 'tokenizers/wordlevel'),
	('wordpiece', 'tokenizers/wordpiece'),
	('gpt2', 'real-tokenizers/gpt2'),
	('llama2', 'real-tokenizers/llama2')) AS v(name, dir);

-- Each imports as a bare tokenizer.
SELECT t.name, lm_import('tok-' || t.name, fx(t.dir || '/tokenizer.json')) > 0 AS imported
FROM tok t ORDER BY t.name;
SELECT name, architecture, task, parameters FROM lm.models WHERE name LIKE 'tok-%' ORDER BY name;

CREATE TEMP TABLE cases AS
SELECT t.name, j.n, j.c FROM tok t, LATERAL jsonl(fx(t.dir || '/cases.jsonl')) j;

CREATE TEMP TABLE results AS
SELECT name, n, c,
       lm_tokenize('tok-' || name, c->>'text', false) AS ids,
       lm_tokens('tok-' || name, c->>'text', false) AS tokens,
       lm_tokenize('tok-' || name, c->>'text', true) AS ids_special,
       lm_detokenize('tok-' || name, int_array(c->'ids'), true) AS decoded
FROM cases;

-- The count of rows per tokenizer, and how many differ in each field (all 0).
SELECT name, count(*) AS rows,
       count(*) FILTER (WHERE ids IS DISTINCT FROM int_array(c->'ids')) AS ids_differ,
       count(*) FILTER (WHERE tokens IS DISTINCT FROM text_array(c->'tokens')) AS tokens_differ,
       count(*) FILTER (WHERE ids_special IS DISTINCT FROM int_array(c->'ids_special')) AS special_differ,
       count(*) FILTER (WHERE decoded IS DISTINCT FROM c->>'decoded') AS decoded_differ
FROM results GROUP BY name ORDER BY name;

-- The first differences, if any (none expected).
SELECT name, n, left(c->>'text', 60) AS text
FROM results
WHERE ids IS DISTINCT FROM int_array(c->'ids') OR tokens IS DISTINCT FROM text_array(c->'tokens')
   OR ids_special IS DISTINCT FROM int_array(c->'ids_special') OR decoded IS DISTINCT FROM c->>'decoded'
ORDER BY name, n LIMIT 10;

-- A few readable examples.
SELECT lm_tokens('tok-gpt2', 'Hello, world! pg_lm runs in PostgreSQL.');
SELECT lm_tokenize('tok-wordpiece', 'Hello world');
SELECT lm_detokenize('tok-gpt2', lm_tokenize('tok-gpt2', 'Round trip: ½ ² ™ ℃ 👍🏽'));

-- NULLs give NULL (the functions are strict); empty text gives no tokens.
SELECT lm_tokenize('tok-gpt2', NULL) IS NULL AS null_in_null_out;
SELECT lm_tokenize('tok-gpt2', '') AS empty, lm_tokenize('tok-wordpiece', '') AS empty_with_specials;
-- Bad ids and unknown models.
SELECT lm_test_try($$SELECT lm_detokenize('tok-gpt2', ARRAY[1, 999999])$$);
SELECT lm_test_try($$SELECT lm_detokenize('tok-gpt2', ARRAY[-1])$$);
SELECT lm_test_try($$SELECT lm_detokenize('tok-gpt2', ARRAY[1, NULL])$$);
SELECT lm_test_try($$SELECT lm_tokenize('no-such-model', 'x')$$);
