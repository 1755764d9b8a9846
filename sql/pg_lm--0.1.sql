-- pg_lm 0.1: models stored in tables, Hugging Face import, tokenizers.

\echo Use "CREATE EXTENSION pg_lm" to load this file. \quit

CREATE SCHEMA lm;

-- One row per imported model.  A model never changes once imported: a new
-- version is a new import under a new name.
CREATE TABLE lm.model (
	id              bigserial PRIMARY KEY,
	name            text NOT NULL UNIQUE CHECK (name <> ''),
	architecture    text NOT NULL,      -- config.json model_type, or 'tokenizer'
	task            text NOT NULL,      -- text-generation, fill-mask, text-classification, ...
	config          jsonb,              -- config.json
	tokenizer       jsonb,              -- tokenizer.json
	generation_config jsonb,            -- generation_config.json
	pipeline        jsonb,              -- sentence-transformers pooling and normalisation
	source          text NOT NULL,      -- the path it was imported from
	created         timestamptz NOT NULL DEFAULT now()
);

-- Provenance: every file an import read, with its SHA-256.  content keeps the
-- bytes of files the engine reads as they are (SentencePiece .model files).
CREATE TABLE lm.model_file (
	model_id        bigint NOT NULL REFERENCES lm.model ON DELETE CASCADE,
	file            text NOT NULL,      -- path relative to the import source
	source_path     text NOT NULL,
	sha256          text NOT NULL,
	bytes           bigint NOT NULL,
	content         bytea,
	PRIMARY KEY (model_id, file)
);

-- Weights: one row per tensor, its bytes in chunks of under 1 GB.
CREATE TABLE lm.tensor (
	model_id        bigint NOT NULL REFERENCES lm.model ON DELETE CASCADE,
	name            text NOT NULL,
	dtype           text NOT NULL CHECK (dtype IN ('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL')),
	shape           bigint[] NOT NULL,
	numel           bigint NOT NULL CHECK (numel >= 0),   -- product of shape
	bytes           bigint NOT NULL CHECK (bytes >= 0),
	PRIMARY KEY (model_id, name)
);

CREATE TABLE lm.tensor_chunk (
	model_id        bigint NOT NULL,
	tensor          text NOT NULL,
	chunk           integer NOT NULL CHECK (chunk >= 0),
	data            bytea NOT NULL,
	PRIMARY KEY (model_id, tensor, chunk),
	FOREIGN KEY (model_id, tensor) REFERENCES lm.tensor (model_id, name) ON DELETE CASCADE
);
-- Weights do not compress: store them out of line, uncompressed.
ALTER TABLE lm.tensor_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

-- pg_dump keeps the models.
SELECT pg_catalog.pg_extension_config_dump('lm.model', '');
SELECT pg_catalog.pg_extension_config_dump('lm.model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('lm.model_file', '');
SELECT pg_catalog.pg_extension_config_dump('lm.tensor', '');
SELECT pg_catalog.pg_extension_config_dump('lm.tensor_chunk', '');

CREATE VIEW lm.models AS
SELECT m.name,
       m.architecture,
       m.task,
       coalesce(sum(t.numel), 0)::bigint AS parameters,
       coalesce(sum(t.bytes), 0)::bigint AS bytes,
       coalesce(string_agg(DISTINCT t.dtype, ',' ORDER BY t.dtype), '') AS dtype,
       m.created
FROM lm.model m
LEFT JOIN lm.tensor t ON t.model_id = m.id
GROUP BY m.id;

GRANT USAGE ON SCHEMA lm TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA lm TO PUBLIC;
-- Importing reads server files, so it is for superusers and members of
-- pg_read_server_files; they also need to write the model tables.
GRANT INSERT, DELETE ON lm.model, lm.model_file, lm.tensor, lm.tensor_chunk TO pg_read_server_files;
GRANT USAGE ON SEQUENCE lm.model_id_seq TO pg_read_server_files;

-- Models --------------------------------------------------------------------

CREATE FUNCTION lm_import(name text, path text, format text DEFAULT 'auto')
RETURNS bigint
AS 'MODULE_PATHNAME', 'lm_import'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION lm_import(text, text, text) IS
'import a model from a server-side Hugging Face directory, tokenizer.json or SentencePiece .model file; returns its id';

CREATE FUNCTION lm_drop(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'lm_drop'
LANGUAGE C VOLATILE STRICT;

-- Text ----------------------------------------------------------------------

CREATE FUNCTION lm_tokenize(model text, input text, add_special_tokens boolean DEFAULT true)
RETURNS integer[]
AS 'MODULE_PATHNAME', 'lm_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_tokens(model text, input text, add_special_tokens boolean DEFAULT true)
RETURNS text[]
AS 'MODULE_PATHNAME', 'lm_tokens'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_detokenize(model text, ids integer[], skip_special_tokens boolean DEFAULT true)
RETURNS text
AS 'MODULE_PATHNAME', 'lm_detokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Encoders -----------------------------------------------------------------

CREATE FUNCTION lm_embed(model text, input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'lm_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_similarity(model text, a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'lm_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_classify(model text, input text)
RETURNS text
AS 'MODULE_PATHNAME', 'lm_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_classify_scores(model text, input text)
RETURNS TABLE (label text, score float8)
AS 'MODULE_PATHNAME', 'lm_classify_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2;

CREATE FUNCTION lm_fill_mask(model text, input text, k integer DEFAULT 5)
RETURNS TABLE (token text, score float8)
AS 'MODULE_PATHNAME', 'lm_fill_mask'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5;

-- Decoders -----------------------------------------------------------------

-- Sampling without a seed draws a new one each call, so lm_generate is
-- VOLATILE; greedy decoding (temperature 0) or a seed gives the same text
-- every time.
CREATE FUNCTION lm_generate(model text, prompt text, max_tokens integer DEFAULT 64,
                            temperature float8 DEFAULT 0, top_k integer DEFAULT 0,
                            top_p float8 DEFAULT 1, seed bigint DEFAULT NULL,
                            stop text[] DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'lm_generate_text'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION lm_logits(model text, ids integer[])
RETURNS real[]
AS 'MODULE_PATHNAME', 'lm_logits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_score(model text, input text)
RETURNS float8
AS 'MODULE_PATHNAME', 'lm_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_perplexity(model text, input text)
RETURNS float8
AS 'MODULE_PATHNAME', 'lm_perplexity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Zero- and few-shot classification with a generative model: the label whose
-- tokens the model finds most likely after the prompt.
CREATE FUNCTION lm_classify(model text, input text, labels text[], template text DEFAULT NULL,
                            examples jsonb DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'lm_classify_labels'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
