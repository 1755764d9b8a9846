#!/usr/bin/env python3
"""The tiny Llama of llama-tiny-f32.gguf again, with rotary scaling:
  llama-tiny-rope-freqs.gguf   Llama 3.1's frequency factors (rope_freqs.weight), computed as
                               llama.cpp's converter computes them from a llama3 rope_scaling
                               (factor 8, low_freq_factor 1, high_freq_factor 4,
                               original_max_position_embeddings 256)
  llama-tiny-rope-linear.gguf  linear scaling by 4 (rope.scaling.type, rope.scaling.factor)
The same weights with those rope_scaling entries in config.json are the
transformers side of the comparison (test_gguf edits llama-tiny-hf-f32's).
    PYTHONPATH=llama.cpp/gguf-py python3 make_rope_fixtures.py DIR   (DIR holds llama-tiny-f32.gguf)"""
import math
import os
import sys

import numpy as np
import gguf

from tiny_gguf import decoder_gguf, finish

out = sys.argv[1]
DIM, LAYERS, HEADS, KV_HEADS, FFN, VOCAB, CTX = 64, 2, 4, 2, 160, 320, 128
HD = DIM // HEADS
EPS, THETA = 1e-5, 10000.0
base = gguf.GGUFReader(os.path.join(out, "llama-tiny-f32.gguf"))
assert base.fields["llama.embedding_length"].parts[-1][0] == DIM


def llama31_factors(factor, low, high, old_ctx):
    # convert_hf_to_gguf.py (LlamaModel): the factor each frequency is divided by
    freqs = 1.0 / (THETA ** (np.arange(0, HD, 2, dtype=np.float32) / HD))
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < old_ctx / high:
            out.append(1.0)
        elif wavelen > old_ctx / low:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def write(name, extra_keys, extra_tensors):
    g = decoder_gguf(os.path.join(out, name), "llama", "pg_lm tiny llama", 0, THETA,
                     lambda g: g.add_rope_dimension_count(HD), dim=DIM, layers=LAYERS, heads=HEADS,
                     kv_heads=KV_HEADS, ffn=FFN, vocab=VOCAB, ctx=CTX, eps=EPS)
    extra_keys(g)
    for t in base.tensors:
        g.add_tensor(t.name, np.array(t.data))
    for n, t in extra_tensors.items():
        g.add_tensor(n, t)
    finish(g)


write("llama-tiny-rope-freqs.gguf", lambda g: None, {"rope_freqs.weight": llama31_factors(8.0, 1.0, 4.0, 256)})


def linear(g):
    g.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
    g.add_rope_scaling_factor(4.0)


write("llama-tiny-rope-linear.gguf", linear, {})
print("wrote rope fixtures")
