#!/bin/bash
# The transformer engine against PyTorch and the machine's limits: builds
# build/bench/bench_transformers (make bench-build), runs it and
# bench/bench_transformers_torch.py in the same run with the same arguments,
# prints one table and writes bench/results/transformers.txt.
#   bench/run_transformers.sh [rounds] [--threads N] [--shape SHAPE]...
#                             [--prompt N] [--decode N] [--seq N] [--batch N]
# rounds: default 3, best of the rounds.  --threads N (default 1): the
# engine's own threads (as pg_lm.threads), OpenBLAS's for the sgemm limit and
# torch's threads (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS
# are set to N).  --shape: gpt2-small,
# minilm-l6, bert-base or explicit dimensions, e.g. bert:layers=4,hidden=256
# (default: gpt2-small and minilm-l6); see bench/README.md.  With any of
# these options the table goes to bench/results/transformers-OPTIONS.txt
# instead.
# Needs gcc, libopenblas0, libjansson-dev, libutf8proc-dev, libpcre2-dev;
# PyTorch as /usr/bin/python3 -c 'import torch' (Debian's python3-torch),
# else its column is left out.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3}
THREADS=1
ARGS=()
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
	ROUNDS=$1
	shift
fi
while [ $# -gt 0 ]; do
	case $1 in
	--threads) THREADS=${2:?--threads wants a number}; shift 2 ;;
	--threads=*) THREADS=${1#--threads=}; shift ;;
	--rounds) ROUNDS=${2:?--rounds wants a number}; shift 2 ;;
	--rounds=*) ROUNDS=${1#--rounds=}; shift ;;
	--shape|--prompt|--decode|--seq|--batch) ARGS+=("$1" "${2:?$1 wants a value}"); shift 2 ;;
	--shape=*|--prompt=*|--decode=*|--seq=*|--batch=*) ARGS+=("$1"); shift ;;
	*) echo "run_transformers.sh: unknown argument $1 (see the comment at the top)" >&2; exit 2 ;;
	esac
done
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || { echo "run_transformers.sh: --threads wants a number, not $THREADS" >&2; exit 2; }
OUT=bench/results/transformers.txt
if [ ${#ARGS[@]} -gt 0 ] || [ "$THREADS" != 1 ]; then
	OUT=bench/results/transformers-$(echo "${ARGS[*]+${ARGS[*]}} threads $THREADS" | sed 's/--//g; s/[^A-Za-z0-9.-]\+/-/g; s/^-//; s/-$//').txt
fi
mkdir -p bench/results

# The engine library as the Makefile builds it: -O2, no -march (kernels are chosen at run time).
make -s -j2 bench-build >/dev/null

# THREADS threads everywhere (one by default), and the same OpenBLAS kernels for the engine and for torch.
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
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
build/bench/bench_transformers --rounds "$ROUNDS" --threads "$THREADS" --engine-threads "$THREADS" ${ARGS[@]+"${ARGS[@]}"} >"$RAW"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	/usr/bin/python3 bench/bench_transformers_torch.py --rounds "$ROUNDS" --threads "$THREADS" ${ARGS[@]+"${ARGS[@]}"} >>"$RAW"
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
	if [ "$THREADS" = 1 ]; then
		echo "# Transformer engine vs PyTorch vs machine limits, one thread, best of $ROUNDS"
	else
		echo "# Transformer engine vs PyTorch vs machine limits, $THREADS threads (the engine's own, OpenBLAS's for the limits, torch.set_num_threads;"
		echo "# the bandwidth measurements run one thread), best of $ROUNDS"
	fi
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


def shape(key):
    if key not in v:
        return None
    name, *kv = v[key].split()
    d = dict(x.split("=") for x in kv)
    d["name"] = name
    return d


dec, enc = shape("decoder_shape"), shape("encoder_shape")
# short name for the rows, long one for the header
NAMES = {"gpt2-small": ("GPT-2", "GPT-2 small"), "minilm-l6": ("MiniLM", "MiniLM-L6"), "bert-base": ("BERT-base", "BERT-base")}
short = lambda s: NAMES[s["name"]][0] if s["name"] in NAMES else "decoder" if s is dec else "encoder"


def describe(s):
    if s["name"] in NAMES:
        return "%s (%.0fM)" % (NAMES[s["name"]][1], float(s["params"]) / 1e6)
    return "%s %s (%s layers, %s wide, %s heads, intermediate %s, vocabulary %s; %.0fM)" % (
        short(s), s["name"], s["layers"], s["hidden"], s["heads"], s["ffn"], s["vocab"], float(s["params"]) / 1e6)


torch_ok = "torch_version" in v
for role, s in (("decoder", dec), ("encoder", enc)):
    t = shape("torch_%s_shape" % role)
    keys = ("layers", "hidden", "heads", "ffn", "vocab", "positions")
    if torch_ok and s and (t is None or any(t[k] != s[k] for k in keys)):
        print("# WARNING: PyTorch ran another %s shape (%s) than the engine (%s)" % (role, v.get("torch_%s_shape" % role), v[role + "_shape"]))
bw = f("triad_gbs") * 1e9
rd = f("read_gbs") * 1e9

nthreads = v.get("blas_threads", "?")
print(f"# engine kernels: {v['cpu_kernels']}; OpenBLAS core: {v['openblas_core']}, {nthreads} thread{'' if nthreads == '1' else 's'}; "
      f"torch {v.get('torch_version', '-')} BLAS_INFO={v.get('torch_blas', '-')} threads {v.get('torch_threads', '-')} "
      f"maps {v.get('torch_blas_libs', '-')}")
print(f"# STREAM-like triad, 1 thread: {bw / 1e9:.2f} GB/s; plain read, 1 thread: {rd / 1e9:.2f} GB/s")
parts = []
if dec:
    P, DEC = int(v["prompt_tokens"]), int(v["decode_tokens"])
    parts.append("%s: prompt %d tokens, then %d decoded" % (describe(dec), P, DEC))
if enc:
    SEQ, B = int(v["seq_tokens"]), int(v["batch"])
    parts.append("%s: inputs of %d tokens, batch 1 and %d" % (describe(enc), SEQ, B))
print("# " + "; ".join(parts))
print()

rows = []
def row(name, eng32, eng16, torch_v, limit, limit_name):
    rows.append((name, eng32, eng16, torch_v, limit, limit_name))

has_torch = lambda k: torch_ok and ("torch_" + k) in v
if dec:
    n = short(dec)
    row(n + " prompt tokens/s", P / f("engine_gpt2-f32_prompt_s"), P / f("engine_gpt2-f16_prompt_s"),
        P / f("torch_gpt2_prompt_s") if has_torch("gpt2_prompt_s") else None,
        P / f("openblas_gpt2_prompt_gemm_s"), "OpenBLAS sgemm, same products")
    bound32 = bw / f("gpt2_weight_bytes_f32")
    bound16 = bw / f("gpt2_weight_bytes_f16")
    row(n + " decode tokens/s", DEC / f("engine_gpt2-f32_decode_s"), DEC / f("engine_gpt2-f16_decode_s"),
        DEC / f("torch_gpt2_decode_s") if has_torch("gpt2_decode_s") else None,
        (bound32, bound16), "triad ÷ weight bytes/token")
if enc:
    n = short(enc)
    row(n + " batch 1 seq/s", 1 / f("engine_bert-f32_b1_s"), 1 / f("engine_bert-f16_b1_s"),
        1 / f("torch_bert_b1_s") if has_torch("bert_b1_s") else None,
        1 / f("openblas_bert_b1_gemm_s"), "OpenBLAS sgemm, same products")
    row(n + " batch %d seq/s" % B, B / f("engine_bert-f32_b32_s"), B / f("engine_bert-f16_b32_s"),
        B / f("torch_bert_b32_s") if has_torch("bert_b32_s") else None,
        B / f("openblas_bert_b32_gemm_s"), "OpenBLAS sgemm, same products")

w = max([23] + [len(r[0]) for r in rows])
hdr = ("", "engine F32", "engine F16", "PyTorch F32", "limit (F32 / F16)", "F32÷limit", "F16÷limit", "F32÷torch", "F16÷torch")
print("%-*s %10s %10s %11s %17s %9s %9s %9s %9s" % ((w,) + hdr))
for name, e32, e16, t, lim, lname in rows:
    l32, l16 = lim if isinstance(lim, tuple) else (lim, lim)
    lim_s = "%.1f / %.1f" % (l32, l16) if isinstance(lim, tuple) else "%.1f" % lim
    ts = "%11.1f" % t if t else "%11s" % "-"
    r = lambda a, b: "%9.2f" % (a / b) if b else "%9s" % "-"
    print("%-*s %10.1f %10.1f %s %17s %s %s %s %s" % (w, name, e32, e16, ts, lim_s, r(e32, l32), r(e16, l16), r(e32, t), r(e16, t)))
print()
if dec:
    print("limits: prompt and encoding = OpenBLAS sgemm alone on the layer products of the same")
    print("prompt or batch (float32 weights); decoding = triad bandwidth ÷ bytes of weights one token reads")
    print("(%.0f MB F32, %.0f MB F16)." % (f("gpt2_weight_bytes_f32") / 1e6, f("gpt2_weight_bytes_f16") / 1e6))
else:
    print("limits: encoding = OpenBLAS sgemm alone on the layer products of the same input or batch")
    print("(float32 weights).")
if dec and enc:
    print("Best of the rounds: prompt, batch %d and the limits per run; decoding per step and batch 1 per" % B)
    print("input (each step's or input's best time, summed), for the engine and torch alike.")
elif dec:
    print("Best of the rounds: prompt and the limits per run; decoding per step (each step's best time,")
    print("summed), for the engine and torch alike.")
else:
    print("Best of the rounds: batch %d and the limits per run; batch 1 per input (each input's best" % B)
    print("time, averaged over the inputs), for the engine and torch alike.")
rates = []
if dec:
    rates.append((f("gpt2_prompt_gemm_flops") / f("openblas_gpt2_prompt_gemm_s"), "on the %s prompt products" % short(dec)))
if enc:
    rates.append((f("bert_seq_gemm_flops") / f("openblas_bert_b1_gemm_s"), "on %s batch 1" % short(enc)))
    rates.append((B * f("bert_seq_gemm_flops") / f("openblas_bert_b32_gemm_s"), "on batch %d" % B))
print("GEMM rates: OpenBLAS " + ", ".join("%.1f%s %s" % (r / 1e9, " GFLOP/s" if i == 0 else "", what)
                                         for i, (r, what) in enumerate(rates)) + ".")
if dec:
    print("F16 decoding is %.2f× F32 decoding." % (f("engine_gpt2-f32_decode_s") / f("engine_gpt2-f16_decode_s")))
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
if dec:
    print()
    print("One decoding step's matrix-vector products alone (%s weights, GB/s of weights read; triad %.2f, plain read %.2f):"
          % (short(dec), bw / 1e9, rd / 1e9))
    for k, name, bytes_k in (("gemv_openblas_f32_s", "OpenBLAS sgemv F32", "gpt2_weight_bytes_f32"),
                             ("gemv_engine_f32_s", "engine gemv F32", "gpt2_weight_bytes_f32"),
                             ("gemv_engine_f16_s", "engine gemv F16", "gpt2_weight_bytes_f16"),
                             ("gemv_engine_bf16_s", "engine gemv BF16", "gpt2_weight_bytes_f16")):
        gbs = f(bytes_k) / f(k) / 1e9
        print("  %-20s %6.2f GB/s  %6.1f steps/s  (%.2f of triad, %.2f of plain read)"
              % (name, gbs, 1 / f(k), gbs * 1e9 / bw, gbs * 1e9 / rd))
PY
} | tee "$OUT"
