-- What a DBA relies on: internal queries that a caller's search_path cannot
-- redirect, one snapshot per call, models that cannot change under a name.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

-- A schema whose "=" for text is always true, put before pg_catalog: pg_lm's
-- lookups of a model by name must still find that model and no other.
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.always(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.always);
CREATE FUNCTION hostile.convert_to(text, name) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT '\x00'::bytea $$;
CREATE TEMP TABLE expected AS
	SELECT lm_classify('sentiment-rt', 'a moving, beautiful film') AS label,
	       lm_tokenize('captions-gpt2', 'A man in a') AS tokens,
	       (SELECT count(*) FROM _lm.model) AS models;
SET search_path = hostile, pg_catalog, public;
SELECT 'a' = 'b' AS hostile_operator_in_effect;
SELECT lm_classify('sentiment-rt', 'a moving, beautiful film') OPERATOR(pg_catalog.=) e.label AS classify_same_model,
       lm_tokenize('captions-gpt2', 'A man in a') OPERATOR(pg_catalog.=) e.tokens AS tokenize_same_model
FROM expected e;
-- a model loaded for the first time under the hostile path
-- (lm_drop deletes by name: under the hostile "=" it must still delete one model)
SELECT lm_drop('sentiment-rt');
SELECT (SELECT count(*) FROM _lm.model) OPERATOR(pg_catalog.=) e.models - 1 AS dropped_only_that_model
FROM expected e;
SELECT lm_import('sentiment-rt', shared_model('sentiment-rt')) > 0 AS reimported;
SELECT lm_classify('sentiment-rt', 'a moving, beautiful film') OPERATOR(pg_catalog.=) e.label AS classify_after_reload
FROM expected e;
SELECT lm_test_try($$SELECT lm_classify('no-such-model', 'text')$$) AS unknown_model_still_unknown;
RESET search_path;
DROP SCHEMA hostile CASCADE;

-- A model whose results are stored (generated columns, expression indexes,
-- CHECK constraints, materialised views) cannot be dropped, and so not
-- replaced under its name, while they exist.
CREATE FUNCTION error_detail(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN detail;
END $$;
SELECT lm_import('dep-clf', fx('models/bert-tiny-langid')) > 0 AS imported;
CREATE TABLE dep_docs (id int, body text, lang text GENERATED ALWAYS AS (lm_classify('dep-clf', body)) STORED);
INSERT INTO dep_docs (id, body) VALUES (1, 'hello world'), (2, 'hola mundo');
CREATE INDEX dep_docs_by_lang ON dep_docs (lm_classify('dep-clf', body));
ALTER TABLE dep_docs ADD CONSTRAINT dep_docs_classified CHECK (lm_classify('dep-clf', body) IS NOT NULL);
CREATE MATERIALIZED VIEW dep_tokens AS SELECT id, lm_tokenize('dep-clf', body) AS ids FROM dep_docs;
-- a view stores nothing, and a call on another model does not count
CREATE VIEW dep_view AS SELECT lm_classify('dep-clf', body) FROM dep_docs;
CREATE INDEX dep_docs_other ON dep_docs (lm_tokenize('captions-gpt2', body));
SELECT lm_test_try($$SELECT lm_drop('dep-clf')$$) AS drop_refused;
SELECT error_detail($$SELECT lm_drop('dep-clf')$$) AS they_are_named;
SELECT lm_classify('dep-clf', 'hello world') IS NOT NULL AS still_there;
DROP MATERIALIZED VIEW dep_tokens;
ALTER TABLE dep_docs DROP CONSTRAINT dep_docs_classified;
DROP INDEX dep_docs_by_lang;
SELECT error_detail($$SELECT lm_drop('dep-clf')$$) AS drop_refused_for_the_column;
ALTER TABLE dep_docs DROP COLUMN lang;
SELECT lm_drop('dep-clf');
DROP TABLE dep_docs CASCADE;

-- A prepared generic plan that folded a call into a constant is planned
-- again once the model is dropped: it answers with the model the name has now.
SELECT lm_import('swap-tok', fx('models/gpt2-tiny')) > 0 AS imported;
SET plan_cache_mode = force_generic_plan;
PREPARE folded AS SELECT lm_tokenize('swap-tok', 'Hello world') AS ids;
CREATE TEMP TABLE answers AS SELECT 'before' AS w, ids FROM lm_tokenize('swap-tok', 'Hello world') ids;
EXECUTE folded;
SELECT lm_drop('swap-tok');
SELECT lm_import('swap-tok', fx('models/llama-tiny')) > 0 AS imported_again;
INSERT INTO answers SELECT 'after', lm_tokenize('swap-tok', 'Hello world');
EXECUTE folded;
SELECT (SELECT ids FROM answers WHERE w = 'before') IS DISTINCT FROM (SELECT ids FROM answers WHERE w = 'after') AS the_models_differ;
DEALLOCATE folded;
RESET plan_cache_mode;
SELECT lm_drop('swap-tok');
DROP FUNCTION error_detail(text);

-- Smaller cases: each a clear ERROR with its SQLSTATE.
-- chrF's settings must not change between the rows of one aggregate
SELECT lm_test_try($$SELECT lm_chrf_agg(h, r, o, 2, 2) FROM (VALUES ('a cat', 'a cat', 6), ('a dog', 'a dog', 4)) t(h, r, o)$$) AS chrf_orders_vary;
-- special tokens are not language codes; a target language needs a source language
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', 'A dog.', '</s>', 'deu_Latn')$$) AS eos_as_language;
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', 'A dog.', 'eng_Latn', '<pad>')$$) AS pad_as_language;
SELECT lm_test_try($$SELECT lm_translate('mt-en-de', 'A dog.', NULL, 'deu_Latn')$$) AS no_source_language;
-- vectors with NaN or infinities
SELECT lm_test_try($$SELECT lm_cosine('{1, NaN}'::real[], '{1, 2}'::real[])$$) AS nan_vector;
SELECT lm_test_try($$SELECT lm_cosine('{1, 2}'::real[], '{Infinity, 2}'::real[])$$) AS infinite_vector;
-- token ids past the context: program_limit_exceeded, as for a text
SELECT lm_test_try($$SELECT lm_embed('sentiment-rt', array_fill(1, ARRAY[600]))$$) AS ids_past_context;
-- a 10 MB text for a 128-token model: refused as soon as it is past the context
-- ("more than", not its whole count: the rest is not tokenized)
SELECT lm_test_try($$SELECT lm_classify('sentiment-rt', repeat('a ', 5000000))$$) AS ten_mb_text;
-- a named pipe is refused at once, not read (which would wait for a writer)
SELECT lm_test_try($$SELECT lm_import('pipe', scratch('pipe'))$$) AS import_pipe;
SELECT lm_test_try($$SELECT lm_import('pipe', scratch('pipe-dir'))$$) AS import_dir_with_pipe;

-- Settings that make a backend hold more memory are for superusers; the
-- backend's cache of models is bounded in bytes too.
CREATE ROLE lm_plain;
SET ROLE lm_plain;
SELECT lm_test_try($$SET pg_lm.cache_memory = '100GB'$$) AS plain_raises_cache_memory;
SELECT lm_test_try($$SET pg_lm.cache_models = 1000$$) AS plain_raises_cache_models;
RESET ROLE;
DROP ROLE lm_plain;
\c
SET pg_lm.cache_memory = '8MB';
SELECT lm_classify('sentiment-rt', 'a moving, beautiful film') IS NOT NULL AS small_model_loaded;
SELECT name, bytes FROM lm_loaded_models() ORDER BY name;
-- 19 MB: the other leaves, it stays alone
SELECT lm_tokenize('captions-gpt2', 'A man') IS NOT NULL AS large_model_loaded;
SELECT name, bytes FROM lm_loaded_models() ORDER BY name;
-- and leaves for the small one
SELECT lm_classify('sentiment-rt', 'a moving, beautiful film') IS NOT NULL AS small_model_again;
SELECT name, bytes FROM lm_loaded_models() ORDER BY name;
RESET pg_lm.cache_memory;
-- lm_citus_setup is for Citus clusters: without Citus it refuses, and only superusers run it
SELECT lm_citus_setup();
SELECT has_function_privilege('public', 'lm_citus_setup()', 'EXECUTE') AS public_may_run_citus_setup;
