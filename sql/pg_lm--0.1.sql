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

-- N-gram language models: counts of every 1..n-gram of the training texts.
CREATE TABLE lm.ngram (
	model_id        bigint NOT NULL REFERENCES lm.model ON DELETE CASCADE,
	words           text[] NOT NULL,
	count           bigint NOT NULL CHECK (count > 0)
);
CREATE INDEX ON lm.ngram (model_id);

-- pg_dump keeps the models.
SELECT pg_catalog.pg_extension_config_dump('lm.model', '');
SELECT pg_catalog.pg_extension_config_dump('lm.model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('lm.model_file', '');
SELECT pg_catalog.pg_extension_config_dump('lm.tensor', '');
SELECT pg_catalog.pg_extension_config_dump('lm.tensor_chunk', '');
SELECT pg_catalog.pg_extension_config_dump('lm.ngram', '');

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
GRANT INSERT, DELETE ON lm.model, lm.model_file, lm.tensor, lm.tensor_chunk, lm.ngram TO pg_read_server_files;
GRANT USAGE ON SEQUENCE lm.model_id_seq TO pg_read_server_files;

-- Models --------------------------------------------------------------------

CREATE FUNCTION lm_import(name text, path text, format text DEFAULT 'auto')
RETURNS bigint
AS 'MODULE_PATHNAME', 'pglm_import'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION lm_import(text, text, text) IS
'import a model from a server-side Hugging Face directory, tokenizer.json or SentencePiece .model file; returns its id';

CREATE FUNCTION lm_drop(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'pglm_drop'
LANGUAGE C VOLATILE STRICT;

-- Text ----------------------------------------------------------------------

CREATE FUNCTION lm_tokenize(model text, input text, add_special_tokens boolean DEFAULT true)
RETURNS integer[]
AS 'MODULE_PATHNAME', 'pglm_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_tokens(model text, input text, add_special_tokens boolean DEFAULT true)
RETURNS text[]
AS 'MODULE_PATHNAME', 'pglm_tokens'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_detokenize(model text, ids integer[], skip_special_tokens boolean DEFAULT true)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_detokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Encoders -----------------------------------------------------------------

CREATE FUNCTION lm_embed(model text, input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_similarity(model text, a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_classify(model text, input text)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_classify_scores(model text, input text)
RETURNS TABLE (label text, score float8)
AS 'MODULE_PATHNAME', 'pglm_classify_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2;

CREATE FUNCTION lm_fill_mask(model text, input text, k integer DEFAULT 5)
RETURNS TABLE (token text, score float8)
AS 'MODULE_PATHNAME', 'pglm_fill_mask'
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
AS 'MODULE_PATHNAME', 'pglm_generate'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION lm_logits(model text, ids integer[])
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_logits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_score(model text, input text)
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_perplexity(model text, input text)
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_perplexity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Zero- and few-shot classification with a generative model: the label whose
-- tokens the model finds most likely after the prompt.
CREATE FUNCTION lm_classify(model text, input text, labels text[], template text DEFAULT NULL,
                            examples jsonb DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_classify_labels'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

-- Measures -----------------------------------------------------------------

-- chrF (word_order 0) and chrF++ (word_order 2) as sacrebleu computes them.
CREATE FUNCTION lm_chrf(hyp text, ref text, char_order integer DEFAULT 6,
                        word_order integer DEFAULT 0, beta float8 DEFAULT 2)
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_chrf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Sentence BLEU as sacrebleu's sentence_bleu: 13a tokenisation, exp smoothing.
CREATE FUNCTION lm_bleu(hyp text, ref text)
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_bleu'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Longest common subsequence of the two texts' words.
CREATE FUNCTION lm_lcs(a text, b text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pglm_lcs'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lm_chrf_agg_step(float8[], text, text)
RETURNS float8[] AS 'MODULE_PATHNAME', 'pglm_chrf_agg_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lm_chrf_agg_step(float8[], text, text, integer, integer, float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'pglm_chrf_agg_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lm_chrf_agg_final(float8[])
RETURNS float8 AS 'MODULE_PATHNAME', 'pglm_chrf_agg_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lm_chrf_agg_combine(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'pglm_chrf_agg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lm_bleu_agg_step(float8[], text, text)
RETURNS float8[] AS 'MODULE_PATHNAME', 'pglm_bleu_agg_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lm_bleu_agg_final(float8[])
RETURNS float8 AS 'MODULE_PATHNAME', 'pglm_bleu_agg_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lm_bleu_agg_combine(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'pglm_bleu_agg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Corpus-level chrF and BLEU: statistics summed over the rows, then scored.
CREATE AGGREGATE lm_chrf_agg(hyp text, ref text) (
	SFUNC = lm_chrf_agg_step, STYPE = float8[], FINALFUNC = lm_chrf_agg_final,
	COMBINEFUNC = lm_chrf_agg_combine, PARALLEL = SAFE);
CREATE AGGREGATE lm_chrf_agg(hyp text, ref text, char_order integer, word_order integer, beta float8) (
	SFUNC = lm_chrf_agg_step, STYPE = float8[], FINALFUNC = lm_chrf_agg_final,
	COMBINEFUNC = lm_chrf_agg_combine, PARALLEL = SAFE);
CREATE AGGREGATE lm_bleu_agg(hyp text, ref text) (
	SFUNC = lm_bleu_agg_step, STYPE = float8[], FINALFUNC = lm_bleu_agg_final,
	COMBINEFUNC = lm_bleu_agg_combine, PARALLEL = SAFE);

-- Classic models ------------------------------------------------------------

-- An n-gram language model of the texts a query returns (its first column).
-- smoothing: mle, laplace, kneser_ney (interpolated, discount 0.1), as NLTK.
CREATE FUNCTION lm_ngram_train(name text, query text, n integer DEFAULT 3,
                               smoothing text DEFAULT 'kneser_ney', lowercase boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pglm_ngram_train'
LANGUAGE C VOLATILE STRICT;

-- The k likeliest next words after a context (the start of a sentence).
CREATE FUNCTION lm_next_word(model text, context text, k integer DEFAULT 5)
RETURNS TABLE (word text, probability float8)
AS 'MODULE_PATHNAME', 'pglm_next_word'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5;
