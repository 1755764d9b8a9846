/*
 * hf_regex.c — the regular expressions of tokenizer.json (Split and Replace
 * patterns, the ByteLevel and Whitespace pre-tokenizers) on PCRE2, compiled
 * with UTF and UCP and JIT-compiled when the platform allows.
 *
 * Matches are iterated as the Oniguruma binding of the tokenizers library
 * does: an empty match right where the previous match ended is skipped by
 * advancing one character, any other empty match is reported.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenizer/hf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

#define HF_REGEX_ERROR_MAX 256

struct HfRegex
{
	pcre2_code *code;
};

HfRegex *
hf_regex_new(const char *pattern, size_t len, bool literal, LmError *err)
{
	HfRegex    *re;
	int			errcode;
	PCRE2_SIZE	erroffset;
	/* A literal pattern takes no UCP (nothing in it is a character class). */
	uint32_t	options = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;

	re = lm_calloc(1, sizeof(HfRegex), err);
	if (re == NULL)
		return NULL;
	re->code = pcre2_compile((PCRE2_SPTR) pattern, len, options, &errcode, &erroffset, NULL);
	if (re->code == NULL)
	{
		PCRE2_UCHAR message[HF_REGEX_ERROR_MAX];

		pcre2_get_error_message(errcode, message, sizeof(message));
		lm_fail(err, LM_ERR_CORRUPT, "invalid regular expression at offset %zu: %s",
				(size_t) erroffset, (const char *) message);
		free(re);
		return NULL;
	}
	/*
	 * Without a JIT the interpreter does the same matching, only slower.
	 * Build with -DHF_REGEX_NO_JIT to run under valgrind, which cannot follow
	 * JIT-compiled code.
	 */
#ifndef HF_REGEX_NO_JIT
	(void) pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
#endif
	return re;
}

HfRegex *
hf_regex_from_json(const json_t *pattern, const char *what, LmError *err)
{
	const json_t *s = json_is_object(pattern) ? json_object_get(pattern, "String") : NULL;
	const json_t *r = json_is_object(pattern) ? json_object_get(pattern, "Regex") : NULL;
	const char *text;
	size_t		len;

	if (json_is_string(s) && r == NULL)
	{
		text = hf_json_str(s, &len);
		return hf_regex_new(text, len, true, err);
	}
	if (json_is_string(r) && s == NULL)
	{
		HfRegex    *re;

		text = hf_json_str(r, &len);
		re = hf_regex_new(text, len, false, err);
		if (re == NULL)
			lm_error_prefix(err, "%s", what);
		return re;
	}
	lm_fail(err, LM_ERR_CORRUPT,
			"%s: field \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", what);
	return NULL;
}

void
hf_regex_free(HfRegex *re)
{
	if (re == NULL)
		return;
	pcre2_code_free(re->code);
	free(re);
}

/* One match attempt; falls back to the interpreter if the JIT stack runs out. */
static int
match_once(const HfRegex *re, const char *text, size_t len, size_t start,
		   pcre2_match_data *md, LmError *err)
{
	int			rc = pcre2_match(re->code, (PCRE2_SPTR) text, len, start,
								 PCRE2_NO_UTF_CHECK, md, NULL);

	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(re->code, (PCRE2_SPTR) text, len, start,
						 PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
	{
		PCRE2_UCHAR message[HF_REGEX_ERROR_MAX];

		pcre2_get_error_message(rc, message, sizeof(message));
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "regular expression matching failed: %s",
					   (const char *) message);
	}
	return 1;
}

int
hf_regex_find_all(const HfRegex *re, const char *text, size_t len, HfSpans *out, LmError *err)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	size_t		start = 0;
	bool		have_last = false;
	size_t		last_end = 0;
	size_t		work = 0;
	int			rc = 0;

	out->n = 0;
	if (md == NULL)
		return lm_fail(err, LM_ERR_NO_MEMORY, "out of memory for regular expression matching");
	while (start <= len)
	{
		PCRE2_SIZE *ov;
		size_t		s,
					e;

		rc = match_once(re, text, len, start, md, err);
		if (rc <= 0)
			break;
		ov = pcre2_get_ovector_pointer(md);
		s = ov[0];
		e = ov[1];
		if (e < s)
		{
			/* \K in a lookahead can do this; treat it as no match. */
			rc = 0;
			break;
		}
		/* Each match costs a call and the bytes it scanned. */
		if ((rc = tok_cancel_step(&work, e > start ? e - start + 1 : 1, err)) != 0)
			break;
		if (s == e && have_last && last_end == e)
		{
			int32_t		cp;
			int			step;

			if (start >= len)
				break;
			step = lm_utf8_next(text + start, len - start, &cp);
			start += step > 0 ? (size_t) step : 1;
			continue;
		}
		if ((rc = hf_spans_push(out, s, e, err)) != 0)
			break;
		start = e;
		last_end = e;
		have_last = true;
	}
	pcre2_match_data_free(md);
	return rc < 0 ? -1 : 0;
}
