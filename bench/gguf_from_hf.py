#!/usr/bin/env python3
"""A GPT-2 checkpoint in transformers' layout (config.json + one F32
model.safetensors, as bench_transformers --write-models writes them) as
GGUF, the way llama.cpp's convert_hf_to_gguf.py writes GPT-2 (Conv1D
weights transposed, wte also as the output; 2-d weights in F16 for f16),
with GPT-2's real vocabulary (fixtures real-tokenizers/gpt2) so that
llama.cpp loads it.
    PYTHONPATH=llama.cpp/gguf-py python3 gguf_from_hf.py MODEL_DIR FIXTURES OUT.gguf f32|f16"""
import json
import os
import struct
import sys

import numpy as np
import gguf

src, fixtures, out, kind = sys.argv[1:5]
cfg = json.load(open(os.path.join(src, "config.json")))
blob = open(os.path.join(src, "model.safetensors"), "rb")
hlen = struct.unpack("<Q", blob.read(8))[0]
header = json.loads(blob.read(hlen))
start = 8 + hlen


def tensor(name):
    info = header[name]
    a, b = info["data_offsets"]
    blob.seek(start + a)
    return np.frombuffer(blob.read(b - a), dtype=np.float32).reshape(info["shape"])


voc = json.load(open(os.path.join(fixtures, "real-tokenizers", "gpt2", "vocab.json"), encoding="utf-8"))
tokens = [None] * len(voc)
for t, i in voc.items():
    tokens[i] = t
merges = [l.rstrip("\n") for l in open(os.path.join(fixtures, "real-tokenizers", "gpt2", "merges.txt"),
                                        encoding="utf-8") if l.strip() and not l.startswith("#version")]
g = gguf.GGUFWriter(out, "gpt2")
g.add_context_length(cfg["n_positions"])
g.add_embedding_length(cfg["n_embd"])
g.add_feed_forward_length(cfg.get("n_inner") or 4 * cfg["n_embd"])
g.add_block_count(cfg["n_layer"])
g.add_head_count(cfg["n_head"])
g.add_layer_norm_eps(cfg.get("layer_norm_epsilon", 1e-5))
g.add_file_type(0 if kind == "f32" else 1)
g.add_tokenizer_model("gpt2")
g.add_tokenizer_pre("gpt-2")
g.add_token_list(tokens)
g.add_token_types([gguf.TokenType.CONTROL if t == "<|endoftext|>" else gguf.TokenType.NORMAL for t in tokens])
g.add_token_merges(merges)
g.add_bos_token_id(voc["<|endoftext|>"])
g.add_eos_token_id(voc["<|endoftext|>"])
names = {"ln_1.weight": "attn_norm.weight", "ln_1.bias": "attn_norm.bias", "attn.c_attn.weight": "attn_qkv.weight",
         "attn.c_attn.bias": "attn_qkv.bias", "attn.c_proj.weight": "attn_output.weight",
         "attn.c_proj.bias": "attn_output.bias", "ln_2.weight": "ffn_norm.weight", "ln_2.bias": "ffn_norm.bias",
         "mlp.c_fc.weight": "ffn_up.weight", "mlp.c_fc.bias": "ffn_up.bias", "mlp.c_proj.weight": "ffn_down.weight",
         "mlp.c_proj.bias": "ffn_down.bias"}


def add(name, t):
    if kind == "f16" and t.ndim == 2:
        t = t.astype(np.float16)
    g.add_tensor(name, t)


for name in header:
    if name == "__metadata__":
        continue
    t = tensor(name)
    plain = name[len("transformer."):] if name.startswith("transformer.") else name
    if plain.endswith((".c_attn.weight", ".c_proj.weight", ".c_fc.weight")):
        t = np.ascontiguousarray(t.transpose(1, 0))
    if plain == "wte.weight":
        add("token_embd.weight", t)
        add("output.weight", t)
    elif plain == "wpe.weight":
        add("position_embd.weight", t)
    elif plain == "ln_f.weight":
        add("output_norm.weight", t)
    elif plain == "ln_f.bias":
        add("output_norm.bias", t)
    elif plain.startswith("h."):
        l, rest = plain[2:].split(".", 1)
        add(f"blk.{l}.{names[rest]}", t)
g.write_header_to_file()
g.write_kv_data_to_file()
g.write_tensors_to_file()
g.close()
