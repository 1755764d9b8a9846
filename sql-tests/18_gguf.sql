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
SELECT lm_import('gguf-f32', :'gguf' || '/llama-tiny-f32.gguf') > 0 AS f32,
       lm_import('gguf-f16', :'gguf' || '/llama-tiny-f16.gguf', 'gguf') > 0 AS f16,
       lm_import('gguf-bf16', :'gguf' || '/llama-tiny-bf16.gguf') > 0 AS bf16;
SELECT lm_import('st-' || k, :'gguf' || '/llama-tiny-hf-' || k) > 0 AS imported
FROM unnest(ARRAY['f32', 'f16', 'bf16']) k;
SELECT name, architecture, task, parameters, dtype FROM lm.models WHERE name LIKE 'gguf-%' ORDER BY name;
-- every logit of every position agrees exactly with the safetensors import of the same weights
SELECT k,
       (SELECT bool_and(lm_logits('gguf-' || k, ids[1:n]) = lm_logits('st-' || k, ids[1:n])) FROM generate_series(1, 12) n) AS same_logits
FROM unnest(ARRAY['f32', 'f16', 'bf16']) k, (SELECT ARRAY[1, 11, 48, 85, 122, 159, 196, 233, 270, 307, 24, 61] AS ids) i;
-- Qwen2 (biases on q, k, v; rotary over halves) and Qwen3 (q and k normalised per head), from GGUF
-- and from Hugging Face directories
SELECT a, lm_import('gguf-' || a, :'gguf' || '/' || a || '-tiny-f32.gguf') > 0 AS gguf,
       lm_import('st-' || a, :'gguf' || '/' || a || '-tiny-hf-f32') > 0 AS hf
FROM unnest(ARRAY['qwen2', 'qwen3']) a;
SELECT name, architecture, task, parameters FROM lm.models WHERE name ~ '^(gguf|st)-qwen' ORDER BY name;
SELECT a, bool_and(lm_logits('gguf-' || a, ids[1:n]) = lm_logits('st-' || a, ids[1:n])) AS same_logits
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
SELECT lm_import('gguf-qwen2-pre', :'gguf' || '/gpt2-tiny-qwen2-pre.gguf') > 0 AS imported_with_notice;
SELECT lm_test_try($$SELECT lm_tokenize('gguf-qwen2-pre', 'a text')$$) AS text_input,
       array_length(lm_logits('gguf-qwen2-pre', ARRAY[1, 2, 3]), 1) AS logits_from_ids;
SELECT lm_drop('gguf-qwen2-pre');
SELECT lm_test_try(format($$SELECT lm_import('gguf-bad', %L)$$, :'gguf' || '/unknown-pre-vocab.gguf')) AS vocabulary_alone;
-- bad files: named, with the offset where they stop making sense; nothing imported
SELECT lm_test_try(format($$SELECT lm_import('gguf-bad', %L, 'gguf')$$, f)) AS refused
FROM unnest(ARRAY[:'gguf' || '/kinds.json', :'gguf' || '/kinds.gguf', :'gguf', :'gguf' || '/truncated.gguf']) f;
SELECT count(*) AS bad_imported FROM lm.models WHERE name = 'gguf-bad';
SELECT lm_drop('gguf-' || k), lm_drop('st-' || k) FROM unnest(ARRAY['f32', 'f16', 'bf16']) k;
