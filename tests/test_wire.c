/*
 * test_wire.c — the model server's messages: every field of a request, a
 * result, an error and a load survives the round trip; every truncation and
 * every single-byte change of a message decodes cleanly or fails with an
 * error (never reads past the end).  (14_server compares whole tasks run
 * through the server with the backend's.)
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "wire/wire.h"

static LmRunRequest
sample_request(void)
{
	static const int32_t ids[] = {5, -1, 70000};
	static const char *const labels[] = {"positive", "négatif", ""};
	static const char *const stops[] = {".", "\n"};
	static const int32_t stop_ids[] = {151645, 2};
	static const LmExample examples[] = {{"A cat.", "animal"}, {"A bus.", "vehicle"}};
	LmRunRequest r = {0};

	r.op = LM_RUN_CLASSIFY_LABELS;
	r.input = LM_TEXT_INPUT("hello world", 11);
	r.input2 = LM_IDS_INPUT(ids, 3);
	r.k = -7;
	r.labels = labels;
	r.n_labels = 3;
	r.template = "Text: {text}";
	r.examples = examples;
	r.n_examples = 2;
	r.generate.max_tokens = 64;
	r.generate.sampling = (LmSamplingParams) {0.7, 40, 0.95, 0xFEDCBA9876543210ull};
	r.generate.stops = stops;
	r.generate.n_stops = 2;
	r.generate.stop_ids = stop_ids;
	r.generate.n_stop_ids = 2;
	r.generate.chat_prompt = true;
	r.translate = (LmTranslateRequest) {"eng_Latn", NULL, 4, 128, true, 1.5, "never"};
	return r;
}

static void
test_request_round_trip(void)
{
	LmRunRequest in = sample_request();
	LmWireBuf	buf = {0};
	LmWireReader r;
	LmWireRequest out;
	LmWireModelRef ref = {16384, 1234567890123ll, "database 5, model 7"};
	LmWireModelRef ref_out;
	LmError		err;
	const LmRunRequest *o = &out.req;

	lm_wire_begin(&buf, LM_MSG_RUN);
	lm_wire_put_ref(&buf, &ref);
	lm_wire_put_request(&buf, &in);
	CHECK(lm_wire_end(&buf, NULL) == 0, "request encodes");
	CHECK(lm_wire_open(&r, buf.data + 4, buf.len - 4) == LM_MSG_RUN, "its type");
	lm_wire_get_ref(&r, &ref_out);
	CHECK(ref_out.database == 16384 && ref_out.model_id == 1234567890123ll &&
		  strcmp(ref_out.key, ref.key) == 0, "the model reference");
	test_error_init(&err);
	CHECK(lm_wire_get_request(&r, &out, &err) == 0, "request decodes: %s", err.message);
	CHECK(o->op == in.op && o->k == -7, "op and k");
	CHECK(o->input.len == 11 && memcmp(o->input.text, "hello world", 11) == 0 && o->input.ids == NULL,
		  "text input");
	CHECK(o->input2.n_ids == 3 && o->input2.ids[1] == -1 && o->input2.ids[2] == 70000 &&
		  o->input2.text == NULL, "ids input");
	CHECK(o->n_labels == 3 && strcmp(o->labels[1], "négatif") == 0 && strcmp(o->labels[2], "") == 0,
		  "labels, empty one included");
	CHECK(strcmp(o->template, "Text: {text}") == 0 && o->n_examples == 2 &&
		  strcmp(o->examples[1].label, "vehicle") == 0, "template and examples");
	CHECK(o->generate.max_tokens == 64 && o->generate.sampling.temperature == 0.7 &&
		  o->generate.sampling.top_k == 40 && o->generate.sampling.top_p == 0.95 &&
		  o->generate.sampling.seed == 0xFEDCBA9876543210ull, "sampling settings, 64-bit seed");
	CHECK(o->generate.n_stops == 2 && strcmp(o->generate.stops[1], "\n") == 0, "stop strings");
	CHECK(o->generate.n_stop_ids == 2 && o->generate.stop_ids[0] == 151645 && o->generate.stop_ids[1] == 2 &&
		  o->generate.chat_prompt, "stop ids, prompt without added special tokens");
	CHECK(strcmp(o->translate.source_lang, "eng_Latn") == 0 && o->translate.target_lang == NULL &&
		  o->translate.beams == 4 && o->translate.has_length_penalty &&
		  o->translate.length_penalty == 1.5 && strcmp(o->translate.early_stopping, "never") == 0,
		  "translation settings, NULL kept NULL");
	lm_wire_request_free(&out);

	/* every truncation fails cleanly; every changed byte decodes or fails, never crashes */
	int			truncations_failed = 0;
	int			changes_survived = 0;
	size_t		payload = buf.len - 4;
	uint8_t    *copy = malloc(payload);

	for (size_t n = 4; n < payload; n++)
	{
		memcpy(copy, buf.data + 4, n);
		lm_wire_open(&r, copy, n);
		lm_wire_get_ref(&r, &ref_out);
		test_error_init(&err);
		if (lm_wire_get_request(&r, &out, &err) != 0)
			truncations_failed++;
		else
			lm_wire_request_free(&out);
	}
	CHECK(truncations_failed == (int) payload - 4, "all %zu truncations fail", payload - 4);
	for (size_t i = 4; i < payload; i++)
		for (int bit = 0; bit < 8; bit++)
		{
			memcpy(copy, buf.data + 4, payload);
			copy[i] ^= (uint8_t) (1 << bit);
			lm_wire_open(&r, copy, payload);
			lm_wire_get_ref(&r, &ref_out);
			test_error_init(&err);
			if (lm_wire_get_request(&r, &out, &err) == 0)
			{
				changes_survived++;
				lm_wire_request_free(&out);
			}
		}
	CHECK(changes_survived < (int) (payload * 8), "bit flips: %d of %zu decode, the rest fail cleanly",
		  changes_survived, payload * 8);
	free(copy);
	lm_wire_buf_free(&buf);
}

static void
test_result_and_error(void)
{
	float		v[] = {1.5f, -0.0f, NAN, 3e38f};
	char	   *labels[] = {"a", "bé"};
	double		scores[] = {0.75, 0.25};
	LmRunResult in = {{v, 4}, {2, labels, scores}, -12.5, 9, true, "généré"};
	LmRunResult out;
	LmWireBuf	buf = {0};
	LmWireReader r;
	LmError		err;
	LmError		e = {0};

	lm_wire_begin(&buf, LM_MSG_RESULT);
	lm_wire_put_result(&buf, &in);
	lm_wire_end(&buf, NULL);
	lm_wire_open(&r, buf.data + 4, buf.len - 4);
	test_error_init(&err);
	CHECK(lm_wire_get_result(&r, &out, &err) == 0, "result decodes");
	CHECK(out.floats.n == 4 && memcmp(out.floats.v, v, sizeof(v)) == 0, "floats bit for bit (NaN, -0)");
	CHECK(out.scored.n == 2 && strcmp(out.scored.labels[1], "bé") == 0 && out.scored.scores[0] == 0.75,
		  "labels and scores");
	CHECK(out.number == -12.5 && out.count == 9 && out.defined && strcmp(out.text, "généré") == 0,
		  "number, count, defined, text");
	lm_run_result_free(&out);
	for (size_t n = 4; n < buf.len - 4; n++)
	{
		lm_wire_open(&r, buf.data + 4, n);
		test_error_init(&err);
		if (lm_wire_get_result(&r, &out, &err) == 0)
		{
			CHECK(0, "a result cut at %zu bytes decoded", n);
			lm_run_result_free(&out);
			break;
		}
	}

	lm_fail(&e, LM_ERR_TOO_LONG, "input of %d tokens", 900);
	lm_hint(&e, "Shorten it.");
	lm_wire_begin(&buf, LM_MSG_ERROR);
	lm_wire_put_error(&buf, &e);
	lm_wire_end(&buf, NULL);
	CHECK(lm_wire_open(&r, buf.data + 4, buf.len - 4) == LM_MSG_ERROR, "error message type");
	lm_error_clear(&err);
	lm_wire_get_error(&r, &err);
	CHECK(err.code == LM_ERR_TOO_LONG && strcmp(err.message, "input of 900 tokens") == 0 &&
		  strcmp(err.hint, "Shorten it.") == 0, "error code, message and hint");
	lm_wire_open(&r, buf.data + 4, 6);
	lm_error_clear(&err);
	lm_wire_get_error(&r, &err);
	CHECK(err.code == LM_ERR_INTERNAL, "a cut error reply is an internal error, not garbage");
	lm_wire_buf_free(&buf);
}

static void
test_load(void)
{
	LmWireLoad	in = {{7, 42, "k"}, "pg_lm/7/42.safetensors",
	{"m", "gpt2", "{\"n_layer\": 2}", NULL, "mean", true}, LM_TOKENIZER_SPM, "\0spm\0bytes", 10};
	LmWireLoad	out;
	LmWireBuf	buf = {0};
	LmWireReader r;
	LmError		err;

	lm_wire_begin(&buf, LM_MSG_LOAD);
	lm_wire_put_load(&buf, &in);
	lm_wire_end(&buf, NULL);
	lm_wire_open(&r, buf.data + 4, buf.len - 4);
	test_error_init(&err);
	CHECK(lm_wire_get_load(&r, &out, &err) == 0, "load decodes");
	CHECK(out.ref.model_id == 42 && strcmp(out.weights_path, in.weights_path) == 0 &&
		  strcmp(out.desc.config, in.desc.config) == 0 && out.desc.generation_config == NULL &&
		  out.desc.normalize && strcmp(out.desc.pooling, "mean") == 0, "description");
	CHECK(out.tokenizer_format == LM_TOKENIZER_SPM && out.tokenizer_len == 10 &&
		  memcmp(out.tokenizer, in.tokenizer, 10) == 0, "binary tokenizer with NUL bytes");
	buf.data[buf.len - 16] = 9;	/* the tokenizer format byte: no such format */
	lm_wire_open(&r, buf.data + 4, buf.len - 4);
	test_error_init(&err);
	CHECK(lm_wire_get_load(&r, &out, &err) != 0 && err.code == LM_ERR_CORRUPT, "unknown tokenizer format refused");
	lm_wire_buf_free(&buf);
}

static void
test_limits(void)
{
	LmWireBuf	buf = {0};
	LmWireReader r;
	uint8_t		huge_count[] = {1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F};
	LmError		err;

	/* a count larger than what is left is refused before any allocation */
	lm_wire_open(&r, huge_count, sizeof(huge_count));
	test_error_init(&err);
	LmRunResult out;

	r.p = huge_count + 4;
	r.left = 4;
	CHECK(lm_wire_get_result(&r, &out, &err) != 0, "a 2-billion count in 4 bytes is refused");
	lm_wire_begin(&buf, LM_MSG_RUN);
	buf.len = LM_WIRE_MAX_MESSAGE + 8;	/* pretend: past the limit */
	buf.cap = buf.len;
	test_error_init(&err);
	CHECK(lm_wire_end(&buf, &err) != 0 && err.code == LM_ERR_TOO_LONG, "oversized message refused: %s",
		  err.message);
	buf.cap = 0;
	buf.len = 0;
	lm_wire_buf_free(&buf);
}

/* A STATUS message with a text of len bytes, framed, into buf. */
static void
status_message(LmWireBuf *buf, size_t len)
{
	char	   *text = malloc(len + 1);

	memset(text, 'x', len);
	text[len] = '\0';
	lm_wire_begin(buf, LM_MSG_STATUS_REPLY);
	lm_wire_str(buf, text);
	lm_wire_end(buf, NULL);
	free(text);
}

/* Reading ahead: messages that arrive together, in pieces, cut short, or not at all. */
static void
test_inbox(void)
{
	int			fds[2];
	LmWireBuf	a = {0},
				b = {0};
	LmWireInbox in = {0};
	uint8_t    *payload;
	size_t		len;
	bool		ok;

	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	CHECK(!lm_wire_try_read(fds[0], &in), "nothing to read: try_read does not wait");

	/* two messages in one write, the second larger than the first read */
	status_message(&a, 10);
	status_message(&b, 20000);
	ok = write(fds[1], a.data, a.len) == (ssize_t) a.len && write(fds[1], b.data, 100) == 100;
	CHECK(ok && lm_wire_try_read(fds[0], &in), "try_read takes what came");
	CHECK(lm_wire_next(fds[0], &in, &payload, &len) == 1 && len == a.len - 4 &&
		  memcmp(payload, a.data + 4, len) == 0, "the first message, with part of the next read ahead");
	ok = write(fds[1], b.data + 100, b.len - 100) == (ssize_t) (b.len - 100);
	CHECK(ok && lm_wire_next(fds[0], &in, &payload, &len) == 1 && len == b.len - 4 &&
		  memcmp(payload, b.data + 4, len) == 0, "the second message, completed by later writes");

	/* cut short, then a clean end */
	ok = write(fds[1], a.data, 6) == 6;
	close(fds[1]);
	errno = 0;
	CHECK(ok && lm_wire_next(fds[0], &in, &payload, &len) == -1 && errno == EPIPE,
		  "a message cut short by the peer's close is an error");
	close(fds[0]);

	lm_wire_inbox_free(&in);
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	close(fds[1]);
	CHECK(lm_wire_next(fds[0], &in, &payload, &len) == 0, "a close between messages is a clean end");
	close(fds[0]);

	/* a length no message may have */
	lm_wire_inbox_free(&in);
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ok = write(fds[1], "\xff\xff\xff\xff", 4) == 4;
	errno = 0;
	CHECK(ok && lm_wire_next(fds[0], &in, &payload, &len) == -1 && errno == EPROTO,
		  "an impossible length is refused before any allocation");
	close(fds[0]);
	close(fds[1]);
	lm_wire_inbox_free(&in);
	lm_wire_buf_free(&a);
	lm_wire_buf_free(&b);
}

int
main(void)
{
	test_request_round_trip();
	test_result_and_error();
	test_load();
	test_limits();
	test_inbox();
	return test_done();
}
