#!/usr/bin/env python3
"""A tiny Llama with random weights, stored in F32, F16 and BF16 two ways:
transformers' layout in safetensors (llama-tiny-hf-KIND/config.json +
model.safetensors), and GGUF files (llama-tiny-KIND.gguf) written with llama.cpp's gguf-py the way llama.cpp's
convert_hf_to_gguf.py writes Llama (query and key rows permuted for its
rotary embedding, `LlamaModel.permute`).  tests/gguf/make_llama_fixtures.sh
then takes llama.cpp's logits of each GGUF file.

    PYTHONPATH=llama.cpp/gguf-py python3 make_llama_fixtures.py OUT_DIR"""
import json
import os
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

import tiny_gguf
from tiny_gguf import finish, permute

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261207)
DIM, LAYERS, HEADS, KV_HEADS, FFN, VOCAB, CTX = 64, 2, 4, 2, 160, 320, 128
HD = DIM // HEADS
EPS, THETA = 1e-5, 10000.0

w = {}
def rand(*shape, scale=0.08):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def write_hf(dirname, config, tensors, encode=lambda t: (t.tobytes(), "F32")):
    """config.json and model.safetensors of tensors (name → array); encode gives a tensor's bytes and dtype."""
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        b, dtype = encode(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(dirname, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def decoder_gguf(path, arch, title, file_type, theta, head_keys=lambda g: None):
    """tiny_gguf.decoder_gguf with this file's sizes (its 320-token vocabulary, byte pieces included)."""
    return tiny_gguf.decoder_gguf(path, arch, title, file_type, theta, head_keys, dim=DIM, layers=LAYERS,
                                  heads=HEADS, kv_heads=KV_HEADS, ffn=FFN, vocab=VOCAB, ctx=CTX, eps=EPS)

w["model.embed_tokens.weight"] = rand(VOCAB, DIM, scale=0.5)
for l in range(LAYERS):
    p = f"model.layers.{l}."
    w[p + "input_layernorm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
    w[p + "self_attn.q_proj.weight"] = rand(HEADS * HD, DIM)
    w[p + "self_attn.k_proj.weight"] = rand(KV_HEADS * HD, DIM)
    w[p + "self_attn.v_proj.weight"] = rand(KV_HEADS * HD, DIM)
    w[p + "self_attn.o_proj.weight"] = rand(DIM, HEADS * HD)
    w[p + "post_attention_layernorm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
    w[p + "mlp.gate_proj.weight"] = rand(FFN, DIM)
    w[p + "mlp.up_proj.weight"] = rand(FFN, DIM)
    w[p + "mlp.down_proj.weight"] = rand(DIM, FFN)
w["model.norm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
w["lm_head.weight"] = rand(VOCAB, DIM, scale=0.3)

# transformers' layout, one directory per storage type (2-d weights in it, norms in F32 as in the GGUF files)
def bf16_bits(t):
    return gguf.quants.quantize(t, Q.BF16).view(np.uint16)


def encoder_of(kind):
    def encode(t):
        if kind == "f16" and t.ndim == 2:
            return t.astype(np.float16).tobytes(), "F16"
        if kind == "bf16" and t.ndim == 2:
            return bf16_bits(t).tobytes(), "BF16"
        return t.tobytes(), "F32"
    return encode


for kind in ["f32", "f16", "bf16"]:
    write_hf(os.path.join(out, f"llama-tiny-hf-{kind}"),
             {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": DIM,
              "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
              "head_dim": HD, "intermediate_size": FFN, "vocab_size": VOCAB, "max_position_embeddings": CTX,
              "rms_norm_eps": EPS, "rope_theta": THETA, "hidden_act": "silu", "tie_word_embeddings": False,
              "bos_token_id": 1, "eos_token_id": 2}, w, encoder_of(kind))


GGUF_NAMES = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
              "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
              "self_attn.o_proj.weight": "attn_output.weight",
              "post_attention_layernorm.weight": "ffn_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
              "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}


def gguf_name(name):
    if name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if name == "model.norm.weight":
        return "output_norm.weight"
    if name == "lm_head.weight":
        return "output.weight"
    l, rest = name[len("model.layers."):].split(".", 1)
    return f"blk.{l}.{GGUF_NAMES[rest]}"


for kind in ["f32", "f16", "bf16"]:
    g = decoder_gguf(os.path.join(out, f"llama-tiny-{kind}.gguf"), "llama", "pg_lm tiny llama",
                     {"f32": 0, "f16": 1, "bf16": 32}[kind], THETA, lambda g: g.add_rope_dimension_count(HD))
    for name, t in w.items():
        data = t
        if name.endswith("q_proj.weight"):
            data = permute(t, HEADS, HEADS)
        elif name.endswith("k_proj.weight"):
            data = permute(t, HEADS, KV_HEADS)
        # norms stay F32, as llama.cpp's converter keeps 1-d tensors
        if kind == "f16" and data.ndim == 2:
            g.add_tensor(gguf_name(name), data.astype(np.float16))
        elif kind == "bf16" and data.ndim == 2:
            g.add_tensor(gguf_name(name), gguf.quants.quantize(data, Q.BF16), raw_dtype=Q.BF16)
        else:
            g.add_tensor(gguf_name(name), data)
    finish(g)
print("wrote", out)

# ---- a tiny Qwen2: Llama with biases on q, k and v, rotary over halves (no permutation), F32 ----
rng = np.random.default_rng(20261208)
q = {}
q["model.embed_tokens.weight"] = rand(VOCAB, DIM, scale=0.5)
for l in range(LAYERS):
    p = f"model.layers.{l}."
    q[p + "input_layernorm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
    q[p + "self_attn.q_proj.weight"] = rand(HEADS * HD, DIM)
    q[p + "self_attn.q_proj.bias"] = rand(HEADS * HD, scale=0.2)
    q[p + "self_attn.k_proj.weight"] = rand(KV_HEADS * HD, DIM)
    q[p + "self_attn.k_proj.bias"] = rand(KV_HEADS * HD, scale=0.2)
    q[p + "self_attn.v_proj.weight"] = rand(KV_HEADS * HD, DIM)
    q[p + "self_attn.v_proj.bias"] = rand(KV_HEADS * HD, scale=0.2)
    q[p + "self_attn.o_proj.weight"] = rand(DIM, HEADS * HD)
    q[p + "post_attention_layernorm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
    q[p + "mlp.gate_proj.weight"] = rand(FFN, DIM)
    q[p + "mlp.up_proj.weight"] = rand(FFN, DIM)
    q[p + "mlp.down_proj.weight"] = rand(DIM, FFN)
q["model.norm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
q["lm_head.weight"] = rand(VOCAB, DIM, scale=0.3)
QWEN_THETA = 1000000.0
GGUF_NAMES.update({"self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
                   "self_attn.v_proj.bias": "attn_v.bias"})

write_hf(os.path.join(out, "qwen2-tiny-hf-f32"),
         {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": DIM,
          "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
          "intermediate_size": FFN, "vocab_size": VOCAB, "max_position_embeddings": CTX,
          "rms_norm_eps": EPS, "rope_theta": QWEN_THETA, "hidden_act": "silu", "tie_word_embeddings": False,
          "use_sliding_window": False, "bos_token_id": 1, "eos_token_id": 2}, q)
g = decoder_gguf(os.path.join(out, "qwen2-tiny-f32.gguf"), "qwen2", "pg_lm tiny qwen2", 0, QWEN_THETA)
for name, t in q.items():
    g.add_tensor(gguf_name(name), t)
finish(g)
print("wrote qwen2-tiny")

# ---- a tiny Qwen3: no biases, an RMSNorm over each head's q and k before the rotary embedding, F32 ----
rng = np.random.default_rng(20261209)
q3 = {}
q3["model.embed_tokens.weight"] = rand(VOCAB, DIM, scale=0.5)
for l in range(LAYERS):
    p = f"model.layers.{l}."
    q3[p + "input_layernorm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
    q3[p + "self_attn.q_proj.weight"] = rand(HEADS * HD, DIM)
    q3[p + "self_attn.k_proj.weight"] = rand(KV_HEADS * HD, DIM)
    q3[p + "self_attn.v_proj.weight"] = rand(KV_HEADS * HD, DIM)
    q3[p + "self_attn.o_proj.weight"] = rand(DIM, HEADS * HD)
    q3[p + "self_attn.q_norm.weight"] = (1 + rand(HD, scale=0.2)).astype(np.float32)
    q3[p + "self_attn.k_norm.weight"] = (1 + rand(HD, scale=0.2)).astype(np.float32)
    q3[p + "post_attention_layernorm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
    q3[p + "mlp.gate_proj.weight"] = rand(FFN, DIM)
    q3[p + "mlp.up_proj.weight"] = rand(FFN, DIM)
    q3[p + "mlp.down_proj.weight"] = rand(DIM, FFN)
q3["model.norm.weight"] = (1 + rand(DIM, scale=0.1)).astype(np.float32)
q3["lm_head.weight"] = rand(VOCAB, DIM, scale=0.3)
GGUF_NAMES.update({"self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight"})

write_hf(os.path.join(out, "qwen3-tiny-hf-f32"),
         {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": DIM,
          "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
          "head_dim": HD, "intermediate_size": FFN, "vocab_size": VOCAB, "max_position_embeddings": CTX,
          "rms_norm_eps": EPS, "rope_theta": QWEN_THETA, "hidden_act": "silu", "tie_word_embeddings": False,
          "attention_bias": False, "use_sliding_window": False, "bos_token_id": 1, "eos_token_id": 2}, q3)
g = decoder_gguf(os.path.join(out, "qwen3-tiny-f32.gguf"), "qwen3", "pg_lm tiny qwen3", 0, QWEN_THETA,
                 lambda g: (g.add_key_length(HD), g.add_value_length(HD)))
for name, t in q3.items():
    g.add_tensor(gguf_name(name), t)
finish(g)
print("wrote qwen3-tiny")

# ---- GPT-2: the fixture gpt2-tiny (transformers' safetensors) as llama.cpp's converter writes it ----
fixtures = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "fixtures")
src = os.path.join(fixtures, "models", "gpt2-tiny")
cfg = json.load(open(os.path.join(src, "config.json")))
blob = open(os.path.join(src, "model.safetensors"), "rb").read()
hlen = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + hlen])
tensors = {}
for name, info in header.items():
    if name == "__metadata__":
        continue
    a, b = info["data_offsets"]
    tensors[name] = np.frombuffer(blob[8 + hlen + a:8 + hlen + b], dtype=np.float32).reshape(info["shape"])
tok = json.load(open(os.path.join(src, "tokenizer.json"), encoding="utf-8"))
vocab = tok["model"]["vocab"]
tokens = [None] * len(vocab)
for t, i in vocab.items():
    tokens[i] = t
special = {a["id"] for a in tok["added_tokens"] if a["special"]}

g = gguf.GGUFWriter(os.path.join(out, "gpt2-tiny-f32.gguf"), "gpt2")
g.add_name("gpt2-tiny fixture")
g.add_context_length(cfg["n_positions"])
g.add_embedding_length(cfg["n_embd"])
g.add_feed_forward_length(cfg.get("n_inner") or 4 * cfg["n_embd"])
g.add_block_count(cfg["n_layer"])
g.add_head_count(cfg["n_head"])
g.add_layer_norm_eps(cfg["layer_norm_epsilon"])
g.add_file_type(0)
g.add_tokenizer_model("gpt2")
g.add_tokenizer_pre("gpt-2")
g.add_token_list(tokens)
g.add_token_types([gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(tokens))])
g.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]])
g.add_bos_token_id(cfg["bos_token_id"])
g.add_eos_token_id(cfg["eos_token_id"])
names = {"ln_1.weight": "attn_norm.weight", "ln_1.bias": "attn_norm.bias", "attn.c_attn.weight": "attn_qkv.weight",
         "attn.c_attn.bias": "attn_qkv.bias", "attn.c_proj.weight": "attn_output.weight",
         "attn.c_proj.bias": "attn_output.bias", "ln_2.weight": "ffn_norm.weight", "ln_2.bias": "ffn_norm.bias",
         "mlp.c_fc.weight": "ffn_up.weight", "mlp.c_fc.bias": "ffn_up.bias", "mlp.c_proj.weight": "ffn_down.weight",
         "mlp.c_proj.bias": "ffn_down.bias"}
for name, t in tensors.items():
    # convert_hf_to_gguf.py, GPT2Model.modify_tensors: Conv1D weights transposed; wte also written as the output
    if name.endswith((".c_attn.weight", ".c_proj.weight", ".c_fc.weight")):
        t = np.ascontiguousarray(t.transpose(1, 0))
    if name == "transformer.wte.weight":
        g.add_tensor("token_embd.weight", t)
        g.add_tensor("output.weight", t)
    elif name == "transformer.wpe.weight":
        g.add_tensor("position_embd.weight", t)
    elif name == "transformer.ln_f.weight":
        g.add_tensor("output_norm.weight", t)
    elif name == "transformer.ln_f.bias":
        g.add_tensor("output_norm.bias", t)
    else:
        l, rest = name[len("transformer.h."):].split(".", 1)
        g.add_tensor(f"blk.{l}.{names[rest]}", t)
finish(g)
print("wrote gpt2-tiny")
