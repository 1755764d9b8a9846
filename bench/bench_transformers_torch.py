#!/usr/bin/python3
"""PyTorch peer of bench_transformers.c: the same shapes, random weights, plain
torch ops, inference mode.  Prints "key value" lines.

  /usr/bin/python3 bench/bench_transformers_torch.py [rounds] [--rounds N] [--threads N]
      [--shape SHAPE]... [--prompt N] [--decode N] [--seq N] [--batch N]

The arguments are bench_transformers's (see bench/README.md).  By default:
GPT-2 small (12 layers, 768 wide, 12 heads, vocabulary 50257): a 128-token
prompt, then 64 greedy steps with a key/value cache.  MiniLM-L6 (BERT, 6 layers,
384 wide, 12 heads, intermediate 1536): 32 inputs of 128 tokens, one at a time
and as one [32, 128] batch.  --shape bert-base is BERT-base (12 layers, 768
wide, 12 heads, intermediate 3072).  --threads N (default OPENBLAS_NUM_THREADS,
else 1) goes to torch.set_num_threads and to the BLAS library's environment,
set before torch loads.
"""
import argparse
import math
import os
import sys
import time

from bench_shapes import KEYS, PRESETS, parse_shape, positive  # noqa: E402 (shared with ort_model.py)


def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch peer of bench_transformers.c")
    p.add_argument("rounds_pos", nargs="?", type=positive, metavar="rounds")
    p.add_argument("--rounds", type=positive)
    p.add_argument("--threads", type=positive,
                   default=positive(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    p.add_argument("--shape", type=parse_shape, action="append")
    p.add_argument("--prompt", type=positive, default=128)
    p.add_argument("--decode", type=positive, default=64)
    p.add_argument("--seq", type=positive, default=128)
    p.add_argument("--batch", type=positive, default=32)
    a = p.parse_args(argv)
    a.rounds = a.rounds or a.rounds_pos or 3
    shapes = a.shape or [dict(PRESETS["gpt2-small"], name="gpt2-small"), dict(PRESETS["minilm-l6"], name="minilm-l6")]
    a.decoder = [s for s in shapes if s["decoder"]]
    a.encoder = [s for s in shapes if not s["decoder"]]
    if len(a.decoder) > 1 or len(a.encoder) > 1:
        p.error("one decoder shape and one encoder shape at most")
    a.decoder = a.decoder[0] if a.decoder else None
    a.encoder = a.encoder[0] if a.encoder else None
    if a.decoder and a.prompt + a.decode > a.decoder["positions"]:
        p.error("--prompt + --decode exceed %s's %d positions" % (a.decoder["name"], a.decoder["positions"]))
    if a.encoder and a.seq > a.encoder["positions"]:
        p.error("--seq exceeds %s's %d positions" % (a.encoder["name"], a.encoder["positions"]))
    return a


ARGS = parse_args(sys.argv[1:])
# BLAS libraries read their thread count when they load: before importing torch.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PROMPT, DECODE, SEQ, BATCH = ARGS.prompt, ARGS.decode, ARGS.seq, ARGS.batch
ROUNDS = ARGS.rounds

torch.set_num_threads(ARGS.threads)
torch.manual_seed(0)


def rand(*shape):
    return (torch.rand(*shape) * 2 - 1) * 0.04


# ---- the decoder (GPT-2 architecture; GPT-2 small by default) -----------------

gpt = None
D = L = H = V = P = HD = FF = 0


def make_gpt(shape):
    global gpt, D, L, H, V, P, HD, FF
    D, L, H, V, P, FF = (shape[k] for k in ("hidden", "layers", "heads", "vocab", "positions", "ffn"))
    HD = D // H
    gpt = {
        "wte": rand(V, D), "wpe": rand(P, D),
        "lnf_w": torch.ones(D), "lnf_b": torch.zeros(D),
        "layers": [dict(
            ln1_w=torch.ones(D), ln1_b=torch.zeros(D),
            attn_w=rand(D, 3 * D), attn_b=torch.zeros(3 * D),   # Conv1D: [in][out]
            proj_w=rand(D, D), proj_b=torch.zeros(D),
            ln2_w=torch.ones(D), ln2_b=torch.zeros(D),
            fc_w=rand(D, FF), fc_b=torch.zeros(FF),
            fcp_w=rand(FF, D), fcp_b=torch.zeros(D)) for _ in range(L)],
    }


def gpt2_forward(ids, pos, cache_k, cache_v):
    """Logits after the last of `ids` (placed at pos..), filling the caches."""
    n = ids.shape[0]
    x = gpt["wte"][ids] + gpt["wpe"][pos:pos + n]
    for l, w in enumerate(gpt["layers"]):
        h = F.layer_norm(x, (D,), w["ln1_w"], w["ln1_b"], 1e-5)
        qkv = torch.addmm(w["attn_b"], h, w["attn_w"])
        q, k, v = qkv.split(D, dim=1)
        cache_k[l, pos:pos + n] = k
        cache_v[l, pos:pos + n] = v
        keys = cache_k[l, :pos + n].view(pos + n, H, HD).transpose(0, 1)
        vals = cache_v[l, :pos + n].view(pos + n, H, HD).transpose(0, 1)
        qh = q.view(n, H, HD).transpose(0, 1)
        scores = torch.matmul(qh, keys.transpose(1, 2)) / math.sqrt(HD)
        if n > 1:
            mask = torch.ones(n, pos + n, dtype=torch.bool).tril(pos)
            scores = scores.masked_fill(~mask, float("-inf"))
        att = torch.matmul(torch.softmax(scores, dim=-1), vals)
        att = att.transpose(0, 1).reshape(n, D)
        x = x + torch.addmm(w["proj_b"], att, w["proj_w"])
        h = F.layer_norm(x, (D,), w["ln2_w"], w["ln2_b"], 1e-5)
        h = F.gelu(torch.addmm(w["fc_b"], h, w["fc_w"]), approximate="tanh")
        x = x + torch.addmm(w["fcp_b"], h, w["fcp_w"])
    x = F.layer_norm(x[-1:], (D,), gpt["lnf_w"], gpt["lnf_b"], 1e-5)
    return torch.matmul(x, gpt["wte"].t())[0]


def gpt2_run():
    """Best prompt time; decoding as the sum of each step's best time over the rounds."""
    ids = torch.tensor([(i * 7919 + 13) % V for i in range(PROMPT)])
    best_prompt = float("inf")
    step_best = [float("inf")] * DECODE
    for _ in range(ROUNDS):
        ck = torch.zeros(L, PROMPT + DECODE, D)
        cv = torch.zeros(L, PROMPT + DECODE, D)
        t = time.perf_counter()
        logits = gpt2_forward(ids, 0, ck, cv)
        best_prompt = min(best_prompt, time.perf_counter() - t)
        for i in range(DECODE):
            nxt = torch.argmax(logits).view(1)
            t = time.perf_counter()
            logits = gpt2_forward(nxt, PROMPT + i, ck, cv)
            step_best[i] = min(step_best[i], time.perf_counter() - t)
    return best_prompt, sum(step_best)


# ---- the encoder (BERT architecture; MiniLM-L6 by default) --------------------

bert = None
BD = BL = BH = BF = BV = BP = BHD = 0


def make_bert(shape):
    global bert, BD, BL, BH, BF, BV, BP, BHD
    BD, BL, BH, BF, BV, BP = (shape[k] for k in ("hidden", "layers", "heads", "ffn", "vocab", "positions"))
    BHD = BD // BH
    bert = {
        "word": rand(BV, BD), "pos": rand(BP, BD), "type": rand(2, BD),
        "ln_w": torch.ones(BD), "ln_b": torch.zeros(BD),
        "layers": [dict(
            wq=rand(BD, BD), bq=torch.zeros(BD), wk=rand(BD, BD), bk=torch.zeros(BD),
            wv=rand(BD, BD), bv=torch.zeros(BD), wo=rand(BD, BD), bo=torch.zeros(BD),
            ln1_w=torch.ones(BD), ln1_b=torch.zeros(BD),
            wi=rand(BF, BD), bi=torch.zeros(BF), wout=rand(BD, BF), bout=torch.zeros(BD),
            ln2_w=torch.ones(BD), ln2_b=torch.zeros(BD)) for _ in range(BL)],
    }


def bert_embed(ids, mask):
    """Mean-pooled, L2-normalised embeddings of ids [b, n] with mask [b, n]."""
    b, n = ids.shape
    x = bert["word"][ids] + bert["pos"][:n] + bert["type"][0]
    x = F.layer_norm(x, (BD,), bert["ln_w"], bert["ln_b"], 1e-12)
    bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for w in bert["layers"]:
        q = F.linear(x, w["wq"], w["bq"]).view(b, n, BH, BHD).transpose(1, 2)
        k = F.linear(x, w["wk"], w["bk"]).view(b, n, BH, BHD).transpose(1, 2)
        v = F.linear(x, w["wv"], w["bv"]).view(b, n, BH, BHD).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(BHD) + bias
        att = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, n, BD)
        x = F.layer_norm(x + F.linear(att, w["wo"], w["bo"]), (BD,), w["ln1_w"], w["ln1_b"], 1e-12)
        h = F.gelu(F.linear(x, w["wi"], w["bi"]))
        x = F.layer_norm(x + F.linear(h, w["wout"], w["bout"]), (BD,), w["ln2_w"], w["ln2_b"], 1e-12)
    m = mask[:, :, None].float()
    pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return F.normalize(pooled, p=2, dim=1)


def bert_run():
    """Mean over inputs of each input's best time alone; best time of the batch."""
    ids = torch.tensor([(i * 7919 + 101) % BV for i in range(BATCH * SEQ)]).view(BATCH, SEQ)
    mask = torch.ones(BATCH, SEQ, dtype=torch.long)
    one_best = [float("inf")] * BATCH
    best32 = float("inf")
    for _ in range(ROUNDS):
        for i in range(BATCH):
            t = time.perf_counter()
            bert_embed(ids[i:i + 1], mask[i:i + 1])
            one_best[i] = min(one_best[i], time.perf_counter() - t)
        t = time.perf_counter()
        bert_embed(ids, mask)
        best32 = min(best32, time.perf_counter() - t)
    return sum(one_best) / BATCH, best32


def print_shape(role, shape):
    print("torch_%s_shape %s %s" % (role, shape["name"], " ".join("%s=%d" % (k, shape[k]) for k in KEYS)))


def main():
    print("torch_version", torch.__version__)
    print("torch_threads", torch.get_num_threads())
    blas = "unknown"
    try:
        cfg = torch.__config__.show()
        blas = next((p.split("=")[1] for p in cfg.replace(",", " ").split() if p.startswith("BLAS_INFO=")), blas)
    except Exception:
        pass
    print("torch_blas", blas)
    with torch.inference_mode():
        if ARGS.decoder:
            print_shape("decoder", ARGS.decoder)
            make_gpt(ARGS.decoder)
            p, d = gpt2_run()
            print("torch_gpt2_prompt_s %.6f" % p)
            print("torch_gpt2_decode_s %.6f" % d)
        if ARGS.encoder:
            print_shape("encoder", ARGS.encoder)
            make_bert(ARGS.encoder)
            b1, b32 = bert_run()
            print("torch_bert_b1_s %.6f" % b1)
            print("torch_bert_b32_s %.6f" % b32)


if __name__ == "__main__":
    main()
