-- Weights files: the first backend that needs a model's weights writes them
-- from the tables into $PGDATA/pg_lm/<database oid>/<model id>.safetensors and
-- maps them; other backends map the same file.  A damaged or missing file is
-- written anew; lm_drop removes it when its transaction commits.  These are
-- the backends' own mappings (14_server covers the model server's), so the
-- suite runs models in the backend, reconnections included.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

-- The weights file of a model, relative to the data directory.
CREATE FUNCTION wf_path(model_name text) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT format('pg_lm/%s/%s.safetensors',
				  (SELECT oid FROM pg_database WHERE datname = current_database()),
				  (SELECT id FROM _lm.model WHERE name = model_name))
$$;
CREATE FUNCTION wf_size(path text) RETURNS bigint LANGUAGE sql AS $$
	SELECT (pg_stat_file(path, true)).size
$$;

SELECT format('ALTER DATABASE %I SET pg_lm.execution = backend', current_database()) \gexec
\c
SHOW pg_lm.execution;
SELECT lm_import('wf-gpt2', :'fixtures' || '/models/gpt2-tiny') > 0 AS imported;
-- lm_import's own check builds the model in memory: its transaction could still roll back
SELECT wf_size(wf_path('wf-gpt2')) IS NULL AS no_file_after_import;

-- The first use writes the file; it is safetensors with pg_lm's key and hash
CREATE TABLE wf_reference AS SELECT lm_logits('wf-gpt2', ARRAY[46, 746, 1739]) AS logits;
SELECT wf_size(wf_path('wf-gpt2')) > 900000 AS file_written;
SELECT position('"pg_lm.key":"database ' IN convert_from(substring(pg_read_binary_file(wf_path('wf-gpt2'), 0, 4096) FROM 9 FOR 400), 'UTF8')) > 0 AS has_key,
       position('"pg_lm.xxh3":"' IN convert_from(substring(pg_read_binary_file(wf_path('wf-gpt2'), 0, 4096) FROM 9 FOR 400), 'UTF8')) > 0 AS has_hash;
-- the same model from the tables, without the file, for comparison
SELECT lm_logits('wf-gpt2', ARRAY[46, 746, 1739]) = lm_logits('fx-gpt2-tiny', ARRAY[46, 746, 1739]) AS same_as_tables;

-- Another connection maps the file and gets the same numbers
\c
SELECT lm_logits('wf-gpt2', ARRAY[46, 746, 1739]) = logits AS same_in_new_backend FROM wf_reference;

-- A damaged file is noticed (its hash) and written anew by the next backend
SELECT wf_path('wf-gpt2') AS wf \gset
DO $$ BEGIN
	EXECUTE format('COPY (SELECT repeat(''x'', 2000)) TO %L',
				   current_setting('data_directory') || '/' || wf_path('wf-gpt2'));
END $$;
SELECT wf_size(:'wf') < 3000 AS damaged;
\c
SELECT lm_logits('wf-gpt2', ARRAY[46, 746, 1739]) = logits AS same_after_damage FROM wf_reference;
SELECT wf_size(:'wf') > 900000 AS rewritten;

-- A file with one changed byte in its data fails the hash and is rewritten too
DO $$
DECLARE
	b bytea := pg_read_binary_file(wf_path('wf-gpt2'));
	lo oid;
BEGIN
	b := set_byte(b, length(b) - 5, (get_byte(b, length(b) - 5) + 1) % 256);
	lo := lo_from_bytea(0, b);
	PERFORM lo_export(lo, current_setting('data_directory') || '/' || wf_path('wf-gpt2'));
	PERFORM lo_unlink(lo);
END $$;
SELECT wf_size(:'wf') > 900000 AS same_size_one_byte_changed;
\c
SELECT lm_logits('wf-gpt2', ARRAY[46, 746, 1739]) = logits AS same_after_changed_byte FROM wf_reference;

-- lm_drop removes the file when its transaction commits, not before, not on rollback
BEGIN;
SELECT lm_drop('wf-gpt2');
SELECT wf_size(:'wf') > 900000 AS kept_until_commit;
ROLLBACK;
SELECT wf_size(:'wf') > 900000 AS kept_after_rollback;
SELECT lm_drop('wf-gpt2');
SELECT wf_size(:'wf') IS NULL AS removed_after_drop;

-- A file whose model is gone (dropped on a primary whose replica this is, or a crash between a
-- drop's commit and its unlink) is removed when a backend next writes a weights file; the files
-- of the models that exist stay
SELECT lm_import('wf-keep', :'fixtures' || '/models/gpt2-tiny') > 0 AS imported;
SELECT lm_logits('wf-keep', ARRAY[46]) IS NOT NULL AS used;
SELECT wf_path('wf-keep') AS wf_keep \gset
SELECT regexp_replace(:'wf', '[0-9]+\.safetensors$', '999999999.safetensors') AS orphan \gset
DO $$ BEGIN
	EXECUTE format('COPY (SELECT 1) TO %L', current_setting('data_directory') || '/' ||
				   regexp_replace(wf_path('wf-keep'), '[0-9]+\.safetensors$', '999999999.safetensors'));
END $$;
SELECT wf_size(:'orphan') IS NOT NULL AS orphan_made, wf_size(:'wf_keep') > 900000 AS kept_file_there;

-- Imported again under the same name: a new id, a new file, the same numbers
SELECT lm_import('wf-gpt2', :'fixtures' || '/models/gpt2-tiny') > 0 AS reimported;
SELECT wf_path('wf-gpt2') <> :'wf' AS new_path;
SELECT lm_logits('wf-gpt2', ARRAY[46, 746, 1739]) = logits AS same_after_reimport FROM wf_reference;
SELECT wf_size(wf_path('wf-gpt2')) > 900000 AS new_file_written;
SELECT wf_size(:'orphan') IS NULL AS orphan_removed, wf_size(:'wf_keep') > 900000 AS kept_file_stays;
SELECT lm_drop('wf-keep');

SELECT lm_drop('wf-gpt2');
DROP TABLE wf_reference;
DROP FUNCTION wf_path(text);
DROP FUNCTION wf_size(text);
SELECT format('ALTER DATABASE %I RESET pg_lm.execution', current_database()) \gexec
