#!/bin/bash
# GGUF models in pg_lm's engine against llama.cpp, on the same files, one
# thread, rounds alternated: GPT-2-124M shapes with random weights (from
# bench_transformers --write-models, written as GGUF by
# bench/gguf_from_hf.py) and a Llama shape of 0.48B parameters
# (bench/gguf_llama_shape.py), each in F32, F16, and Q8_0 and Q4_K (the F32
# file through llama-quantize --pure); a 512-token prompt in one pass
# (llama-bench pp512) and 128 tokens decoded from an empty context (tg128),
# tokens/s; and the fraction of one thread's measured memory bandwidth
# decoding reaches.  Both hold the weights in memory of their own:
# bench_gguf as pg_lm's model server does (a weights file read in, huge pages where the
# system gives them), llama-bench with -lm none (read into its buffers;
# faster here than its default of mapping the file, 12.8-14 against
# 8.8-11.4 tokens/s decoding the Llama shape in F32).
#   bench/gguf.sh LLAMA_CPP_DIR [rounds] [models...]
# models: gpt2 and/or llama (both by default).
# LLAMA_CPP_DIR: llama.cpp built as ../shared/peers/README.md says (its
# build/bin/llama-bench and gguf-py; numpy for /usr/bin/python3).  Writes
# bench/results/gguf.txt.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
L=$(cd "$1" && pwd)
ROUNDS=${2:-3}
shift $(($# < 2 ? $# : 2))
MODELS=${*:-gpt2 llama}
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
[ -x "$L/build/bin/llama-bench" ] || { echo "no llama-bench in $L/build/bin: skipped"; exit 0; }
make -s bench-build >/dev/null
TMP=$(mktemp -d /tmp/pg_lm_bench_gguf.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
for model in $MODELS; do
	for kind in f32 f16; do
		if [ $model = gpt2 ]; then
			[ -d "$TMP/gpt2-small" ] || build/bench/bench_transformers --write-models "$TMP" --shape gpt2-small >/dev/null
			PYTHONPATH=$L/gguf-py /usr/bin/python3 bench/gguf_from_hf.py "$TMP/gpt2-small" "$SHARED/fixtures" "$TMP/gpt2-$kind.gguf" $kind
		else
			PYTHONPATH=$L/gguf-py /usr/bin/python3 bench/gguf_llama_shape.py "$TMP/llama-$kind.gguf" $kind
		fi
	done
	for kind in q8_0 q4_k; do
		"$L/build/bin/llama-quantize" --pure "$TMP/$model-f32.gguf" "$TMP/$model-$kind.gguf" "${kind^^}" >/dev/null 2>&1
	done
done
export OPENBLAS_NUM_THREADS=1
# llama-bench's CSV: avg_ts of the test with n_prompt P and n_gen G
ts_of() {
	echo "$1" | awk -F, -v P="$2" -v G="$3" 'NR == 1 { for (i = 1; i <= NF; i++) { gsub(/"/, "", $i); col[$i] = i }; next }
		{ gsub(/"/, ""); if ($col["n_prompt"] == P && $col["n_gen"] == G) print $col["avg_ts"] }' | head -1
}
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
kernels=$(grep -qw avx512f /proc/cpuinfo && echo "AVX-512F" || (grep -qw avx2 /proc/cpuinfo && echo AVX2 || echo "plain C"))
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $cpu, $(nproc) cores, pg_lm kernels $kernels; llama.cpp $(git -C "$L" rev-parse --short HEAD 2>/dev/null || echo '?') (CPU, one thread, -lm none); best of $ROUNDS alternated rounds"
	echo "# random weights, as GGUF: gpt2 = GPT-2-124M shapes, llama = a Llama shape of 0.48B parameters; pp: a 512-token prompt, tg: 128 tokens decoded, tokens/s"
	printf '%-12s %12s %12s %8s %12s %12s %8s\n' model "pp pg_lm" "pp llama" ratio "tg pg_lm" "tg llama" ratio
	bw=""
	for mk in $(for m in $MODELS; do for k in f32 f16 q8_0 q4_k; do echo $m-$k; done; done); do
		kind=$mk
		best_lp=0; best_lt=0; best_cp=0; best_ct=0; read=0
		for r in $(seq 1 "$ROUNDS"); do
			set -- $(build/bench/bench_gguf "$TMP/$kind.gguf" --rounds 1 --prompt 512 --decode 128 | awk '{print $2}')
			bytes=$3; read=$(echo "if ($4 > $read) $4 else $read" | bc -l)
			best_lp=$(echo "if ($1 > $best_lp) $1 else $best_lp" | bc -l); best_lt=$(echo "if ($2 > $best_lt) $2 else $best_lt" | bc -l)
			out=$("$L/build/bin/llama-bench" -m "$TMP/$kind.gguf" -t 1 -p 512 -n 128 -r 1 -lm none -o csv 2>/dev/null)
			cp=$(ts_of "$out" 512 0)
			ct=$(ts_of "$out" 0 128)
			best_cp=$(echo "if (${cp:-0} > $best_cp) ${cp:-0} else $best_cp" | bc -l); best_ct=$(echo "if (${ct:-0} > $best_ct) ${ct:-0} else $best_ct" | bc -l)
		done
		printf '%-12s %12.1f %12.1f %8.2f %12.2f %12.2f %8.2f\n' $kind "$best_lp" "$best_cp" "$(echo "$best_lp / $best_cp" | bc -l)" \
			"$best_lt" "$best_ct" "$(echo "$best_lt / $best_ct" | bc -l)"
		bw="$bw$(printf '%s: %.0f MB of weights a token; decoding reads %.0f%% (pg_lm) and %.0f%% (llama.cpp) of %.1f GB/s; ' $kind \
			"$(echo "$bytes / 1000000" | bc -l)" "$(echo "100 * $best_lt * $bytes / ($read * 1000000000)" | bc -l)" \
			"$(echo "100 * $best_ct * $bytes / ($read * 1000000000)" | bc -l)" "$read")"
	done
	echo "# bandwidth (one thread streaming a 1 GB buffer): $bw"
} | tee bench/results/gguf.txt
