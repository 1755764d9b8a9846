#!/usr/bin/env python3
"""bench_seq2seq_torch.py — the PyTorch peer of bench_seq2seq.c.

A compact M2M100 (NLLB architecture) forward pass in plain torch ops, for
timing the same translations the engine does: pre-LayerNorm encoder and
decoder layers, embeddings scaled by sqrt(d_model) when config.json says
scale_embedding, fairseq sinusoidal positions that start at padding_idx + 1,
ReLU feed-forward, final layer norms, lm_head tied to the shared embedding.
Decoding keeps a self-attention KV cache and computes the cross-attention
K/V once per sentence.  Greedy and beam search (length penalty 1.0, early
stopping: done when num_beams hypotheses are finished), max_new_tokens 128,
forced first token deu_Latn, decoder start </s>.  Float32 weights converted
from the model's F16; one thread.

It takes the source ids from bench_seq2seq.c's IDS file (so both sides
translate the same ids; the engine's timing also includes tokenizing and
detokenizing, which this script does not do) and checks itself against the
engine: how many greedy (and beam) outputs are the same ids.  This is a
timing peer, not a reference: the project's references are transformers'
fixtures.

    python3 bench/bench_seq2seq_torch.py MODEL_DIR IDS_FILE [rounds] [check_n]
prints
    torch greedy sentences=N seconds=S sentences_per_second=R ...
    torch beam-4 ...
    torch check greedy_agree=A/B beam4_agree=C/D
"""
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

MAX_NEW_TOKENS = 128
NUM_BEAMS = 4
LENGTH_PENALTY = 1.0


def read_safetensors(path):
    """Tensors of a safetensors file without the safetensors package: an
    8-byte little-endian header length, a JSON header (dtype, shape,
    data_offsets relative to the data), then the data."""
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        dtype = dtypes[meta["dtype"]]
        count = (end - begin) // torch.empty(0, dtype=dtype).element_size()
        t = torch.frombuffer(data, dtype=dtype, count=count, offset=begin) if count else \
            torch.empty(0, dtype=dtype)
        out[name] = t.reshape(meta["shape"]).clone()
    return out


def sinusoids(rows, dim, padding_idx):
    """fairseq's table: sin then cos halves, zero row at padding_idx."""
    half = dim // 2
    step = math.log(10000) / (half - 1)
    freq = torch.exp(torch.arange(half, dtype=torch.float64) * -step)
    ang = torch.arange(rows, dtype=torch.float64)[:, None] * freq[None, :]
    table = torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)
    if dim % 2:
        table = torch.cat([table, torch.zeros(rows, 1, dtype=torch.float64)], dim=1)
    table[padding_idx] = 0
    return table.float()


class M2M100:
    def __init__(self, directory):
        cfg = json.load(open(os.path.join(directory, "config.json")))
        w = {k: v.float() for k, v in read_safetensors(os.path.join(directory, "model.safetensors")).items()}
        self.cfg = cfg
        self.d = cfg["d_model"]
        self.heads_enc = cfg["encoder_attention_heads"]
        self.heads_dec = cfg["decoder_attention_heads"]
        self.pad = cfg["pad_token_id"]
        self.eos = cfg["eos_token_id"]
        self.start = cfg["decoder_start_token_id"]
        self.scale = math.sqrt(self.d) if cfg.get("scale_embedding", False) else 1.0
        self.embed = w["model.shared.weight"]
        self.lm_head = w.get("lm_head.weight", self.embed)          # tied
        self.positions = sinusoids(cfg["max_position_embeddings"] + self.pad + 1, self.d, self.pad)

        def attn(prefix, heads):
            hd = self.d // heads
            s = hd ** -0.5
            return {"q_w": w[prefix + "q_proj.weight"] * s, "q_b": w[prefix + "q_proj.bias"] * s,
                    "k_w": w[prefix + "k_proj.weight"], "k_b": w[prefix + "k_proj.bias"],
                    "v_w": w[prefix + "v_proj.weight"], "v_b": w[prefix + "v_proj.bias"],
                    "o_w": w[prefix + "out_proj.weight"], "o_b": w[prefix + "out_proj.bias"],
                    "heads": heads}

        def ln(name):
            return (w[name + ".weight"], w[name + ".bias"])

        self.enc = []
        for i in range(cfg["encoder_layers"]):
            p = "model.encoder.layers.%d." % i
            self.enc.append({"sa": attn(p + "self_attn.", self.heads_enc),
                             "sa_ln": ln(p + "self_attn_layer_norm"),
                             "fc1": (w[p + "fc1.weight"], w[p + "fc1.bias"]),
                             "fc2": (w[p + "fc2.weight"], w[p + "fc2.bias"]),
                             "ff_ln": ln(p + "final_layer_norm")})
        self.enc_ln = ln("model.encoder.layer_norm")
        self.dec = []
        for i in range(cfg["decoder_layers"]):
            p = "model.decoder.layers.%d." % i
            self.dec.append({"sa": attn(p + "self_attn.", self.heads_dec),
                             "sa_ln": ln(p + "self_attn_layer_norm"),
                             "ca": attn(p + "encoder_attn.", self.heads_dec),
                             "ca_ln": ln(p + "encoder_attn_layer_norm"),
                             "fc1": (w[p + "fc1.weight"], w[p + "fc1.bias"]),
                             "fc2": (w[p + "fc2.weight"], w[p + "fc2.bias"]),
                             "ff_ln": ln(p + "final_layer_norm")})
        self.dec_ln = ln("model.decoder.layer_norm")

    @staticmethod
    def _lin(x, w, b=None):
        """F.linear, except for a single row: this torch (Debian's 1.13 on
        OpenBLAS) runs F.linear of one row as an sgemm of M=1, 3-7x slower
        than the matrix-vector product, which greedy decoding is made of."""
        if x.numel() == x.shape[-1]:
            v = x.reshape(-1)
            y = torch.mv(w, v) if b is None else torch.addmv(b, w, v)
            return y.view(*x.shape[:-1], w.shape[0])
        return F.linear(x, w, b)

    def _ln(self, x, p):
        return F.layer_norm(x, (self.d,), p[0], p[1], 1e-5)

    @staticmethod
    def _split(x, heads):               # [B, T, D] -> [B, H, T, hd]
        b, t, d = x.shape
        return x.view(b, t, heads, d // heads).transpose(1, 2)

    @staticmethod
    def _merge(x):                      # [B, H, T, hd] -> [B, T, D]
        b, h, t, hd = x.shape
        return x.transpose(1, 2).reshape(b, t, h * hd)

    def _ffn(self, x, L):
        h = self._ln(x, L["ff_ln"])
        return x + self._lin(F.relu(self._lin(h, *L["fc1"])), *L["fc2"])

    def encode(self, src):
        """src: list of ids -> encoder output [1, T, D]."""
        ids = torch.tensor([src])
        n = len(src)
        x = F.embedding(ids, self.embed) * self.scale + self.positions[self.pad + 1:self.pad + 1 + n]
        for L in self.enc:
            a = L["sa"]
            h = self._ln(x, L["sa_ln"])
            q = self._split(self._lin(h, a["q_w"], a["q_b"]), a["heads"])
            k = self._split(self._lin(h, a["k_w"], a["k_b"]), a["heads"])
            v = self._split(self._lin(h, a["v_w"], a["v_b"]), a["heads"])
            att = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
            x = x + self._lin(self._merge(att), a["o_w"], a["o_b"])
            x = self._ffn(x, L)
        return self._ln(x, self.enc_ln)

    def cross_kv(self, enc):
        """Cross-attention K, V of every decoder layer, once per sentence."""
        out = []
        for L in self.dec:
            a = L["ca"]
            out.append((self._split(self._lin(enc, a["k_w"], a["k_b"]), a["heads"]),
                        self._split(self._lin(enc, a["v_w"], a["v_b"]), a["heads"])))
        return out

    def step(self, tokens, pos, cache, cross):
        """One decoder step for a batch of beams.  tokens: [B] ids at decoder
        position pos (0 = the start token); cache: per layer (K, V) of the
        earlier positions, [B, H, pos, hd] (None at pos 0); cross: per layer
        (K, V) [1 or B, H, S, hd].  Returns log-probabilities [B, V] and the
        new cache."""
        x = F.embedding(tokens, self.embed)[:, None, :] * self.scale + self.positions[self.pad + 1 + pos]
        new_cache = []
        for L, past, (ck, cv) in zip(self.dec, cache, cross):
            a = L["sa"]
            h = self._ln(x, L["sa_ln"])
            q = self._split(self._lin(h, a["q_w"], a["q_b"]), a["heads"])
            k = self._split(self._lin(h, a["k_w"], a["k_b"]), a["heads"])
            v = self._split(self._lin(h, a["v_w"], a["v_b"]), a["heads"])
            if past is not None:
                k = torch.cat([past[0], k], dim=2)
                v = torch.cat([past[1], v], dim=2)
            new_cache.append((k, v))
            att = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
            x = x + self._lin(self._merge(att), a["o_w"], a["o_b"])
            c = L["ca"]
            h = self._ln(x, L["ca_ln"])
            q = self._split(self._lin(h, c["q_w"], c["q_b"]), c["heads"])
            att = torch.softmax(q @ ck.transpose(-1, -2), dim=-1) @ cv
            x = x + self._lin(self._merge(att), c["o_w"], c["o_b"])
            x = self._ffn(x, L)
        x = self._ln(x[:, 0, :], self.dec_ln)
        return torch.log_softmax(self._lin(x, self.lm_head), dim=-1), new_cache

    def greedy(self, src, forced_bos, max_new=MAX_NEW_TOKENS):
        cross = self.cross_kv(self.encode(src))
        out = [self.start]
        cache = [None] * len(self.dec)
        tok = torch.tensor([self.start])
        limit = min(max_new, self.cfg["max_position_embeddings"] - 1)
        for pos in range(limit):
            logp, cache = self.step(tok, pos, cache, cross)
            nxt = forced_bos if pos == 0 else int(torch.argmax(logp[0]))
            out.append(nxt)
            if nxt == self.eos:
                break
            tok = torch.tensor([nxt])
        return out

    def beam(self, src, forced_bos, num_beams=NUM_BEAMS, max_new=MAX_NEW_TOKENS,
             length_penalty=LENGTH_PENALTY):
        """transformers-style beam search with early_stopping=True: 2*num_beams
        candidates per step, eos candidates among the top num_beams finish a
        hypothesis scored sum_logprobs / generated_length**length_penalty,
        stop once num_beams hypotheses are finished."""
        cross = self.cross_kv(self.encode(src))
        vocab = self.lm_head.shape[0]
        seqs = [[self.start] for _ in range(num_beams)]
        scores = torch.full((num_beams,), -1e9)
        scores[0] = 0.0
        cache = [None] * len(self.dec)
        tokens = torch.full((num_beams,), self.start, dtype=torch.long)
        done = []                                       # (score, ids)
        limit = min(max_new, self.cfg["max_position_embeddings"] - 1)
        for pos in range(limit):
            logp, cache = self.step(tokens, pos, cache, cross)
            if pos == 0:                                # forced first token
                forced = torch.full_like(logp, -math.inf)
                forced[:, forced_bos] = 0.0
                logp = forced
            cand = (logp + scores[:, None]).view(-1)
            top_scores, top_idx = torch.topk(cand, 2 * num_beams)
            next_beams, next_tokens, next_scores = [], [], []
            for rank, (s, idx) in enumerate(zip(top_scores.tolist(), top_idx.tolist())):
                b, t = divmod(idx, vocab)
                if t == self.eos:
                    if rank < num_beams:
                        gen_len = len(seqs[b])          # generated tokens, eos included
                        done.append((s / gen_len ** length_penalty, seqs[b] + [t]))
                    continue
                next_beams.append(b)
                next_tokens.append(t)
                next_scores.append(s)
                if len(next_beams) == num_beams:
                    break
            if len(done) >= num_beams:                  # early stopping
                break
            seqs = [seqs[b] + [t] for b, t in zip(next_beams, next_tokens)]
            scores = torch.tensor(next_scores)
            tokens = torch.tensor(next_tokens)
            idx = torch.tensor(next_beams)
            cache = [(k.index_select(0, idx), v.index_select(0, idx)) for k, v in cache]
        else:                                           # max length: running beams finish
            for s, seq in zip(scores.tolist(), seqs):
                done.append((s / (len(seq) - 1) ** length_penalty, seq))
        done.sort(key=lambda h: -h[0])
        return done[0][1]


def main():
    torch.set_num_threads(1)
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    directory, ids_file = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    check_n = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    model = M2M100(directory)
    tok = json.load(open(os.path.join(directory, "tokenizer.json")))
    vocab = {}
    if tok["model"]["type"] == "Unigram":
        vocab = {piece[0]: i for i, piece in enumerate(tok["model"]["vocab"])}
    vocab.update({a["content"]: a["id"] for a in tok.get("added_tokens", [])})
    forced_bos = vocab["deu_Latn"]

    rows = [line.rstrip("\n").split("\t") for line in open(ids_file) if line.strip()]
    srcs = [[int(x) for x in r[0].split()] for r in rows]
    eng_greedy = [[int(x) for x in r[1].split()] for r in rows]
    eng_beam = [[int(x) for x in r[2].split()] for r in rows]

    results = {}
    with torch.inference_mode():
        model.greedy(srcs[0], forced_bos)              # warm up
        for label, fn in (("greedy", model.greedy), ("beam-4", model.beam)):
            best = best_cpu = float("inf")
            for _ in range(rounds):
                t0, cpu0 = time.perf_counter(), time.process_time()
                outs = [fn(s, forced_bos) for s in srcs]
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - cpu0)
            results[label] = outs
            tokens = sum(len(o) - 1 for o in outs)
            print("torch %s sentences=%d seconds=%.4f sentences_per_second=%.2f cpu_seconds=%.4f "
                  "sentences_per_cpu_second=%.2f generated_tokens=%d tokens_per_second=%.1f version=%s"
                  % (label, len(srcs), best, len(srcs) / best, best_cpu, len(srcs) / best_cpu,
                     tokens, tokens / best, torch.__version__))
            sys.stdout.flush()
    n = min(check_n, len(srcs))
    g = sum(results["greedy"][i] == eng_greedy[i] for i in range(n))
    b = sum(results["beam-4"][i] == eng_beam[i] for i in range(n))
    ga = sum(results["greedy"][i] == eng_greedy[i] for i in range(len(srcs)))
    ba = sum(results["beam-4"][i] == eng_beam[i] for i in range(len(srcs)))
    print("torch check greedy_agree_first=%d/%d beam4_agree_first=%d/%d greedy_agree_all=%d/%d "
          "beam4_agree_all=%d/%d" % (g, n, b, n, ga, len(srcs), ba, len(srcs)))
    for i in range(n):
        if results["greedy"][i] != eng_greedy[i]:
            print("# greedy differs on sentence %d: engine %s torch %s"
                  % (i + 1, eng_greedy[i], results["greedy"][i]), file=sys.stderr)


if __name__ == "__main__":
    main()
