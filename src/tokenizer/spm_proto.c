/*
 * spm_proto.c — a hand-written reader for the protobuf wire format of
 * sentencepiece's ModelProto (sentencepiece_model.proto), keeping only the
 * fields that encoding and decoding need.
 *
 * Every varint is checked for length and overflow, every length against the
 * bytes that remain, and a known field must come with its declared wire type.
 * Unknown fields are skipped, as protobuf does.  Groups (wire types 3 and 4,
 * never used by sentencepiece) are rejected.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm_internal.h"

/* Wire types. */
#define WIRE_VARINT 0
#define WIRE_FIXED64 1
#define WIRE_LEN 2
#define WIRE_FIXED32 5

#define VARINT_MAX_BYTES 10
#define FIXED32_BYTES 4
#define FIXED64_BYTES 8
#define FIELD_NUMBER_MAX ((UINT64_C(1) << 29) - 1)

/* Nesting we follow: ModelProto > SentencePiece / TrainerSpec / NormalizerSpec. */

/* ModelProto */
#define MODEL_PIECES 1
#define MODEL_TRAINER_SPEC 2
#define MODEL_NORMALIZER_SPEC 3
#define MODEL_DENORMALIZER_SPEC 5

/* ModelProto.SentencePiece */
#define PIECE_PIECE 1
#define PIECE_SCORE 2
#define PIECE_TYPE 3
#define PIECE_TYPE_MAX SPM_PIECE_BYTE

/* TrainerSpec */
#define TRAINER_MODEL_TYPE 3
#define TRAINER_TREAT_WHITESPACE_AS_SUFFIX 24
#define TRAINER_ALLOW_WHITESPACE_ONLY_PIECES 26
#define TRAINER_BYTE_FALLBACK 35
#define TRAINER_UNK_SURFACE 44
#define TRAINER_BOS_PIECE 46
#define TRAINER_EOS_PIECE 47

/* NormalizerSpec */
#define NORMALIZER_NAME 1
#define NORMALIZER_PRECOMPILED_CHARSMAP 2
#define NORMALIZER_ADD_DUMMY_PREFIX 3
#define NORMALIZER_REMOVE_EXTRA_WHITESPACES 4
#define NORMALIZER_ESCAPE_WHITESPACES 5

typedef struct ProtoReader
{
	const uint8_t *p;
	const uint8_t *end;
	const uint8_t *start;		/* of the whole file, for offsets in messages */
	const char *message;		/* name of the message being read */
} ProtoReader;

/* One field's key and payload. */
typedef struct ProtoField
{
	uint32_t	number;
	int			wire_type;
	uint64_t	varint;			/* WIRE_VARINT, WIRE_FIXED32 (low bits), WIRE_FIXED64 */
	const uint8_t *bytes;		/* WIRE_LEN */
	size_t		len;
} ProtoField;

static int
read_varint(ProtoReader *r, uint64_t *value, LmError *err)
{
	uint64_t	result = 0;

	for (int i = 0; i < VARINT_MAX_BYTES; i++)
	{
		uint8_t		byte;

		if (r->p >= r->end)
			return lm_fail(err, LM_ERR_CORRUPT,
						   "truncated varint at byte %zu of %s",
						   (size_t) (r->p - r->start), r->message);
		byte = *r->p++;
		/* the tenth byte may only carry the 64th bit */
		if (i == VARINT_MAX_BYTES - 1 && byte > 1)
			break;
		result |= (uint64_t) (byte & 0x7F) << (7 * i);
		if ((byte & 0x80) == 0)
		{
			*value = result;
			return 0;
		}
	}
	return lm_fail(err, LM_ERR_CORRUPT, "malformed varint at byte %zu of %s",
				   (size_t) (r->p - r->start), r->message);
}

static int
read_field(ProtoReader *r, ProtoField *f, LmError *err)
{
	uint64_t	key;
	size_t		key_at = (size_t) (r->p - r->start);

	memset(f, 0, sizeof(*f));
	if (read_varint(r, &key, err) != 0)
		return -1;
	if ((key >> 3) == 0 || (key >> 3) > FIELD_NUMBER_MAX)
		return lm_fail(err, LM_ERR_CORRUPT, "invalid field number %llu at byte %zu of %s",
					   (unsigned long long) (key >> 3), key_at, r->message);
	f->number = (uint32_t) (key >> 3);
	f->wire_type = (int) (key & 7);
	switch (f->wire_type)
	{
		case WIRE_VARINT:
			return read_varint(r, &f->varint, err);
		case WIRE_FIXED32:
		case WIRE_FIXED64:
			{
				size_t		width = f->wire_type == WIRE_FIXED32 ? FIXED32_BYTES : FIXED64_BYTES;

				if ((size_t) (r->end - r->p) < width)
					return lm_fail(err, LM_ERR_CORRUPT,
								   "truncated field %u at byte %zu of %s",
								   f->number, key_at, r->message);
				for (size_t i = 0; i < width; i++)
					f->varint |= (uint64_t) r->p[i] << (8 * i);
				r->p += width;
				return 0;
			}
		case WIRE_LEN:
			{
				uint64_t	len;

				if (read_varint(r, &len, err) != 0)
					return -1;
				if (len > (uint64_t) (r->end - r->p))
					return lm_fail(err, LM_ERR_CORRUPT,
								   "field %u at byte %zu of %s claims %llu bytes but only %zu remain",
								   f->number, key_at, r->message,
								   (unsigned long long) len, (size_t) (r->end - r->p));
				f->bytes = r->p;
				f->len = (size_t) len;
				r->p += len;
				return 0;
			}
		default:
			return lm_fail(err, LM_ERR_CORRUPT,
						   "unsupported wire type %d for field %u at byte %zu of %s",
						   f->wire_type, f->number, key_at, r->message);
	}
}

static int
expect_wire(const ProtoReader *r, const ProtoField *f, int wire_type, LmError *err)
{
	if (f->wire_type == wire_type)
		return 0;
	return lm_fail(err, LM_ERR_CORRUPT, "field %u of %s has wire type %d, expected %d",
				   f->number, r->message, f->wire_type, wire_type);
}

static ProtoReader
sub_reader(const ProtoReader *parent, const ProtoField *f, const char *message)
{
	ProtoReader r = {f->bytes, f->bytes + f->len, parent->start, message};

	return r;
}

/* Replace *dst with a NUL-terminated copy of the field's bytes. */
static int
take_string(char **dst, const ProtoField *f, LmError *err)
{
	char	   *s = lm_strndup((const char *) f->bytes, f->len, err);

	if (s == NULL)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

static int
parse_piece(ProtoReader *r, SpmPiece *piece, int32_t index, LmError *err)
{
	ProtoField	f;

	piece->type = SPM_PIECE_NORMAL;
	while (r->p < r->end)
	{
		if (read_field(r, &f, err) != 0)
			return -1;
		switch (f.number)
		{
			case PIECE_PIECE:
				if (expect_wire(r, &f, WIRE_LEN, err) != 0)
					return -1;
				if (f.len >= SPM_MAX_PIECE_BYTES)
					return lm_fail(err, LM_ERR_CORRUPT, "piece %d is too long (%zu bytes)",
								   index, f.len);
				if (memchr(f.bytes, '\0', f.len) != NULL)
					return lm_fail(err, LM_ERR_CORRUPT,
								   "piece %d contains a NUL character", index);
				if (take_string(&piece->text, &f, err) != 0)
					return -1;
				piece->len = (uint32_t) f.len;
				break;
			case PIECE_SCORE:
				{
					uint32_t	bits = (uint32_t) f.varint;

					if (expect_wire(r, &f, WIRE_FIXED32, err) != 0)
						return -1;
					memcpy(&piece->score, &bits, sizeof(float));
					break;
				}
			case PIECE_TYPE:
				if (expect_wire(r, &f, WIRE_VARINT, err) != 0)
					return -1;
				if (f.varint < SPM_PIECE_NORMAL || f.varint > PIECE_TYPE_MAX)
					return lm_fail(err, LM_ERR_CORRUPT, "piece %d has unknown type %llu",
								   index, (unsigned long long) f.varint);
				piece->type = (SpmPieceType) f.varint;
				break;
			default:
				break;
		}
	}
	if (piece->text == NULL || piece->len == 0)
		return lm_fail(err, LM_ERR_CORRUPT, "piece %d is empty", index);
	return 0;
}

static int
parse_trainer_spec(ProtoReader *r, SpmModelProto *proto, LmError *err)
{
	ProtoField	f;

	while (r->p < r->end)
	{
		if (read_field(r, &f, err) != 0)
			return -1;
		switch (f.number)
		{
			case TRAINER_MODEL_TYPE:
				if (expect_wire(r, &f, WIRE_VARINT, err) != 0)
					return -1;
				if (f.varint < SPM_MODEL_UNIGRAM || f.varint > SPM_MODEL_CHAR)
				{
					lm_fail(err, LM_ERR_UNSUPPORTED, "unknown SentencePiece model type %llu",
							(unsigned long long) f.varint);
					lm_hint(err, "Supported model types are UNIGRAM (1), BPE (2), WORD (3) and CHAR (4).");
					return -1;
				}
				proto->model_type = (SpmModelType) f.varint;
				break;
			case TRAINER_TREAT_WHITESPACE_AS_SUFFIX:
			case TRAINER_ALLOW_WHITESPACE_ONLY_PIECES:
			case TRAINER_BYTE_FALLBACK:
				if (expect_wire(r, &f, WIRE_VARINT, err) != 0)
					return -1;
				if (f.number == TRAINER_TREAT_WHITESPACE_AS_SUFFIX)
					proto->treat_whitespace_as_suffix = f.varint != 0;
				else if (f.number == TRAINER_ALLOW_WHITESPACE_ONLY_PIECES)
					proto->allow_whitespace_only_pieces = f.varint != 0;
				else
					proto->byte_fallback = f.varint != 0;
				break;
			case TRAINER_UNK_SURFACE:
			case TRAINER_BOS_PIECE:
			case TRAINER_EOS_PIECE:
				if (expect_wire(r, &f, WIRE_LEN, err) != 0)
					return -1;
				if (take_string(f.number == TRAINER_UNK_SURFACE ? &proto->unk_surface :
								f.number == TRAINER_BOS_PIECE ? &proto->bos_piece :
								&proto->eos_piece, &f, err) != 0)
					return -1;
				break;
			default:
				break;
		}
	}
	return 0;
}

static int
parse_normalizer_spec(ProtoReader *r, SpmNormalizerSpec *spec, LmError *err)
{
	ProtoField	f;

	while (r->p < r->end)
	{
		if (read_field(r, &f, err) != 0)
			return -1;
		switch (f.number)
		{
			case NORMALIZER_NAME:
				if (expect_wire(r, &f, WIRE_LEN, err) != 0 ||
					take_string(&spec->name, &f, err) != 0)
					return -1;
				break;
			case NORMALIZER_PRECOMPILED_CHARSMAP:
				if (expect_wire(r, &f, WIRE_LEN, err) != 0)
					return -1;
				free(spec->charsmap);
				spec->charsmap = NULL;
				spec->charsmap_len = 0;
				if (f.len > 0)
				{
					spec->charsmap = lm_malloc(f.len, err);
					if (spec->charsmap == NULL)
						return -1;
					memcpy(spec->charsmap, f.bytes, f.len);
					spec->charsmap_len = f.len;
				}
				break;
			case NORMALIZER_ADD_DUMMY_PREFIX:
			case NORMALIZER_REMOVE_EXTRA_WHITESPACES:
			case NORMALIZER_ESCAPE_WHITESPACES:
				if (expect_wire(r, &f, WIRE_VARINT, err) != 0)
					return -1;
				if (f.number == NORMALIZER_ADD_DUMMY_PREFIX)
					spec->add_dummy_prefix = f.varint != 0;
				else if (f.number == NORMALIZER_REMOVE_EXTRA_WHITESPACES)
					spec->remove_extra_whitespaces = f.varint != 0;
				else
					spec->escape_whitespaces = f.varint != 0;
				break;
			default:
				break;
		}
	}
	return 0;
}

static void
normalizer_spec_defaults(SpmNormalizerSpec *spec)
{
	spec->add_dummy_prefix = true;
	spec->remove_extra_whitespaces = true;
	spec->escape_whitespaces = true;
}

static int
append_piece(SpmModelProto *proto, ProtoReader *r, LmError *err)
{
	SpmPiece   *piece;

	if (proto->n_pieces == INT32_MAX)
		return lm_fail(err, LM_ERR_CORRUPT, "too many pieces");
	if ((size_t) proto->n_pieces == proto->pieces_capacity)
	{
		size_t		cap = proto->pieces_capacity ? proto->pieces_capacity * 2 : 1024;
		SpmPiece   *grown = lm_realloc(proto->pieces, cap * sizeof(SpmPiece), err);

		if (grown == NULL)
			return -1;
		proto->pieces = grown;
		proto->pieces_capacity = cap;
	}
	piece = &proto->pieces[proto->n_pieces];
	memset(piece, 0, sizeof(*piece));
	proto->n_pieces++;			/* counted now so that free() sees it */
	return parse_piece(r, piece, proto->n_pieces - 1, err);
}

int
spm_proto_parse(const uint8_t *data, size_t len, SpmModelProto *proto, LmError *err)
{
	ProtoReader r = {data, data + len, data, "ModelProto"};
	ProtoField	f;

	memset(proto, 0, sizeof(*proto));
	proto->model_type = SPM_MODEL_UNIGRAM;
	normalizer_spec_defaults(&proto->normalizer);
	normalizer_spec_defaults(&proto->denormalizer);

	while (r.p < r.end)
	{
		ProtoReader sub;

		if (read_field(&r, &f, err) != 0)
			return -1;
		switch (f.number)
		{
			case MODEL_PIECES:
				if (expect_wire(&r, &f, WIRE_LEN, err) != 0)
					return -1;
				sub = sub_reader(&r, &f, "SentencePiece");
				if (append_piece(proto, &sub, err) != 0)
					return -1;
				break;
			case MODEL_TRAINER_SPEC:
				if (expect_wire(&r, &f, WIRE_LEN, err) != 0)
					return -1;
				sub = sub_reader(&r, &f, "TrainerSpec");
				if (parse_trainer_spec(&sub, proto, err) != 0)
					return -1;
				break;
			case MODEL_NORMALIZER_SPEC:
			case MODEL_DENORMALIZER_SPEC:
				if (expect_wire(&r, &f, WIRE_LEN, err) != 0)
					return -1;
				sub = sub_reader(&r, &f, f.number == MODEL_NORMALIZER_SPEC ?
								 "NormalizerSpec" : "denormalizer NormalizerSpec");
				if (f.number == MODEL_DENORMALIZER_SPEC)
					proto->has_denormalizer = true;
				if (parse_normalizer_spec(&sub, f.number == MODEL_NORMALIZER_SPEC ?
										  &proto->normalizer : &proto->denormalizer,
										  err) != 0)
					return -1;
				break;
			default:
				break;
		}
		if (lm_check_cancel(err) != 0)
			return -1;
	}
	if (proto->n_pieces == 0)
		return lm_fail(err, LM_ERR_CORRUPT, "the model has no pieces");
	return 0;
}

static void
normalizer_spec_free(SpmNormalizerSpec *spec)
{
	free(spec->name);
	free(spec->charsmap);
}

void
spm_proto_free(SpmModelProto *proto)
{
	if (proto == NULL)
		return;
	for (int32_t i = 0; i < proto->n_pieces; i++)
		free(proto->pieces[i].text);
	free(proto->pieces);
	free(proto->unk_surface);
	free(proto->bos_piece);
	free(proto->eos_piece);
	normalizer_spec_free(&proto->normalizer);
	normalizer_spec_free(&proto->denormalizer);
	memset(proto, 0, sizeof(*proto));
}
