#!/usr/bin/python3
"""PyTorch peer of bench_transformers.c: the same shapes, random weights, plain
torch ops, one thread, inference mode.  Prints "key value" lines.

  /usr/bin/python3 bench/bench_transformers_torch.py [rounds]

GPT-2 small (12 layers, 768 wide, 12 heads, vocabulary 50257): a 128-token
prompt, then 64 greedy steps with a key/value cache.  MiniLM-L6 (BERT, 6 layers,
384 wide, 12 heads, intermediate 1536): 32 inputs of 128 tokens, one at a time
and as one [32, 128] batch.
"""
import math
import sys
import time

import torch
import torch.nn.functional as F

PROMPT, DECODE, SEQ, BATCH = 128, 64, 128, 32
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3

torch.set_num_threads(1)
torch.manual_seed(0)


def rand(*shape):
    return (torch.rand(*shape) * 2 - 1) * 0.04


# ---- GPT-2 small -------------------------------------------------------------

D, L, H, V, P = 768, 12, 12, 50257, 1024
HD = D // H
gpt = {
    "wte": rand(V, D), "wpe": rand(P, D),
    "lnf_w": torch.ones(D), "lnf_b": torch.zeros(D),
    "layers": [dict(
        ln1_w=torch.ones(D), ln1_b=torch.zeros(D),
        attn_w=rand(D, 3 * D), attn_b=torch.zeros(3 * D),   # Conv1D: [in][out]
        proj_w=rand(D, D), proj_b=torch.zeros(D),
        ln2_w=torch.ones(D), ln2_b=torch.zeros(D),
        fc_w=rand(D, 4 * D), fc_b=torch.zeros(4 * D),
        fcp_w=rand(4 * D, D), fcp_b=torch.zeros(D)) for _ in range(L)],
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


# ---- MiniLM-L6 (BERT) --------------------------------------------------------

BD, BL, BH, BF, BV, BP = 384, 6, 12, 1536, 30522, 512
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
        p, d = gpt2_run()
        print("torch_gpt2_prompt_s %.6f" % p)
        print("torch_gpt2_decode_s %.6f" % d)
        b1, b32 = bert_run()
        print("torch_bert_b1_s %.6f" % b1)
        print("torch_bert_b32_s %.6f" % b32)


if __name__ == "__main__":
    main()
