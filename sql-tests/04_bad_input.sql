-- Malformed files and bad arguments: a clear ERROR, and no rows left behind.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM _lm.model) AS models, (SELECT count(*) FROM _lm.tensor) AS tensors,
       (SELECT count(*) FROM _lm.tensor_chunk) AS chunks, (SELECT count(*) FROM _lm.model_file) AS files;

SELECT d AS input, lm_test_try(format('SELECT lm_import(%L, %L)', 'bad-' || d, scratch(d))) AS result
FROM unnest(ARRAY['truncated', 'short-header', 'lying-offsets', 'lying-dtype', 'lying-shape',
                  'overlapping', 'bad-header-json', 'sharded-broken', 'shard-missing', 'bad-config',
                  'unknown-arch', 'no-weights', 'no-config', 'no-such-directory',
                  'unknown-model-tokenizer.json', 'unknown-pretokenizer-tokenizer.json',
                  'truncated-tokenizer.json', 'array-tokenizer.json', 'truncated.model',
                  'garbage.model']) AS d;

-- Arguments.
SELECT lm_test_try($$SELECT lm_import('x', 'relative/path')$$);
SELECT lm_test_try($$SELECT lm_import('', scratch('sharded-ok'))$$);
SELECT lm_test_try($$SELECT lm_import('x', scratch('sharded-ok'), 'onnx')$$);
SELECT lm_test_try($$SELECT lm_import('x', scratch('sharded-ok/config.json'), 'hf')$$);
SELECT lm_test_try($$SELECT lm_import('x', scratch('sharded-ok'), 'tokenizer')$$);
SELECT lm_test_try($$SELECT lm_import('x', scratch('sharded-ok/config.json.gz'))$$);
SELECT lm_import(NULL, scratch('sharded-ok')) IS NULL AS null_name_gives_null;

-- Nothing was written by any of the failures.
SELECT (SELECT count(*) FROM _lm.model) - models AS new_models,
       (SELECT count(*) FROM _lm.tensor) - tensors AS new_tensors,
       (SELECT count(*) FROM _lm.tensor_chunk) - chunks AS new_chunks,
       (SELECT count(*) FROM _lm.model_file) - files AS new_files
FROM before;

-- A model without a tokenizer.
SELECT lm_import('weights-only', scratch('sharded-ok')) > 0 AS imported;
SELECT lm_test_try($$SELECT lm_tokenize('weights-only', 'x')$$);
SELECT lm_drop('weights-only');
