/*
 * words.h — the word tokenizer of the n-gram models.
 *
 * The rule, kept simple so that anyone can reproduce it:
 *   1. Invalid UTF-8 becomes U+FFFD; the text is normalised to NFC.
 *   2. A word is a maximal run of letters (L*), marks (M*) and numbers (N*);
 *      an apostrophe (U+0027 ' or U+2019 ’) between two such characters
 *      belongs to the word ("don't", "l’homme"), elsewhere it is punctuation.
 *   3. Whitespace (Python's str.isspace(), Unicode Z*), control (Cc) and
 *      format (Cf) characters separate tokens and are dropped.
 *   4. Every other character (punctuation, symbols, ...) is a token of its own:
 *      "well-known." gives "well", "-", "known", ".".
 *   5. With lowercase, each character is mapped by utf8proc_tolower().
 * Tokens never contain whitespace, so they can be joined by spaces and split
 * again losslessly.
 */
#ifndef LM_WORDS_H
#define LM_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/lm_error.h"

typedef struct LmWords
{
	char	   *buffer;			/* the tokens, each NUL-terminated */
	char	  **words;			/* n_words pointers into buffer */
	size_t		n_words;
} LmWords;

/* Split len bytes of text into tokens; free with lm_words_free(). */
int			lm_words_tokenize(const char *text, size_t len, bool lowercase, LmWords *out,
							  LmError *err);

void		lm_words_free(LmWords *words);

#endif
