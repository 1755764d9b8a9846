/*
 * kinds.c — the table of model kinds (see kinds.h).
 */
#include "tasks/kinds.h"

#include <stdio.h>
#include <string.h>

#include "models/arch.h"

/*
 * The first row of a model_type is its default when config.json has no
 * "architectures"; lists of supported architectures follow the table's order.
 */
static const LmKindInfo kind_table[] = {
	/* architecture, class, label, kind, head, builder, from config.json */
	{"gpt2", "GPT2LMHeadModel", "gpt2", LM_KIND_TRANSFORMER, LM_TASK_CAUSAL_LM, lm_gpt2_build, true},
	{"llama", "LlamaForCausalLM", "llama", LM_KIND_TRANSFORMER, LM_TASK_CAUSAL_LM, lm_llama_build, true},
	{"qwen2", "Qwen2ForCausalLM", "qwen2", LM_KIND_TRANSFORMER, LM_TASK_CAUSAL_LM, lm_llama_build, true},
	{"qwen3", "Qwen3ForCausalLM", "qwen3", LM_KIND_TRANSFORMER, LM_TASK_CAUSAL_LM, lm_llama_build, true},
	{"mistral", "MistralForCausalLM", "mistral", LM_KIND_TRANSFORMER, LM_TASK_CAUSAL_LM, lm_llama_build, true},
	{"bert", "BertModel", "bert", LM_KIND_TRANSFORMER, LM_TASK_FEATURE_EXTRACTION, lm_bert_build, true},
	{"bert", "BertForMaskedLM", "bert", LM_KIND_TRANSFORMER, LM_TASK_MASKED_LM, lm_bert_build, true},
	{"bert", "BertForSequenceClassification", "bert", LM_KIND_TRANSFORMER,
	LM_TASK_SEQUENCE_CLASSIFICATION, lm_bert_build, true},
	{"t5", "T5ForConditionalGeneration", "t5", LM_KIND_TRANSFORMER, LM_TASK_TEXT2TEXT, lm_t5_build, true},
	{"m2m_100", "M2M100ForConditionalGeneration", "m2m_100 (NLLB)", LM_KIND_TRANSFORMER,
	LM_TASK_TEXT2TEXT, lm_m2m100_build, true},
	{"marian", "MarianMTModel", "marian", LM_KIND_TRANSFORMER, LM_TASK_TEXT2TEXT, lm_marian_build, true},
	{"clip", NULL, "clip", LM_KIND_STORED, LM_TASK_FEATURE_EXTRACTION, NULL, true},
	{"rnn", NULL, "rnn", LM_KIND_RNN, LM_TASK_FEATURE_EXTRACTION, NULL, true},
	{LM_ARCH_TOKENIZER, NULL, "tokenizer", LM_KIND_TOKENIZER, LM_TASK_FEATURE_EXTRACTION, NULL, false},
	{LM_ARCH_NGRAM, NULL, "ngram", LM_KIND_NGRAM, LM_TASK_CAUSAL_LM, NULL, false},
	{LM_ARCH_WORD_VECTORS, NULL, "word_vectors", LM_KIND_WORD_VECTORS, LM_TASK_FEATURE_EXTRACTION, NULL, false},
	{LM_ARCH_FASTTEXT, NULL, "fasttext", LM_KIND_FASTTEXT, LM_TASK_SEQUENCE_CLASSIFICATION, NULL, false},
	{LM_ARCH_TFIDF, NULL, "tfidf", LM_KIND_TFIDF, LM_TASK_FEATURE_EXTRACTION, NULL, false},
};

#define N_KINDS ((int) (sizeof(kind_table) / sizeof(kind_table[0])))

const LmKindInfo *
lm_kind_of(const char *architecture)
{
	for (int i = 0; architecture != NULL && i < N_KINDS; i++)
		if (strcmp(kind_table[i].architecture, architecture) == 0)
			return &kind_table[i];
	return NULL;
}

/* "Supported architectures: a, b, c." of the rows keep() accepts, each label once. */
static void
hint_list(LmError *err, bool (*keep) (const LmKindInfo *), const char *(*name) (const LmKindInfo *))
{
	char		list[LM_ERROR_HINT_MAX];
	size_t		used = 0;

	list[0] = '\0';
	for (int i = 0; i < N_KINDS && used < sizeof(list); i++)
	{
		bool		seen = false;

		if (!keep(&kind_table[i]))
			continue;
		for (int j = 0; j < i; j++)
			if (keep(&kind_table[j]) && strcmp(name(&kind_table[j]), name(&kind_table[i])) == 0)
				seen = true;
		if (!seen)
			used += snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
							 name(&kind_table[i]));
	}
	lm_hint(err, "Supported architectures: %s.", list);
}

static bool
is_transformer(const LmKindInfo *k)
{
	return k->kind == LM_KIND_TRANSFORMER;
}

static const char *
class_name(const LmKindInfo *k)
{
	return k->hf_class;
}

static bool
is_importable(const LmKindInfo *k)
{
	return k->from_config_json;
}

static const char *
label_name(const LmKindInfo *k)
{
	return k->label;
}

const LmKindInfo *
lm_kind_of_config(const char *model_type, const char *hf_class, LmError *err)
{
	for (int i = 0; i < N_KINDS; i++)
	{
		const LmKindInfo *k = &kind_table[i];

		if (k->kind != LM_KIND_TRANSFORMER)
			continue;
		if (hf_class != NULL ? strcmp(k->hf_class, hf_class) == 0
			: model_type != NULL && strcmp(k->architecture, model_type) == 0)
			return k;
	}
	if (hf_class != NULL)
		lm_fail(err, LM_ERR_UNSUPPORTED, "architecture \"%s\" (model_type \"%s\") is not supported",
				hf_class, model_type ? model_type : "?");
	else
		lm_fail(err, LM_ERR_UNSUPPORTED, "model_type \"%s\" is not supported",
				model_type ? model_type : "(none)");
	hint_list(err, is_transformer, class_name);
	return NULL;
}

int
lm_kind_check_import(const char *model_type, const char *path, LmError *err)
{
	const LmKindInfo *k = lm_kind_of(model_type);

	if (k != NULL && k->from_config_json)
		return 0;
	lm_fail(err, LM_ERR_UNSUPPORTED, "model_type \"%s\" in \"%s\" is not supported", model_type, path);
	hint_list(err, is_importable, label_name);
	return -1;
}

const char *
lm_kind_name(LmKind kind)
{
	switch (kind)
	{
		case LM_KIND_TOKENIZER:
			return "tokenizer";
		case LM_KIND_TRANSFORMER:
			return "transformer";
		case LM_KIND_RNN:
			return "RNN";
		case LM_KIND_NGRAM:
			return "n-gram model";
		case LM_KIND_WORD_VECTORS:
			return "word vectors";
		case LM_KIND_FASTTEXT:
			return "fastText model";
		case LM_KIND_TFIDF:
			return "TF-IDF model";
		case LM_KIND_STORED:
			return "stored model";
	}
	return "?";
}
