/*
 * gguf_hf.c — GGUF models under Hugging Face names (see gguf_hf.h).
 */
#include "formats/gguf_hf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Key
{
	char		buf[160];
} Key;

static const char *
arch_key(Key *k, const char *arch, const char *suffix)
{
	snprintf(k->buf, sizeof(k->buf), "%s.%s", arch, suffix);
	return k->buf;
}

/* GGUF's name for a tensor → transformers' (llama), or NULL for one we do not know. */
static bool
hf_name(const char *gguf_name, char *out, size_t size)
{
	static const struct
	{
		const char *gguf;
		const char *hf;
	}			per_layer[] = {
		{"attn_norm.weight", "input_layernorm.weight"},
		{"attn_q.weight", "self_attn.q_proj.weight"},
		{"attn_k.weight", "self_attn.k_proj.weight"},
		{"attn_v.weight", "self_attn.v_proj.weight"},
		{"attn_output.weight", "self_attn.o_proj.weight"},
		{"attn_q.bias", "self_attn.q_proj.bias"},
		{"attn_k.bias", "self_attn.k_proj.bias"},
		{"attn_v.bias", "self_attn.v_proj.bias"},
		{"attn_q_norm.weight", "self_attn.q_norm.weight"},
		{"attn_k_norm.weight", "self_attn.k_norm.weight"},
		{"ffn_norm.weight", "post_attention_layernorm.weight"},
		{"ffn_gate.weight", "mlp.gate_proj.weight"},
		{"ffn_up.weight", "mlp.up_proj.weight"},
		{"ffn_down.weight", "mlp.down_proj.weight"},
	};
	int			layer,
				used = 0;

	if (strcmp(gguf_name, "token_embd.weight") == 0)
		return snprintf(out, size, "model.embed_tokens.weight") > 0;
	if (strcmp(gguf_name, "output_norm.weight") == 0)
		return snprintf(out, size, "model.norm.weight") > 0;
	if (strcmp(gguf_name, "output.weight") == 0)
		return snprintf(out, size, "lm_head.weight") > 0;
	if (strcmp(gguf_name, "rope_freqs.weight") == 0)
		/* Llama 3.1's frequency factors: transformers computes them from rope_scaling, pg_lm reads them */
		return snprintf(out, size, "rope_freqs.weight") > 0;
	if (sscanf(gguf_name, "blk.%d.%n", &layer, &used) == 1 && used > 0 && layer >= 0)
		for (size_t i = 0; i < sizeof(per_layer) / sizeof(per_layer[0]); i++)
			if (strcmp(gguf_name + used, per_layer[i].gguf) == 0)
				return snprintf(out, size, "model.layers.%d.%s", layer, per_layer[i].hf) > 0;
	return false;
}

/*
 * Undo llama.cpp's rotary permutation of a [heads·hd][in] matrix: its row
 * h·hd + 2i + t holds transformers' row h·hd + t·hd/2 + i.
 */
static void
unpermute_rows(const uint8_t *src, uint8_t *dst, int64_t rows, int heads, size_t row_bytes)
{
	int64_t		hd = rows / heads;

	for (int h = 0; h < heads; h++)
		for (int64_t i = 0; i < hd / 2; i++)
			for (int t = 0; t < 2; t++)
				memcpy(dst + (size_t) (h * hd + t * (hd / 2) + i) * row_bytes,
					   src + (size_t) (h * hd + 2 * i + t) * row_bytes, row_bytes);
}

static bool
dtype_of(LmGgmlType type, LmDType *dtype)
{
	switch (type)
	{
		case LM_GGML_F32:
			*dtype = LM_DTYPE_F32;
			return true;
		case LM_GGML_F16:
			*dtype = LM_DTYPE_F16;
			return true;
		case LM_GGML_BF16:
			*dtype = LM_DTYPE_BF16;
			return true;
		case LM_GGML_Q8_0:
			*dtype = LM_DTYPE_Q8_0;
			return true;
		case LM_GGML_Q4_0:
			*dtype = LM_DTYPE_Q4_0;
			return true;
		case LM_GGML_Q4_1:
			*dtype = LM_DTYPE_Q4_1;
			return true;
		case LM_GGML_Q5_0:
			*dtype = LM_DTYPE_Q5_0;
			return true;
		case LM_GGML_Q5_1:
			*dtype = LM_DTYPE_Q5_1;
			return true;
		case LM_GGML_Q4_K:
			*dtype = LM_DTYPE_Q4_K;
			return true;
		case LM_GGML_Q5_K:
			*dtype = LM_DTYPE_Q5_K;
			return true;
		case LM_GGML_Q6_K:
			*dtype = LM_DTYPE_Q6_K;
			return true;
		default:
			return false;
	}
}

static int
need_int(const LmGguf *g, const char *key, int64_t lo, int64_t hi, int64_t *v, LmError *err)
{
	if (!lm_gguf_get_int(g, key, v))
		return lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata lacks %s (an integer)", key);
	if (*v < lo || *v > hi)
		return lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata %s = %lld is out of range", key, (long long) *v);
	return 0;
}

/*
 * ---- GPT-2: llama.cpp's converter transposes the Conv1D weights to
 * [out][in]; they stay so (the config's conv1d_out_in), which the matrix
 * kernels read as fast or faster and quantized blocks need anyway ----
 */

typedef struct Gpt2Name
{
	const char *gguf;
	const char *hf;
} Gpt2Name;

static const Gpt2Name gpt2_layer_names[] = {
	{"attn_norm.weight", "ln_1.weight"},
	{"attn_norm.bias", "ln_1.bias"},
	{"attn_qkv.weight", "attn.c_attn.weight"},
	{"attn_qkv.bias", "attn.c_attn.bias"},
	{"attn_output.weight", "attn.c_proj.weight"},
	{"attn_output.bias", "attn.c_proj.bias"},
	{"ffn_norm.weight", "ln_2.weight"},
	{"ffn_norm.bias", "ln_2.bias"},
	{"ffn_up.weight", "mlp.c_fc.weight"},
	{"ffn_up.bias", "mlp.c_fc.bias"},
	{"ffn_down.weight", "mlp.c_proj.weight"},
	{"ffn_down.bias", "mlp.c_proj.bias"},
};

static bool
gpt2_name(const char *gguf_name, char *out, size_t size)
{
	static const Gpt2Name top[] = {
		{"token_embd.weight", "transformer.wte.weight"},
		{"position_embd.weight", "transformer.wpe.weight"},
		{"output_norm.weight", "transformer.ln_f.weight"},
		{"output_norm.bias", "transformer.ln_f.bias"},
		{"output.weight", "lm_head.weight"},
	};
	int			layer,
				used = 0;

	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (strcmp(gguf_name, top[i].gguf) == 0)
			return snprintf(out, size, "%s", top[i].hf) > 0;
	if (sscanf(gguf_name, "blk.%d.%n", &layer, &used) == 1 && used > 0 && layer >= 0)
		for (size_t i = 0; i < sizeof(gpt2_layer_names) / sizeof(gpt2_layer_names[0]); i++)
			if (strcmp(gguf_name + used, gpt2_layer_names[i].gguf) == 0)
				return snprintf(out, size, "transformer.h.%d.%s", layer, gpt2_layer_names[i].hf) > 0;
	return false;
}

/* How a tensor's bytes reach transformers' layout. */
typedef enum Move
{
	MOVE_NONE,					/* used in place */
	MOVE_UNPERMUTE				/* llama's q and k rows (unpermute_rows) */
} Move;

typedef struct Layout
{
	const char *arch;
	bool		gpt2;			/* GPT-2's names; else Llama's */
	bool		permuted;		/* llama: q and k rows permuted by the converter */
	int			heads;
	int			kv_heads;
	int64_t		head_dim;
} Layout;

/* Transformers' name of a tensor, how its bytes move and (unpermuted) over how many heads; false for a stranger. */
static bool
map_tensor(const Layout *l, const char *gguf_name, char *out, size_t size, Move *move, int *heads)
{
	*move = MOVE_NONE;
	if (l->gpt2)
		return gpt2_name(gguf_name, out, size);
	if (!hf_name(gguf_name, out, size))
		return false;
	if (l->permuted && strstr(gguf_name, ".attn_q.weight") != NULL)
	{
		*move = MOVE_UNPERMUTE;
		*heads = l->heads;
	}
	else if (l->permuted && strstr(gguf_name, ".attn_k.weight") != NULL)
	{
		*move = MOVE_UNPERMUTE;
		*heads = l->kv_heads;
	}
	return true;
}

/*
 * Every tensor of g into out under transformers' names, of a float type,
 * shapes rows first; those whose bytes move live in memory out owns.
 */
static int
gather_tensors(const LmGguf *g, const Layout *l, LmTensorSet *out, LmError *err)
{
	size_t		moved = 0,
				used = 0;
	uint8_t    *block = NULL;

	if ((out->tensors = lm_calloc(g->n_tensors ? g->n_tensors : 1, sizeof(LmTensor), err)) == NULL)
		return -1;
	for (size_t i = 0; i < g->n_tensors; i++)
	{
		char		name[200];
		Move		move;
		int			heads;

		if (map_tensor(l, g->tensors[i].name, name, sizeof(name), &move, &heads) && move != MOVE_NONE)
			moved += g->tensors[i].nbytes;
	}
	if (moved > 0 && (block = lm_malloc(moved, err)) == NULL)
		return -1;
	out->owned_block = block;
	for (size_t i = 0; i < g->n_tensors; i++)
	{
		const LmGgufTensor *t = &g->tensors[i];
		LmTensor   *o = &out->tensors[out->n];
		char		name[200];
		Move		move;
		int			heads = 0;

		if (!map_tensor(l, t->name, name, sizeof(name), &move, &heads))
			return lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF tensor \"%.100s\" is not part of a %s model", t->name,
						   l->arch);
		if (!dtype_of(t->type, &o->dtype))
		{
			lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF tensor \"%.100s\" is %s, a type pg_lm does not read",
					t->name, lm_ggml_type_name(t->type));
			lm_hint(err, "pg_lm reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K; "
					"llama-quantize can requantize the model to one of them.");
			return -1;
		}
		if ((o->name = strdup(name)) == NULL)
			return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
		out->n++;
		o->ndim = t->ndim;
		for (int d = 0; d < t->ndim; d++)
			o->shape[d] = t->ne[t->ndim - 1 - d];	/* rows first, as transformers has them */
		o->nbytes = t->nbytes;
		o->offset = t->offset;
		o->data = t->data;
		if (move == MOVE_UNPERMUTE)
		{
			if (t->ndim != 2 || t->ne[1] != heads * l->head_dim)
				return lm_fail(err, LM_ERR_CORRUPT, "GGUF tensor \"%.100s\" does not have %d heads of %lld rows",
							   t->name, heads, (long long) l->head_dim);
			unpermute_rows(t->data, block + used, t->ne[1], heads, t->nbytes / (size_t) t->ne[1]);
		}
		if (move != MOVE_NONE)
		{
			o->data = block + used;
			used += t->nbytes;
		}
	}
	return 0;
}

/* The tensors point into g's mapping: it moves to out. */
static void
adopt_mapping(LmGguf *g, LmTensorSet *out)
{
	out->mapping = g->mapping;
	out->mapping_len = g->mapping_len;
	g->mapping = NULL;
	g->mapping_len = 0;
}

/*
 * The vocabulary's BOS and EOS ids as config.json keys (", \"bos_token_id\": 1, ..."),
 * those the metadata names inside the vocabulary: generation ends at EOS, as
 * llama.cpp ends it.
 */
static void
special_ids(const LmGguf *g, int64_t vocab, char *buf, size_t size)
{
	static const char *const keys[][2] = {
		{"tokenizer.ggml.bos_token_id", "bos_token_id"},
		{"tokenizer.ggml.eos_token_id", "eos_token_id"},
	};
	size_t		len = 0;

	buf[0] = '\0';
	for (int i = 0; i < 2; i++)
	{
		int64_t		id;

		if (lm_gguf_get_int(g, keys[i][0], &id) && id >= 0 && id < vocab && len < size)
			len += snprintf(buf + len, size - len, ", \"%s\": %lld", keys[i][1], (long long) id);
	}
}

static int
gpt2_as_hf(LmGguf *g, char **config_json, LmTensorSet *out, LmError *err)
{
	int64_t		dim,
				layers,
				heads,
				ffn,
				ctx;
	double		eps = 1e-5;
	const LmGgufTensor *embd = lm_gguf_tensor(g, "token_embd.weight");
	char	   *cfg;
	char		ids[96];

	if (need_int(g, "gpt2.embedding_length", 1, 1 << 16, &dim, err) != 0 ||
		need_int(g, "gpt2.block_count", 1, 1024, &layers, err) != 0 ||
		need_int(g, "gpt2.attention.head_count", 1, 1024, &heads, err) != 0 ||
		need_int(g, "gpt2.feed_forward_length", 1, 1 << 20, &ffn, err) != 0 ||
		need_int(g, "gpt2.context_length", 1, 1 << 24, &ctx, err) != 0)
		return -1;
	(void) lm_gguf_get_float(g, "gpt2.attention.layer_norm_epsilon", &eps);
	if (embd == NULL || embd->ndim != 2 || embd->ne[0] != dim)
		return lm_fail(err, LM_ERR_CORRUPT, "GGUF model has no token_embd.weight of %lld columns", (long long) dim);
	if (gather_tensors(g, &(Layout) {"gpt2", true, false, 0, 0, 0}, out, err) != 0)
		goto fail;
	special_ids(g, embd->ne[1], ids, sizeof(ids));
	cfg = lm_malloc(1024, err);
	if (cfg == NULL)
		goto fail;
	snprintf(cfg, 1024,
			 "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"], \"n_embd\": %lld, "
			 "\"n_layer\": %lld, \"n_head\": %lld, \"n_inner\": %lld, \"n_positions\": %lld, "
			 "\"vocab_size\": %lld, \"layer_norm_epsilon\": %.17g, \"activation_function\": \"gelu_new\", "
			 "\"tie_word_embeddings\": true, \"conv1d_out_in\": true%s}",
			 (long long) dim, (long long) layers, (long long) heads, (long long) ffn, (long long) ctx,
			 (long long) embd->ne[1], eps, ids);
	*config_json = cfg;
	adopt_mapping(g, out);
	return 0;

fail:
	lm_tensorset_free(out);
	return -1;
}

int
lm_gguf_as_hf(LmGguf *g, char **config_json, LmTensorSet *out, LmError *err)
{
	const LmGgufString *arch_s = lm_gguf_get_string(g, "general.architecture");
	char		arch[64];
	Key			k;
	int64_t		dim,
				layers,
				heads,
				kv_heads,
				ffn,
				ctx = 2048,
				head_dim;
	double		eps = 1e-5,
				theta = 10000,
				rope_factor = 0;
	char		scaling[96] = "";
	char		ids[96];
	const LmGgufTensor *embd = lm_gguf_tensor(g, "token_embd.weight");
	bool		permuted;
	const char *hf_class;
	char	   *cfg;

	memset(out, 0, sizeof(*out));
	*config_json = NULL;
	if (arch_s == NULL || arch_s->len == 0 || arch_s->len >= sizeof(arch))
		return lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata lacks general.architecture");
	memcpy(arch, arch_s->s, arch_s->len);
	arch[arch_s->len] = '\0';
	if (strcmp(arch, "gpt2") == 0)
		return gpt2_as_hf(g, config_json, out, err);
	if (strcmp(arch, "llama") != 0 && strcmp(arch, "qwen2") != 0 && strcmp(arch, "qwen3") != 0)
	{
		lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF architecture \"%.60s\" is not supported yet", arch);
		lm_hint(err, "pg_lm reads GGUF models of architectures llama, qwen2, qwen3 and gpt2.");
		return -1;
	}
	/* llama.cpp rotates neighbouring dimensions for llama (its converter permutes q and k to match), halves for qwen */
	permuted = strcmp(arch, "llama") == 0;
	hf_class = permuted ? "LlamaForCausalLM" : strcmp(arch, "qwen2") == 0 ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM";
	if (need_int(g, arch_key(&k, arch, "embedding_length"), 1, 1 << 16, &dim, err) != 0 ||
		need_int(g, arch_key(&k, arch, "block_count"), 1, 1024, &layers, err) != 0 ||
		need_int(g, arch_key(&k, arch, "attention.head_count"), 1, 1024, &heads, err) != 0 ||
		need_int(g, arch_key(&k, arch, "feed_forward_length"), 1, 1 << 20, &ffn, err) != 0)
		return -1;
	if (!lm_gguf_get_int(g, arch_key(&k, arch, "attention.head_count_kv"), &kv_heads))
		kv_heads = heads;
	if (kv_heads < 1 || heads % kv_heads != 0)
		return lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata: %lld heads, %lld key/value heads", (long long) heads,
					   (long long) kv_heads);
	if (!lm_gguf_get_int(g, arch_key(&k, arch, "attention.key_length"), &head_dim))
		head_dim = dim / heads;
	if (head_dim < 2 || head_dim % 2 != 0 || head_dim > 1024)
		return lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata: head size %lld", (long long) head_dim);
	(void) lm_gguf_get_int(g, arch_key(&k, arch, "context_length"), &ctx);
	(void) lm_gguf_get_float(g, arch_key(&k, arch, "attention.layer_norm_rms_epsilon"), &eps);
	(void) lm_gguf_get_float(g, arch_key(&k, arch, "rope.freq_base"), &theta);
	if (embd == NULL || embd->ndim != 2 || embd->ne[0] != dim)
		return lm_fail(err, LM_ERR_CORRUPT, "GGUF model has no token_embd.weight of %lld columns", (long long) dim);
	/* rope scaling: none, or linear (positions divided by the factor) */
	if (lm_gguf_find(g, arch_key(&k, arch, "rope.scaling.type")) != NULL)
	{
		const LmGgufString *t = lm_gguf_get_string(g, k.buf);
		bool		linear = t != NULL && t->len == 6 && memcmp(t->s, "linear", 6) == 0;

		if (!linear && (t == NULL || t->len != 4 || memcmp(t->s, "none", 4) != 0))
		{
			lm_fail(err, LM_ERR_UNSUPPORTED, "GGUF rope scaling \"%.*s\" is not supported yet",
					t != NULL ? (int) (t->len > 40 ? 40 : t->len) : 1, t != NULL ? t->s : "?");
			lm_hint(err, "pg_lm reads rope scaling none and linear, and Llama 3.1's rope_freqs.weight.");
			return -1;
		}
		if (linear && (!lm_gguf_get_float(g, arch_key(&k, arch, "rope.scaling.factor"), &rope_factor) ||
					   !(rope_factor > 0.0) || rope_factor > 1e6))
			return lm_fail(err, LM_ERR_CORRUPT, "GGUF metadata: linear rope scaling without a positive %s", k.buf);
	}

	/* the tensors: every one known, of a float type; q and k rows permuted back */
	if (gather_tensors(g, &(Layout) {arch, false, permuted, (int) heads, (int) kv_heads, head_dim}, out, err) != 0)
		goto fail;

	special_ids(g, embd->ne[1], ids, sizeof(ids));
	if (rope_factor > 0.0)
		snprintf(scaling, sizeof(scaling), ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": %.17g}", rope_factor);
	cfg = lm_malloc(1024, err);
	if (cfg == NULL)
		goto fail;
	snprintf(cfg, 1024,
			 "{\"model_type\": \"%s\", \"architectures\": [\"%s\"], \"hidden_size\": %lld, "
			 "\"num_hidden_layers\": %lld, \"num_attention_heads\": %lld, \"num_key_value_heads\": %lld, "
			 "\"head_dim\": %lld, \"intermediate_size\": %lld, \"vocab_size\": %lld, "
			 "\"max_position_embeddings\": %lld, \"rms_norm_eps\": %.17g, \"rope_theta\": %.17g, "
			 "\"hidden_act\": \"silu\", \"tie_word_embeddings\": %s, \"rope_angles\": \"llama.cpp\"%s%s}",
			 arch, hf_class, (long long) dim, (long long) layers, (long long) heads, (long long) kv_heads, (long long) head_dim,
			 (long long) ffn, (long long) embd->ne[1], (long long) ctx, eps, theta,
			 lm_gguf_tensor(g, "output.weight") ? "false" : "true", scaling, ids);
	*config_json = cfg;
	adopt_mapping(g, out);
	return 0;

fail:
	lm_tensorset_free(out);
	return -1;
}
