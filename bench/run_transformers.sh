#!/bin/bash
# The transformer engine against PyTorch and the machine's limits, one thread:
# builds build/bench/bench_transformers (make bench-build), runs it and
# bench/bench_transformers_torch.py in the same run, prints one table and
# writes bench/results/transformers.txt.
#   bench/run_transformers.sh [rounds]      (default 3; best of the rounds)
# Needs gcc, libopenblas0, libjansson-dev, libutf8proc-dev, libpcre2-dev;
# PyTorch as /usr/bin/python3 -c 'import torch' (Debian's python3-torch),
# else its column is left out.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${1:-${ROUNDS:-3}}
OUT=bench/results/transformers.txt
mkdir -p bench/results

# The engine library as the Makefile builds it: -O2, no -march (kernels are chosen at run time).
make -s -j2 bench-build >/dev/null

# One thread everywhere, and the same OpenBLAS kernels for the engine and for torch.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
	flags=$(grep -m1 '^flags' /proc/cpuinfo)
	if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512vl* && $flags == *avx512dq* ]]; then
		export OPENBLAS_CORETYPE=SkylakeX
	elif [[ $flags == *avx2* && $flags == *fma* ]]; then
		export OPENBLAS_CORETYPE=Haswell
	fi
fi

RAW=$(mktemp /tmp/bench_transformers.XXXXXX)
trap 'rm -f "$RAW"' EXIT
build/bench/bench_transformers "$ROUNDS" >"$RAW"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	/usr/bin/python3 bench/bench_transformers_torch.py "$ROUNDS" >>"$RAW"
	# which BLAS library torch actually maps
	/usr/bin/python3 - >>"$RAW" <<'PY'
import torch, os
torch.ones(64, 64) @ torch.ones(64, 64)
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower()})
print("torch_blas_libs", ",".join(os.path.realpath(p) for p in libs) or "none")
PY
else
	echo "# PyTorch not found as /usr/bin/python3; its column is left out" >&2
fi

{
	echo "# Transformer engine vs PyTorch vs machine limits, one thread, best of $ROUNDS"
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}"
	/usr/bin/python3 - "$RAW" <<'PY'
import sys
v = {}
per_round = []
for line in open(sys.argv[1]):
    if line.startswith("round_decode "):
        per_round.append(dict(x.split("=") for x in line.split()[2:]))
        continue
    if line.startswith("#") or " " not in line.strip():
        continue
    k, val = line.split(None, 1)
    v[k] = val.strip()
f = lambda k: float(v[k]) if k in v else None

P, DEC, SEQ, B = (int(v[k]) for k in ("prompt_tokens", "decode_tokens", "seq_tokens", "batch"))
bw = f("triad_gbs") * 1e9
torch_ok = "torch_gpt2_prompt_s" in v

print(f"# engine kernels: {v['cpu_kernels']}; OpenBLAS core: {v['openblas_core']}; "
      f"torch {v.get('torch_version', '-')} BLAS_INFO={v.get('torch_blas', '-')} "
      f"maps {v.get('torch_blas_libs', '-')}")
print(f"# STREAM-like triad, 1 thread: {bw / 1e9:.2f} GB/s; plain read, 1 thread: {f('read_gbs'):.2f} GB/s")
print("# GPT-2 small (124M): prompt %d tokens, then %d decoded; MiniLM-L6: inputs of %d tokens, batch 1 and %d"
      % (P, DEC, SEQ, B))
print()

rows = []
def row(name, eng32, eng16, torch_v, limit, limit_name):
    rows.append((name, eng32, eng16, torch_v, limit, limit_name))

gemm_p = P / f("openblas_gpt2_prompt_gemm_s")
row("GPT-2 prompt tokens/s", P / f("engine_gpt2-f32_prompt_s"), P / f("engine_gpt2-f16_prompt_s"),
    P / f("torch_gpt2_prompt_s") if torch_ok else None, gemm_p, "OpenBLAS sgemm, same products")
bound32 = bw / f("gpt2_weight_bytes_f32")
bound16 = bw / f("gpt2_weight_bytes_f16")
row("GPT-2 decode tokens/s", DEC / f("engine_gpt2-f32_decode_s"), DEC / f("engine_gpt2-f16_decode_s"),
    DEC / f("torch_gpt2_decode_s") if torch_ok else None, (bound32, bound16), "triad ÷ weight bytes/token")
row("MiniLM batch 1 seq/s", 1 / f("engine_bert-f32_b1_s"), 1 / f("engine_bert-f16_b1_s"),
    1 / f("torch_bert_b1_s") if torch_ok else None, 1 / f("openblas_bert_b1_gemm_s"), "OpenBLAS sgemm, same products")
row("MiniLM batch 32 seq/s", B / f("engine_bert-f32_b32_s"), B / f("engine_bert-f16_b32_s"),
    B / f("torch_bert_b32_s") if torch_ok else None, B / f("openblas_bert_b32_gemm_s"), "OpenBLAS sgemm, same products")

hdr = ("", "engine F32", "engine F16", "PyTorch F32", "limit (F32 / F16)", "F32÷limit", "F16÷limit", "F32÷torch", "F16÷torch")
print("%-23s %10s %10s %11s %17s %9s %9s %9s %9s" % hdr)
for name, e32, e16, t, lim, lname in rows:
    l32, l16 = lim if isinstance(lim, tuple) else (lim, lim)
    lim_s = "%.1f / %.1f" % (l32, l16) if isinstance(lim, tuple) else "%.1f" % lim
    ts = "%11.1f" % t if t else "%11s" % "-"
    r = lambda a, b: "%9.2f" % (a / b) if b else "%9s" % "-"
    print("%-23s %10.1f %10.1f %s %17s %s %s %s %s" % (name, e32, e16, ts, lim_s, r(e32, l32), r(e16, l16), r(e32, t), r(e16, t)))
print()
print("limits: prompt and encoding = OpenBLAS sgemm alone on the layer products of the same")
print("prompt or batch (float32 weights); decoding = triad bandwidth ÷ bytes of weights one token reads")
print("(%.0f MB F32, %.0f MB F16)." % (f("gpt2_weight_bytes_f32") / 1e6, f("gpt2_weight_bytes_f16") / 1e6))
print("Best of the rounds: prompt, batch 32 and the limits per run; decoding per step and batch 1 per")
print("input (each step's or input's best time, summed), for the engine and torch alike.")
print("GEMM rates: OpenBLAS %.1f GFLOP/s on the GPT-2 prompt products, %.1f on MiniLM batch 1, %.1f on batch 32."
      % (f("gpt2_prompt_gemm_flops") / f("openblas_gpt2_prompt_gemm_s") / 1e9,
         f("bert_seq_gemm_flops") / f("openblas_bert_b1_gemm_s") / 1e9,
         B * f("bert_seq_gemm_flops") / f("openblas_bert_b32_gemm_s") / 1e9))
print("F16 decoding is %.2f× F32 decoding." % (f("engine_gpt2-f32_decode_s") / f("engine_gpt2-f16_decode_s")))
rd = f("read_gbs") * 1e9
dec32 = f("gpt2_weight_bytes_f32") / (f("engine_gpt2-f32_decode_s") / DEC)
print("F32 decoding reads weights at %.2f GB/s: %.2f of the triad (%.2f GB/s), %.2f of a plain read on one thread (%.2f GB/s)."
      % (dec32 / 1e9, dec32 / bw, bw / 1e9, dec32 / rd, rd / 1e9))
if per_round:
    # each round's decoding against the bandwidth measured just before and after it (their mean)
    med = lambda rs: rs[len(rs) // 2] if len(rs) % 2 else (rs[len(rs) // 2 - 1] + rs[len(rs) // 2]) / 2
    for measure, name in (("triad", "the triad"), ("read", "a plain read")):
        parts = []
        for kind, nbytes in (("f32", f("gpt2_weight_bytes_f32")), ("f16", f("gpt2_weight_bytes_f16"))):
            rs = sorted(nbytes * DEC / float(p[kind + "_s"])
                        / ((float(p[measure + "_before"]) + float(p[measure + "_after"])) / 2 * 1e9)
                        for p in per_round)
            parts.append("%s median %.2f (%.2f–%.2f)" % (kind.upper(), med(rs), rs[0], rs[-1]))
        print("Round by round, decoding's weight reads ÷ %s measured around that round: %s, over %d rounds."
              % (name, ", ".join(parts), len(per_round)))
print()
print("One decoding step's matrix-vector products alone (GPT-2 weights, GB/s of weights read; triad %.2f, plain read %.2f):"
      % (bw / 1e9, rd / 1e9))
for k, name, bytes_k in (("gemv_openblas_f32_s", "OpenBLAS sgemv F32", "gpt2_weight_bytes_f32"),
                         ("gemv_engine_f32_s", "engine gemv F32", "gpt2_weight_bytes_f32"),
                         ("gemv_engine_f16_s", "engine gemv F16", "gpt2_weight_bytes_f16"),
                         ("gemv_engine_bf16_s", "engine gemv BF16", "gpt2_weight_bytes_f16")):
    gbs = f(bytes_k) / f(k) / 1e9
    print("  %-20s %6.2f GB/s  %6.1f steps/s  (%.2f of triad, %.2f of plain read)"
          % (name, gbs, 1 / f(k), gbs * 1e9 / bw, gbs * 1e9 / rd))
PY
} | tee "$OUT"
