#!/bin/bash
# The RNN engine's LSTM classifier against PyTorch, one thread, same run:
# builds build/bench/bench_rnn (make bench-build), runs it and
# bench/bench_rnn_torch.py on the same fixture weights (rnn-lstm-langid:
# embedding 32, 2-layer bidirectional LSTM of 48, linear head) and the same
# 1,000 sequences of 32 token ids, prints one table and writes
# bench/results/rnn.txt.
#   bench/run_rnn.sh [runs]      (default 3; each program also keeps the best of its 5 rounds)
# Needs gcc, libopenblas0, libjansson-dev, libutf8proc-dev, libpcre2-dev, and PyTorch as
# /usr/bin/python3 -c 'import torch' (Debian's python3-torch).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
RUNS=${1:-${RUNS:-3}}
OUT=bench/results/rnn.txt
mkdir -p build/bench bench/results

make -s -j2 bench-build >/dev/null

# One thread everywhere, and the same OpenBLAS kernels for the engine and torch.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
	flags=$(grep -m1 '^flags' /proc/cpuinfo)
	if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512vl* && $flags == *avx512dq* ]]; then
		export OPENBLAS_CORETYPE=SkylakeX
	elif [[ $flags == *avx2* && $flags == *fma* ]]; then
		export OPENBLAS_CORETYPE=Haswell
	fi
fi
export PG_LM_FIXTURES=$SHARED/fixtures

RAW=$(mktemp /tmp/bench_rnn.XXXXXX)
trap 'rm -f "$RAW"' EXIT
# Alternate the two programs so that both see the same load on a shared machine.
for r in $(seq "$RUNS"); do
	build/bench/bench_rnn >>"$RAW"
	/usr/bin/python3 bench/bench_rnn_torch.py "$SHARED/fixtures/models/rnn-lstm-langid" >>"$RAW"
done

{
	echo "# RNN classifier (rnn-lstm-langid: vocab 4000, embedding 32, 2-layer bidirectional LSTM of 48, 2 labels)"
	echo "# 1,000 sequences of 32 token ids (same LCG ids on both sides), one thread, best of $RUNS runs x 5 rounds"
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}"
	echo "# Timings swing 30-50% between runs on these shared 2-core machines: read the ratios."
	/usr/bin/python3 - "$RAW" <<'PY'
import sys
best = {}
meta = {}
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f if "=" in x)
    if f[0] == "engine":
        key = "engine, one at a time"
    elif "batched" in f:
        key = "PyTorch, batch of 1000"
    else:
        key = "PyTorch, one at a time"
    meta.setdefault(key, kv)
    b = best.setdefault(key, [0.0, 0.0])
    b[0] = max(b[0], float(kv["sequences_per_second"]))
    b[1] = max(b[1], float(kv["sequences_per_cpu_second"]))
e = meta["engine, one at a time"]
t = meta.get("PyTorch, one at a time", {})
print("# engine BLAS core: %s; torch weights: %s; checksums (sum of logit 0): engine %s, torch %s"
      % (e.get("blas"), t.get("weights", "-"), e.get("checksum"), t.get("checksum", "-")))
print()
ref = best.get("PyTorch, one at a time")
print("%-24s %14s %18s %16s" % ("", "sequences/s", "sequences/CPU-s", "ratio to torch 1x1"))
for key in ("engine, one at a time", "PyTorch, one at a time", "PyTorch, batch of 1000"):
    if key not in best:
        continue
    w, c = best[key]
    print("%-24s %14.0f %18.0f %16s" % (key, w, c, "%.2f" % (w / ref[0]) if ref else "-"))
if ref and "PyTorch, batch of 1000" in best:
    print()
    print("engine one at a time / PyTorch batched: %.2f" % (best["engine, one at a time"][0] / best["PyTorch, batch of 1000"][0]))
print("ratio = wall-clock sequences/s over PyTorch's one sequence at a time (the way the engine and SQL run them).")
PY
} | tee "$OUT"
