-- Chat templates: lm_chat_prompt renders a model's template as transformers'
-- apply_chat_template renders it; lm_chat answers with lm_generate's
-- generation from that prompt, ending at the end of the assistant's turn.
-- The models (scripts/make-chat-models.py): a Llama-shaped model of random
-- weights with Llama 2's tokenizer and a real template in its
-- tokenizer_config.json (Mistral Nemo's: <s>[INST]...[/INST]reply</s>), a copy
-- whose generation_config.json ends generation at a token its reply holds,
-- tokenizer files alone, and GGUF files with tokenizer.chat_template.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false),
       set_config('lm_test.scratch', :'scratch', false);
\o
\set chat :scratch/chat
CREATE FUNCTION pg_temp.argmax(v real[]) RETURNS int LANGUAGE sql AS
$$ SELECT (i - 1)::int FROM unnest(v) WITH ORDINALITY u(x, i) ORDER BY x DESC, i LIMIT 1 $$;
CREATE TEMP TABLE conv (name text PRIMARY KEY, messages jsonb);
INSERT INTO conv VALUES
	('one', '[{"role": "user", "content": "What is the capital of France?"}]'),
	('turns', '[{"role": "system", "content": "Be brief."},
	            {"role": "user", "content": "Hello"},
	            {"role": "assistant", "content": "Hi there"},
	            {"role": "user", "content": "Name a city"}]');

-- the template and special tokens come with the model (tokenizer_config.json)
SELECT lm_import('chat-llama', :'chat' || '/llama-chat') > 0 AS imported;
SELECT name, architecture, task, chat_template FROM lm.models WHERE name = 'chat-llama';
SELECT model, chat_template = pg_read_file(:'chat' || '/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja') AS same_template,
       chat_templates, special_tokens
FROM lm.chat_templates WHERE model = 'chat-llama';
-- rendered: bos_token, [INST]...[/INST], each assistant turn closed by eos_token, the system
-- message before the last user message
SELECT name, lm_chat_prompt('chat-llama', messages) FROM conv ORDER BY name;

-- lm_chat is lm_generate on the prompt tokenized as apply_chat_template tokenizes it: the
-- template's <s> is the BOS (id 1) and none is added (lm_generate on the text would add a second)
SELECT name, (lm_tokenize('chat-llama', lm_chat_prompt('chat-llama', messages), false))[1:2] AS chat_ids,
       (lm_tokenize('chat-llama', lm_chat_prompt('chat-llama', messages)))[1:2] AS text_ids
FROM conv ORDER BY name;
SELECT name, t, reply <> '' AS replies,
       reply = lm_generate('chat-llama', lm_tokenize('chat-llama', lm_chat_prompt('chat-llama', messages), false),
                           24, t, 20, 0.9, 7) AS same_as_lm_generate
FROM conv, unnest(ARRAY[0, 0.8]) t,
     LATERAL (SELECT lm_chat('chat-llama', messages, 24, t, 20, 0.9, 7) AS reply OFFSET 0) r
ORDER BY name, t;

-- the end of the turn: the copy whose generation_config.json ends generation at a token
-- (scripts/make-chat-models.py: 11719) stops before it where the reply has it, and the
-- reply is what the first tokens decode to; lm_generate stops at config.json's eos only
SELECT lm_import('chat-llama-eot', :'chat' || '/llama-chat-eot') > 0 AS imported;
WITH RECURSIVE prompt AS (
	SELECT lm_tokenize('chat-llama', lm_chat_prompt('chat-llama', messages), false) AS ids
	FROM conv WHERE name = 'one'
), greedy(ids, n) AS (
	SELECT ids, 0 FROM prompt
	UNION ALL
	SELECT ids || pg_temp.argmax(lm_logits('chat-llama', ids)), n + 1 FROM greedy WHERE n < 24
), generated AS (
	SELECT g.ids[cardinality(p.ids) + 1:] AS new FROM greedy g, prompt p WHERE g.n = 24
)
SELECT array_position(new, 11719) AS end_at,
       lm_chat('chat-llama', c.messages, 24) = lm_detokenize('chat-llama', new[1:coalesce(array_position(new, 2) - 1, 24)])
         AS full_reply_is_greedy,
       lm_chat('chat-llama-eot', c.messages, 24) = lm_detokenize('chat-llama', new[1:array_position(new, 11719) - 1])
         AS stops_at_end_of_turn,
       lm_generate('chat-llama-eot', lm_tokenize('chat-llama', lm_chat_prompt('chat-llama', c.messages), false), 24)
         = lm_chat('chat-llama', c.messages, 24) AS lm_generate_goes_on
FROM generated, conv c WHERE c.name = 'one';

-- stop strings end the reply before the first of them
SELECT lm_chat('chat-llama', messages, 24, stop => ARRAY[substr(reply, 6, 3)]) = left(reply, strpos(reply, substr(reply, 6, 3)) - 1)
         AS stops_at_string,
       strpos(reply, substr(reply, 6, 3)) < length(reply) AS cut_short
FROM conv, LATERAL (SELECT lm_chat('chat-llama', messages, 24) AS reply OFFSET 0) r WHERE name = 'one';

-- the documented uses: a conversation kept in a table, a batch of questions
CREATE TEMP TABLE turns (conversation int, turn int, role text, content text);
INSERT INTO turns VALUES (1, 3, 'user', 'Name a city'), (1, 1, 'user', 'Hello'), (1, 2, 'assistant', 'Hi there'),
	(2, 1, 'user', 'What is the capital of France?');
SELECT conversation,
       lm_chat('chat-llama', jsonb_agg(jsonb_build_object('role', role, 'content', content) ORDER BY turn), 16)
         = lm_generate('chat-llama', lm_tokenize('chat-llama', lm_chat_prompt('chat-llama',
             jsonb_agg(jsonb_build_object('role', role, 'content', content) ORDER BY turn)), false), 16) AS same
FROM turns GROUP BY conversation ORDER BY conversation;
CREATE TEMP TABLE questions (id int, question text, answer text);
INSERT INTO questions VALUES (1, 'What is the capital of France?'), (2, 'Hello'), (3, 'Name a city');
UPDATE questions SET answer = lm_chat('chat-llama',
	jsonb_build_array(jsonb_build_object('role', 'user', 'content', question)), max_tokens => 12);
SELECT id, answer <> '' AS answered,
       answer = lm_chat('chat-llama', jsonb_build_array(jsonb_build_object('role', 'user', 'content', question)), 12) AS same
FROM questions ORDER BY id;

-- the model server and the backend answer alike
CREATE TEMP TABLE server_replies AS
	SELECT name, lm_chat('chat-llama', messages, 16, 0.7, 0, 1, 42) AS reply FROM conv;
SET pg_lm.execution = backend;
SELECT name, reply = lm_chat('chat-llama', messages, 16, 0.7, 0, 1, 42) AS same_in_backend
FROM server_replies JOIN conv USING (name) ORDER BY name;
RESET pg_lm.execution;

-- bad input: clear errors
SELECT lm_test_try(q) FROM unnest(ARRAY[
	$$SELECT lm_chat_prompt('chat-llama', '{"role": "user", "content": "hi"}')$$,
	$$SELECT lm_chat_prompt('chat-llama', '"hi"')$$,
	$$SELECT lm_chat_prompt('chat-llama', '["hi"]')$$,
	$$SELECT lm_chat_prompt('chat-llama', '[{"content": "hi"}]')$$,
	$$SELECT lm_chat_prompt('chat-llama', '[{"role": 1, "content": "hi"}]')$$,
	$$SELECT lm_chat_prompt('chat-llama', '[{"role": "user", "content": "a"}]', template_kwargs => '[1]')$$,
	$$SELECT lm_chat_prompt('chat-llama', '[{"role": "user", "content": "a"}]', tools => '{"a": 1}')$$,
	$$SELECT lm_chat_prompt('chat-llama', '[{"role": "user", "content": "a"}]', NULL)$$,
	$$SELECT lm_chat('chat-llama', '[{"role": "user", "content": "a"}]', max_tokens => NULL)$$,
	$$SELECT lm_chat('no-such-model', '[{"role": "user", "content": "a"}]')$$,
	format($$SELECT lm_import('chat-bad', %L, chat_template => '')$$, :'chat' || '/llama-chat')
]) q;
-- a template that raises: its message, naming the model
SELECT split_part(msg, ':', 1) AS sqlstate,
       msg LIKE '%: model "chat-llama": %After the optional system message, conversation roles must alternate%' AS names_model,
       substr(msg, strpos(msg, 'HINT:')) AS hint
FROM lm_test_try($$SELECT lm_chat('chat-llama', '[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]')$$) msg;
SELECT lm_chat_prompt('chat-llama', NULL) IS NULL AS null_messages, lm_chat(NULL, '[]') IS NULL AS null_model;
-- a template that does not parse fails at its first use, naming the model
SELECT lm_import('chat-unparsable', :'chat' || '/llama-chat', chat_template => '{% for %}') > 0 AS imported;
SELECT lm_test_try($$SELECT lm_chat_prompt('chat-unparsable', '[{"role": "user", "content": "a"}]')$$) LIKE
       '%: model "chat-unparsable": %chat template%HINT: Import the model again%' AS names_model;
-- a long render is cancelled (statement_timeout) like any other long work
SELECT lm_import('chat-slow', :'chat' || '/tok-chat-json',
                 chat_template => '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}') > 0 AS imported;
SET statement_timeout = '100ms';
SELECT lm_test_try($$SELECT lm_chat_prompt('chat-slow', '[{"role": "user", "content": "a"}]')$$);
RESET statement_timeout;
-- a model without a template
SELECT lm_import('chat-none', fx('models/llama-tiny')) > 0 AS imported;
SELECT lm_test_try($$SELECT lm_chat('chat-none', '[{"role": "user", "content": "a"}]')$$);

-- lm_import's chat_template replaces the files' template; variables from template_kwargs
SELECT lm_import('chat-override', :'chat' || '/llama-chat',
                 chat_template => '{{ greeting }} {{ messages[0].content }}{% if add_generation_prompt %} ->{% endif %}') > 0 AS imported;
SELECT lm_chat_prompt('chat-override', '[{"role": "user", "content": "hi"}]', template_kwargs => '{"greeting": "hello"}'),
       lm_chat_prompt('chat-override', '[{"role": "user", "content": "hi"}]', false, template_kwargs => '{"greeting": "bye"}');
SELECT lm_test_try(format($$SELECT lm_import('vec-chat', %L, chat_template => 'x')$$, :'scratch' || '/tiny.vec'));
-- documents reach the template (as transformers passes them); continue_final_message ends the
-- prompt inside the last message, after its text (its trailing space gone where the template trims it)
SELECT lm_import('chat-docs', :'chat' || '/llama-chat',
                 chat_template => '{% if documents %}{% for d in documents %}[{{ d.title }}: {{ d.text }}] {% endfor %}{% endif %}'
                                  '{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</{{ m.role }}>{% endfor %}'
                                  '{% if add_generation_prompt %}<assistant>{% endif %}') > 0 AS imported;
SELECT lm_chat_prompt('chat-docs', '[{"role": "user", "content": "Capital of Italy?"}]',
                      documents => '[{"title": "Rome", "text": "Rome is the capital of Italy."}]') AS with_documents,
       lm_chat_prompt('chat-docs', '[{"role": "user", "content": "Capital of Italy?"}, {"role": "assistant", "content": "It is "}]',
                      false, continue_final_message => true) AS continued;
-- lm_chat continues the last message: its reply is what lm_generate writes after that prompt
WITH c AS (SELECT '[{"role": "user", "content": "Describe the picture."}, {"role": "assistant", "content": "A man in a"}]'::jsonb AS m),
     r AS (SELECT m, lm_chat('chat-llama', m, 12, continue_final_message => true) AS reply FROM c)
SELECT lm_chat_prompt('chat-llama', m, false, continue_final_message => true) AS prompt_end_is_message,
       reply <> '' AS replied,
       starts_with(lm_generate('chat-llama', lm_tokenize('chat-llama', lm_chat_prompt('chat-llama', m, false, continue_final_message => true), false), 12),
                   reply) AS reply_continues
FROM r;
SELECT lm_test_try(q) FROM unnest(ARRAY[
	$$SELECT lm_chat_prompt('chat-docs', '[{"role": "user", "content": "a"}]', true, continue_final_message => true)$$,
	$$SELECT lm_chat_prompt('chat-docs', '[{"role": "user", "content": "a"}]', documents => '{"title": "x"}')$$,
	$$SELECT lm_chat_prompt('chat-docs', '[{"role": "user", "content": "a"}]', documents => '["x"]')$$,
	$$SELECT lm_chat_prompt('chat-docs', '[{"role": "user", "content": "a"}]', false, continue_final_message => NULL)$$,
	$$SELECT lm_chat_prompt('chat-override', '[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "partly"}]', false, template_kwargs => '{"greeting": "x"}', continue_final_message => true)$$,
	$$SELECT lm_chat_prompt('chat-docs', '[{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "image"}]}]', false, continue_final_message => true)$$
]) q;

-- a template is model data: a role the model is not granted to neither renders nor sees it
CREATE ROLE lm_chat_reader;
SELECT lm_revoke('chat-override', 'public');
SET ROLE lm_chat_reader;
SELECT lm_test_try($$SELECT lm_chat_prompt('chat-override', '[{"role": "user", "content": "hi"}]')$$),
       (SELECT count(*) FROM lm.chat_templates WHERE model = 'chat-override') AS sees_template,
       (SELECT chat_template FROM lm.models WHERE name = 'chat-override') AS listed_with_template;
RESET ROLE;
DROP ROLE lm_chat_reader;

-- a directory of tokenizer files alone is a tokenizer: it tokenizes (as the fixture's cases)
-- and renders prompts, and does not generate
SELECT lm_import('chat-tok-llama2', fx('real-tokenizers/llama2'),
                 chat_template => pg_read_file(:'chat' || '/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja')) > 0 AS imported;
SELECT name, architecture, task, chat_template FROM lm.models WHERE name = 'chat-tok-llama2';
SELECT special_tokens FROM lm.chat_templates WHERE model = 'chat-tok-llama2';
SELECT count(*) AS cases, count(*) FILTER (WHERE lm_tokenize('chat-tok-llama2', c->>'text', false) = int_array(c->'ids')) AS same_ids
FROM jsonl(fx('real-tokenizers/llama2/cases.jsonl'));
SELECT name, lm_chat_prompt('chat-tok-llama2', messages) = lm_chat_prompt('chat-llama', messages) AS same_prompt
FROM conv ORDER BY name;
SELECT lm_test_try($$SELECT lm_chat('chat-tok-llama2', '[{"role": "user", "content": "a"}]')$$),
       lm_test_try($$SELECT lm_generate('chat-tok-llama2', 'a')$$);
-- chat_template.jinja over tokenizer_config.json's default template, its named tool_use one for
-- calls with tools, special_tokens_map.json over tokenizer_config.json's special tokens
SELECT lm_import('chat-tok-files', :'chat' || '/tok-chat-files') > 0 AS files, lm_import('chat-tok-json', :'chat' || '/tok-chat-json') > 0 AS json;
SELECT model, chat_templates, special_tokens FROM lm.chat_templates WHERE model IN ('chat-tok-files', 'chat-tok-json') ORDER BY model;
SELECT lm_chat_prompt('chat-tok-files', '[{"role": "user", "content": "hi"}]') AS jinja_file,
       lm_chat_prompt('chat-tok-files', '[{"role": "user", "content": "hi"}]',
                      tools => '[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]') AS tool_use,
       lm_chat_prompt('chat-tok-json', (SELECT messages FROM conv WHERE name = 'turns')) AS chat_template_json;
-- additional_chat_templates/NAME.jinja are named templates (tool_use renders calls with tools),
-- recorded among the import's files; a file there that is not .jinja is not read
SELECT lm_chat_prompt('chat-tok-json', '[{"role": "user", "content": "hi"}]',
                      tools => '[{"type": "function", "function": {"name": "f", "parameters": {}}}]') AS additional_tool_use;
SELECT file FROM lm.model_sources WHERE model = 'chat-tok-json' ORDER BY file;

-- GGUF: tokenizer.chat_template (and tokenizer.chat_template.tool_use), the special tokens
-- the metadata names; a vocabulary alone renders as the same tokenizer from Hugging Face files
SELECT lm_import('chat-gguf-vocab', :'chat' || '/llama2-vocab-chat.gguf') > 0 AS imported;
SELECT name, architecture, chat_template FROM lm.models WHERE name = 'chat-gguf-vocab';
SELECT chat_template = pg_read_file(:'chat' || '/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja') AS same_template,
       chat_templates, special_tokens
FROM lm.chat_templates WHERE model = 'chat-gguf-vocab';
SELECT name, lm_chat_prompt('chat-gguf-vocab', messages) = lm_chat_prompt('chat-tok-llama2', messages) AS same_prompt
FROM conv ORDER BY name;
SELECT lm_chat_prompt('chat-gguf-vocab', '[{"role": "user", "content": "hi"}]', tools => '[{"type": "function"}]') AS tool_use;
-- a GGUF model: its eos in the config; lm_chat reads the template's <s> as the BOS (the
-- SentencePiece vocabulary's control piece) and encodes the rest on its own, as llama.cpp does
SELECT lm_import('chat-gguf', :'chat' || '/llama-tiny-chat.gguf') > 0 AS imported;
SELECT config->'bos_token_id' AS bos, config->'eos_token_id' AS eos FROM lm.model_configs WHERE model = 'chat-gguf';
SELECT lm_chat_prompt('chat-gguf', messages) AS prompt,
       lm_chat('chat-gguf', messages, 8) = lm_generate('chat-gguf', 1 || lm_tokenize('chat-gguf', '[INST]What is the capital of France?[/INST]', false), 8)
         AS same_as_lm_generate
FROM conv WHERE name = 'one';

-- every model of this file is called chat-*
SELECT count(lm_drop(name)) AS dropped FROM lm.models WHERE name LIKE 'chat-%';
