-- SentencePiece .model parity: every row of every spm_cases.jsonl, through SQL.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

CREATE TEMP TABLE spm AS
SELECT * FROM (VALUES
	('spm-unigram', 'tokenizers/spm-unigram/spiece.model', 'tokenizers/spm-unigram/spm_cases.jsonl'),
	('spm-bpe-nllb', 'tokenizers/spm-bpe-nllb/sentencepiece.bpe.model', 'tokenizers/spm-bpe-nllb/spm_cases.jsonl'),
	('llama2', 'real-tokenizers/llama2/tokenizer.model', 'real-tokenizers/llama2/spm_cases.jsonl')) AS v(name, model, cases);

SELECT s.name, lm_import('spm-' || s.name, fx(s.model)) > 0 AS imported FROM spm s ORDER BY s.name;
SELECT name, architecture, task FROM lm.models WHERE name LIKE 'spm-%' ORDER BY name;

CREATE TEMP TABLE results AS
SELECT s.name, j.n, j.c,
       lm_tokenize('spm-' || s.name, j.c->>'text', false) AS ids,
       lm_tokens('spm-' || s.name, j.c->>'text', false) AS pieces,
       lm_detokenize('spm-' || s.name, int_array(j.c->'ids')) AS decoded
FROM spm s, LATERAL jsonl(fx(s.cases)) j;

SELECT name, count(*) AS rows,
       count(*) FILTER (WHERE ids IS DISTINCT FROM int_array(c->'ids')) AS ids_differ,
       count(*) FILTER (WHERE pieces IS DISTINCT FROM text_array(c->'pieces')) AS pieces_differ,
       count(*) FILTER (WHERE c ? 'decoded') AS with_decoded,
       count(*) FILTER (WHERE c ? 'decoded' AND decoded IS DISTINCT FROM c->>'decoded') AS decoded_differ
FROM results GROUP BY name ORDER BY name;

SELECT name, n, left(c->>'text', 60) AS text
FROM results
WHERE ids IS DISTINCT FROM int_array(c->'ids') OR pieces IS DISTINCT FROM text_array(c->'pieces')
   OR (c ? 'decoded' AND decoded IS DISTINCT FROM c->>'decoded')
ORDER BY name, n LIMIT 10;

SELECT lm_tokens('spm-llama2', 'The quick brown fox');
