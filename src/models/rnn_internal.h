/*
 * rnn_internal.h — the RNN model's insides, shared by rnn.c (loading,
 * encoders, classifiers), rnn_generate.c (decoding) and rnn_chars.c
 * (character vocabularies).  Not part of the engine's API.
 */
#ifndef LM_MODELS_RNN_INTERNAL_H
#define LM_MODELS_RNN_INTERNAL_H

#include <jansson.h>

#include "models/rnn.h"
#include "nn/rnn_cells.h"
#include "nn/weights.h"

/* A character of the vocabulary and its id, sorted by code point. */
typedef struct LmRnnCharId
{
	int32_t		cp;
	int32_t		id;
} LmRnnCharId;

typedef struct LmRnnChars
{
	char	  **pieces;			/* [vocab_size] the "vocab" strings */
	int			n_pieces;
	LmRnnCharId *by_cp;			/* ordinary characters, sorted */
	int			n_chars;
} LmRnnChars;

struct LmRnnModel
{
	LmRnnInfo	info;
	char	   *architecture;	/* owned copy behind info.architecture */
	char	  **labels;			/* [num_labels] */
	LmWeightStore ws;

	const float *embedding;		/* [vocab][embedding_dim] */
	LmRnnStack	encoder;		/* "rnn" (classifier) or "encoder" */
	LmRnnStack	decoder;		/* generator only */
	const float *head_w;		/* classifier [labels][dirs·hidden], out [vocab][hidden] */
	const float *head_b;
	LmRnnChars	chars;
};

/* Check n >= 1 ids inside the vocabulary and max_length. */
int			lm_rnn_check_ids(const LmRnnModel *m, const int32_t *ids, int n, LmError *err);

/*
 * Embed ids[n] and run the encoder stack; h_n and c_n (may be NULL) get the
 * final states [layers·dirs][hidden].  ids must have been checked.
 */
int			lm_rnn_run_encoder(const LmRnnModel *m, const int32_t *ids, int n, float *h_n,
							   float *c_n, LmError *err);

/* Read "vocab" into chars (see rnn.h for the rules). */
int			lm_rnn_chars_build(LmRnnChars *chars, const json_t *vocab, const LmRnnInfo *info,
							   LmError *err);
void		lm_rnn_chars_free(LmRnnChars *chars);

#endif
