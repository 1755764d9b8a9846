/*
 * vectorizer_internal.h — the analyzer shared by fitting and transforming:
 * text in, terms (tokens and word n-grams) out through a callback.
 */
#ifndef LM_CLASSIC_VECTORIZER_INTERNAL_H
#define LM_CLASSIC_VECTORIZER_INTERNAL_H

#include "classic/vectorizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

typedef struct VecAnalyzer
{
	bool		lowercase;
	int			ngram_min;
	int			ngram_max;
	pcre2_code *pattern;
	bool		use_group;		/* the pattern has one capturing group */
} VecAnalyzer;

/* Called once per term; return -1 (with err set) to stop. */
typedef int (*VecTermFn) (void *ctx, const char *term, size_t len, LmError *err);

int			vec_analyzer_init(VecAnalyzer *a, const LmVectorizerOptions *o, LmError *err);
void		vec_analyzer_free(VecAnalyzer *a);
int			vec_analyze(const VecAnalyzer *a, const char *text, size_t len, VecTermFn fn,
						void *ctx, LmError *err);

#endif
