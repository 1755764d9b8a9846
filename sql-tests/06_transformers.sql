-- Transformer parity through SQL against the reference outputs (reference.json
-- and reference.safetensors, read here by an independent SQL reader).
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

-- float32 values of a reference tensor: count values from element first.
CREATE FUNCTION st_floats(path text, tensor text, first bigint, count bigint) RETURNS float8[]
LANGUAGE plpgsql AS $$
DECLARE
	h8 bytea := pg_read_binary_file(path, 0, 8);
	n bigint := get_byte(h8, 0) + get_byte(h8, 1) * 256 + get_byte(h8, 2) * 65536 + get_byte(h8, 3) * 16777216;
	header jsonb := convert_from(substring(pg_read_binary_file(path, 0, 8 + n) from 9), 'UTF8')::jsonb;
	begin_at bigint := (header->tensor->'data_offsets'->>0)::bigint;
	b bytea;
	bits bigint;
	e int;
	m bigint;
	v float8;
	out float8[] := '{}';
BEGIN
	IF header->tensor->>'dtype' <> 'F32' THEN RAISE EXCEPTION 'not F32'; END IF;
	b := pg_read_binary_file(path, 8 + n + begin_at + first * 4, count * 4);
	FOR i IN 0..count - 1 LOOP
		bits := get_byte(b, 4 * i) + get_byte(b, 4 * i + 1) * 256 + get_byte(b, 4 * i + 2) * 65536
		        + get_byte(b, 4 * i + 3)::bigint * 16777216;
		e := (bits >> 23) & 255;
		m := bits & 8388607;
		v := CASE WHEN e = 0 THEN m * 2.0 ^ (-149) ELSE (1 + m / 8388608.0) * 2.0 ^ (e - 127) END;
		out := out || CASE WHEN bits >= 2147483648 THEN -v ELSE v END;
	END LOOP;
	RETURN out;
END $$;

-- max|x - ref| / max|ref|, the fixtures' measure.
CREATE FUNCTION rel_err(x real[], ref float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT max(abs(a - b)) / nullif(max(abs(b)), 0)
	FROM unnest(x, ref) AS u(a, b)
$$;

-- captions-gpt2 was trained with <|endoftext|> before every caption, and its
-- reference prompts start with it: a prompt can name the token itself.
CREATE TEMP TABLE causal AS
SELECT * FROM (VALUES
	('fx-gpt2-tiny', 'models/gpt2-tiny', 1e-4, ''), ('fx-gpt2-tiny-f16', 'models/gpt2-tiny-f16', 1e-3, ''),
	('fx-llama-tiny', 'models/llama-tiny', 1e-4, ''), ('fx-llama-tiny-bf16', 'models/llama-tiny-bf16', 1e-3, '')) AS v(model, dir, tol, prefix)
UNION ALL SELECT 'captions-gpt2', NULL, 1e-4, '<|endoftext|>';

CREATE TEMP TABLE causal_cases AS
SELECT c.model, c.tol, j.n - 1 AS i, j.c || jsonb_build_object('prompt', c.prefix || (j.c->>'prompt')) AS c,
       coalesce(fx(c.dir), shared_model(c.model)) AS dir
FROM causal c, LATERAL jsonl_array(coalesce(fx(c.dir), shared_model(c.model)) || '/reference.json') j;

CREATE TEMP TABLE causal_results AS
SELECT model, i, c, tol,
       lm_tokenize(model, c->>'prompt') = int_array(c->'input_ids') AS tokens_ok,
       rel_err(logits, st_floats(dir || '/reference.safetensors', 'case' || i || '.logits',
                                 (jsonb_array_length(c->'input_ids') - 1) * cardinality(logits),
                                 cardinality(logits))) AS logits_err,
       abs(lm_score(model, c->>'prompt') - (c->>'sum_logprob_of_input')::float8)
           / abs((c->>'sum_logprob_of_input')::float8) AS score_err,
       (c->>'greedy_min_margin')::float8 >= 1e-3 AS greedy_comparable,
       lm_generate(model, c->>'prompt', jsonb_array_length(c->'greedy_ids')) AS greedy_text
FROM causal_cases, LATERAL lm_logits(model, int_array(c->'input_ids')) AS logits;

SELECT model, count(*) AS cases,
       count(*) FILTER (WHERE tokens_ok) AS tokens_match,
       count(*) FILTER (WHERE logits_err < tol) AS logits_within_tol,
       count(*) FILTER (WHERE score_err < tol) AS score_within_tol,
       count(*) FILTER (WHERE greedy_comparable) AS greedy_comparable,
       count(*) FILTER (WHERE greedy_comparable AND greedy_text = c->>'greedy_text') AS greedy_match
FROM causal_results GROUP BY model ORDER BY model;

-- Hidden states after the final norm: lm_embed of a decoder mean-pools them,
-- so it must equal the mean over positions of the reference's last_hidden
-- (the -bf16 reference has logits only).
CREATE TEMP TABLE hidden_results AS
SELECT model, i, tol,
       rel_err(emb, (SELECT array_agg(v ORDER BY k) FROM (
                        SELECT (idx - 1) % cardinality(emb) AS k, avg(v) AS v
                        FROM unnest(st_floats(dir || '/reference.safetensors', 'case' || i || '.last_hidden', 0,
                                              jsonb_array_length(c->'input_ids') * cardinality(emb))) WITH ORDINALITY AS u(v, idx)
                        GROUP BY 1) per_dim)) AS hidden_err
FROM causal_cases, LATERAL lm_embed(model, int_array(c->'input_ids')) AS emb
WHERE model <> 'fx-llama-tiny-bf16';
SELECT model, count(*) AS cases, count(*) FILTER (WHERE hidden_err < tol) AS mean_hidden_within_tol
FROM hidden_results GROUP BY model ORDER BY model;

-- Classifiers: labels and probabilities.
CREATE TEMP TABLE cls_results AS
SELECT m.model, j.c,
       lm_classify(m.model, j.c->>'text') AS label,
       (SELECT array_agg(s.score ORDER BY s.label) FROM lm_classify_scores(m.model, j.c->>'text') s) AS probs,
       lm_classify(m.model, int_array(j.c->'input_ids')) AS label_from_ids,
       (SELECT array_agg(s.score ORDER BY s.label) FROM lm_classify_scores(m.model, int_array(j.c->'input_ids')) s) AS probs_from_ids
FROM (VALUES ('fx-bert-tiny-langid', fx('models/bert-tiny-langid')), ('sentiment-rt', shared_model('sentiment-rt'))) AS m(model, dir),
     LATERAL jsonl_array(m.dir || '/reference.json') j;
SELECT model, count(*) AS cases,
       count(*) FILTER (WHERE label = c->>'label') AS label_match,
       count(*) FILTER (WHERE (SELECT max(abs(p - r)) FROM unnest(probs, ARRAY(SELECT jsonb_array_elements_text(c->'probs')::float8)) AS u(p, r)) < 1e-4) AS probs_within_1e_4
FROM cls_results GROUP BY model ORDER BY model;
-- The same through the reference's input_ids (the integer[] forms).
SELECT model, count(*) AS cases,
       count(*) FILTER (WHERE label_from_ids = c->>'label') AS label_from_ids_match,
       count(*) FILTER (WHERE (SELECT max(abs(p - r)) FROM unnest(probs_from_ids, ARRAY(SELECT jsonb_array_elements_text(c->'probs')::float8)) AS u(p, r)) < 1e-4) AS probs_from_ids_within_1e_4
FROM cls_results GROUP BY model ORDER BY model;

-- Masked LM: the top five tokens.
SELECT count(*) AS cases,
       count(*) FILTER (WHERE (SELECT array_agg(f.token) FROM lm_fill_mask('fx-bert-tiny-mlm', j.c->>'text', 5) f)
                              = text_array(j.c->'top5_tokens')) AS top5_match
FROM jsonl_array(fx('models/bert-tiny-mlm/reference.json')) j;

-- Sentence embeddings: vectors and the cosine matrix.
CREATE TEMP TABLE st AS
SELECT t.n - 1 AS i, t.txt FROM jsonl_array(fx('models/minilm-tiny-st/reference.json')) j,
     LATERAL jsonb_array_elements_text(j.c->'texts') WITH ORDINALITY AS t(txt, n);
SELECT count(*) AS texts,
       count(*) FILTER (WHERE rel_err(lm_embed('fx-minilm-tiny-st', txt),
                                      st_floats(fx('models/minilm-tiny-st/reference.safetensors'), 'embeddings',
                                                i * 64, 64)) < 1e-4) AS embeddings_within_1e_4,
       count(*) FILTER (WHERE rel_err(lm_embed('fx-minilm-tiny-st',
                                               int_array((SELECT c FROM jsonl_array(fx('models/minilm-tiny-st/reference.json')))->'input_ids'->(i::int))),
                                      st_floats(fx('models/minilm-tiny-st/reference.safetensors'), 'embeddings',
                                                i * 64, 64)) < 1e-4) AS embeddings_from_ids_within_1e_4
FROM st;
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE abs(lm_similarity('fx-minilm-tiny-st', a.txt, b.txt)
                                  - ((SELECT c FROM jsonl_array(fx('models/minilm-tiny-st/reference.json')))->'cosine'->(a.i::int)->>(b.i::int))::float8) < 1e-4) AS cosine_within_1e_4
FROM st a, st b;
SELECT count(*) FILTER (WHERE abs(lm_similarity('fx-minilm-tiny-st', a.txt, b.txt)
                                  - lm_cosine(lm_embed('fx-minilm-tiny-st', a.txt), lm_embed('fx-minilm-tiny-st', b.txt))) < 1e-12)
       AS similarity_is_cosine_of_embeddings
FROM st a, st b;

-- The lecture's examples, with the bundled models.
SELECT lm_generate('captions-gpt2', '<|endoftext|>A man in a');
SELECT lm_classify('sentiment-rt', 'an utterly charming and hilarious film');
SELECT label, round(score::numeric, 3) AS score FROM lm_classify_scores('sentiment-rt', 'a dull, lifeless mess');
SELECT lm_classify('captions-gpt2', 'A dog runs on the beach.', ARRAY['animal', 'vehicle'],
                   'Caption: {text}' || E'\n' || 'Topic:');

-- Sampling is reproducible with a seed.
SELECT lm_generate('captions-gpt2', 'Two women', 12, temperature => 0.8, top_k => 50, seed => 42)
     = lm_generate('captions-gpt2', 'Two women', 12, temperature => 0.8, top_k => 50, seed => 42) AS same_with_seed;
-- Stop strings end the text before them.
SELECT lm_generate('captions-gpt2', 'A man in a', stop => ARRAY[' is']);

-- Bad input.
SELECT lm_test_try($$SELECT lm_generate('sentiment-rt', 'hello')$$);
SELECT lm_test_try($$SELECT lm_classify('captions-gpt2', 'hello')$$);
SELECT lm_test_try($$SELECT lm_embed('tok-gpt2', 'hello')$$);
SELECT lm_test_try($$SELECT lm_generate('captions-gpt2', 'A man', -1)$$);
SELECT lm_test_try($$SELECT lm_generate('captions-gpt2', 'A man', 5, top_p => 0)$$);
SELECT lm_test_try($$SELECT lm_generate('captions-gpt2', 'A man', 5, top_p => 1.5)$$);
SELECT lm_test_try($$SELECT lm_generate('captions-gpt2', 'A man', 5, temperature => -1)$$);
SELECT lm_test_try($$SELECT lm_generate('fx-gpt2-tiny', '')$$);
SELECT lm_test_try($$SELECT lm_generate('captions-gpt2', repeat('a man in a ', 200))$$);
SELECT lm_test_try($$SELECT lm_fill_mask('fx-bert-tiny-mlm', 'no mask here')$$);
SELECT lm_test_try($$SELECT lm_logits('captions-gpt2', ARRAY[99999999])$$);
SELECT lm_generate('captions-gpt2', NULL) IS NULL AS null_prompt_gives_null;
SET pg_lm.max_tokens = 4;
SELECT lm_test_try($$SELECT lm_generate('captions-gpt2', 'A man', 5)$$);
RESET pg_lm.max_tokens;
-- A long generation stops at statement_timeout.
SET statement_timeout = '150ms';
SELECT lm_test_try($$SELECT count(lm_generate('captions-gpt2', 'A man in a', 120, temperature => 1, seed => g)) FROM generate_series(1, 1000) g$$);
RESET statement_timeout;
