-- pg_lm 0.1: models stored in tables, Hugging Face import, tokenizers.

\echo Use "CREATE EXTENSION pg_lm" to load this file. \quit

-- Models live in the tables of schema _lm, which only pg_lm's functions
-- read and write (as the extension's owner, with a fixed search_path); the
-- schema lm holds what users query.  _lm sorts before the schemas users
-- name (lowercase letters), so pg_dump writes the models' rows before the
-- rows of user tables whose generated columns call pg_lm's functions.
CREATE SCHEMA _lm;
CREATE SCHEMA lm;

-- One row per model.  A model never changes once imported: a new version is
-- a new import under a new name.  owner and users are role names (a
-- restore into a cluster that lacks a role keeps the model, usable by
-- superusers); users holds the roles that may use the model, 'public' for
-- every role (the default).
CREATE TABLE _lm.model (
	id              bigserial PRIMARY KEY,
	name            text NOT NULL UNIQUE CHECK (name <> ''),
	architecture    text NOT NULL,      -- config.json model_type, or 'tokenizer'
	task            text NOT NULL,      -- text-generation, fill-mask, text-classification, ...
	config          jsonb,              -- config.json
	tokenizer       jsonb,              -- tokenizer.json
	generation_config jsonb,            -- generation_config.json
	pipeline        jsonb,              -- sentence-transformers pooling and normalisation
	-- chatting: the chat template (chat_template.jinja, tokenizer_config.json's,
	-- chat_template.json's, a GGUF file's tokenizer.chat_template, or
	-- lm_import's chat_template), named others ({"tool_use": ...}), and the
	-- special tokens' strings a template sees ({"bos_token": "<s>", ...})
	chat_template   text,
	chat_templates  jsonb,
	special_tokens  jsonb,
	source          text NOT NULL,      -- the path it was imported from, or the training query
	created         timestamptz NOT NULL DEFAULT now(),
	owner           name NOT NULL,
	users           name[] NOT NULL DEFAULT '{public}',
	-- how many rows of each part table the model has: a restore in
	-- progress (pg_restore -j copies the tables in parallel) is told from a
	-- complete model by them
	parts           jsonb
);

-- The other tables hang off a model's id.  They have no foreign keys:
-- pg_restore -j copies the tables in any order, and only pg_lm's functions
-- write them (lm_drop deletes a model's rows from each).

-- A model's weights file (derived from its rows, see lm.models) goes when its
-- row is deleted and the transaction commits; on a Citus cluster the trigger
-- is on every node's copy of the table, so lm_drop reaches every node's file.
CREATE FUNCTION _lm.model_deleted() RETURNS trigger
LANGUAGE C AS 'MODULE_PATHNAME', 'pglm_model_deleted';
CREATE TRIGGER model_deleted AFTER DELETE ON _lm.model
	FOR EACH ROW EXECUTE FUNCTION _lm.model_deleted();

-- Provenance: every file an import read, with its SHA-256.  content keeps the
-- bytes of files the engine reads as they are (SentencePiece .model files).
CREATE TABLE _lm.model_file (
	model_id        bigint NOT NULL,
	file            text NOT NULL,      -- path relative to the import source
	source_path     text NOT NULL,
	sha256          text NOT NULL,
	bytes           bigint NOT NULL,
	content         bytea,
	PRIMARY KEY (model_id, file)
);

-- Weights: one row per tensor, its bytes in chunks of under 1 GB.
CREATE TABLE _lm.tensor (
	model_id        bigint NOT NULL,
	name            text NOT NULL,
	dtype           text NOT NULL CHECK (dtype IN ('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL',
                                              'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K')),
	shape           bigint[] NOT NULL,
	numel           bigint NOT NULL CHECK (numel >= 0),   -- product of shape
	bytes           bigint NOT NULL CHECK (bytes >= 0),   -- quantized: rows × blocks per row × block bytes
	PRIMARY KEY (model_id, name)
);

CREATE TABLE _lm.tensor_chunk (
	model_id        bigint NOT NULL,
	tensor          text NOT NULL,
	chunk           integer NOT NULL CHECK (chunk >= 0),
	data            bytea NOT NULL,
	PRIMARY KEY (model_id, tensor, chunk)
);
-- Weights do not compress: store them out of line, uncompressed.
ALTER TABLE _lm.tensor_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

-- N-gram language models: counts of every 1..n-gram of the training texts.
CREATE TABLE _lm.ngram (
	model_id        bigint NOT NULL,
	words           text[] NOT NULL,
	count           bigint NOT NULL CHECK (count > 0)
);
CREATE INDEX ON _lm.ngram (model_id);

-- Word vectors (word2vec, GloVe, fastText .vec): one row per word, so that
-- SQL can join on words.  index is the word's position in the file, from 1
-- (the published files list words by frequency).
CREATE TABLE _lm.word_vector (
	model_id        bigint NOT NULL,
	word            text NOT NULL,
	vector          real[] NOT NULL,
	index           integer NOT NULL CHECK (index > 0),
	PRIMARY KEY (model_id, word)
);

-- Bag of words / TF-IDF vectorizers: the vocabulary in scikit-learn's order
-- and the idf of each term.  index is the term's position, from 1, in the
-- arrays lm_bow and lm_tfidf return.
CREATE TABLE _lm.tfidf_term (
	model_id        bigint NOT NULL,
	term            text NOT NULL,
	index           integer NOT NULL CHECK (index > 0),
	idf             float8 NOT NULL,
	PRIMARY KEY (model_id, index)
);

-- pg_dump keeps the models.
SELECT pg_catalog.pg_extension_config_dump('_lm.model', '');
SELECT pg_catalog.pg_extension_config_dump('_lm.model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('_lm.model_file', '');
SELECT pg_catalog.pg_extension_config_dump('_lm.tensor', '');
SELECT pg_catalog.pg_extension_config_dump('_lm.tensor_chunk', '');
SELECT pg_catalog.pg_extension_config_dump('_lm.ngram', '');
SELECT pg_catalog.pg_extension_config_dump('_lm.word_vector', '');
SELECT pg_catalog.pg_extension_config_dump('_lm.tfidf_term', '');

REVOKE ALL ON SCHEMA _lm FROM PUBLIC;

-- May the current role use the model (its owner, a superuser, a member of
-- one of its users, or every role when users holds 'public')?  false for a
-- name no model has.
CREATE FUNCTION lm_may_use(model text) RETURNS boolean
AS 'MODULE_PATHNAME', 'pglm_may_use' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Every model of the database, whoever may use it.  Classic models (word
-- vectors, fastText, TF-IDF) have no tensor rows: their config holds their
-- size (parameters, bytes, dtype).
CREATE VIEW lm.models AS
SELECT m.name,
       m.architecture,
       m.task,
       coalesce(sum(t.numel), 0)::bigint
         + CASE WHEN m.architecture IN ('word_vectors', 'fasttext', 'tfidf')
                THEN coalesce((m.config->>'parameters')::bigint, 0) ELSE 0 END AS parameters,
       coalesce(sum(t.bytes), 0)::bigint
         + CASE WHEN m.architecture IN ('word_vectors', 'fasttext', 'tfidf')
                THEN coalesce((m.config->>'bytes')::bigint, 0) ELSE 0 END AS bytes,
       CASE WHEN m.architecture IN ('word_vectors', 'fasttext', 'tfidf')
            THEN coalesce(m.config->>'dtype', '')
            ELSE coalesce(string_agg(DISTINCT t.dtype, ',' ORDER BY t.dtype), '') END AS dtype,
       m.created,
       m.owner,
       m.users,
       m.chat_template IS NOT NULL AS chat_template
FROM _lm.model m
LEFT JOIN _lm.tensor t ON t.model_id = m.id
GROUP BY m.id;

-- Where each model came from (files and their SHA-256, or the training
-- query), for those who may use it.
CREATE VIEW lm.model_sources WITH (security_barrier) AS
SELECT m.name AS model, f.file, f.source_path, f.sha256, f.bytes
FROM _lm.model m
JOIN _lm.model_file f ON f.model_id = m.id
WHERE lm_may_use(m.name)
UNION ALL
SELECT m.name, NULL, m.source, NULL, NULL
FROM _lm.model m
WHERE lm_may_use(m.name) AND NOT EXISTS (SELECT FROM _lm.model_file f WHERE f.model_id = m.id);

-- Each model's configuration (config.json, or what a GGUF file's metadata
-- says, with the metadata itself under "gguf_metadata"), for those who may use it.
CREATE VIEW lm.model_configs WITH (security_barrier) AS
SELECT m.name AS model, m.config
FROM _lm.model m
WHERE lm_may_use(m.name);

-- Each model's chat template, its named others and the special tokens' strings
-- a template sees, for those who may use it.
CREATE VIEW lm.chat_templates WITH (security_barrier) AS
SELECT m.name AS model, m.chat_template, m.chat_templates, m.special_tokens
FROM _lm.model m
WHERE lm_may_use(m.name) AND (m.chat_template IS NOT NULL OR m.chat_templates IS NOT NULL);

-- The words of word-vector models, by model name, for those who may use them.
CREATE VIEW lm.word_vectors WITH (security_barrier) AS
SELECT m.name AS model, w.word, w.vector
FROM _lm.word_vector w
JOIN _lm.model m ON m.id = w.model_id
WHERE lm_may_use(m.name);

GRANT USAGE ON SCHEMA lm TO PUBLIC;
GRANT SELECT ON lm.models, lm.model_sources, lm.model_configs, lm.chat_templates, lm.word_vectors TO PUBLIC;

-- The model server ------------------------------------------------------------

-- What the cluster's model server says of itself and of the models of this
-- database it has loaded (ERROR when it is not running).
CREATE FUNCTION lm_server_status() RETURNS jsonb
AS 'MODULE_PATHNAME', 'pglm_server_status' LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW lm.server AS
SELECT (s->>'pid')::int AS pid,
       to_timestamp((s->>'started')::bigint) AS started,
       date_trunc('second', now() - to_timestamp((s->>'started')::bigint)) AS uptime,
       (s->>'restarts')::int AS restarts,
       s->>'device' AS device,
       (s->>'threads')::int AS threads,
       (s->>'memory_limit')::bigint AS memory_limit,
       (s->>'sessions')::int AS sessions,
       (s->>'requests')::bigint AS requests
FROM lm_server_status() s;

CREATE VIEW lm.server_models AS
SELECT m->>'name' AS name,
       (m->>'model_id')::bigint AS model_id,
       m->>'device' AS device,
       (m->>'bytes')::bigint AS bytes,
       (m->>'requests')::bigint AS requests,
       (m->>'failures')::bigint AS failures,
       (m->>'running')::int AS running,
       (m->>'queued')::int AS queued,
       (m->>'generating')::int AS generating,
       (m->>'busy_seconds')::float8 AS busy_seconds,
       (m->>'batches')::bigint AS batches,
       round((m->>'batched_requests')::numeric / nullif((m->>'batches')::bigint, 0), 2) AS mean_batch,
       (m->>'decode_steps')::bigint AS decode_steps,
       round((m->>'decoded_tokens')::numeric / nullif((m->>'decode_steps')::bigint, 0), 2) AS mean_decode_batch,
       round((m->>'decoded_tokens')::numeric / nullif((m->>'decode_seconds')::numeric, 0), 1) AS decode_tokens_per_second
FROM lm_server_status() s, jsonb_array_elements(s->'models') m;

GRANT SELECT ON lm.server, lm.server_models TO PUBLIC;

-- Models --------------------------------------------------------------------

-- chat_template, when given, is the model's chat template whatever its files say.
CREATE FUNCTION lm_import(name text, path text, format text DEFAULT 'auto', quantize text DEFAULT 'none',
                          chat_template text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pglm_import'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;

COMMENT ON FUNCTION lm_import(text, text, text, text, text) IS
'import a model from a server-side Hugging Face directory, GGUF file, tokenizer.json or SentencePiece .model file (quantize => ''q8_0'' stores its weight matrices in 8 bits; chat_template => overrides its chat template); returns its id';

CREATE FUNCTION lm_drop(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'pglm_drop'
LANGUAGE C VOLATILE STRICT;

-- The models this session keeps loaded (pg_lm.cache_models), most recently used first.
CREATE FUNCTION lm_loaded_models(OUT name text, OUT id bigint, OUT bytes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pglm_loaded_models'
LANGUAGE C VOLATILE;

-- Who may use a model: its owner (or a superuser) grants and revokes.
CREATE FUNCTION lm_grant(model text, role text)
RETURNS void
AS 'MODULE_PATHNAME', 'pglm_grant'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION lm_revoke(model text, role text)
RETURNS void
AS 'MODULE_PATHNAME', 'pglm_revoke'
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

-- Functions that run a model declare COST 10000 (a model call costs about as
-- much as reading thousands of rows), so the planner evaluates cheaper
-- conditions first.

-- Encoders -----------------------------------------------------------------

CREATE FUNCTION lm_embed(model text, input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION lm_similarity(model text, a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION lm_classify(model text, input text)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION lm_classify_scores(model text, input text)
RETURNS TABLE (label text, score float8)
AS 'MODULE_PATHNAME', 'pglm_classify_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2 COST 10000;

-- The same three on token ids (as lm_tokenize gives them), for inputs
-- tokenized elsewhere or cut to a length.
CREATE FUNCTION lm_embed(model text, ids integer[])
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION lm_classify(model text, ids integer[])
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION lm_classify_scores(model text, ids integer[])
RETURNS TABLE (label text, score float8)
AS 'MODULE_PATHNAME', 'pglm_classify_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2 COST 10000;

CREATE FUNCTION lm_fill_mask(model text, input text, k integer DEFAULT 5)
RETURNS TABLE (token text, score float8)
AS 'MODULE_PATHNAME', 'pglm_fill_mask'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5 COST 10000;

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
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;

-- The same from token ids (as lm_tokenize gives them), fed as they are.
CREATE FUNCTION lm_generate(model text, ids integer[], max_tokens integer DEFAULT 64,
                            temperature float8 DEFAULT 0, top_k integer DEFAULT 0,
                            top_p float8 DEFAULT 1, seed bigint DEFAULT NULL,
                            stop text[] DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_generate'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;

-- Chat: messages (a JSON array of {"role": ..., "content": ...} objects, tool
-- calls and tool messages as the template reads them) rendered with the
-- model's chat template, as transformers' apply_chat_template renders them
-- (bos_token, eos_token and the other special tokens' strings, tools,
-- documents, then template_kwargs; with continue_final_message the prompt
-- ends after the last message's text, for the model to continue it); the
-- prompt is tokenized as the template wrote it (its special tokens matched,
-- no BOS added).  lm_chat_prompt is STABLE: a
-- template may read the date (strftime_now, the transaction's start).
CREATE FUNCTION lm_chat_prompt(model text, messages jsonb, add_generation_prompt boolean DEFAULT true,
                               tools jsonb DEFAULT NULL, template_kwargs jsonb DEFAULT NULL,
                               documents jsonb DEFAULT NULL, continue_final_message boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_chat_prompt'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;

-- The assistant's reply: lm_generate on the rendered prompt (generation
-- prompt added), ending at the model's end of turn (its eos ids, those of
-- generation_config.json, the tokenizer's eos_token and the special token
-- the template ends an assistant turn with), not part of the reply.
CREATE FUNCTION lm_chat(model text, messages jsonb, max_tokens integer DEFAULT 256,
                        temperature float8 DEFAULT 0, top_k integer DEFAULT 0,
                        top_p float8 DEFAULT 1, seed bigint DEFAULT NULL,
                        stop text[] DEFAULT NULL, tools jsonb DEFAULT NULL,
                        template_kwargs jsonb DEFAULT NULL, documents jsonb DEFAULT NULL,
                        continue_final_message boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_chat'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;

CREATE FUNCTION lm_logits(model text, ids integer[])
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_logits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

-- An encoder-decoder's next-token logits after decoder_ids, given the source.
CREATE FUNCTION lm_logits(model text, source_ids integer[], decoder_ids integer[])
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_seq2seq_logits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION lm_score(model text, input text)
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION lm_perplexity(model text, input text)
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_perplexity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

-- Zero- and few-shot classification with a generative model: the label whose
-- tokens the model finds most likely after the prompt.
CREATE FUNCTION lm_classify(model text, input text, labels text[], template text DEFAULT NULL,
                            examples jsonb DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_classify_labels'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;

-- Encoder-decoders ----------------------------------------------------------

-- Translate with a T5, NLLB (M2M100) or Marian model; language codes as the
-- model's tokenizer names them (eng_Latn, deu_Latn, ...).  length_penalty and
-- early_stopping ('true', 'false', 'never') default to generation_config.json.
CREATE FUNCTION lm_translate(model text, input text, source_lang text DEFAULT NULL,
                             target_lang text DEFAULT NULL, beams integer DEFAULT 4,
                             max_tokens integer DEFAULT 128, length_penalty float8 DEFAULT NULL,
                             early_stopping text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pglm_translate'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;

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

-- Cosine similarity of two vectors (NULL when either is zero).
CREATE FUNCTION lm_cosine(a real[], b real[])
RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_cosine'
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

-- Classic models: word vectors, fastText, bag of words and TF-IDF ------------
-- lm_import reads word2vec (binary or text), GloVe text, fastText .vec and
-- fastText .bin/.ftz files; lm_embed, lm_similarity, lm_classify and
-- lm_classify_scores also serve these models (see README).

-- The vector of a word; NULL for a word the model does not know.  fastText
-- models build the vectors of unseen words from their character n-grams.
CREATE FUNCTION lm_word_vector(model text, word text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_word_vector'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The k words whose vectors have the highest cosine with the query word's
-- (the word itself left out); no rows for an unknown word.
CREATE FUNCTION lm_most_similar(model text, query text, k integer DEFAULT 10)
RETURNS TABLE (word text, similarity float8)
AS 'MODULE_PATHNAME', 'pglm_most_similar'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

-- The k words nearest a vector of the model's dimension (none for a zero vector).
CREATE FUNCTION lm_most_similar(model text, vector real[], k integer DEFAULT 10)
RETURNS TABLE (word text, similarity float8)
AS 'MODULE_PATHNAME', 'pglm_most_similar_vector'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

-- a is to b as c is to ?: the k words nearest b - a + c (3CosAdd), leaving
-- out a, b and c; lm_analogy(m, 'man', 'king', 'woman') gives queen.
-- combine 'raw' adds the vectors as stored; 'unit' makes each unit length
-- first, as gensim's most_similar.  No rows when a word is unknown.
CREATE FUNCTION lm_analogy(model text, a text, b text, c text, k integer DEFAULT 5,
                           combine text DEFAULT 'raw')
RETURNS TABLE (word text, similarity float8)
AS 'MODULE_PATHNAME', 'pglm_analogy'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5;

-- A bag of words / TF-IDF vectorizer fitted on the texts a query returns
-- (its first column), as scikit-learn's TfidfVectorizer with the same
-- options.  min_df and max_df below 1 are proportions of the documents and
-- whole values above 1 are document counts; 1 is one document for min_df
-- (the default: every term) and all documents for max_df (the default: no
-- upper bound), as scikit-learn's min_df=1 and max_df=1.0.  max_features
-- NULL keeps every term; token_pattern NULL is scikit-learn's (?u)\b\w\w+\b;
-- norm is 'l2', 'l1' or 'none'.
CREATE FUNCTION lm_tfidf_train(name text, query text, lowercase boolean DEFAULT true,
                               min_df float8 DEFAULT 1, max_df float8 DEFAULT 1.0,
                               max_features integer DEFAULT NULL,
                               ngram_min integer DEFAULT 1, ngram_max integer DEFAULT 1,
                               sublinear_tf boolean DEFAULT false, smooth_idf boolean DEFAULT true,
                               norm text DEFAULT 'l2', token_pattern text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pglm_tfidf_train'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;

-- The counts of every vocabulary term in a text (CountVectorizer), dense,
-- in vocabulary order: element i is the term of index i in lm_vocabulary.
CREATE FUNCTION lm_bow(model text, input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_bow'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The TF-IDF row of a text (TfidfVectorizer.transform), dense, in vocabulary order.
CREATE FUNCTION lm_tfidf(model text, input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'pglm_tfidf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The vocabulary of a TF-IDF model: index (from 1), term and idf.
CREATE FUNCTION lm_vocabulary(model text)
RETURNS TABLE (index integer, term text, idf float8)
AS 'MODULE_PATHNAME', 'pglm_vocabulary'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;

COMMENT ON FUNCTION lm_word_vector(text, text) IS
'the vector of a word; NULL when a word-vector model does not know it (fastText builds one from subwords)';
COMMENT ON FUNCTION lm_most_similar(text, text, integer) IS
'the k words nearest a word by cosine, the word itself left out; no rows for an unknown word';
COMMENT ON FUNCTION lm_analogy(text, text, text, text, integer, text) IS
'a is to b as c is to ?: the k words nearest b - a + c (3CosAdd), leaving out a, b and c; no rows for an unknown word';
COMMENT ON FUNCTION lm_tfidf_train(text, text, boolean, float8, float8, integer, integer, integer, boolean, boolean, text, text) IS
'fit a scikit-learn-compatible bag of words / TF-IDF vectorizer on the texts a query returns; min_df and max_df below 1 are proportions, whole values above 1 document counts';

-- Word vectors trained in the database: skip-gram with negative sampling, as
-- word2vec.c and gensim's Word2Vec(sg=1, hs=0), over the texts a query
-- returns (its first column, text).  Each text is one sentence of lowercased
-- words (the tokenizer of lm_ngram_train).  Words seen fewer than min_count
-- times are dropped; sample thins out frequent words (0 turns it off); the
-- learning rate falls linearly from alpha to min_alpha; a seed gives the
-- same vectors again.  The result is a word-vector model (architecture
-- word_vectors, one lm.word_vector row per word, most frequent first) that
-- lm_word_vector, lm_most_similar, lm_analogy, lm_similarity and lm_embed
-- use like an imported one; its config holds the options and corpus counts.
-- "window" is a reserved word: in named notation write "window" => 3.
CREATE FUNCTION lm_word2vec_train(name text, query text, dim integer DEFAULT 100,
                                  "window" integer DEFAULT 5, negative integer DEFAULT 5,
                                  epochs integer DEFAULT 5, min_count integer DEFAULT 5,
                                  seed bigint DEFAULT 1, sample float8 DEFAULT 1e-3,
                                  alpha float8 DEFAULT 0.025, min_alpha float8 DEFAULT 0.0001)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pglm_word2vec_train'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;

COMMENT ON FUNCTION lm_word2vec_train(text, text, integer, integer, integer, integer, integer, bigint, float8, float8, float8) IS
'train word vectors (skip-gram, negative sampling) on the texts a query returns; a word-vector model for lm_most_similar, lm_analogy, lm_similarity';

-- Distances between real[] vectors, with pgvector's operators and meanings:
-- a query moves between the two by changing only the column's type.
CREATE FUNCTION lm_l2_distance(real[], real[]) RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lm_cosine_distance(real[], real[]) RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lm_negative_inner_product(real[], real[]) RETURNS float8
AS 'MODULE_PATHNAME', 'pglm_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <-> (LEFTARG = real[], RIGHTARG = real[], FUNCTION = lm_l2_distance, COMMUTATOR = '<->');
CREATE OPERATOR <=> (LEFTARG = real[], RIGHTARG = real[], FUNCTION = lm_cosine_distance, COMMUTATOR = '<=>');
CREATE OPERATOR <#> (LEFTARG = real[], RIGHTARG = real[], FUNCTION = lm_negative_inner_product, COMMUTATOR = '<#>');

-- ---- similarity indexes: lm_hnsw ------------------------------------------------------------

CREATE FUNCTION lm_hnsw_handler(internal) RETURNS index_am_handler
AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE ACCESS METHOD lm_hnsw TYPE INDEX HANDLER lm_hnsw_handler;
COMMENT ON ACCESS METHOD lm_hnsw IS 'HNSW similarity index over real[] (pg_lm)';

CREATE OPERATOR CLASS real_cosine_ops DEFAULT FOR TYPE real[] USING lm_hnsw AS
	OPERATOR 1 <=> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 lm_cosine_distance(real[], real[]);
CREATE OPERATOR CLASS real_l2_ops FOR TYPE real[] USING lm_hnsw AS
	OPERATOR 1 <-> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 lm_l2_distance(real[], real[]);
CREATE OPERATOR CLASS real_ip_ops FOR TYPE real[] USING lm_hnsw AS
	OPERATOR 1 <#> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 lm_negative_inner_product(real[], real[]);

-- amcheck-like verification of an lm_hnsw index (superusers, as amcheck's are)
CREATE FUNCTION lm_hnsw_check(index regclass, OUT elements bigint, OUT live bigint,
	OUT deleted bigint, OUT freed bigint, OUT unreachable bigint)
AS 'MODULE_PATHNAME', 'pglm_hnsw_check' LANGUAGE C STRICT;
REVOKE EXECUTE ON FUNCTION lm_hnsw_check(regclass) FROM PUBLIC;

-- Scale-out on Citus ----------------------------------------------------------

-- On a Citus coordinator, after CREATE EXTENSION pg_lm: pg_lm's tables become
-- Citus reference tables, so every node holds every model (a node added
-- later receives them when it joins), and lm_import, lm_drop, the trainers
-- and grants on the coordinator reach every node in the same transaction.
-- pg_lm reads its own tables with citus.allow_nested_distributed_execution
-- on, so its functions also run inside the shards' tasks.  Idempotent;
-- superusers only.
CREATE FUNCTION lm_citus_setup() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	t regclass;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
		RAISE EXCEPTION 'Citus is not installed in this database'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Run CREATE EXTENSION citus on the coordinator first; lm_citus_setup is for Citus clusters.';
	END IF;
	FOREACH t IN ARRAY ARRAY['_lm.model', '_lm.model_file', '_lm.tensor', '_lm.tensor_chunk', '_lm.ngram',
							 '_lm.word_vector', '_lm.tfidf_term']::regclass[] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = t) THEN
			-- _lm.model has a trigger (model_deleted), which Citus refuses
			-- on a reference table unless told; it only removes a local file
			PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
			PERFORM create_reference_table(t);
		END IF;
	END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION lm_citus_setup() FROM PUBLIC;
