-- Ownership and privileges, with three roles: an owner who imports (a
-- member of pg_read_server_files), a user the owner lets in, and another
-- role.  The model tables themselves are no role's to read or write.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o

CREATE ROLE lm_owner LOGIN IN ROLE pg_read_server_files;
CREATE ROLE lm_user LOGIN;
CREATE ROLE lm_other LOGIN;
GRANT EXECUTE ON FUNCTION fx(text), scratch(text), shared_model(text), lm_test_try(text) TO PUBLIC;
CREATE TABLE films (review text);
INSERT INTO films VALUES ('a moving, beautiful film'), ('dull and far too long');
GRANT SELECT ON films TO PUBLIC;

-- Only superusers and members of pg_read_server_files import (they read server files).
SET ROLE lm_other;
SELECT lm_test_try($$SELECT lm_import('x', scratch('sharded-ok'))$$) AS other_imports;
RESET ROLE;

SET ROLE lm_owner;
SELECT lm_import('private-clf', shared_model('sentiment-rt')) > 0 AS owner_imports;
RESET ROLE;
SELECT name, owner, users FROM lm.models WHERE name = 'private-clf';

-- By default every role may use a model.
SET ROLE lm_other;
SELECT lm_classify('private-clf', review) AS other_by_default FROM films ORDER BY review;
RESET ROLE;

-- Only the owner (or a superuser) lets roles in or out, and drops.
SET ROLE lm_user;
SELECT lm_test_try($$SELECT lm_revoke('private-clf', 'public')$$) AS user_revokes;
SELECT lm_test_try($$SELECT lm_drop('private-clf')$$) AS user_drops;
RESET ROLE;
SET ROLE lm_owner;
SELECT lm_revoke('private-clf', 'public');
SELECT lm_grant('private-clf', 'lm_user');
SELECT lm_grant('private-clf', 'lm_user');  -- once is enough
SELECT lm_test_try($$SELECT lm_grant('private-clf', 'no_such_role')$$) AS grant_unknown_role;
RESET ROLE;
SELECT name, owner, users FROM lm.models WHERE name = 'private-clf';

SET ROLE lm_user;
SELECT lm_classify('private-clf', review) AS user_granted FROM films ORDER BY review;
SELECT lm_may_use('private-clf') AS user_may_use, lm_may_use('no-such-model') AS unknown_model;
SELECT count(*) > 0 AS user_sees_sources FROM lm.model_sources WHERE model = 'private-clf';
RESET ROLE;

SET ROLE lm_other;
SELECT lm_test_try($$SELECT lm_classify('private-clf', 'a moving, beautiful film')$$) AS other_revoked;
SELECT lm_test_try($$SELECT lm_embed('private-clf', 'a moving, beautiful film')$$) AS other_embeds;
SELECT lm_may_use('private-clf') AS other_may_use;
-- listed, but not its sources (paths, training queries)
SELECT count(*) AS other_sees_model FROM lm.models WHERE name = 'private-clf';
SELECT count(*) AS other_sees_sources FROM lm.model_sources WHERE model = 'private-clf';
-- the weights are not readable, the tables not writable
SELECT lm_test_try($$SELECT count(*) FROM _lm.tensor_chunk$$) AS other_reads_weights;
SELECT lm_test_try($$DELETE FROM _lm.model$$) AS other_deletes;
RESET ROLE;

-- Members of pg_read_server_files import, but cannot edit the tables either.
SET ROLE lm_owner;
SELECT lm_test_try($$UPDATE _lm.tensor_chunk SET data = '\x00' WHERE false$$) AS owner_edits_tables;
SELECT lm_test_try($$INSERT INTO _lm.model (name, architecture, task, source, owner) VALUES ('fake', 'bert', 'x', 'x', 'lm_owner')$$) AS owner_inserts;
RESET ROLE;

-- Training needs the CREATE privilege on the database; the trainer owns the model.
SET ROLE lm_user;
SELECT lm_test_try($$SELECT lm_tfidf_train('user-tfidf', 'SELECT review FROM films')$$) AS user_trains_without_create;
RESET ROLE;
SELECT format('GRANT CREATE ON DATABASE %I TO lm_user', current_database()) \gexec
SET ROLE lm_user;
SELECT lm_tfidf_train('user-tfidf', 'SELECT review FROM films') > 0 AS user_trains;
RESET ROLE;
SELECT name, owner FROM lm.models WHERE name = 'user-tfidf';
SET ROLE lm_owner;
SELECT lm_test_try($$SELECT lm_drop('user-tfidf')$$) AS owner_drops_others_model;
RESET ROLE;
SET ROLE lm_user;
SELECT lm_drop('user-tfidf');
RESET ROLE;

-- A superuser may drop anyone's model.
SELECT lm_drop('private-clf');
SELECT format('REVOKE CREATE ON DATABASE %I FROM lm_user', current_database()) \gexec
DROP TABLE films;
DROP ROLE lm_owner;
DROP ROLE lm_user;
DROP ROLE lm_other;
