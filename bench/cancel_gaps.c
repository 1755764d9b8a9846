/*
 * cancel_gaps.c — how promptly the tokenizers let a cancel through: encode a
 * large text (about 12 MB of a repeated snippet), decode the ids, and report
 * the longest time between two calls of the cancel hook (or between the
 * start or end of the call and the nearest one).  The PostgreSQL glue's hook
 * only reads a flag, so a query cancel waits at most that long.
 *
 *   cancel_gaps [-b BYTES] [-r ROUNDS] [-w] [-t SNIPPET]... TOKENIZER...
 *
 * TOKENIZER is a tokenizer.json, or a SentencePiece model when its name
 * contains ".model".  Options:
 *   -t SNIPPET  the text to repeat; may be given several times (default: a
 *               set of snippets that take different paths: words, one huge
 *               word, accents, CJK, added tokens, whitespace only)
 *   -b BYTES    the size of the text (default 12000000)
 *   -r ROUNDS   time ROUNDS calls with a hook as cheap as the glue's and
 *               report the best time, then measure the gaps over ROUNDS
 *               more calls and report the median longest gap (default 1)
 *   -w          also print where the worst gap starts and ends, as offsets
 *               into this program for addr2line -f -i -e cancel_gaps (the
 *               stack walks then inflate the numbers)
 *
 * Engine only: make bench-build links it with the engine library
 * (build/bench/cancel_gaps).
 */
#include <execinfo.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenizer/tokenizer.h"
#include "util/lm_error.h"

#include "bench_util.h"

#define DEFAULT_BYTES 12000000
#define MAX_SNIPPETS 32
#define WHERE_DEPTH 8			/* stack frames kept per check with -w */

static const char *const default_snippets[] = {
	"hola word. ",
	"x",						/* one huge word */
	"h\xC3\xA9llo w\xC3\xB6rld ",
	"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE6\x96\x87\xE7\xAB\xA0\xE3\x80\x82",
	"<s> [MASK] </s> ",
	"\n\t  ",
};

/* ---- the two hooks ------------------------------------------------------- */

static volatile int cancel_flag;	/* never set: the hooks only observe */
static long n_checks;
static double last_check;
static double max_gap;			/* in the current call */
static double worst_gap;		/* over the calls of one measurement */
static bool record_where;
static void *where_prev[WHERE_DEPTH];
static void *where_gap_start[WHERE_DEPTH];
static void *where_gap_end[WHERE_DEPTH];
static int	depth_prev,
			depth_gap_start,
			depth_gap_end;

/* As cheap as the glue's hook: read a flag (and count). */
static int
flag_hook(void *arg)
{
	(void) arg;
	n_checks++;
	return cancel_flag;
}

/* A gap ends at here (depth 0: the end of the call); keep the longest. */
static void
note_gap(double gap, bool at_check)
{
	if (gap > max_gap)
		max_gap = gap;
	if (gap <= worst_gap)
		return;
	worst_gap = gap;
	if (record_where)
	{
		memcpy(where_gap_start, where_prev, sizeof(where_prev));
		depth_gap_start = depth_prev;
		depth_gap_end = at_check ? backtrace(where_gap_end, WHERE_DEPTH) : 0;
	}
}

/* Record the longest interval; the hook's own time is left out of it. */
static int
gap_hook(void *arg)
{
	(void) arg;
	n_checks++;
	note_gap(now() - last_check, true);
	if (record_where)
		depth_prev = backtrace(where_prev, WHERE_DEPTH);
	last_check = now();
	return cancel_flag;
}

/*
 * Start a measured call.  What the previous call freed is first handed back
 * to the system: otherwise glibc consolidates millions of freed token strings
 * inside the next large malloc, a stall of the allocator's that would show
 * up as a long gap in whichever tokenizer loop happened to allocate.
 */
static void
start_call(void)
{
	malloc_trim(0);
	n_checks = 0;
	max_gap = 0;
	depth_prev = 0;
	last_check = now();
}

/* The stretch after the last check counts too. */
static void
end_call(void)
{
	note_gap(now() - last_check, false);
}

/* Print frames as offsets into this program (for addr2line). */
static void
print_frames(const char *label, void *const *frames, int depth)
{
	printf("    %s:", label);
	if (depth == 0)
		printf(" (start or end of the call)");
	fflush(stdout);
	backtrace_symbols_fd(frames, depth, STDOUT_FILENO);
	printf("\n");
}

/* ---- inputs ---------------------------------------------------------------- */

static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *data;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (long) (*len = ftell(f)) < 0)
	{
		perror(path);
		exit(1);
	}
	rewind(f);
	data = malloc(*len + 1);
	if (data == NULL || fread(data, 1, *len, f) != *len)
	{
		perror(path);
		exit(1);
	}
	data[*len] = '\0';
	fclose(f);
	return data;
}

static LmTokenizer *
load(const char *path)
{
	size_t		len;
	char	   *data = read_file(path, &len);
	LmError		err;
	LmTokenizer *tok;

	lm_error_clear(&err);
	if (strstr(path, ".model") != NULL)
		tok = lm_tokenizer_from_spm((const uint8_t *) data, len, &err);
	else
		tok = lm_tokenizer_from_json(data, len, &err);
	free(data);
	if (tok == NULL)
		fprintf(stderr, "%s: %s\n", path, err.message);
	return tok;
}

/* The snippet repeated to about bytes bytes (whole repetitions only). */
static char *
repeat(const char *snippet, size_t bytes, size_t *len)
{
	size_t		n = strlen(snippet);
	size_t		reps = bytes / n > 0 ? bytes / n : 1;
	char	   *text = malloc(n * reps + 1);

	if (text == NULL)
	{
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < reps; i++)
		memcpy(text + i * n, snippet, n);
	text[n * reps] = '\0';
	*len = n * reps;
	return text;
}

/* The snippet with newlines and tabs escaped, for the report. */
static void
print_snippet(const char *s)
{
	putchar('"');
	for (; *s; s++)
	{
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else
			putchar(*s);
	}
	putchar('"');
}

/* ---- one measurement ------------------------------------------------------- */

#define MAX_ROUNDS 99

/* What one call does: encode text into enc, or decode enc's ids. */
typedef struct Call
{
	const LmTokenizer *tok;
	const char *text;
	size_t		len;
	LmEncoding *enc;
	bool		decode;
} Call;

typedef struct Result
{
	double		seconds;		/* best of the rounds with flag_hook */
	long		checks;
	double		gaps[MAX_ROUNDS];	/* the longest of each round with gap_hook */
	bool		failed;
} Result;

static bool
do_call(const Call *c, const LmCall *call)
{
	LmError		err;
	bool		ok;

	lm_error_init(&err, call);
	if (c->decode)
	{
		char	   *text = lm_tokenizer_decode(c->tok, c->enc->ids, c->enc->n, false, &err);

		ok = text != NULL;
		free(text);
	}
	else
		ok = lm_tokenizer_encode(c->tok, c->text, c->len, true, c->enc, &err) == 0;
	if (!ok)
		printf("  %s failed: %s\n", c->decode ? "decode" : "encode", err.message);
	return ok;
}

/* rounds calls timed with flag_hook, then rounds with gap_hook. */
static void
measure(const Call *c, int rounds, Result *r)
{
	memset(r, 0, sizeof(*r));
	r->seconds = 1e30;
	worst_gap = 0;
	for (int round = 0; round < 2 * rounds; round++)
	{
		double		t0;
		bool		ok;

		if (!c->decode)
			lm_encoding_free(c->enc);	/* the previous round's */
		LmCall		call = {round < rounds ? flag_hook : gap_hook, NULL, 1};

		start_call();
		t0 = now();
		ok = do_call(c, &call);
		if (round < rounds && now() - t0 < r->seconds)
			r->seconds = now() - t0;
		if (round >= rounds)
		{
			end_call();
			r->gaps[round - rounds] = max_gap;
		}
		if (!ok)
		{
			r->failed = true;
			return;
		}
		r->checks = n_checks;
	}
}

static int
compare_doubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, const Result *r, int rounds)
{
	double		sorted[MAX_ROUNDS];

	memcpy(sorted, r->gaps, rounds * sizeof(double));
	qsort(sorted, rounds, sizeof(double), compare_doubles);
	printf("  %s  %.3f s  %ld checks  max gap %.1f ms", what, r->seconds, r->checks,
		   sorted[rounds / 2] * 1e3);
	if (rounds > 1)
		printf(" (median of %d; worst %.1f ms)", rounds, sorted[rounds - 1] * 1e3);
	printf("\n");
	if (record_where)
	{
		print_frames("gap starts after", where_gap_start, depth_gap_start);
		print_frames("gap ends at", where_gap_end, depth_gap_end);
	}
}

static void
run_one(const char *path, const LmTokenizer *tok, const char *snippet, size_t bytes,
		int rounds)
{
	LmEncoding	enc = {0};
	Call		c = {tok, NULL, 0, &enc, false};
	char	   *text = repeat(snippet, bytes, &c.len);
	Result		r;

	c.text = text;
	printf("%s ", path);
	print_snippet(snippet);
	printf(" (%zu bytes)\n", c.len);
	measure(&c, rounds, &r);
	if (!r.failed)
	{
		char		what[64];

		snprintf(what, sizeof(what), "encode %zu ids", enc.n);
		report(what, &r, rounds);
		c.decode = true;
		measure(&c, rounds, &r);
		if (!r.failed)
			report("decode", &r, rounds);
	}
	fflush(stdout);
	lm_encoding_free(&enc);
	free(text);
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: cancel_gaps [-b BYTES] [-r ROUNDS] [-w] [-t SNIPPET]... TOKENIZER...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *snippets[MAX_SNIPPETS];
	int			n_snippets = 0;
	size_t		bytes = DEFAULT_BYTES;
	int			rounds = 1;
	int			opt;

	while ((opt = getopt(argc, argv, "b:r:t:w")) != -1)
	{
		switch (opt)
		{
			case 'b':
				bytes = strtoul(optarg, NULL, 10);
				break;
			case 'r':
				rounds = atoi(optarg);
				break;
			case 't':
				if (n_snippets == MAX_SNIPPETS || optarg[0] == '\0')
					usage();
				snippets[n_snippets++] = optarg;
				break;
			case 'w':
				record_where = true;
				break;
			default:
				usage();
		}
	}
	if (optind == argc || rounds < 1 || rounds > MAX_ROUNDS)
		usage();
	if (n_snippets == 0)
		for (size_t i = 0; i < sizeof(default_snippets) / sizeof(default_snippets[0]); i++)
			snippets[n_snippets++] = default_snippets[i];
	for (int a = optind; a < argc; a++)
	{
		LmTokenizer *tok = load(argv[a]);

		if (tok == NULL)
			continue;
		for (int s = 0; s < n_snippets; s++)
			run_one(argv[a], tok, snippets[s], bytes, rounds);
		lm_tokenizer_free(tok);
	}
	return 0;
}
