/*
 * seq2seq.h — generation with encoder-decoder models (functions_translate.c).
 */
#ifndef PG_LM_SEQ2SEQ_H
#define PG_LM_SEQ2SEQ_H

#include "pg/store.h"

/*
 * Generate the target text for input: source_lang and target_lang are
 * language-code tokens (NULL: the tokenizer's and generation config's
 * defaults); beams 1 is greedy; length_penalty and early_stopping ("true",
 * "false", "never") override generation_config.json when not NULL.
 */
text	   *lm_pg_seq2seq_generate(LmStoredModel *m, text *input, const char *source_lang,
								   const char *target_lang, int beams, int max_tokens,
								   const double *length_penalty, const char *early_stopping);

#endif
