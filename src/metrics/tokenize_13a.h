/*
 * tokenize_13a.h — the "13a" tokenizer of mteval-v13a.pl, as sacrebleu 2.x
 * implements it (tokenizers/tokenizer_13a.py and tokenizer_re.py).
 *
 * In order: remove "<skipped>", join "-\n" line breaks, turn "\n" into a
 * space, unescape &quot; &amp; &lt; &gt; (each a separate left-to-right pass,
 * so "&amp;quot;" becomes "&quot;"), then surround these ASCII symbols with
 * spaces: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /,
 * split "." and "," off unless between digits, split "-" after a digit, and
 * finally collapse whitespace (Python's str.split()) to single spaces.
 */
#ifndef LM_TOKENIZE_13A_H
#define LM_TOKENIZE_13A_H

#include <stddef.h>

#include "util/lm_error.h"

/*
 * Tokenize len bytes of UTF-8; returns a malloc'd, NUL-terminated string of
 * tokens joined by single spaces (no leading or trailing space), or NULL.
 */
char	   *lm_tokenize_13a(const char *line, size_t len, size_t *out_len, LmError *err);

#endif
