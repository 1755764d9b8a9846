#!/usr/bin/python3
"""The model both sides of bench/run_ort.sh run, and the check that they agree.

  /usr/bin/python3 bench/ort_model.py prepare DIR [--shape SHAPE] [--seq N] [--batch N] [--opset N]
  /usr/bin/python3 bench/ort_model.py compare DIR ENGINE.f32 ORT.f32

prepare writes into DIR, from one set of random float32 weights (a BERT
encoder of the shape bench_transformers.c names: minilm-l6, bert-base or
bert:KEY=N,...):
  config.json, model.safetensors  the checkpoint the engine loads (BertModel names);
  model.onnx                      the same encoder in plain torch ops, exported by
                                  torch.onnx.export: inputs input_ids,
                                  attention_mask, token_type_ids (int64
                                  [batch, tokens], both dimensions dynamic);
                                  outputs embeddings (mean-pooled over the masked
                                  tokens, L2-normalised) and mean_pooled (before
                                  the normalisation);
  reference.f64                   what the same module gives in float64 (the layout
                                  below), the yardstick for both;
and prints "key value" lines (the shape, parameters).

The graph is laid out as Hugging Face's BERT exported it (opset 11 by
default, additive mask (1 − mask) · −10000, scores divided by √head_size,
the bias added after each MatMul), because ONNX Runtime's own graph
optimisations look for exactly that: with it, graph optimisation 'all' fuses
each layer's attention into one Attention operator, its LayerNorms and its
bias + GELU.  At opset 17 (the LayerNormalization operator, Unsqueeze with
axes as an input) the attention is not fused and ORT is 5–10 % slower here;
with the sequence length fixed in the graph it fuses less and is slower
still.

Weights are uniform in ±0.04 as bench_transformers.c's; biases and LayerNorm
parameters are random too (±0.02 around 0, and around 1 for the LayerNorm
scales), so that a bias or a LayerNorm parameter wired wrongly on either side
shows in the check.

The inputs are bench_transformers.c's: --batch inputs of --seq tokens, token i
of the batch (counting across inputs) (i · 7919 + 101) mod vocabulary, no
padding, token type 0.  Each side writes its outputs as float32 rows
[1 + 2·batch][hidden]: row 0 input 0's mean-pooled vector before
normalisation (from an untimed first call), rows 1..batch the inputs embedded
one at a time, rows batch+1..2·batch the batch embedded at once (the last
round's).

compare prints, for the engine against ORT and each against the float64
reference, the largest relative error over the rows (‖a − b‖ / ‖b‖, per row)
and the largest absolute difference, and check_ok 1 when engine and ORT agree
within 1e-4 relative on every row (check_ok 0 otherwise).
"""
import argparse
import json
import math
import os
import struct
import sys

from bench_shapes import KEYS, parse_shape as parse_any_shape, positive

TOLERANCE = 1e-4


def parse_shape(arg):
    """minilm-l6, bert-base, or bert / a preset followed by :KEY=N,...: the
    torch peer's shapes (as bench_transformers.c), encoders only."""
    base = arg.partition(":")[0]
    if base not in ("minilm-l6", "bert-base", "bert"):
        raise argparse.ArgumentTypeError("unknown encoder shape %r (minilm-l6, bert-base, bert:KEY=N,...)" % base)
    shape = parse_any_shape(arg)
    del shape["decoder"]
    return shape


def weights(shape):
    """BertModel's tensors, name → float32 tensor, in checkpoint order."""
    import torch

    g = torch.Generator().manual_seed(20240611)
    d, ffn = shape["hidden"], shape["ffn"]

    def uniform(scale, *dims, centre=0.0):
        return (torch.rand(*dims, generator=g) * 2 - 1) * scale + centre

    w = {
        "embeddings.word_embeddings.weight": uniform(0.04, shape["vocab"], d),
        "embeddings.position_embeddings.weight": uniform(0.04, shape["positions"], d),
        "embeddings.token_type_embeddings.weight": uniform(0.04, 2, d),
        "embeddings.LayerNorm.weight": uniform(0.02, d, centre=1.0),
        "embeddings.LayerNorm.bias": uniform(0.02, d),
    }
    for l in range(shape["layers"]):
        p = "encoder.layer.%d." % l
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            w[p + name + ".weight"] = uniform(0.04, d, d)   # Linear: [out][in]
            w[p + name + ".bias"] = uniform(0.02, d)
        w[p + "attention.output.LayerNorm.weight"] = uniform(0.02, d, centre=1.0)
        w[p + "attention.output.LayerNorm.bias"] = uniform(0.02, d)
        w[p + "intermediate.dense.weight"] = uniform(0.04, ffn, d)
        w[p + "intermediate.dense.bias"] = uniform(0.02, ffn)
        w[p + "output.dense.weight"] = uniform(0.04, d, ffn)
        w[p + "output.dense.bias"] = uniform(0.02, d)
        w[p + "output.LayerNorm.weight"] = uniform(0.02, d, centre=1.0)
        w[p + "output.LayerNorm.bias"] = uniform(0.02, d)
    return w


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, t in tensors.items():
        n = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 64)   # the data 64-byte aligned, as bench_transformers.c writes it
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for t in tensors.values():
            f.write(t.contiguous().numpy().astype("<f4").tobytes())


def encoder_module(shape, tensors):
    """The encoder as a torch module, laid out as Hugging Face's BertModel exports."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    d, heads = shape["hidden"], shape["heads"]
    hd = d // heads

    class Linear(nn.Module):
        """x · Wᵀ + b written out: nn.Linear exports its bias as the first input of the Add,
        where ONNX Runtime's fusions look for it second."""

        def __init__(self, prefix):
            super().__init__()
            self.weight = nn.Parameter(tensors[prefix + ".weight"].clone())
            self.bias = nn.Parameter(tensors[prefix + ".bias"].clone())

        def forward(self, x):
            return torch.matmul(x, self.weight.t()) + self.bias

    def linear(prefix, n_in, n_out):
        return Linear(prefix)

    def layer_norm(prefix):
        m = nn.LayerNorm(d, eps=1e-12)
        m.weight.data.copy_(tensors[prefix + ".weight"])
        m.bias.data.copy_(tensors[prefix + ".bias"])
        return m

    class Layer(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.query = linear(p + "attention.self.query", d, d)
            self.key = linear(p + "attention.self.key", d, d)
            self.value = linear(p + "attention.self.value", d, d)
            self.attn_out = linear(p + "attention.output.dense", d, d)
            self.attn_ln = layer_norm(p + "attention.output.LayerNorm")
            self.inter = linear(p + "intermediate.dense", d, shape["ffn"])
            self.out = linear(p + "output.dense", shape["ffn"], d)
            self.out_ln = layer_norm(p + "output.LayerNorm")

        def heads(self, x):
            return x.view(x.size()[:-1] + (heads, hd)).permute(0, 2, 1, 3)

        def forward(self, x, bias):
            q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + bias
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).contiguous()
            ctx = ctx.view(ctx.size()[:-2] + (d,))
            x = self.attn_ln(self.attn_out(ctx) + x)
            return self.out_ln(self.out(F.gelu(self.inter(x))) + x)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(shape["vocab"], d)
            self.word.weight.data.copy_(tensors["embeddings.word_embeddings.weight"])
            self.position = nn.Embedding(shape["positions"], d)
            self.position.weight.data.copy_(tensors["embeddings.position_embeddings.weight"])
            self.token_type = nn.Embedding(2, d)
            self.token_type.weight.data.copy_(tensors["embeddings.token_type_embeddings.weight"])
            self.ln = layer_norm("embeddings.LayerNorm")
            self.register_buffer("position_ids", torch.arange(shape["positions"]).unsqueeze(0))
            self.layers = nn.ModuleList(Layer("encoder.layer.%d." % l) for l in range(shape["layers"]))

        def forward(self, input_ids, attention_mask, token_type_ids):
            n = input_ids.shape[1]
            x = self.word(input_ids) + self.token_type(token_type_ids) + self.position(self.position_ids[:, :n])
            x = self.ln(x)
            dtype = x.dtype
            # as Hugging Face's BERT wrote it before 4.21: ONNX Runtime's attention fusion matches this
            bias = (1.0 - attention_mask.unsqueeze(1).unsqueeze(2).to(dtype)) * -10000.0
            for layer in self.layers:
                x = layer(x, bias)
            m = attention_mask.unsqueeze(-1).to(dtype)
            mean = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return F.normalize(mean, p=2.0, dim=1), mean

    return Encoder().eval()


def inputs(shape, seq, batch):
    import torch

    ids = torch.tensor([(i * 7919 + 101) % shape["vocab"] for i in range(batch * seq)],
                       dtype=torch.int64).view(batch, seq)
    return ids, torch.ones(batch, seq, dtype=torch.int64), torch.zeros(batch, seq, dtype=torch.int64)


def prepare(a):
    import warnings

    import torch

    # torch 1.13's exporter warns about its own constants; nothing to act on
    warnings.filterwarnings("ignore", category=UserWarning)

    torch.set_num_threads(os.cpu_count() or 1)
    shape = a.shape
    os.makedirs(a.dir, exist_ok=True)
    tensors = weights(shape)
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": shape["hidden"],
              "num_hidden_layers": shape["layers"], "num_attention_heads": shape["heads"],
              "intermediate_size": shape["ffn"], "vocab_size": shape["vocab"],
              "max_position_embeddings": shape["positions"], "type_vocab_size": 2,
              "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    with open(os.path.join(a.dir, "config.json"), "w") as f:
        json.dump(config, f)
    write_safetensors(os.path.join(a.dir, "model.safetensors"), tensors)

    model = encoder_module(shape, tensors)
    ids, mask, types = inputs(shape, a.seq, a.batch)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(model, (ids[:2], mask[:2], types[:2]), os.path.join(a.dir, "model.onnx"),
                          opset_version=a.opset, do_constant_folding=True,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["embeddings", "mean_pooled"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "embeddings": {0: "batch"}, "mean_pooled": {0: "batch"}})
        # the yardstick: the same module in float64, the rows laid out as the two sides write theirs
        # (an input alone and in the batch give the same vector, to float64's rounding: the batch
        # stands for both, which halves the time BERT-base takes here)
        model = model.double()
        _, mean0 = model(ids[:1], mask[:1], types[:1])
        whole, _ = model(ids, mask, types)
    torch.cat([mean0, whole, whole]).numpy().astype("<f8").tofile(os.path.join(a.dir, "reference.f64"))
    print("ort_model_shape %s %s" % (shape["name"], " ".join("%s=%d" % (k, shape[k]) for k in KEYS)))
    print("ort_model_params %d" % sum(t.numel() for t in tensors.values()))
    print("ort_model_onnx_bytes %d" % os.path.getsize(os.path.join(a.dir, "model.onnx")))


def compare(a):
    import numpy as np

    ref = np.fromfile(os.path.join(a.dir, "reference.f64"), dtype="<f8")
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    d = cfg["hidden_size"]
    ref = ref.reshape(-1, d)
    rows = ref.shape[0]
    sides = {}
    for name, path in (("engine", a.engine), ("ort", a.ort)):
        v = np.fromfile(path, dtype="<f4").astype(np.float64)
        if v.size != rows * d:
            print("ort_model.py compare: %s has %d values, not %d rows of %d (%s)"
                  % (path, v.size, rows, d, name), file=sys.stderr)
            return 1
        sides[name] = v.reshape(rows, d)

    def errors(x, y):
        rel = np.linalg.norm(x - y, axis=1) / np.maximum(np.linalg.norm(y, axis=1), 1e-30)
        return float(rel.max()), float(np.abs(x - y).max())

    ok = True
    for label, x, y in (("engine_ort", sides["engine"], sides["ort"]),
                        ("engine_ref", sides["engine"], ref),
                        ("ort_ref", sides["ort"], ref)):
        rel, diff = errors(x, y)
        print("check_%s_rel %.3g" % (label, rel))
        print("check_%s_abs %.3g" % (label, diff))
        if label == "engine_ort":
            ok = rel <= TOLERANCE
            # the rows apart: input 0 before normalisation, batch 1, the batch
            n = (rows - 1) // 2
            for part, sl in (("mean0", slice(0, 1)), ("b1", slice(1, 1 + n)), ("batch", slice(1 + n, rows))):
                print("check_engine_ort_%s_rel %.3g" % (part, errors(x[sl], y[sl])[0]))
    print("check_norm0 %.6g" % float(np.linalg.norm(ref[0])))
    print("check_tolerance %g" % TOLERANCE)
    print("check_ok %d" % ok)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare")
    pp.add_argument("dir")
    pp.add_argument("--shape", type=parse_shape, default=parse_shape("minilm-l6"))
    pp.add_argument("--seq", type=positive, default=128)
    pp.add_argument("--batch", type=positive, default=32)
    pp.add_argument("--opset", type=positive, default=11)
    pc = sub.add_parser("compare")
    pc.add_argument("dir")
    pc.add_argument("engine")
    pc.add_argument("ort")
    a = p.parse_args()
    if a.cmd == "prepare":
        if a.seq > a.shape["positions"]:
            p.error("--seq exceeds %s's %d positions" % (a.shape["name"], a.shape["positions"]))
        prepare(a)
        return 0
    return compare(a)


if __name__ == "__main__":
    sys.exit(main())
