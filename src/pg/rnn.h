/*
 * rnn.h — the glue of recurrent models (pg_lm's RNN format, models/rnn.h):
 * the generic SQL functions call these when the model's architecture is
 * "rnn".
 */
#ifndef PG_LM_RNN_H
#define PG_LM_RNN_H

#include "pg/store.h"

#define LM_ARCH_RNN "rnn"

bool		lm_pg_is_rnn(const LmStoredModel *m);

/* Load the model (ERROR when its config and weights disagree). */
void		lm_pg_rnn_check(LmStoredModel *m);

/* Token ids of a text: the character vocabulary or the tokenizer (palloc'd;
 * ERROR for a text without tokens or longer than the model's max_length). */
int32	   *lm_pg_rnn_text_ids(LmStoredModel *m, text *input, int *n);

/* lm_embed: the concatenated final states (palloc'd, *dim floats). */
float	   *lm_pg_rnn_embed(LmStoredModel *m, const int32 *ids, int n, int *dim);

/* Class probabilities (softmax of the logits), palloc'd; *n_labels labels. */
double	   *lm_pg_rnn_class_probabilities(LmStoredModel *m, const int32 *ids, int n, int *n_labels);
const char *lm_pg_rnn_label(LmStoredModel *m, int i);

/* lm_generate / lm_translate of a generator: greedy (beams 1) or beam search. */
text	   *lm_pg_rnn_generate(LmStoredModel *m, text *input, int beams, int max_tokens);

#endif
