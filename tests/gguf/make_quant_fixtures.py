#!/usr/bin/env python3
"""The quantized GGUF fixtures: a tiny Llama with random weights in F32
(a temporary file) that llama.cpp's llama-quantize --pure turns into one file
per quantization type; tests/gguf/make_quant_fixtures.sh drives it.

    PYTHONPATH=llama.cpp/gguf-py python3 make_quant_fixtures.py model TMP_DIR OUT_DIR
        TMP_DIR/llama-q-F32.gguf, the token ids (TMP_DIR/ids.txt, the 8
        sequences; TMP_DIR/prompts.txt, the 4 prompts) and OUT_DIR/quant-ids.json
    PYTHONPATH=llama.cpp/gguf-py python3 make_quant_fixtures.py check TMP_DIR OUT_DIR TYPE...
        checks that llama-quantize gave every 2-d tensor of OUT_DIR/llama-q-TYPE.gguf
        (and of OUT_DIR/llama-tiny-q8_0.gguf) the type, writes gguf-py's dequantization
        of its token_embd.weight (OUT_DIR/llama-q-TYPE.token_embd.f32), and prints the
        tensor layouts and the statistics of llama.cpp's logits"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

from tiny_gguf import decoder_gguf, finish, permute

DIM, LAYERS, HEADS, KV_HEADS, FFN, VOCAB, CTX = 256, 2, 4, 2, 256, 128, 512
HD = DIM // HEADS
EPS, THETA = 1e-5, 10000.0
N_SEQ, N_POS, N_PROMPT, PROMPT_LEN = 32, 64, 4, 8
RESIDUAL = 0.3

mode, tmp, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)


def write_model():
    rng = np.random.default_rng(20261210)

    def rand(*shape, scale):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm():
        return (1 + rand(DIM, scale=0.1)).astype(np.float32)

    # Scales for logits of a standard deviation of about 4 (the output rows times a
    # normalized hidden state of RMS about 1: 0.25 * sqrt(256)) and attention scores
    # of a standard deviation above 1, so that the next-token distributions are far from flat.
    # Each block adds an update about a third of the residual stream's size (RESIDUAL), as in
    # trained models: with updates as large as the stream, rounding one activation to the
    # other 8-bit step changes everything after it, and two correct implementations that
    # sum in different orders part at 1% of positions.
    s = 1 / np.sqrt(DIM)
    g = decoder_gguf(os.path.join(tmp, "llama-q-F32.gguf"), "llama", "pg_lm tiny llama for quantization", 0,
                     THETA, lambda g: g.add_rope_dimension_count(HD), dim=DIM, layers=LAYERS, heads=HEADS,
                     kv_heads=KV_HEADS, ffn=FFN, vocab=VOCAB, ctx=CTX, eps=EPS, byte_tokens=False)
    # GGUF names and order as convert_hf_to_gguf.py writes them; q and k rows permuted as it does
    g.add_tensor("token_embd.weight", rand(VOCAB, DIM, scale=1.0))
    for l in range(LAYERS):
        p = f"blk.{l}."
        g.add_tensor(p + "attn_norm.weight", norm())
        g.add_tensor(p + "attn_q.weight", permute(rand(HEADS * HD, DIM, scale=1.5 * s), HEADS, HEADS))
        g.add_tensor(p + "attn_k.weight", permute(rand(KV_HEADS * HD, DIM, scale=1.5 * s), HEADS, KV_HEADS))
        g.add_tensor(p + "attn_v.weight", rand(KV_HEADS * HD, DIM, scale=s))
        g.add_tensor(p + "attn_output.weight", rand(DIM, HEADS * HD, scale=RESIDUAL * s))
        g.add_tensor(p + "ffn_norm.weight", norm())
        g.add_tensor(p + "ffn_gate.weight", rand(FFN, DIM, scale=s))
        g.add_tensor(p + "ffn_up.weight", rand(FFN, DIM, scale=s))
        g.add_tensor(p + "ffn_down.weight", rand(DIM, FFN, scale=RESIDUAL / np.sqrt(FFN)))
    g.add_tensor("output_norm.weight", norm())
    g.add_tensor("output.weight", rand(VOCAB, DIM, scale=0.25))
    finish(g)

    # the token ids: the same pseudo-random sequences for every type
    ids = np.random.default_rng(20261211).integers(0, VOCAB, size=(N_SEQ, N_POS))
    with open(os.path.join(out, "quant-ids.json"), "w") as f:
        json.dump({"n_seq": N_SEQ, "n_pos": N_POS, "n_vocab": VOCAB, "ids": ids.tolist()}, f)
        f.write("\n")
    np.savetxt(os.path.join(tmp, "ids.txt"), ids, fmt="%d")
    np.savetxt(os.path.join(tmp, "prompts.txt"), ids[:N_PROMPT, :PROMPT_LEN], fmt="%d")


def tensor_types(path):
    """{name: (ggml type, tensor)} of a GGUF file"""
    return {t.name: (Q(t.tensor_type), t) for t in gguf.GGUFReader(path).tensors}


def check_pure(path, qtype):
    """every 2-d tensor is qtype and every 1-d one F32.  With --pure, llama-quantize gives all 16
    2-d tensors (token_embd and output included) the type and keeps only the 5 norms (1-d) in F32;
    it also reorders the tensors (output.weight, output_norm.weight, token_embd.weight, blk.*)."""
    types = tensor_types(path)
    wrong = [f"{n} {t.name}" for n, (t, info) in types.items()
             if t != (qtype if len(info.shape) == 2 else Q.F32)]
    if wrong:
        sys.exit(f"{path}: not all 2-d tensors {qtype.name}: {', '.join(wrong)}")
    return types


def softmax_log(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def check(names):
    ref = np.fromfile(os.path.join(tmp, "llama-q-F32.logits.bin"), np.float32).reshape(N_SEQ, N_POS, VOCAB)
    top2 = np.sort(ref, -1)[..., -2:]
    print(f"F32 reference: logit std {ref.std(-1).mean():.2f} (mean over positions of the std over the"
          f" vocabulary), top-1 minus top-2 median {np.median(top2[..., 1] - top2[..., 0]):.2f},"
          f" max probability median {np.median(np.exp(softmax_log(ref).max(-1))):.2f}")
    print(f"{'type':6} {'num':>3} {'types in file':24} {'row (256)':>9} {'block':>11}"
          f" {'std':>5} {'margin':>6} {'top1=F32':>8} {'KL(F32||q)':>10} {'greedy margin min/median':>24}")
    for name in names:
        qtype = Q[name]
        path = os.path.join(out, f"llama-q-{name}.gguf")
        types = check_pure(path, qtype)
        # gguf-py's dequantization of the token embedding, the reference for pg_lm's
        t, emb = types["token_embd.weight"]
        deq = gguf.quants.dequantize(emb.data, t).astype(np.float32)
        assert deq.shape == (VOCAB, DIM)
        deq.tofile(os.path.join(out, f"llama-q-{name}.token_embd.f32"))
        # one tensor's layout: ggml type number, bytes per row of 256, elements and bytes per block
        t, q = types["blk.0.attn_q.weight"]
        block, size = gguf.GGML_QUANT_SIZES[t]
        row = int(q.n_bytes) // int(q.shape[1])
        assert row == DIM // block * size and q.data.shape == (HEADS * HD, row)
        lg = np.fromfile(os.path.join(out, f"llama-q-{name}.logits.bin"), np.float32)
        lg = lg.reshape(N_SEQ, N_POS, VOCAB)
        s2 = np.sort(lg, -1)[..., -2:]
        kl = (np.exp(softmax_log(ref)) * (softmax_log(ref) - softmax_log(lg))).sum(-1)
        gr = json.load(open(os.path.join(out, f"llama-q-{name}.greedy.json")))
        m = np.array(gr["margins"])
        used = sorted({tt.name for tt, _ in types.values()})
        print(f"{name:6} {int(t):3} {'+'.join(used):24} {row:9} {f'{block} in {size} B':>11}"
              f" {lg.std(-1).mean():5.2f} {np.median(s2[..., 1] - s2[..., 0]):6.2f}"
              f" {(lg.argmax(-1) == ref.argmax(-1)).mean():8.4f} {kl.mean():10.2e}"
              f" {f'{m.min():.3f} / {np.median(m):.2f}':>24}")
    check_pure(os.path.join(out, "llama-tiny-q8_0.gguf"), Q.Q8_0)
    print("llama-tiny-q8_0.gguf: every 2-d tensor Q8_0, 1-d tensors F32")


if mode == "model":
    write_model()
elif mode == "check":
    check(sys.argv[4:])
else:
    sys.exit(f"unknown mode {mode}")
