-- GGUF files (llama.cpp's format): a tiny Llama in F32, F16 and BF16
-- (tests/data/gguf, written by llama.cpp's gguf-py) against the same
-- weights imported from safetensors; the metadata kept as jsonb; bad files.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o
\set gguf :scratch/gguf
-- largest difference relative to the largest logit; the top token
CREATE FUNCTION pg_temp.rel_err(a real[], b real[]) RETURNS float8 LANGUAGE sql AS
$$ SELECT max(abs(x - y)) / max(abs(y)) FROM unnest(a, b) u(x, y) $$;
CREATE FUNCTION pg_temp.argmax(v real[]) RETURNS int LANGUAGE sql AS
$$ SELECT (i - 1)::int FROM unnest(v) WITH ORDINALITY u(x, i) ORDER BY x DESC, i LIMIT 1 $$;
SELECT lm_import('gguf-f32', :'gguf' || '/llama-tiny-f32.gguf') > 0 AS f32,
       lm_import('gguf-f16', :'gguf' || '/llama-tiny-f16.gguf', 'gguf') > 0 AS f16,
       lm_import('gguf-bf16', :'gguf' || '/llama-tiny-bf16.gguf') > 0 AS bf16;
SELECT lm_import('st-' || k, :'gguf' || '/llama-tiny-hf-' || k) > 0 AS imported
FROM unnest(ARRAY['f32', 'f16', 'bf16']) k;
SELECT name, architecture, task, parameters, dtype FROM lm.models WHERE name LIKE 'gguf-%' ORDER BY name;
-- every logit of every position agrees with the safetensors import of the same weights (1e-5;
-- not bit for bit: GGUF models take their rotary angles as llama.cpp computes them)
SELECT k,
       (SELECT max(pg_temp.rel_err(lm_logits('gguf-' || k, ids[1:n]), lm_logits('st-' || k, ids[1:n]))) <= 1e-5
        FROM generate_series(1, 12) n) AS same_logits
FROM unnest(ARRAY['f32', 'f16', 'bf16']) k, (SELECT ARRAY[1, 11, 48, 85, 122, 159, 196, 233, 270, 307, 24, 61] AS ids) i;
-- Qwen2 (biases on q, k, v; rotary over halves) and Qwen3 (q and k normalised per head), from GGUF
-- and from Hugging Face directories
SELECT a, lm_import('gguf-' || a, :'gguf' || '/' || a || '-tiny-f32.gguf') > 0 AS gguf,
       lm_import('st-' || a, :'gguf' || '/' || a || '-tiny-hf-f32') > 0 AS hf
FROM unnest(ARRAY['qwen2', 'qwen3']) a;
SELECT name, architecture, task, parameters FROM lm.models WHERE name ~ '^(gguf|st)-qwen' ORDER BY name;
SELECT a, max(pg_temp.rel_err(lm_logits('gguf-' || a, ids[1:n]), lm_logits('st-' || a, ids[1:n]))) <= 1e-5 AS same_logits
FROM unnest(ARRAY['qwen2', 'qwen3']) a, generate_series(1, 12) n,
     (SELECT ARRAY[1, 11, 48, 85, 122, 159, 196, 233, 270, 307, 24, 61] AS ids) i
GROUP BY a ORDER BY a;
SELECT lm_drop('gguf-' || a), lm_drop('st-' || a) FROM unnest(ARRAY['qwen2', 'qwen3']) a;
-- GPT-2: the fixture model, written as llama.cpp's converter writes it (Conv1D weights transposed,
-- its byte-level BPE vocabulary in the metadata), answers as the model imported from transformers' files
SELECT lm_import('gguf-gpt2', :'gguf' || '/gpt2-tiny-f32.gguf') > 0 AS gguf,
       lm_import('st-gpt2', fx('models/gpt2-tiny')) > 0 AS hf;
SELECT t, lm_tokenize('gguf-gpt2', t) = lm_tokenize('st-gpt2', t) AS same_ids,
       lm_generate('gguf-gpt2', t, 8) = lm_generate('st-gpt2', t, 8) AS same_greedy
FROM unnest(ARRAY['Hello world', 'A man in a blue shirt', ' two  spaces']) t;
SELECT lm_drop('gguf-gpt2'), lm_drop('st-gpt2');
-- the vocabulary in the GGUF metadata (SentencePiece style here) is the model's tokenizer (a toy one:
-- no piece but the bytes builds "▁w1", so text falls back to bytes, and decodes back)
SELECT lm_tokenize('gguf-f32', 'w1 w2 w3', false) AS ids,
       lm_detokenize('gguf-f32', lm_tokenize('gguf-f32', 'w1 w2 w3')) AS back,
       lm_tokenize('gguf-f32', 'w1') AS with_bos;
-- the metadata, as jsonb, in lm.model_configs
SELECT config->'gguf_metadata'->>'general.architecture' AS arch,
       config->'gguf_metadata'->'llama.block_count' AS layers,
       config->'gguf_metadata'->'tokenizer.ggml.tokens' AS tokens,
       config->>'num_key_value_heads' AS kv_heads
FROM lm.model_configs WHERE model = 'gguf-f32';
SELECT file, bytes > 0 AS has_bytes, length(sha256) FROM lm.model_sources WHERE model = 'gguf-f32';
-- a GGUF file holding only a vocabulary imports as a tokenizer: GPT-2's, tokenizing every
-- case of the real GPT-2 fixture as HF tokenizers does (ids and decoded text)
SELECT lm_import('gguf-gpt2-vocab', :'gguf' || '/gpt2-vocab.gguf') > 0 AS imported;
SELECT name, architecture, task FROM lm.models WHERE name = 'gguf-gpt2-vocab';
SELECT count(*) AS cases,
       count(*) FILTER (WHERE lm_tokenize('gguf-gpt2-vocab', c->>'text', false) = int_array(c->'ids')) AS same_ids,
       count(*) FILTER (WHERE lm_detokenize('gguf-gpt2-vocab', int_array(c->'ids')) = c->>'decoded') AS same_decoded
FROM jsonl(fx('real-tokenizers/gpt2/cases.jsonl'));
-- and Llama 2's real SentencePiece vocabulary, tokenizing as sentencepiece does
SELECT lm_import('gguf-llama2-vocab', :'gguf' || '/llama2-vocab.gguf') > 0 AS imported;
SELECT count(*) AS cases,
       count(*) FILTER (WHERE lm_tokenize('gguf-llama2-vocab', c->>'text', false) = int_array(c->'ids')) AS same_ids,
       count(*) FILTER (WHERE lm_detokenize('gguf-llama2-vocab', int_array(c->'ids')) = c->>'decoded') AS same_decoded
FROM jsonl(fx('real-tokenizers/llama2/spm_cases.jsonl'));
SELECT file FROM lm.model_sources WHERE model = 'gguf-llama2-vocab' ORDER BY file;
SELECT lm_drop('gguf-gpt2-vocab'), lm_drop('gguf-llama2-vocab');
-- a vocabulary pg_lm cannot read yet: a model imports without it, saying so; a vocabulary alone is refused
SELECT lm_import('gguf-bloom-pre', :'gguf' || '/gpt2-tiny-bloom-pre.gguf') > 0 AS imported_with_notice;
SELECT lm_test_try($$SELECT lm_tokenize('gguf-bloom-pre', 'a text')$$) AS text_input,
       array_length(lm_logits('gguf-bloom-pre', ARRAY[1, 2, 3]), 1) AS logits_from_ids;
SELECT lm_drop('gguf-bloom-pre');
SELECT lm_test_try(format($$SELECT lm_import('gguf-bad', %L)$$, :'gguf' || '/unknown-pre-vocab.gguf')) AS vocabulary_alone;
-- bad files: named, with the offset where they stop making sense; nothing imported
SELECT lm_test_try(format($$SELECT lm_import('gguf-bad', %L, 'gguf')$$, f)) AS refused
FROM unnest(ARRAY[:'gguf' || '/kinds.json', :'gguf' || '/kinds.gguf', :'gguf', :'gguf' || '/truncated.gguf']) f;
SELECT count(*) AS bad_imported FROM lm.models WHERE name = 'gguf-bad';

-- Quantized GGUF models (tests/data/gguf/quant: one tiny Llama through llama-quantize --pure
-- per type; test_quant compares 2,048 positions with llama.cpp): stored in their own type
\set quant :gguf/quant
SELECT t, lm_import('gguf-' || t, :'quant' || '/llama-q-' || t || '.gguf') > 0 AS imported
FROM unnest(ARRAY['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K']) t;
SELECT name, parameters, bytes, dtype FROM lm.models WHERE name ~ '^gguf-Q' ORDER BY name;
-- the next token after each of llama.cpp's greedy prompts is the one llama.cpp chose
SELECT t, count(*) AS prompts,
       count(*) FILTER (WHERE pg_temp.argmax(lm_logits('gguf-' || t, int_array(g.prompt)))
                              = (g.continuation->>0)::int) AS same_next_token
FROM unnest(ARRAY['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K']) t,
     LATERAL (SELECT p.value AS prompt, (pg_read_file(:'quant' || '/llama-q-' || t || '.greedy.json')::jsonb
                                         -> 'continuations' -> (p.ordinality::int - 1)) AS continuation
              FROM jsonb_array_elements(pg_read_file(:'quant' || '/llama-q-' || t || '.greedy.json')::jsonb
                                        -> 'prompts') WITH ORDINALITY p) g
GROUP BY t ORDER BY t;
SELECT lm_drop('gguf-' || t) FROM unnest(ARRAY['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K']) t;

-- Quantized at import: the weight matrices in Q8_0 (norms stay), logits close to the float model's;
-- GPT-2's Conv1D weights ([in][out]) are quantized as their transpose; a GGUF file's are [out][in] already
SELECT lm_import('st-f32-q8', :'gguf' || '/llama-tiny-hf-f32', quantize => 'q8_0') > 0 AS llama,
       lm_import('gpt2-q8', :'fixtures' || '/models/gpt2-tiny', 'hf', 'Q8_0') > 0 AS gpt2,
       lm_import('gguf-gpt2-q8', :'gguf' || '/gpt2-tiny-f32.gguf', quantize => 'q8_0') > 0 AS gguf_gpt2,
       lm_import('gpt2-f32', :'fixtures' || '/models/gpt2-tiny') > 0 AS gpt2_float;
SELECT q.name, q.dtype, q.bytes < f.bytes / 3 AS under_a_third
FROM lm.models q JOIN lm.models f ON f.name = CASE q.name WHEN 'gpt2-q8' THEN 'gpt2-f32' ELSE 'st-f32' END
WHERE q.name IN ('st-f32-q8', 'gpt2-q8') ORDER BY q.name;
SELECT m.name, count(*) FILTER (WHERE t.dtype = 'Q8_0') AS q8_0, count(*) FILTER (WHERE t.dtype = 'F32') AS f32,
       bool_and(t.dtype = 'F32' OR array_length(t.shape, 1) = 2) AS only_matrices
FROM _lm.tensor t JOIN _lm.model m ON m.id = t.model_id WHERE m.name IN ('st-f32-q8', 'gpt2-q8')
GROUP BY m.name ORDER BY m.name;
SELECT q, f, n,
       pg_temp.rel_err(lm_logits(q, ids[1:n]), lm_logits(f, ids[1:n])) < 0.05 AS within_5_percent,
       pg_temp.argmax(lm_logits(q, ids[1:n])) = pg_temp.argmax(lm_logits(f, ids[1:n])) AS same_top1
FROM (VALUES ('st-f32-q8', 'st-f32'), ('gpt2-q8', 'gpt2-f32'), ('gguf-gpt2-q8', 'gpt2-f32')) m(q, f),
     (SELECT ARRAY[1, 37, 88, 5, 120, 61, 9, 14] AS ids) i, generate_series(2, 8, 3) n
ORDER BY q, n;
SELECT lm_test_try(format($$SELECT lm_import('bad-quant', %L, quantize => 'q4_k')$$,
                          :'gguf' || '/llama-tiny-hf-f32')) AS unknown_quantization;
SELECT lm_drop('st-f32-q8'), lm_drop('gpt2-q8'), lm_drop('gguf-gpt2-q8'), lm_drop('gpt2-f32');
SELECT lm_drop('gguf-' || k), lm_drop('st-' || k) FROM unnest(ARRAY['f32', 'f16', 'bf16']) k;
