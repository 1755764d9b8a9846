/*
 * rnn_cells.h — PyTorch's recurrent layers (nn.RNN, nn.LSTM, nn.GRU) over
 * one sequence: Elman cells (tanh or ReLU), LSTM and GRU, several layers,
 * one or two directions, with PyTorch's weight layout and formulas:
 *
 *   Elman  h' = act(W_ih x + b_ih + W_hh h + b_hh)
 *   LSTM   i = σ(..), f = σ(..), g = tanh(..), o = σ(..)  (gates in that
 *          order, each W_i* x + b_i* + W_h* h + b_h*)
 *          c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
 *   GRU    r = σ(W_ir x + b_ir + W_hr h + b_hr)
 *          z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *          n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 *          h' = (1 - z) ⊙ n + z ⊙ h
 *
 * A layer-direction holds weight_ih [gates·hidden][input], weight_hh
 * [gates·hidden][hidden] and the two biases.  Layer l > 0 reads the
 * previous layer's outputs, [forward ‖ backward] when bidirectional; the
 * reverse direction reads the sequence from its end.  Final states are laid
 * out as PyTorch's h_n: [layers · directions][hidden], index l·dirs + d.
 *
 * The input projections are one GEMM per layer and direction for up to 1024
 * steps at a time (a whole sentence); the recurrence is one GEMV per step.  Dropout is a training
 * feature and does nothing here.
 */
#ifndef LM_NN_RNN_CELLS_H
#define LM_NN_RNN_CELLS_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/weights.h"
#include "util/lm_error.h"

typedef enum LmRnnCell
{
	LM_RNN_CELL_TANH,			/* nn.RNN(nonlinearity="tanh") */
	LM_RNN_CELL_RELU,			/* nn.RNN(nonlinearity="relu") */
	LM_RNN_CELL_LSTM,			/* nn.LSTM, gates i, f, g, o */
	LM_RNN_CELL_GRU				/* nn.GRU, gates r, z, n */
} LmRnnCell;

/* Bounds checked when a stack is built. */
#define LM_RNN_MAX_LAYERS 64
#define LM_RNN_MAX_GATES 4

/*
 * The cell of a name: "rnn_tanh" (also "rnn" and "tanh"), "rnn_relu" (also
 * "relu"), "lstm", "gru".  False for any other name.
 */
bool		lm_rnn_cell_from_name(const char *name, LmRnnCell *cell);
const char *lm_rnn_cell_name(LmRnnCell cell);

/* Gate blocks stacked in the weight matrices: 1, 4 (LSTM) or 3 (GRU). */
int			lm_rnn_cell_gates(LmRnnCell cell);

/* One layer in one direction, pointers into the checkpoint's tensors. */
typedef struct LmRnnWeights
{
	const float *w_ih;			/* [gates·hidden][input] */
	const float *w_hh;			/* [gates·hidden][hidden] */
	const float *b_ih;			/* [gates·hidden], NULL when bias=False */
	const float *b_hh;			/* [gates·hidden], NULL when bias=False */
} LmRnnWeights;

typedef struct LmRnnStack
{
	LmRnnCell	cell;
	int			input_size;
	int			hidden_size;
	int			num_layers;
	int			num_dirs;		/* 1, or 2 when bidirectional */
	LmRnnWeights *w;			/* [num_layers · num_dirs], owned */
} LmRnnStack;

/*
 * Look up a torch.nn.RNN/LSTM/GRU module's state dict under `prefix`
 * ("rnn" finds rnn.weight_ih_l0, rnn.weight_hh_l0_reverse, ...) and check
 * every shape.  Errors name the missing or misshapen tensor.
 */
int			lm_rnn_stack_load(LmRnnStack *s, LmWeightStore *ws, const char *prefix,
							  LmRnnCell cell, int input_size, int hidden_size,
							  int num_layers, bool bidirectional, bool bias, LmError *err);
void		lm_rnn_stack_free(LmRnnStack *s);

/* Floats of scratch lm_rnn_stack_run needs for a sequence of n steps. */
size_t		lm_rnn_run_scratch(const LmRnnStack *s, int n);

/*
 * Run the stack over x[n][input_size] (n >= 1).
 *   h0, c0   initial states [layers·dirs][hidden], NULL for zeros (c0 and
 *            c_n are used by LSTM only)
 *   out      NULL, or the last layer's outputs [n][dirs·hidden]
 *   h_n, c_n final states [layers·dirs][hidden] (c_n may be NULL)
 * Checks for cancellation at every time step.
 */
int			lm_rnn_stack_run(const LmRnnStack *s, const float *x, int n,
							 const float *h0, const float *c0, float *out,
							 float *h_n, float *c_n, float *scratch, LmError *err);

/* Floats of scratch lm_rnn_stack_step needs. */
size_t		lm_rnn_step_scratch(const LmRnnStack *s);

/*
 * One time step of a unidirectional stack: x[input_size] in, the states
 * h[layers][hidden] (and c for LSTM) updated in place.  The new output is
 * the last layer's state, h + (layers - 1)·hidden.
 */
int			lm_rnn_stack_step(const LmRnnStack *s, const float *x, float *h, float *c,
							  float *scratch, LmError *err);

#endif
