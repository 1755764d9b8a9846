#!/bin/bash
# The quantized GGUF fixtures and llama.cpp's outputs for them, per type:
#   tests/gguf/make_quant_fixtures.sh LLAMA_CPP_DIR [OUT_DIR]
# LLAMA_CPP_DIR: llama.cpp built as ../shared/peers/README.md says (its
# gguf-py, build/bin/libllama.so and build/bin/llama-quantize); OUT_DIR
# defaults to tests/data/gguf/quant.  Needs numpy (Debian's python3-numpy).
# In OUT_DIR, for each TYPE:
#   llama-q-TYPE.gguf              a tiny random Llama, llama-quantize --pure TYPE of an F32 file
#   llama-q-TYPE.logits.bin        llama.cpp's logits for quant-ids.json's sequences, float32 [32][64][128]
#   llama-q-TYPE.greedy.json       llama.cpp's greedy continuations of 4 prompts, one token at a time
#   llama-q-TYPE.token_embd.f32    gguf-py's dequantization of token_embd.weight, float32 [128][256]
# and llama-tiny-q8_0.gguf, llama-quantize --pure Q8_0 of tests/data/gguf/llama-tiny-f32.gguf.
set -eu
L=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${2:-$ROOT/tests/data/gguf/quant}
TYPES="Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K"
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
py() { PYTHONPATH=$L/gguf-py /usr/bin/python3 "$ROOT/tests/gguf/make_quant_fixtures.py" "$@"; }
quantize() {	# quantize IN OUT TYPE, its log shown only when it fails
	"$L/build/bin/llama-quantize" --pure "$1" "$2" "$3" >"$TMP/quantize.log" 2>&1 || { cat "$TMP/quantize.log"; exit 1; }
}

py model "$TMP" "$OUT"
gcc -O2 -I"$L/include" -I"$L/ggml/include" "$ROOT/tests/gguf/llama_quant_logits.c" -L"$L/build/bin" \
	-lllama -lggml -lggml-base -Wl,-rpath,"$L/build/bin" -o "$TMP/llama_quant_logits"
# the F32 model's logits, for the check's statistics only
"$TMP/llama_quant_logits" "$TMP/llama-q-F32.gguf" logits 64 <"$TMP/ids.txt" 2>/dev/null >"$TMP/llama-q-F32.logits.bin"
for t in $TYPES; do
	quantize "$TMP/llama-q-F32.gguf" "$OUT/llama-q-$t.gguf" $t
	"$TMP/llama_quant_logits" "$OUT/llama-q-$t.gguf" logits 64 <"$TMP/ids.txt" 2>/dev/null >"$OUT/llama-q-$t.logits.bin"
	"$TMP/llama_quant_logits" "$OUT/llama-q-$t.gguf" greedy 8 32 <"$TMP/prompts.txt" 2>/dev/null >"$OUT/llama-q-$t.greedy.json"
done
quantize "$ROOT/tests/data/gguf/llama-tiny-f32.gguf" "$OUT/llama-tiny-q8_0.gguf" Q8_0
py check "$TMP" "$OUT" $TYPES
