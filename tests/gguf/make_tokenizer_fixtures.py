#!/usr/bin/env python3
"""GGUF files that hold only a vocabulary, written with llama.cpp's gguf-py
the way llama.cpp's convert_hf_to_gguf.py stores one (tokenizer.ggml.*):

  gpt2-vocab.gguf: GPT-2's real vocabulary (../shared/fixtures/real-tokenizers/gpt2:
  vocab.json + merges.txt), model "gpt2", pre-tokenizer "gpt-2".

The tests tokenize that fixture's cases.jsonl (HF tokenizers' output) with
it.    PYTHONPATH=llama.cpp/gguf-py python3 make_tokenizer_fixtures.py FIXTURES OUT_DIR"""
import json
import os
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
