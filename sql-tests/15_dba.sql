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
