#!/bin/bash
# bench/gpu/check.sh — the CUDA device on a machine with an NVIDIA GPU, in
# one run: parity of gpt2-tiny, llama-tiny, bert-tiny-langid and nllb-tiny
# with the fixtures at the engine level (every model moved to the GPU,
# float32, tolerance 1e-3), the device tests, then batched decoding
# (tokens/s) and BERT-base batches (sequences/s) on the GPU against
# PyTorch on the same GPU (the engine's CPU numbers come from bench/run.sh
# here: prepare.sh leaves OpenBLAS behind).
# Needs .gpu/ from bench/gpu/prepare.sh.  Logs go to $OUT (or /tmp/gpu-out).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
G=.gpu
cuda_libs=$(python3 -c 'import nvidia, os; p = nvidia.__path__[0]; print(":".join(os.path.join(r, d) for r, ds, _ in os.walk(p) for d in ds if d == "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH="$PWD/$G/lib:/usr/local/cuda/lib64:${cuda_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PG_LM_FIXTURES=$G/fixtures PG_LM_CUDA_MODULE=$G/bin/pg_lm_cuda.so

{
	echo "== machine"
	nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
	lscpu | grep -E '^Model name|^CPU\(s\)'
	ldd $G/bin/pg_lm_cuda.so | grep -E 'cublas|not found'

	echo "== parity on the GPU (tolerance 1e-3)"
	export PG_LM_TEST_DEVICE=cuda PG_LM_TEST_TOL=1e-3
	export PG_LM_TEST_ONLY=gpt2-tiny,llama-tiny,bert-tiny-langid,nllb-tiny
	for t in test_models test_seq2seq; do
		timeout 300 $G/bin/$t > "$OUT/$t.log" 2>&1
		echo "$t: rc $? $(tail -1 "$OUT/$t.log")"
		grep -E '^not ok|^# models run on' "$OUT/$t.log" | head -20
	done
	unset PG_LM_TEST_TOL PG_LM_TEST_ONLY
	# the module's failure paths, and greedy picks and argmax_rows on the GPU
	timeout 120 $G/bin/test_device > "$OUT/test_device.log" 2>&1
	echo "test_device: rc $? $(tail -1 "$OUT/test_device.log")"
	grep -E '^not ok' "$OUT/test_device.log" | head -10
	unset PG_LM_TEST_DEVICE

	echo "== speed"
	M=/tmp/pg_lm_gpu_models
	mkdir -p $M
	$G/bin/bench_transformers --write-models $M --shape gpt2-small --shape bert-base > /dev/null
	timeout 300 $G/bin/bench_device --decoder $M/gpt2-small --encoder $M/bert-base \
		--device cuda --batches 1,8,32 \
		--prompt 16 --decode 64 --seq 128 --batch 32 --rounds 3
	echo "== PyTorch on the same GPU (float32, no TF32)"
	timeout 200 python3 bench/gpu/torch_peer.py --decoder $M/gpt2-small --encoder $M/bert-base \
		--batches 1,8,32 --prompt 16 --decode 64 --seq 128 --batch 32 --rounds 3
} 2>&1 | tee "$OUT/check.log"
