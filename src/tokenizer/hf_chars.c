/*
 * hf_chars.c — character properties as the tokenizers library (Rust's char
 * methods and the unicode_categories crate) defines them, on utf8proc; and
 * GPT-2's byte-level alphabet, which maps every byte to a printable
 * character.
 */
#include "tokenizer/hf_internal.h"

#include <utf8proc.h>

#define BYTE_LEVEL_SHIFT 256	/* unprintable bytes map to U+0100 and up */

bool
hf_is_whitespace(int32_t cp)
{
	/* The White_Space property. */
	return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
		cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
		cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool
hf_is_punctuation(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
			(cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
	switch (utf8proc_category(cp))
	{
		case UTF8PROC_CATEGORY_PC:
		case UTF8PROC_CATEGORY_PD:
		case UTF8PROC_CATEGORY_PS:
		case UTF8PROC_CATEGORY_PE:
		case UTF8PROC_CATEGORY_PI:
		case UTF8PROC_CATEGORY_PF:
		case UTF8PROC_CATEGORY_PO:
			return true;
		default:
			return false;
	}
}

bool
hf_is_numeric(int32_t cp)
{
	utf8proc_category_t cat = utf8proc_category(cp);

	return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
		cat == UTF8PROC_CATEGORY_NO;
}

bool
hf_is_word_char(int32_t cp)
{
	switch (utf8proc_category(cp))
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_LO:
		case UTF8PROC_CATEGORY_NL:
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ME:
		case UTF8PROC_CATEGORY_ND:
		case UTF8PROC_CATEGORY_PC:
			return true;
		default:
			/* Join controls, and the letter-like symbols that are Alphabetic. */
			return cp == 0x200C || cp == 0x200D || (cp >= 0x24B6 && cp <= 0x24E9) ||
				(cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
				(cp >= 0x1F170 && cp <= 0x1F189);
	}
}

/*
 * GPT-2 keeps '!'..'~', '¡'..'¬' and '®'..'ÿ' as themselves; the other 68
 * bytes map, in order, to U+0100 and up: 0x00-0x20, then 0x7F-0xA0, then 0xAD.
 */
#define BYTE_LEVEL_LOW_COUNT 0x21	/* 0x00-0x20 */
#define BYTE_LEVEL_MID_COUNT 0x22	/* 0x7F-0xA0 */
#define SOFT_HYPHEN 0xAD

int32_t
hf_byte_to_char(uint8_t b)
{
	if (b <= 0x20)
		return BYTE_LEVEL_SHIFT + b;
	if (b >= 0x7F && b <= 0xA0)
		return BYTE_LEVEL_SHIFT + BYTE_LEVEL_LOW_COUNT + (b - 0x7F);
	if (b == SOFT_HYPHEN)
		return BYTE_LEVEL_SHIFT + BYTE_LEVEL_LOW_COUNT + BYTE_LEVEL_MID_COUNT;
	return b;
}

int
hf_char_to_byte(int32_t cp)
{
	if (cp < 0)
		return -1;
	if (cp < BYTE_LEVEL_SHIFT)
	{
		/* Printable bytes stand for themselves; the others are not in the alphabet. */
		if (cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == SOFT_HYPHEN)
			return -1;
		return cp;
	}
	cp -= BYTE_LEVEL_SHIFT;
	if (cp < BYTE_LEVEL_LOW_COUNT)
		return cp;
	cp -= BYTE_LEVEL_LOW_COUNT;
	if (cp < BYTE_LEVEL_MID_COUNT)
		return 0x7F + cp;
	if (cp == BYTE_LEVEL_MID_COUNT)
		return SOFT_HYPHEN;
	return -1;
}
