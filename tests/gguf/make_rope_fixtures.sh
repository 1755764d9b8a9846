#!/bin/bash
# The rotary-scaling GGUF fixtures (make_rope_fixtures.py) and llama.cpp's
# logits for them:  tests/gguf/make_rope_fixtures.sh LLAMA_CPP_DIR [OUT_DIR]
# OUT_DIR (default tests/data/gguf) must hold llama-tiny-f32.gguf.
set -eu
L=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${2:-$ROOT/tests/data/gguf}
PYTHONPATH=$L/gguf-py /usr/bin/python3 "$ROOT/tests/gguf/make_rope_fixtures.py" "$OUT"
gcc -O2 -I"$L/include" -I"$L/ggml/include" "$ROOT/tests/gguf/llama_logits.c" -L"$L/build/bin" \
	-lllama -lggml -lggml-base -Wl,-rpath,"$L/build/bin" -o "$OUT/llama_logits.tmp"
# the 40 positions of make_llama_fixtures.sh
IDS=$(seq 0 39 | awk '{ printf "%d ", ($1 * 37 + 11) % 320 }')
for model in llama-tiny-rope-freqs llama-tiny-rope-linear; do
	"$OUT/llama_logits.tmp" "$OUT/$model.gguf" $IDS 2>/dev/null >"$OUT/$model.llama_cpp.json"
done
rm -f "$OUT/llama_logits.tmp"
