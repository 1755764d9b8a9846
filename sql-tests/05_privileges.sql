-- Only superusers and members of pg_read_server_files may import or drop.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

CREATE ROLE lm_reader LOGIN;
CREATE ROLE lm_importer LOGIN IN ROLE pg_read_server_files;
GRANT EXECUTE ON FUNCTION fx(text), scratch(text), lm_test_try(text) TO PUBLIC;

SET ROLE lm_reader;
SELECT lm_test_try($$SELECT lm_import('x', scratch('sharded-ok'))$$);
SELECT lm_test_try($$SELECT lm_drop('fx-gpt2-tiny')$$);
-- Anyone may use an imported model.
SELECT lm_tokenize('fx-gpt2-tiny', 'A man in a') IS NOT NULL AS reader_can_tokenize;
RESET ROLE;

SET ROLE lm_importer;
SELECT lm_import('imported-by-member', scratch('sharded-ok')) > 0 AS member_can_import;
SELECT lm_drop('imported-by-member');
RESET ROLE;

DROP ROLE lm_reader;
DROP ROLE lm_importer;
