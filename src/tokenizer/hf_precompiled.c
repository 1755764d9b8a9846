/*
 * hf_precompiled.c — tokenizer.json's "Precompiled" normalizer: the
 * SentencePiece charsmap (base64 in "precompiled_charsmap", loaded by
 * charsmap.c) applied the way the tokenizers library applies it, which is
 * not SentencePiece's way:
 *
 *   - the text is cut into extended grapheme clusters;
 *   - a cluster shorter than 6 bytes that starts with a key of the charsmap
 *     is replaced as a whole by the replacement of the SHORTEST such key;
 *   - otherwise each character is replaced by its own entry, if it has one.
 */
#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/charsmap.h"
#include "tokenizer/spm_internal.h"
#include "util/base64.h"
#include "util/utf8.h"

/* Clusters this long or longer are looked up character by character. */
#define HF_PRECOMPILED_MAX_CLUSTER 6

struct HfPrecompiled
{
	LmCharsmap *map;			/* NULL: an empty charsmap, the identity */
};

HfPrecompiled *
hf_precompiled_parse(const json_t *json, LmError *err)
{
	HfPrecompiled *pre;
	const char *text;
	size_t		len;
	uint8_t    *blob = NULL;
	size_t		blob_len = 0;

	if (hf_json_string(json, "precompiled_charsmap", false, &text, &len,
					   "Precompiled normalizer", err) != 0)
		return NULL;
	pre = lm_calloc(1, sizeof(HfPrecompiled), err);
	if (pre == NULL)
		return NULL;
	if (text == NULL || len == 0)
		return pre;
	if (lm_base64_decode(text, len, &blob, &blob_len, err) != 0)
	{
		lm_error_prefix(err, "Precompiled normalizer: precompiled_charsmap");
		free(pre);
		return NULL;
	}
	pre->map = lm_charsmap_load(blob, blob_len, err);
	free(blob);
	if (pre->map == NULL)
	{
		lm_error_prefix(err, "Precompiled normalizer");
		free(pre);
		return NULL;
	}
	return pre;
}

void
hf_precompiled_free(HfPrecompiled *pre)
{
	if (pre == NULL)
		return;
	lm_charsmap_free(pre->map);
	free(pre);
}

/*
 * The replacement of the shortest charsmap key that is a prefix of chunk
 * (valid UTF-8): *found is false when no key is.  Keys end on character
 * boundaries; a NUL byte ends the search, as it ends a darts-clone key.
 */
static int
shortest_prefix(const LmCharsmap *map, const char *chunk, size_t len, bool *found,
				const char **out, size_t *out_len, LmError *err)
{
	size_t		k = 0;

	*found = false;
	while (k < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(chunk + k, len - k, &cp);
		const char *repl;
		size_t		repl_len;
		size_t		consumed;

		if (n < 0 || cp == 0)
			break;
		k += n;
		/* The longest key within the first k bytes; it is the shortest overall
		 * when it spans all k, since no shorter prefix was a key. */
		if (lm_charsmap_prefix(map, chunk, k, &repl, &repl_len, &consumed, err) != 0)
			return -1;
		if (repl != chunk && consumed == k)
		{
			*found = true;
			*out = repl;
			*out_len = repl_len;
			return 0;
		}
	}
	return 0;
}

/* One cluster: whole if short and a key starts it, else character by character. */
static int
normalize_cluster(const LmCharsmap *map, const char *cluster, size_t len, HfBuf *out,
				  LmError *err)
{
	const char *repl;
	size_t		repl_len;
	bool		found;
	size_t		i = 0;
	size_t		work = 0;

	if (len < HF_PRECOMPILED_MAX_CLUSTER)
	{
		if (shortest_prefix(map, cluster, len, &found, &repl, &repl_len, err) != 0)
			return -1;
		if (found)
			return hf_buf_append(out, repl, repl_len, err);
	}
	while (i < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(cluster + i, len - i, &cp);

		if (n < 0)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "invalid UTF-8 in text");
		/* A cluster can be long: a base and any number of marks. */
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		if (shortest_prefix(map, cluster + i, n, &found, &repl, &repl_len, err) != 0)
			return -1;
		if (found ? hf_buf_append(out, repl, repl_len, err) :
			hf_buf_append(out, cluster + i, n, err))
			return -1;
		i += n;
	}
	return 0;
}

int
hf_precompiled_apply(const HfPrecompiled *pre, const char *text, size_t len, HfBuf *out,
					 LmError *err)
{
	utf8proc_int32_t state = 0;
	int32_t		prev = -1;
	size_t		cluster_start = 0;
	size_t		i = 0;
	size_t		work = 0;

	if (pre->map == NULL)
		return hf_buf_append(out, text, len, err);
	if (hf_buf_reserve(out, len, err) != 0)
		return -1;
	while (i < len)
	{
		int32_t		cp;
		int			n = lm_utf8_next(text + i, len - i, &cp);

		if (n < 0)
			return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "invalid UTF-8 at byte %zu", i);
		if (tok_cancel_step(&work, n, err) != 0)
			return -1;
		if (prev >= 0 && utf8proc_grapheme_break_stateful(prev, cp, &state))
		{
			if (normalize_cluster(pre->map, text + cluster_start, i - cluster_start, out,
								  err) != 0)
				return -1;
			cluster_start = i;
		}
		prev = cp;
		i += n;
	}
	if (len > cluster_start &&
		normalize_cluster(pre->map, text + cluster_start, len - cluster_start, out, err) != 0)
		return -1;
	return hf_buf_append(out, "", 0, err);
}
