/*
 * hf_models.h — what the four tokenizer.json models (BPE, WordPiece,
 * WordLevel, Unigram) share: the vocabulary (token <-> id), and the entry
 * points hf_model.c dispatches to.
 */
#ifndef LM_HF_MODELS_H
#define LM_HF_MODELS_H

#include "tokenizer/hf_internal.h"
#include "util/strmap.h"

/* Ids may leave holes, but not absurdly many: max id < count * this + slack. */
#define HF_VOCAB_MAX_SPARSENESS 4
#define HF_VOCAB_ID_SLACK 1024

typedef struct HfVocab
{
	LmStrMap   *map;			/* token -> id */
	const char **tokens;		/* id -> token (the map's copies); NULL for a hole */
	uint32_t   *token_lens;
	int32_t		id_limit;		/* one past the largest id */
	int32_t		count;			/* number of distinct tokens */
	size_t		max_token_len;	/* in bytes */
} HfVocab;

/* A {"token": id, ...} object (BPE, WordPiece, WordLevel). */
int			hf_vocab_from_object(HfVocab *vocab, const json_t *obj, const char *what,
								 LmError *err);
/* Start an empty vocabulary of n ids, filled by hf_vocab_set (Unigram). */
int			hf_vocab_init(HfVocab *vocab, size_t n, LmError *err);
int			hf_vocab_set(HfVocab *vocab, int32_t id, const char *token, size_t len,
						 LmError *err);
void		hf_vocab_free(HfVocab *vocab);

static inline bool
hf_vocab_get(const HfVocab *vocab, const char *token, size_t len, int32_t *id)
{
	return lm_strmap_get(vocab->map, token, len, id);
}

/* Push token id, spelled as the vocabulary spells it, to an encoding. */
int			hf_vocab_push(const HfVocab *vocab, int32_t id, LmEncoding *out, LmError *err);

/* Byte-fallback tokens "<0xXX>" (uppercase hex). */
#define HF_BYTE_TOKEN_LEN 6
void		hf_byte_token(uint8_t byte, char out[HF_BYTE_TOKEN_LEN + 1]);

typedef struct HfBpe HfBpe;
typedef struct HfWordPiece HfWordPiece;
typedef struct HfWordLevel HfWordLevel;
typedef struct HfUnigram HfUnigram;

HfBpe	   *hf_bpe_parse(const json_t *json, LmError *err);
void		hf_bpe_free(HfBpe *bpe);
int			hf_bpe_tokenize(const HfBpe *bpe, const char *word, size_t len, LmEncoding *out,
							LmError *err);
const HfVocab *hf_bpe_vocab(const HfBpe *bpe);

HfWordPiece *hf_wordpiece_parse(const json_t *json, LmError *err);
void		hf_wordpiece_free(HfWordPiece *wp);
int			hf_wordpiece_tokenize(const HfWordPiece *wp, const char *word, size_t len,
								  LmEncoding *out, LmError *err);
const HfVocab *hf_wordpiece_vocab(const HfWordPiece *wp);

HfWordLevel *hf_wordlevel_parse(const json_t *json, LmError *err);
void		hf_wordlevel_free(HfWordLevel *wl);
int			hf_wordlevel_tokenize(const HfWordLevel *wl, const char *word, size_t len,
								  LmEncoding *out, LmError *err);
const HfVocab *hf_wordlevel_vocab(const HfWordLevel *wl);

HfUnigram  *hf_unigram_parse(const json_t *json, LmError *err);
void		hf_unigram_free(HfUnigram *uni);
int			hf_unigram_tokenize(const HfUnigram *uni, const char *word, size_t len,
								LmEncoding *out, LmError *err);
const HfVocab *hf_unigram_vocab(const HfUnigram *uni);

#endif
