/*
 * activation.c — activation functions, softmax and friends.
 */
#include "nn/ops.h"
#include "nn/parallel.h"
#include "nn/vmath.h"

#include <math.h>
#include <string.h>

/* sqrt(2 / π) and 1 / sqrt(2), for the two GELUs */
#define GELU_TANH_SCALE 0.7978845608028654f
#define GELU_TANH_CUBIC 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define QUICK_GELU_SCALE 1.702f

static const struct
{
	const char *name;
	LmActivation act;
}			activation_names[] =
{
	{"gelu", LM_ACT_GELU},
	{"gelu_python", LM_ACT_GELU},
	{"gelu_new", LM_ACT_GELU_TANH},
	{"gelu_pytorch_tanh", LM_ACT_GELU_TANH},
	{"gelu_fast", LM_ACT_GELU_TANH},
	{"quick_gelu", LM_ACT_QUICK_GELU},
	{"relu", LM_ACT_RELU},
	{"silu", LM_ACT_SILU},
	{"swish", LM_ACT_SILU},
};

int
lm_activation_from_name(const char *name, LmActivation *act, LmError *err)
{
	for (size_t i = 0; i < sizeof(activation_names) / sizeof(activation_names[0]); i++)
	{
		if (strcmp(name, activation_names[i].name) == 0)
		{
			*act = activation_names[i].act;
			return 0;
		}
	}
	lm_fail(err, LM_ERR_UNSUPPORTED, "activation function \"%s\" is not supported", name);
	lm_hint(err, "Supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, quick_gelu, relu, silu.");
	return -1;
}

static inline float
activate_one(float x, LmActivation act)
{
	switch (act)
	{
		case LM_ACT_GELU:
			return 0.5f * x * (1.0f + erff(x * INV_SQRT2));
		case LM_ACT_GELU_TANH:
			return 0.5f * x * (1.0f + tanhf(GELU_TANH_SCALE * (x + GELU_TANH_CUBIC * x * x * x)));
		case LM_ACT_QUICK_GELU:
			return x / (1.0f + expf(-QUICK_GELU_SCALE * x));
		case LM_ACT_RELU:
			return x > 0.0f ? x : 0.0f;
		case LM_ACT_SILU:
			return x / (1.0f + expf(-x));
	}
	return x;
}

/* Vectorised where the CPU allows (vmath.c), the remainder one by one. */
static void
activate_range(float *x, const float *up, long count, LmActivation act)
{
	long		i = lm_vec_activate(x, up, count, act);

	if (up == NULL)
		for (; i < count; i++)
			x[i] = activate_one(x[i], act);
	else
		for (; i < count; i++)
			x[i] = activate_one(x[i], act) * up[i];
}

/*
 * With several threads, large counts go in chunks of a multiple of 64
 * elements: the vector code covers every chunk but the last whole, so each
 * element is computed as one thread would.
 */
#define PARALLEL_MIN_ELEMENTS (64L * 1024)

typedef struct Activation
{
	float	   *x;
	const float *up;
	LmActivation act;
} Activation;

static void
activate_chunk(void *arg, long start, long n)
{
	const Activation *a = arg;

	activate_range(a->x + start, a->up ? a->up + start : NULL, n, a->act);
}

static void
activate_all(float *x, const float *up, long count, LmActivation act)
{
	Activation	a = {x, up, act};

	lm_parallel_ranges(count, 64, PARALLEL_MIN_ELEMENTS, activate_chunk, &a);
}

void
lm_activate(float *x, long count, LmActivation act)
{
	activate_all(x, NULL, count, act);
}

void
lm_gated(float *gate, const float *up, long count, LmActivation act)
{
	activate_all(gate, up, count, act);
}

void
lm_softmax(float *x, int count)
{
	float		max = x[0];
	double		sum = 0.0;

	for (int i = 1; i < count; i++)
		if (x[i] > max)
			max = x[i];
	for (int i = 0; i < count; i++)
	{
		x[i] = expf(x[i] - max);
		sum += x[i];
	}
	for (int i = 0; i < count; i++)
		x[i] = (float) (x[i] / sum);
}

double
lm_logsumexp(const float *x, int count)
{
	float		max = x[0];
	double		sum = 0.0;

	for (int i = 1; i < count; i++)
		if (x[i] > max)
			max = x[i];
	for (int i = 0; i < count; i++)
		sum += exp((double) x[i] - max);
	return max + log(sum);
}

int
lm_argmax(const float *x, int count)
{
	int			best = 0;

	for (int i = 1; i < count; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}
