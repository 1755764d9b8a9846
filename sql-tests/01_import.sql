-- Import every Hugging Face model folder of the fixtures and shared models.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

SELECT lm_import('fx-' || d, fx('models/' || d)) > 0 AS imported, d AS folder
FROM unnest(ARRAY['bert-tiny-langid', 'bert-tiny-mlm', 'clip-tiny', 'gpt2-tiny', 'gpt2-tiny-f16',
                  'llama-tiny', 'llama-tiny-bf16', 'marian-tiny', 'minilm-tiny-st', 'nllb-tiny',
                  'rnn-gru-langid', 'rnn-gru-seq2seq-chars', 'rnn-lstm-langid',
                  'rnn-rnn_tanh-langid', 't5-tiny']) AS d;
SELECT lm_import(d, shared_model(d)) > 0 AS imported, d AS folder
FROM unnest(ARRAY['captions-gpt2', 'mt-en-de', 'sentiment-rt']) AS d;

-- Parameter counts and sizes agree with an independent reading of each
-- safetensors header.
SELECT m.name, m.architecture, m.task, m.parameters, m.dtype,
       m.parameters = safetensors_parameters(p.path) AS parameters_match_header,
       m.bytes = safetensors_data_bytes(p.path) AS bytes_match_file
FROM lm.models m,
     LATERAL (SELECT CASE WHEN m.name LIKE 'fx-%' THEN fx('models/' || substr(m.name, 4))
                          ELSE shared_model(m.name) END || '/model.safetensors' AS path) p
ORDER BY m.name;

-- Provenance: every file read has its SHA-256, equal to PostgreSQL's own.
SELECT count(*) AS files,
       count(*) FILTER (WHERE sha256 = encode(sha256(pg_read_binary_file(source_path)), 'hex')) AS sha256_ok
FROM _lm.model_file;
SELECT m.name, f.file, f.content IS NOT NULL AS kept
FROM _lm.model_file f JOIN _lm.model m ON m.id = f.model_id
WHERE m.name IN ('fx-minilm-tiny-st', 'fx-t5-tiny') ORDER BY 1, 2;

-- sentence-transformers pooling and normalisation were read.
SELECT name, pipeline FROM _lm.model WHERE pipeline IS NOT NULL;

-- Tensors are stored whole: chunk bytes add up to each tensor's size.
SELECT count(*) AS tensors_with_wrong_bytes
FROM _lm.tensor t
WHERE t.bytes <> (SELECT coalesce(sum(length(c.data)), 0) FROM _lm.tensor_chunk c
                  WHERE c.model_id = t.model_id AND c.tensor = t.name);

-- A sharded checkpoint (gpt2-tiny split in two files) imports as one model
-- and computes what the single-file one does.
SELECT lm_import('sharded', scratch('sharded-ok')) > 0 AS imported;
SELECT s.parameters = g.parameters AS same_parameters, s.bytes = g.bytes AS same_bytes, s.dtype
FROM lm.models s, lm.models g WHERE s.name = 'sharded' AND g.name = 'fx-gpt2-tiny';
SELECT count(*) AS files FROM _lm.model_file f JOIN _lm.model m ON m.id = f.model_id WHERE m.name = 'sharded';
SELECT lm_logits('sharded', ARRAY[46, 746, 1739]) = lm_logits('fx-gpt2-tiny', ARRAY[46, 746, 1739]) AS same_logits;

-- Names are unique; lm_drop removes everything.
SELECT lm_test_try($$SELECT lm_import('sharded', scratch('sharded-ok'))$$);
SELECT lm_drop('sharded');
SELECT count(*) AS left_behind FROM _lm.model WHERE name = 'sharded';
SELECT lm_test_try($$SELECT lm_drop('sharded')$$);
