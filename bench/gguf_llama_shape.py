#!/usr/bin/env python3
"""A Llama-shaped GGUF model with random weights for bench/gguf.sh: about
0.5B parameters (hidden 1024, 24 layers, 16 heads of 64, 8 key/value
heads, feed-forward 4608, vocabulary 32000, untied output: 481M), every
matrix's inputs a multiple of 256 so that llama-quantize's K types apply
to all of them; a minimal SentencePiece-style vocabulary (the bench feeds
token ids).
    PYTHONPATH=llama.cpp/gguf-py python3 gguf_llama_shape.py OUT.gguf f32|f16"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gguf"))
from tiny_gguf import decoder_gguf, finish  # noqa: E402

out, kind = sys.argv[1:3]
DIM, LAYERS, HEADS, KV, FFN, VOCAB, HD = 1024, 24, 16, 8, 4608, 32000, 64
rng = np.random.default_rng(1)


def rand(*shape):
    m = (rng.standard_normal(shape, dtype=np.float32) * 0.02)
    return m.astype(np.float16) if kind == "f16" and len(shape) == 2 else m


g = decoder_gguf(out, "llama", "bench-llama-0.5b", 0 if kind == "f32" else 1, 10000.0,
                 dim=DIM, layers=LAYERS, heads=HEADS, kv_heads=KV, ffn=FFN, vocab=VOCAB, ctx=2048, eps=1e-5)
g.add_tensor("token_embd.weight", rand(VOCAB, DIM))
g.add_tensor("output_norm.weight", np.ones(DIM, dtype=np.float32))
g.add_tensor("output.weight", rand(VOCAB, DIM))
for l in range(LAYERS):
    p = f"blk.{l}."
    g.add_tensor(p + "attn_norm.weight", np.ones(DIM, dtype=np.float32))
    g.add_tensor(p + "attn_q.weight", rand(HEADS * HD, DIM))
    g.add_tensor(p + "attn_k.weight", rand(KV * HD, DIM))
    g.add_tensor(p + "attn_v.weight", rand(KV * HD, DIM))
    g.add_tensor(p + "attn_output.weight", rand(DIM, HEADS * HD))
    g.add_tensor(p + "ffn_norm.weight", np.ones(DIM, dtype=np.float32))
    g.add_tensor(p + "ffn_gate.weight", rand(FFN, DIM))
    g.add_tensor(p + "ffn_up.weight", rand(FFN, DIM))
    g.add_tensor(p + "ffn_down.weight", rand(DIM, FFN))
finish(g)
