#!/usr/bin/env python3
"""GGUF files that hold only a vocabulary, written with llama.cpp's gguf-py
the way llama.cpp's convert_hf_to_gguf.py stores one (tokenizer.ggml.*):

  gpt2-vocab.gguf: GPT-2's real vocabulary (../shared/fixtures/real-tokenizers/gpt2:
  vocab.json + merges.txt), model "gpt2", pre-tokenizer "gpt-2".
  llama3-style-vocab.gguf: the Llama 3-style fixture vocabulary
  (tokenizers/bpe-regex-llama3/tokenizer.json: 2,000 tokens), model "gpt2",
  pre-tokenizer "llama-bpe", BOS added, as the converter writes Llama 3.
  llama2-vocab.gguf: Llama 2's real tokenizer.model (real-tokenizers/llama2),
  model "llama": its pieces, scores and types as the converter's
  _set_vocab_sentencepiece writes them (read here from the protobuf, as
  sentencepiece is not at hand).
  qwen2-style-vocab.gguf, tekken-style-vocab.gguf: the Llama 3-style
  vocabulary and merges with pre-tokenizer "qwen2" (architecture qwen2, no
  BOS added, as Qwen2 is converted) and "tekken" (BOS added, as Mistral Nemo
  is converted); smollm-style-vocab.gguf: GPT-2's real vocabulary with
  pre-tokenizer "smollm" (GPT-2's regex after splitting every digit). There is
  no reference tokenizer.json for these: llama.cpp's ids on the base
  fixture's cases and on tests/gguf/pretokenizer_texts.jsonl are the reference
  (make_llama_fixtures.sh).

The tests tokenize the fixtures' cases (HF tokenizers' and sentencepiece's
output) with them.    PYTHONPATH=llama.cpp/gguf-py python3 make_tokenizer_fixtures.py FIXTURES OUT_DIR"""
import json
import os
import struct
import sys

import gguf

fixtures, out = sys.argv[1], sys.argv[2]
src = os.path.join(fixtures, "real-tokenizers", "gpt2")
vocab = json.load(open(os.path.join(src, "vocab.json"), encoding="utf-8"))
tokens = [None] * len(vocab)
for tok, i in vocab.items():
    tokens[i] = tok
merges = [line.rstrip("\n") for line in open(os.path.join(src, "merges.txt"), encoding="utf-8")
          if line.strip() and not line.startswith("#version")]
types = [gguf.TokenType.CONTROL if t == "<|endoftext|>" else gguf.TokenType.NORMAL for t in tokens]

w = gguf.GGUFWriter(os.path.join(out, "gpt2-vocab.gguf"), "gpt2")
w.add_name("GPT-2 vocabulary")
w.add_tokenizer_model("gpt2")
w.add_tokenizer_pre("gpt-2")
w.add_token_list(tokens)
w.add_token_types(types)
w.add_token_merges(merges)
w.add_bos_token_id(vocab["<|endoftext|>"])
w.add_eos_token_id(vocab["<|endoftext|>"])
w.add_add_bos_token(False)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", os.path.join(out, "gpt2-vocab.gguf"), len(tokens), "tokens", len(merges), "merges")


def varint(b, i):
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        yield f, v


model = open(os.path.join(fixtures, "real-tokenizers", "llama2", "tokenizer.model"), "rb").read()
pieces, scores, types = [], [], []
for f, v in fields(model):
    if f != 1:
        continue
    piece, score, ptype = b"", 0.0, 1
    for g, x in fields(v):
        if g == 1:
            piece = x
        elif g == 2:
            score = struct.unpack("<f", x)[0]
        elif g == 3:
            ptype = x
    pieces.append(piece.decode("utf-8"))
    scores.append(score)
    types.append(ptype)
w = gguf.GGUFWriter(os.path.join(out, "llama2-vocab.gguf"), "llama")
w.add_name("Llama 2 vocabulary")
w.add_tokenizer_model("llama")
w.add_tokenizer_pre("default")
w.add_token_list(pieces)
w.add_token_scores(scores)
w.add_token_types(types)
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_unk_token_id(0)
w.add_add_bos_token(True)
w.add_add_eos_token(False)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", os.path.join(out, "llama2-vocab.gguf"), len(pieces), "pieces")

t = json.load(open(os.path.join(fixtures, "tokenizers", "bpe-regex-llama3", "tokenizer.json"), encoding="utf-8"))
vocab = t["model"]["vocab"]
tokens = [None] * len(vocab)
for tok, i in vocab.items():
    tokens[i] = tok
special = {a["id"] for a in t["added_tokens"] if a["special"]}
w = gguf.GGUFWriter(os.path.join(out, "llama3-style-vocab.gguf"), "llama")
w.add_name("Llama 3-style vocabulary")
w.add_tokenizer_model("gpt2")
w.add_tokenizer_pre("llama-bpe")
w.add_token_list(tokens)
w.add_token_types([gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(tokens))])
w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in t["model"]["merges"]])
w.add_bos_token_id(vocab["<|begin_of_text|>"])
w.add_eos_token_id(vocab["<|end_of_text|>"])
w.add_add_bos_token(True)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", os.path.join(out, "llama3-style-vocab.gguf"), len(tokens), "tokens")


def write_bpe(name, arch, title, pre, tokens, types, merges, bos, eos, add_bos):
    """A byte-level BPE vocabulary ('gpt2' model) with pre-tokenizer pre."""
    w = gguf.GGUFWriter(os.path.join(out, name), arch)
    w.add_name(title)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(add_bos)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", os.path.join(out, name), len(tokens), "tokens", len(merges), "merges, pre-tokenizer", pre)


l3_types = [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(tokens))]
l3_merges = [m if isinstance(m, str) else " ".join(m) for m in t["model"]["merges"]]
write_bpe("qwen2-style-vocab.gguf", "qwen2", "Qwen2-style vocabulary", "qwen2", tokens, l3_types, l3_merges,
          vocab["<|begin_of_text|>"], vocab["<|end_of_text|>"], False)
write_bpe("tekken-style-vocab.gguf", "llama", "Tekken-style vocabulary", "tekken", tokens, l3_types, l3_merges,
          vocab["<|begin_of_text|>"], vocab["<|end_of_text|>"], True)

gpt2_vocab = json.load(open(os.path.join(src, "vocab.json"), encoding="utf-8"))
gpt2_tokens = [None] * len(gpt2_vocab)
for tok, i in gpt2_vocab.items():
    gpt2_tokens[i] = tok
gpt2_merges = [line.rstrip("\n") for line in open(os.path.join(src, "merges.txt"), encoding="utf-8")
               if line.strip() and not line.startswith("#version")]
write_bpe("smollm-style-vocab.gguf", "llama", "SmolLM-style vocabulary (GPT-2's)", "smollm", gpt2_tokens,
          [gguf.TokenType.CONTROL if tok == "<|endoftext|>" else gguf.TokenType.NORMAL for tok in gpt2_tokens],
          gpt2_merges, gpt2_vocab["<|endoftext|>"], gpt2_vocab["<|endoftext|>"], False)
