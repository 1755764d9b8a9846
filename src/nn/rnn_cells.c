/*
 * rnn_cells.c — Elman, LSTM and GRU stacks with PyTorch's semantics (see
 * rnn_cells.h): weight lookup, the cell updates, whole sequences and
 * single steps.
 */
#include "nn/rnn_cells.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/ops.h"

static const struct
{
	const char *name;
	LmRnnCell	cell;
}			cell_names[] =
{
	{"rnn_tanh", LM_RNN_CELL_TANH},
	{"rnn", LM_RNN_CELL_TANH},
	{"tanh", LM_RNN_CELL_TANH},
	{"rnn_relu", LM_RNN_CELL_RELU},
	{"relu", LM_RNN_CELL_RELU},
	{"lstm", LM_RNN_CELL_LSTM},
	{"gru", LM_RNN_CELL_GRU},
};

bool
lm_rnn_cell_from_name(const char *name, LmRnnCell *cell)
{
	for (size_t i = 0; i < sizeof(cell_names) / sizeof(cell_names[0]); i++)
	{
		if (strcmp(name, cell_names[i].name) == 0)
		{
			*cell = cell_names[i].cell;
			return true;
		}
	}
	return false;
}

const char *
lm_rnn_cell_name(LmRnnCell cell)
{
	switch (cell)
	{
		case LM_RNN_CELL_TANH:
			return "rnn_tanh";
		case LM_RNN_CELL_RELU:
			return "rnn_relu";
		case LM_RNN_CELL_LSTM:
			return "lstm";
		case LM_RNN_CELL_GRU:
			return "gru";
	}
	return "?";
}

int
lm_rnn_cell_gates(LmRnnCell cell)
{
	switch (cell)
	{
		case LM_RNN_CELL_LSTM:
			return 4;
		case LM_RNN_CELL_GRU:
			return 3;
		default:
			return 1;
	}
}

/* ----------------------------------------------------------------------------
 * Loading */

int
lm_rnn_stack_load(LmRnnStack *s, LmWeightStore *ws, const char *prefix, LmRnnCell cell,
				  int input_size, int hidden_size, int num_layers, bool bidirectional,
				  bool bias, LmError *err)
{
	int			gh = lm_rnn_cell_gates(cell) * hidden_size;

	memset(s, 0, sizeof(*s));
	if (num_layers < 1 || num_layers > LM_RNN_MAX_LAYERS)
		return lm_fail(err, LM_ERR_CORRUPT, "an RNN of %d layers is outside 1..%d",
					   num_layers, LM_RNN_MAX_LAYERS);
	s->cell = cell;
	s->input_size = input_size;
	s->hidden_size = hidden_size;
	s->num_layers = num_layers;
	s->num_dirs = bidirectional ? 2 : 1;
	s->w = lm_calloc((size_t) num_layers * s->num_dirs, sizeof(LmRnnWeights), err);
	if (s->w == NULL)
		return -1;

	for (int l = 0; l < num_layers; l++)
	{
		int			in = l == 0 ? input_size : s->num_dirs * hidden_size;

		for (int d = 0; d < s->num_dirs; d++)
		{
			LmRnnWeights *w = &s->w[l * s->num_dirs + d];
			const char *sfx = d ? "_reverse" : "";

			w->w_ih = lm_weight_2d(ws, err, gh, in, "%s.weight_ih_l%d%s", prefix, l, sfx);
			if (w->w_ih == NULL)
				return -1;
			w->w_hh = lm_weight_2d(ws, err, gh, hidden_size, "%s.weight_hh_l%d%s",
								   prefix, l, sfx);
			if (w->w_hh == NULL)
				return -1;
			if (!bias)
				continue;
			w->b_ih = lm_weight_1d(ws, err, gh, "%s.bias_ih_l%d%s", prefix, l, sfx);
			if (w->b_ih == NULL)
				return -1;
			w->b_hh = lm_weight_1d(ws, err, gh, "%s.bias_hh_l%d%s", prefix, l, sfx);
			if (w->b_hh == NULL)
				return -1;
		}
	}
	return 0;
}

void
lm_rnn_stack_free(LmRnnStack *s)
{
	free(s->w);
	memset(s, 0, sizeof(*s));
}

/* ----------------------------------------------------------------------------
 * The cells */

/*
 * tanh through expf.  glibc's tanhf goes through a slow scalar expm1f and
 * took 60% of an LSTM's time; expf is fast.  Near 0, where 1 - e^-2|x|
 * would cancel, the odd Taylor series to x^9 is used (relative error below
 * 2e-8 there); elsewhere the error is a few float ulps.
 */
#define TANH_SERIES_BELOW 0.25f
#define TANH_SATURATES_AT 9.0f	/* tanh(9) rounds to 1 in float */

static inline float
fast_tanh(float x)
{
	float		ax = fabsf(x);
	float		e;

	if (ax < TANH_SERIES_BELOW)
	{
		float		x2 = x * x;

		return x * (1.0f - x2 * (1.0f / 3 - x2 * (2.0f / 15 - x2 * (17.0f / 315 -
																	 x2 * (62.0f / 2835)))));
	}
	if (ax >= TANH_SATURATES_AT)
		return copysignf(1.0f, x);
	e = expf(-2.0f * ax);
	return copysignf((1.0f - e) / (1.0f + e), x);
}

static inline float
sigmoid(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

/*
 * New state from the input part xg = W_ih x + b_ih and the hidden part
 * hg = W_hh h + b_hh, both [gates][hidden].  h (and c) are updated in
 * place: every element depends on its own old value only.
 */
static void
cell_update(LmRnnCell cell, int hid, const float *xg, const float *hg, float *h, float *c)
{
	switch (cell)
	{
		case LM_RNN_CELL_TANH:
			for (int k = 0; k < hid; k++)
				h[k] = fast_tanh(xg[k] + hg[k]);
			break;
		case LM_RNN_CELL_RELU:
			for (int k = 0; k < hid; k++)
			{
				float		a = xg[k] + hg[k];

				h[k] = a > 0.0f ? a : 0.0f;
			}
			break;
		case LM_RNN_CELL_LSTM:
			for (int k = 0; k < hid; k++)
			{
				float		i = sigmoid(xg[k] + hg[k]);
				float		f = sigmoid(xg[hid + k] + hg[hid + k]);
				float		g = fast_tanh(xg[2 * hid + k] + hg[2 * hid + k]);
				float		o = sigmoid(xg[3 * hid + k] + hg[3 * hid + k]);

				c[k] = f * c[k] + i * g;
				h[k] = o * fast_tanh(c[k]);
			}
			break;
		case LM_RNN_CELL_GRU:
			for (int k = 0; k < hid; k++)
			{
				float		r = sigmoid(xg[k] + hg[k]);
				float		z = sigmoid(xg[hid + k] + hg[hid + k]);
				float		n = fast_tanh(xg[2 * hid + k] + r * hg[2 * hid + k]);

				h[k] = (1.0f - z) * n + z * h[k];
			}
			break;
	}
}

/* One step of one layer-direction: hg = W_hh h + b_hh, then the cell. */
static void
cell_step(const LmRnnStack *s, const LmRnnWeights *w, const float *xg, float *h, float *c,
		  float *hg)
{
	int			hid = s->hidden_size;
	int			gh = lm_rnn_cell_gates(s->cell) * hid;

	if (w->b_hh != NULL)
		memcpy(hg, w->b_hh, gh * sizeof(float));
	else
		memset(hg, 0, gh * sizeof(float));
	lm_sgemv(CblasRowMajor, CblasNoTrans, gh, hid, 1.0f, w->w_hh, hid, h, 1, 1.0f, hg, 1);
	cell_update(s->cell, hid, xg, hg, h, c);
}

/* ----------------------------------------------------------------------------
 * Sequences */

/*
 * Input projections are computed for this many time steps at a time: one
 * GEMM for a whole sentence, while a very long input keeps its projection
 * buffer small and is checked for cancellation between blocks.
 */
#define RNN_PROJECTION_BLOCK 1024

static int
projection_rows(int n)
{
	return n < RNN_PROJECTION_BLOCK ? n : RNN_PROJECTION_BLOCK;
}

size_t
lm_rnn_run_scratch(const LmRnnStack *s, int n)
{
	size_t		gh = (size_t) lm_rnn_cell_gates(s->cell) * s->hidden_size;
	size_t		layer_out = (size_t) n * s->num_dirs * s->hidden_size;

	/* xg for one block of steps, two layer outputs (ping-pong), hg, and c */
	return (size_t) projection_rows(n) * gh + 2 * layer_out + gh + s->hidden_size;
}

int
lm_rnn_stack_run(const LmRnnStack *s, const float *x, int n, const float *h0,
				 const float *c0, float *out, float *h_n, float *c_n, float *scratch,
				 LmError *err)
{
	int			hid = s->hidden_size;
	int			dirs = s->num_dirs;
	int			gh = lm_rnn_cell_gates(s->cell) * hid;
	int			width = dirs * hid;		/* one time step of a layer's output */
	float	   *xg = scratch;
	float	   *buf[2];
	float	   *hg;
	float	   *c;
	const float *in = x;
	int			in_size = s->input_size;

	buf[0] = xg + (size_t) projection_rows(n) * gh;
	buf[1] = buf[0] + (size_t) n * width;
	hg = buf[1] + (size_t) n * width;
	c = hg + gh;

	for (int l = 0; l < s->num_layers; l++)
	{
		float	   *layer_out = buf[l % 2];

		for (int d = 0; d < dirs; d++)
		{
			const LmRnnWeights *w = &s->w[l * dirs + d];
			int			idx = l * dirs + d;
			float	   *h = h_n + (size_t) idx * hid;

			if (h0 != NULL)
				memcpy(h, h0 + (size_t) idx * hid, hid * sizeof(float));
			else
				memset(h, 0, hid * sizeof(float));
			if (c0 != NULL)
				memcpy(c, c0 + (size_t) idx * hid, hid * sizeof(float));
			else
				memset(c, 0, hid * sizeof(float));

			for (int first = 0; first < n; first += RNN_PROJECTION_BLOCK)
			{
				int			rows = projection_rows(n - first);
				/* time steps [lo, lo + rows) are this block, in either direction */
				int			lo = d ? n - first - rows : first;

				if (lm_check_cancel(err) < 0)
					return -1;
				lm_linear(xg, in + (size_t) lo * in_size, w->w_ih, w->b_ih, rows, in_size, gh,
						  false);
				for (int step = 0; step < rows; step++)
				{
					int			t = d ? lo + rows - 1 - step : lo + step;

					if (lm_check_cancel(err) < 0)
						return -1;
					cell_step(s, w, xg + (size_t) (t - lo) * gh, h, c, hg);
					memcpy(layer_out + (size_t) t * width + d * hid, h, hid * sizeof(float));
				}
			}
			if (c_n != NULL)
				memcpy(c_n + (size_t) idx * hid, c, hid * sizeof(float));
		}
		in = layer_out;
		in_size = width;
	}
	if (out != NULL)
		memcpy(out, in, (size_t) n * width * sizeof(float));
	return 0;
}

/* ----------------------------------------------------------------------------
 * Single steps (decoders) */

size_t
lm_rnn_step_scratch(const LmRnnStack *s)
{
	return 2 * (size_t) lm_rnn_cell_gates(s->cell) * s->hidden_size;
}

int
lm_rnn_stack_step(const LmRnnStack *s, const float *x, float *h, float *c, float *scratch,
				  LmError *err)
{
	int			hid = s->hidden_size;
	int			gh = lm_rnn_cell_gates(s->cell) * hid;
	float	   *xg = scratch;
	float	   *hg = scratch + gh;

	if (s->num_dirs != 1)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT,
					   "a bidirectional RNN cannot be run one step at a time");
	if (s->cell == LM_RNN_CELL_LSTM && c == NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "an LSTM step needs its cell state");
	if (lm_check_cancel(err) < 0)
		return -1;
	for (int l = 0; l < s->num_layers; l++)
	{
		const LmRnnWeights *w = &s->w[l];
		const float *in = l == 0 ? x : h + (size_t) (l - 1) * hid;
		int			in_size = l == 0 ? s->input_size : hid;

		lm_linear(xg, in, w->w_ih, w->b_ih, 1, in_size, gh, false);
		cell_step(s, w, xg, h + (size_t) l * hid, c ? c + (size_t) l * hid : NULL, hg);
	}
	return 0;
}
