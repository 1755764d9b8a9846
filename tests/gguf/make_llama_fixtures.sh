#!/bin/bash
# The GGUF model fixtures and llama.cpp's logits for them, and llama.cpp's
# tokenizer on the fixtures' texts for the GGUF vocabularies:
#   tests/gguf/make_llama_fixtures.sh LLAMA_CPP_DIR [OUT_DIR]
# LLAMA_CPP_DIR: llama.cpp built as ../shared/peers/README.md says (its
# gguf-py and build/bin/libllama.so); OUT_DIR defaults to tests/data/gguf.
# Needs numpy (Debian's python3-numpy).
set -eu
L=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${2:-$ROOT/tests/data/gguf}
PYTHONPATH=$L/gguf-py /usr/bin/python3 "$ROOT/tests/gguf/make_llama_fixtures.py" "$OUT" "${PG_LM_FIXTURES:-$ROOT/../shared/fixtures}"
gcc -O2 -I"$L/include" -I"$L/ggml/include" "$ROOT/tests/gguf/llama_logits.c" -L"$L/build/bin" \
	-lllama -lggml -lggml-base -Wl,-rpath,"$L/build/bin" -o "$OUT/llama_logits.tmp"
# 40 positions of token ids spread over the (smallest) vocabulary
IDS=$(seq 0 39 | awk '{ printf "%d ", ($1 * 37 + 11) % 320 }')
for model in llama-tiny-f32 llama-tiny-f16 llama-tiny-bf16 qwen2-tiny-f32 qwen3-tiny-f32 gpt2-tiny-f32; do
	"$OUT/llama_logits.tmp" "$OUT/$model.gguf" $IDS 2>/dev/null >"$OUT/$model.llama_cpp.json"
done
rm -f "$OUT/llama_logits.tmp"

# llama.cpp's tokenizer on the fixtures' texts, for the vocabularies made by make_tokenizer_fixtures.py
FIXTURES=${PG_LM_FIXTURES:-$ROOT/../shared/fixtures}
gcc -O2 -I"$L/include" -I"$L/ggml/include" "$ROOT/tests/gguf/llama_tokenize.c" -L"$L/build/bin" \
	-lllama -lggml -lggml-base -ljansson -Wl,-rpath,"$L/build/bin" -o "$OUT/llama_tokenize.tmp"
"$OUT/llama_tokenize.tmp" "$OUT/gpt2-vocab.gguf" <"$FIXTURES/real-tokenizers/gpt2/cases.jsonl" 2>/dev/null \
	>"$OUT/gpt2-vocab.llama_cpp_ids.jsonl"
"$OUT/llama_tokenize.tmp" "$OUT/llama2-vocab.gguf" <"$FIXTURES/real-tokenizers/llama2/spm_cases.jsonl" 2>/dev/null \
	>"$OUT/llama2-vocab.llama_cpp_ids.jsonl"
"$OUT/llama_tokenize.tmp" "$OUT/llama3-style-vocab.gguf" <"$FIXTURES/tokenizers/bpe-regex-llama3/cases.jsonl" 2>/dev/null \
	>"$OUT/llama3-style-vocab.llama_cpp_ids.jsonl"
# the pre-tokenizers with no reference tokenizer.json here (qwen2, tekken on the Llama 3-style
# vocabulary; smollm on GPT-2's): one line of ids per text of the base fixture's cases, then
# one per text of tests/gguf/pretokenizer_texts.jsonl (digit runs, upper-case contractions,
# case changes, marks, newlines and spaces, other scripts), in that order
for v in qwen2-style:tokenizers/bpe-regex-llama3 tekken-style:tokenizers/bpe-regex-llama3 \
	smollm-style:real-tokenizers/gpt2; do
	cat "$FIXTURES/${v#*:}/cases.jsonl" "$ROOT/tests/gguf/pretokenizer_texts.jsonl" |
		"$OUT/llama_tokenize.tmp" "$OUT/${v%%:*}-vocab.gguf" 2>/dev/null >"$OUT/${v%%:*}-vocab.llama_cpp_ids.jsonl"
done
rm -f "$OUT/llama_tokenize.tmp"
