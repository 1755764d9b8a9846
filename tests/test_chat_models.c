/*
 * test_chat_models.c — the model side of chat templates: what a model's
 * files say (tokenizer_config.json, special_tokens_map.json,
 * chat_template.json, GGUF metadata), a SentencePiece vocabulary reading a
 * rendered template's special tokens, real templates (tests/data/chat_templates)
 * rendered with the variables transformers gives them, bad messages, and the
 * tokens that end an assistant's turn.  (The interpreter itself is checked
 * against jinja2 by test_jinja.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/chat_info.h"
#include "formats/gguf.h"
#include "tasks/chat.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"
#include "util/file.h"

#define TEMPLATES "tests/data/chat_templates"
#define MAX_FILE (16u << 20)

static char *
read_text(const char *path)
{
	uint8_t    *data = NULL;
	size_t		len;
	char	   *s;
	LmError		err;

	test_error_init(&err);
	if (lm_read_file(path, MAX_FILE, &data, &len, &err) != 0)
	{
		printf("# %s: %s\n", path, err.message);
		return NULL;
	}
	s = malloc(len + 1);
	memcpy(s, data, len);
	s[len] = '\0';
	free(data);
	return s;
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* ---- what the files say -------------------------------------------------------- */

static void
test_hf_files(void)
{
	const char *config =
		"{\"model_max_length\": 1000000000000000019884624838656, \"bos_token\": \"<s>\", "
		"\"eos_token\": \"not this\", \"unk_token\": {\"__type\": \"AddedToken\", \"content\": \"<unk>\"}, "
		"\"pad_token\": null, \"chat_template\": [{\"name\": \"default\", \"template\": \"D\"}, "
		"{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"rag\", \"template\": \"R\"}]}";
	const char *map = "{\"eos_token\": {\"content\": \"</s>\", \"lstrip\": false}, \"additional_special_tokens\": []}";
	LmChatInfo	info;
	LmError		err;
	char	   *t;

	test_error_init(&err);
	CHECK(lm_hf_chat_info(config, strlen(config), map, strlen(map), &info, &err) == 0,
		  "tokenizer_config.json with named templates and a 1e30 integer reads: %s", err.message);
	CHECK(same(info.template, "D"), "the \"default\" named template is the template");
	CHECK(same(info.templates, "{\"tool_use\": \"T\", \"rag\": \"R\"}"), "the others are kept by name: %s",
		  info.templates ? info.templates : "NULL");
	CHECK(same(info.special_tokens, "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"unk_token\": \"<unk>\"}"),
		  "special tokens: strings or AddedToken contents, special_tokens_map.json's over them, null left out: %s",
		  info.special_tokens ? info.special_tokens : "NULL");
	lm_chat_info_free(&info);

	config = "{\"chat_template\": \"{{ bos_token }}x\"}";
	CHECK(lm_hf_chat_info(config, strlen(config), NULL, 0, &info, &err) == 0 && same(info.template, "{{ bos_token }}x") &&
		  info.templates == NULL && info.special_tokens == NULL, "a plain template, no special tokens");
	lm_chat_info_free(&info);
	CHECK(lm_hf_chat_info(NULL, 0, NULL, 0, &info, &err) == 0 && info.template == NULL, "no files: nothing");

	config = "{\"chat_template\": 42}";
	test_error_init(&err);
	CHECK(lm_hf_chat_info(config, strlen(config), NULL, 0, &info, &err) != 0 && err.code == LM_ERR_CORRUPT &&
		  strstr(err.message, "chat_template") != NULL, "a template that is a number: %s", err.message);
	config = "{\"chat_template\": [{\"name\": \"default\"}]}";
	test_error_init(&err);
	CHECK(lm_hf_chat_info(config, strlen(config), NULL, 0, &info, &err) != 0 && err.code == LM_ERR_CORRUPT,
		  "a named template without its text: %s", err.message);
	config = "{\"chat_template\": \"a\\u0000b\"}";
	test_error_init(&err);
	CHECK(lm_hf_chat_info(config, strlen(config), NULL, 0, &info, &err) != 0 && err.code == LM_ERR_CORRUPT,
		  "a template holding NUL (no SQL text can): %s", err.message);

	test_error_init(&err);
	t = lm_hf_chat_template_json("{\"chat_template\": \"J\"}", 22, &err);
	CHECK(same(t, "J"), "chat_template.json");
	free(t);
	test_error_init(&err);
	CHECK(lm_hf_chat_template_json("{}", 2, &err) == NULL && err.code == LM_ERR_CORRUPT,
		  "chat_template.json without one: %s", err.message);
}

static void
test_gguf_metadata(void)
{
	char		path[1024];
	LmGguf		g;
	LmChatInfo	info;
	LmError		err;

	snprintf(path, sizeof(path), "tests/data/gguf/llama2-vocab.gguf");
	test_error_init(&err);
	if (!CHECK(lm_gguf_load(path, &g, &err) == 0, "%s loads: %s", path, err.message))
		return;
	CHECK(lm_gguf_chat_info(&g, &info, &err) == 0 && info.template == NULL && info.templates == NULL,
		  "Llama 2's vocabulary: no template");
	CHECK(same(info.special_tokens, "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"unk_token\": \"<unk>\"}"),
		  "the tokens its bos, eos and unknown ids name: %s", info.special_tokens ? info.special_tokens : "NULL");
	lm_chat_info_free(&info);
	lm_gguf_free(&g);
}

/* ---- a SentencePiece vocabulary reading special tokens in a text ------------------- */

static LmEncoding
encode(const LmTokenizer *tok, const char *text, bool special_text)
{
	LmEncoding	enc;
	LmError		err;

	test_error_init(&err);
	memset(&enc, 0, sizeof(enc));
	if ((special_text ? lm_tokenizer_encode_special_text(tok, text, strlen(text), 0, &enc, &err)
		 : lm_tokenizer_encode(tok, text, strlen(text), false, &enc, &err)) != 0)
		printf("# %s: %s\n", text, err.message);
	return enc;
}

/* enc is pieces of parts: ids given (>= 0), or texts encoded plainly (NULL ends). */
static bool
is_concat(const LmTokenizer *tok, const LmEncoding *enc, const char *const *parts, const int *ids)
{
	size_t		at = 0;

	for (int i = 0; parts[i] != NULL || ids[i] >= 0; i++)
	{
		if (ids[i] >= 0)
		{
			if (at >= enc->n || enc->ids[at++] != ids[i])
				return false;
			continue;
		}
		LmEncoding	p = encode(tok, parts[i], false);

		for (size_t k = 0; k < p.n; k++)
			if (at >= enc->n || enc->ids[at++] != p.ids[k])
			{
				lm_encoding_free(&p);
				return false;
			}
		lm_encoding_free(&p);
	}
	return at == enc->n;
}

static void
test_spm_special_text(void)
{
	char		path[1024];
	uint8_t    *data = NULL;
	size_t		len;
	LmTokenizer *tok;
	LmEncoding	enc;
	LmError		err;

	snprintf(path, sizeof(path), "%s/real-tokenizers/llama2/tokenizer.model", test_fixtures_dir());
	test_error_init(&err);
	if (!CHECK(lm_read_file(path, MAX_FILE, &data, &len, &err) == 0 &&
			   (tok = lm_tokenizer_from_spm(data, len, &err)) != NULL, "Llama 2's tokenizer.model: %s", err.message))
		return;
	free(data);

	enc = encode(tok, "<s>[INST] Hi there [/INST] Hello</s>[INST] Bye [/INST]", true);
	CHECK(is_concat(tok, &enc, (const char *const[]) {NULL, "[INST] Hi there [/INST] Hello", NULL, "[INST] Bye [/INST]", NULL},
					(const int[]) {1, -1, 2, -1, -1}),
		  "<s> and </s> are BOS and EOS, the text between them encoded on its own (%zu ids)", enc.n);
	lm_encoding_free(&enc);
	enc = encode(tok, "no special tokens here", true);
	CHECK(is_concat(tok, &enc, (const char *const[]) {"no special tokens here", NULL}, (const int[]) {-1, -1}),
		  "a text without them: as sentencepiece encodes it, nothing added");
	lm_encoding_free(&enc);
	enc = encode(tok, "<unk><s></s>", true);
	CHECK(enc.n == 3 && enc.ids[0] == 0 && enc.ids[1] == 1 && enc.ids[2] == 2, "three special tokens in a row");
	lm_encoding_free(&enc);
	enc = encode(tok, "", true);
	CHECK(enc.n == 0, "an empty text: no ids");
	lm_encoding_free(&enc);
	lm_tokenizer_free(tok);
}

/* ---- real templates, rendered; the end of the turn ------------------------------------ */

static LmChatTemplate *
load_template(const char *file, const char *special_tokens)
{
	char		path[1024];
	char	   *source;
	LmChatTemplate *t;
	LmError		err;

	snprintf(path, sizeof(path), "%s/%s", TEMPLATES, file);
	if ((source = read_text(path)) == NULL)
		return NULL;
	test_error_init(&err);
	t = lm_chat_template_new("m", source, strlen(source), special_tokens, &err);
	if (t == NULL)
		printf("# %s: %s\n", file, err.message);
	free(source);
	return t;
}

static char *
render(const LmChatTemplate *t, const char *messages, const char *tools, const char *kwargs, bool gen,
	   LmError *err)
{
	LmChatRequest req = {.messages = messages, .tools = tools, .template_kwargs = kwargs,
	.add_generation_prompt = gen, .now = 1722000000};
	size_t		len;

	test_error_init(err);
	return lm_chat_render(t, &req, &len, err);
}

static bool
same_ids(const int32_t *ids, int n, const int32_t *want, int n_want)
{
	if (n != n_want)
		return false;
	for (int i = 0; i < n; i++)
		if (ids[i] != want[i])
			return false;
	return true;
}

static void
check_end_of_turn(const char *name, const LmChatTemplate *t, const LmChatToken *special, int n_special,
				  const char *generation_config, const int32_t *want, int n_want)
{
	int32_t    *ids = NULL;
	int			n = 0;
	LmError		err;

	bool		ok;

	test_error_init(&err);
	ok = lm_chat_end_of_turn(t, special, n_special, generation_config, &ids, &n, &err) == 0 &&
		same_ids(ids, n, want, n_want);
	CHECK(ok, "%s: the end of the turn (%d ids, the first %d)", name, n, n > 0 ? ids[0] : -1);
	free(ids);
}

static void
test_qwen(void)
{
	static const LmChatToken special[] = {
		{"<|endoftext|>", 151643}, {"<|im_start|>", 151644}, {"<|im_end|>", 151645},
	};
	LmChatTemplate *t = load_template("Qwen-Qwen2.5-7B-Instruct.jinja",
									  "{\"eos_token\": \"<|im_end|>\", \"pad_token\": \"<|endoftext|>\"}");
	char	   *out;
	LmError		err;

	if (!CHECK(t != NULL, "Qwen2.5's template parses"))
		return;
	out = render(t, "[{\"role\": \"user\", \"content\": \"Hi\"}]", NULL, NULL, true, &err);
	CHECK(same(out, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
			   "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"),
		  "Qwen2.5: the default system message, the user's, the generation prompt: %s", out ? out : err.message);
	free(out);
	out = render(t, "[{\"role\": \"user\", \"content\": \"Hi\"}]",
				 "[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]", NULL, false, &err);
	CHECK(out != NULL && strstr(out, "<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"f\"}}\n</tools>") != NULL &&
		  strstr(out, "<|im_start|>assistant") == NULL, "Qwen2.5 with tools, no generation prompt");
	free(out);
	check_end_of_turn("Qwen2.5", t, special, 3, NULL, (const int32_t[]) {151645}, 1);
	check_end_of_turn("Qwen2.5 with generation_config's eos", t, special, 3,
					  "{\"eos_token_id\": [151645, 151643], \"bos_token_id\": 151643}",
					  (const int32_t[]) {151645, 151643}, 2);
	lm_chat_template_free(t);
}

static void
test_llama3(void)
{
	static const LmChatToken special[] = {
		{"<|begin_of_text|>", 128000}, {"<|end_of_text|>", 128001}, {"<|start_header_id|>", 128006},
		{"<|end_header_id|>", 128007}, {"<|eom_id|>", 128008}, {"<|eot_id|>", 128009}, {"<|python_tag|>", 128010},
	};
	LmChatTemplate *t = load_template("meta-llama-Llama-3.1-8B-Instruct.jinja",
									  "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|eot_id|>\"}");

	if (!CHECK(t != NULL, "Llama 3.1's template parses"))
		return;
	/* <|eot_id|> closes a turn; <|python_tag|>, which starts a tool call, does not */
	check_end_of_turn("Llama 3.1", t, special, 7, "{\"eos_token_id\": [128001, 128008, 128009]}",
					  (const int32_t[]) {128001, 128008, 128009}, 3);
	check_end_of_turn("Llama 3.1 without generation_config", t, special, 7, NULL, (const int32_t[]) {128009}, 1);
	lm_chat_template_free(t);
}

static void
test_phi(void)
{
	static const LmChatToken special[] = {
		{"<|endoftext|>", 32000}, {"<|assistant|>", 32001}, {"<|system|>", 32006}, {"<|end|>", 32007},
		{"<|user|>", 32010},
	};
	LmChatTemplate *t = load_template("microsoft-Phi-3.5-mini-instruct.jinja", "{\"eos_token\": \"<|endoftext|>\"}");

	if (!CHECK(t != NULL, "Phi-3.5's template parses"))
		return;
	check_end_of_turn("Phi-3.5: the tokenizer's eos and the template's <|end|>", t, special, 5, NULL,
					  (const int32_t[]) {32000, 32007}, 2);
	lm_chat_template_free(t);
}

static void
test_mistral(void)
{
	static const LmChatToken special[] = {
		{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}, {"[INST]", 3}, {"[/INST]", 4}, {"[AVAILABLE_TOOLS]", 5},
		{"[/AVAILABLE_TOOLS]", 6}, {"[TOOL_RESULTS]", 7}, {"[/TOOL_RESULTS]", 8}, {"[TOOL_CALLS]", 9},
	};
	LmChatTemplate *t = load_template("mistralai-Mistral-Nemo-Instruct-2407.jinja",
									  "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"unk_token\": \"<unk>\"}");
	char	   *out;
	LmError		err;

	if (!CHECK(t != NULL, "Mistral Nemo's template parses"))
		return;
	out = render(t, "[{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"A\"}, "
				 "{\"role\": \"assistant\", \"content\": \"B\"}, {\"role\": \"user\", \"content\": \"C\"}]",
				 NULL, NULL, true, &err);
	CHECK(same(out, "<s>[INST]A[/INST]B</s>[INST]S\n\nC[/INST]"), "Mistral Nemo: bos_token, turns, eos_token: %s",
		  out ? out : err.message);
	free(out);
	out = render(t, "[{\"role\": \"user\", \"content\": \"A\"}, {\"role\": \"user\", \"content\": \"B\"}]", NULL,
				 NULL, true, &err);
	CHECK(out == NULL && err.code == LM_ERR_INVALID_ARGUMENT &&
		  strncmp(err.message, "model \"m\": ", 11) == 0 && strstr(err.message, "chat template") != NULL &&
		  strstr(err.message, "conversation roles must alternate") != NULL && err.hint[0] != '\0',
		  "its raise_exception is an error naming the model: %s (%s)", err.message, err.hint);
	/* </s> closes an assistant turn; [TOOL_CALLS], which starts a tool call, does not */
	check_end_of_turn("Mistral Nemo", t, special, 10, NULL, (const int32_t[]) {2}, 1);
	lm_chat_template_free(t);
}

static void
test_bad_input(void)
{
	const char *source;
	LmChatTemplate *t;
	char	   *out;
	LmError		err;
	static const struct
	{
		const char *messages;
		const char *tools;
		const char *kwargs;
		const char *message;
	}			bad[] = {
		{"{\"role\": \"user\"}", NULL, NULL, "messages must be a JSON array, not an object"},
		{"\"hi\"", NULL, NULL, "messages must be a JSON array, not a string"},
		{"[\"hi\"]", NULL, NULL, "message 1 is a string, not a JSON object"},
		{"[{\"role\": \"user\"}, {\"content\": \"x\"}]", NULL, NULL, "message 2 has no \"role\""},
		{"[{\"role\": null}]", NULL, NULL, "the \"role\" of message 1 is null, not a string"},
		{"[{\"role\": \"user\"}]", "{}", NULL, "tools must be a JSON array, not an object"},
		{"[{\"role\": \"user\"}]", NULL, "[]", "template_kwargs must be a JSON object, not an array"},
		{"[{\"role\": \"user\"}", NULL, NULL, "messages cannot be read"},
	};

	test_error_init(&err);
	source = "{{ greeting }} {{ messages[0].role }}{{ x }}";
	t = lm_chat_template_new("m", source, strlen(source), "{\"bos_token\": \"<s>\"}", &err);
	if (!CHECK(t != NULL, "a template parses: %s", err.message))
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		out = render(t, bad[i].messages, bad[i].tools, bad[i].kwargs, true, &err);
		CHECK(out == NULL && err.code == LM_ERR_INVALID_ARGUMENT && strncmp(err.message, bad[i].message,
																				  strlen(bad[i].message)) == 0 &&
			  err.hint[0] != '\0', "%s: %s", bad[i].messages, err.message);
		free(out);
	}
	out = render(t, "[{\"role\": \"user\"}]", "null", "{\"greeting\": \"hello\", \"x\": 1}", true, &err);
	CHECK(same(out, "hello user1"), "template_kwargs are variables; tools may be null: %s", out ? out : err.message);
	free(out);
	lm_chat_template_free(t);

	test_error_init(&err);
	CHECK(lm_chat_template_new("m", "{% for %}", 9, NULL, &err) == NULL &&
		  strncmp(err.message, "model \"m\": ", 11) == 0 && strstr(err.message, "chat template") != NULL && err.hint[0] != '\0',
		  "a template that does not parse: %s", err.message);
	test_error_init(&err);
	CHECK(lm_chat_template_new("m", "x", 1, "[1]", &err) == NULL && err.code == LM_ERR_CORRUPT,
		  "special tokens that are not an object: %s", err.message);
}

static void
test_fallback(void)
{
	static const LmChatToken special[] = {{"<s>", 1}, {"<|end|>", 7}, {"<|unused|>", 9}};
	const char *source = "{% if messages | length > 1 %}{{ raise_exception('one message') }}{% endif %}"
		"{{ bos_token }}{{ messages[0]['content'] }}<|end|>";
	LmChatTemplate *t;
	LmError		err;

	test_error_init(&err);
	t = lm_chat_template_new("m", source, strlen(source), "{\"bos_token\": \"<s>\"}", &err);
	if (!CHECK(t != NULL, "a template that takes one message parses: %s", err.message))
		return;
	check_end_of_turn("a template that refuses the probe: the special tokens its source names, bos_token aside", t,
					  special, 3, NULL, (const int32_t[]) {7}, 1);
	lm_chat_template_free(t);
}

int
main(void)
{
	test_hf_files();
	test_gguf_metadata();
	test_spm_special_text();
	test_qwen();
	test_llama3();
	test_phi();
	test_mistral();
	test_bad_input();
	test_fallback();
	return test_done();
}
