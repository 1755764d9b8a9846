#!/bin/bash
# bench/gpu/prepare.sh — run here, on the build machine, before the GPU check:
# builds what check.sh runs (the engine's tests and benchmarks, and the CUDA
# module, which needs nvcc) and gathers it, with the four fixtures it checks
# and the shared libraries a bare GPU machine may lack, into .gpu/ (ignored
# by git).  Then run bench/gpu/check.sh there with .gpu beside it.
# The whole working tree that travels to a GPU machine is limited to 64 MiB
# and the repository takes 54 of them, so the programs are stripped and
# OpenBLAS stays behind (35 MiB): on the GPU machine the engine's host-side
# products, a few small heads, fall back to plain C.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${PG_LM_SHARED:-../shared}

make -s engine-tests bench-build build/pg_lm_cuda.so
test -f build/pg_lm_cuda.so || { echo "prepare.sh: build/pg_lm_cuda.so was not built (is nvcc installed?)" >&2; exit 1; }

rm -rf .gpu && mkdir -p .gpu/bin .gpu/lib .gpu/fixtures/models
cp build/pg_lm_cuda.so build/tests/test_models build/tests/test_seq2seq build/tests/test_device \
   build/bench/bench_device build/bench/bench_transformers .gpu/bin/
for f in gpt2-tiny llama-tiny bert-tiny-langid nllb-tiny; do
	cp -r "$SHARED/fixtures/models/$f" .gpu/fixtures/models/
done
# what the programs and OpenBLAS load, minus glibc's own libraries
strip .gpu/bin/test_* .gpu/bin/bench_*
libs=$(ldd .gpu/bin/test_models .gpu/bin/bench_device | awk '/=>/ {print $3}' |
	grep -v -E '/(libc|libm|libdl|libpthread|librt)\.so' | sort -u)
for l in $libs; do cp -L "$l" .gpu/lib/; done
du -sh .gpu
