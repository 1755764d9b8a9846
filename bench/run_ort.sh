#!/bin/bash
# Encoders: the engine against ONNX Runtime (npm onnxruntime-node, CPU) on the
# same weights and inputs, in the same run.  For each shape:
# bench/ort_model.py writes a BERT checkpoint of random weights and exports
# the same encoder to ONNX (cached in build/ort/), build/bench/bench_encoder
# times the engine on the checkpoint, bench/bench_ort.mjs times ONNX Runtime
# on the ONNX graph, and bench/ort_model.py compare checks that both gave the
# same embeddings; then one table, written to bench/results/ort.txt.
#   bench/run_ort.sh [rounds] [--threads N] [--shape SHAPE]... [--seq N] [--batch N]
#                    [--openblas-core auto|NAME]
# rounds: default 3, best of the rounds; the engine and ONNX Runtime take
# turns, a round each.  --threads N (default 1): the
# engine's own threads (as pg_lm.threads in the model server, one OpenBLAS
# thread), intraOpNumThreads in ONNX Runtime.  --shape:
# minilm-l6, bert-base or bert:KEY=N,... (default: minilm-l6 and bert-base);
# --seq and --batch: tokens per input and the batch (default 128 and 32).
# --openblas-core: OpenBLAS's kernels for the engine, auto (what the engine
# picks from the CPU when OPENBLAS_CORETYPE is not set, as in a server's
# environment) or a core type such as Haswell or SkylakeX; by default
# OPENBLAS_CORETYPE is left as the environment has it.
# --server: the engine's side goes through SQL and the model server of a
# throwaway cluster that preloads pg_lm (pg_lm.threads = --threads,
# pg_lm.max_batch = --batch; needs root for make install): batch 1 is one
# session calling lm_embed on the inputs one after another, batch N is N
# sessions at once (pgbench), each embedding one input per transaction, which
# the server runs together; the table is bench/results/ort-server*.txt.
# With options other than the defaults the table goes to
# bench/results/ort-OPTIONS.txt instead.  See bench/README.md.
# Needs what make bench-build needs, /usr/bin/python3 with torch (Debian's
# python3-torch) and Node.js with npm; onnxruntime-node is installed into
# bench/node_modules when missing (ONNXRUNTIME_NODE_INSTALL=skip: the CPU
# library is in the package, nothing else is fetched).  Without a peer the
# script says so and exits 0.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3}
THREADS=1
SEQ=128
BATCH=32
SHAPES=()
CORE=
SERVER=0
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
	--shape) SHAPES+=("${2:?--shape wants a value}"); shift 2 ;;
	--shape=*) SHAPES+=("${1#--shape=}"); shift ;;
	--seq) SEQ=${2:?--seq wants a number}; shift 2 ;;
	--seq=*) SEQ=${1#--seq=}; shift ;;
	--batch) BATCH=${2:?--batch wants a number}; shift 2 ;;
	--batch=*) BATCH=${1#--batch=}; shift ;;
	--server) SERVER=1; shift ;;
	--openblas-core) CORE=${2:?--openblas-core wants auto or a core type}; shift 2 ;;
	--openblas-core=*) CORE=${1#--openblas-core=}; shift ;;
	*) echo "run_ort.sh: unknown argument $1 (see the comment at the top)" >&2; exit 2 ;;
	esac
done
for v in ROUNDS THREADS SEQ BATCH; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "run_ort.sh: --${v,,} wants a whole number, not ${!v}" >&2; exit 2; }
done
[ ${#SHAPES[@]} -gt 0 ] || SHAPES=(minilm-l6 bert-base)

# bench/results/ort.txt for the defaults, ort-OPTIONS.txt otherwise
OPTS=""
[ "${SHAPES[*]}" = "minilm-l6 bert-base" ] || OPTS+=" ${SHAPES[*]}"
[ "$SEQ" = 128 ] || OPTS+=" seq $SEQ"
[ "$BATCH" = 32 ] || OPTS+=" batch $BATCH"
[ "$THREADS" = 1 ] || OPTS+=" threads $THREADS"
[ -z "$CORE" ] || OPTS+=" openblas $CORE"
[ "$SERVER" = 0 ] || OPTS=" server$OPTS"
case $CORE in
'') ;;
auto) unset OPENBLAS_CORETYPE ;;
*[!A-Za-z0-9]*) echo "run_ort.sh: --openblas-core wants auto or a core type such as SkylakeX, not $CORE" >&2; exit 2 ;;
*) export OPENBLAS_CORETYPE=$CORE ;;
esac
OUT=bench/results/ort.txt
[ -z "$OPTS" ] || OUT=bench/results/ort-$(echo "$OPTS" | sed 's/[^A-Za-z0-9.-]\+/-/g; s/^-//; s/-$//').txt
mkdir -p bench/results build/ort

skip() {
	echo "run_ort.sh: skipped: $*"
	exit 0
}

# The peers: torch (to write the models) and onnxruntime-node.
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
	skip "PyTorch is needed to write the models (/usr/bin/python3 -c 'import torch' fails; apt-get install python3-torch)"
command -v node >/dev/null || skip "Node.js is needed for ONNX Runtime (apt-get install nodejs npm)"
ort_loads() { (cd bench && node -e "import('onnxruntime-node').then(() => process.exit(0), () => process.exit(1))") 2>/dev/null; }
if ! ort_loads; then
	command -v npm >/dev/null || skip "npm is needed to install onnxruntime-node (apt-get install npm)"
	echo "installing the JavaScript peers (bench/package.json) into bench/node_modules" >&2
	(cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
		skip "npm install of onnxruntime-node failed (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install)"
	ort_loads || skip "onnxruntime-node is installed but does not load on this machine (node bench/bench_ort.mjs says why)"
fi

# The engine library as the Makefile builds it: -O2, no -march (kernels are chosen at run time).
make -s -j2 bench-build >/dev/null

# The engine computes on its own threads (bench_encoder --threads), with one OpenBLAS thread.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
TMP=$(mktemp -d /tmp/run_ort.XXXXXX)
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT

# --server: a throwaway cluster whose model server runs the engine
if [ "$SERVER" = 1 ]; then
	PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	PORT=${PG_LM_BENCH_PORT:-54348}
	make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
	make -s install PG_CONFIG=$PG_CONFIG >/dev/null
	trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT
	scripts/cluster.sh start "$TMP/pg" "$PORT"
	PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $TMP/pg -p $PORT -U postgres -d postgres"
	before=$($PSQL -c "CREATE EXTENSION pg_lm" -c "SELECT pid FROM lm.server")
	$PSQL -c "ALTER SYSTEM SET pg_lm.threads = $THREADS" -c "ALTER SYSTEM SET pg_lm.max_batch = $BATCH" \
		-c "SELECT pg_reload_conf()" >/dev/null
	# the server restarts with the new settings
	for _ in $(seq 100); do
		[ "$($PSQL -c "SELECT threads FROM lm.server WHERE pid <> $before" 2>/dev/null)" = "$THREADS" ] && break
		sleep 0.1
	done
	[ "$($PSQL -c "SELECT threads FROM lm.server")" = "$THREADS" ] || { echo "run_ort.sh: the model server did not take pg_lm.threads = $THREADS" >&2; exit 1; }
	$PSQL -c "CREATE TABLE bench_inputs (model text, b int, ids int[], PRIMARY KEY (model, b))"
fi

# The engine's side of a round: bench_encoder, or SQL through the model server.
engine_round() {
	local dir=$1 key=$2 vocab=$3 ms tps
	if [ "$SERVER" = 0 ]; then
		build/bench/bench_encoder --rounds 1 --threads "$THREADS" --seq "$SEQ" --batch "$BATCH" \
			--embeddings "$TMP/engine.f32" "$dir"
		return
	fi
	if [ -z "$($PSQL -c "SELECT 1 FROM _lm.model WHERE name = '$key'")" ]; then
		mkdir -p "$TMP/models/$key"
		cp "$dir/config.json" "$dir/model.safetensors" "$TMP/models/$key/"
		chmod -R a+rX "$TMP/models"
		# the inputs of bench_encoder and bench_ort.mjs: token i of the batch is (i·7919 + 101) mod vocab
		$PSQL -c "SELECT lm_import('$key', '$TMP/models/$key')" \
			-c "INSERT INTO bench_inputs SELECT '$key', b, array_agg(((b * $SEQ + t) * 7919 + 101) % $vocab ORDER BY t)
			    FROM generate_series(0, $BATCH - 1) b, generate_series(0, $SEQ - 1) t GROUP BY b" >/dev/null
		printf '\\set b random(0, %d)\nSELECT lm_embed(%s, ids) IS NOT NULL FROM bench_inputs WHERE model = %s AND b = :b;\n' \
			$((BATCH - 1)) "'$key'" "'$key'" >"$TMP/$key.pgbench"
		# what the engine is, from the same library (a tiny run of bench_encoder)
		build/bench/bench_encoder --rounds 1 --seq 8 --batch 1 "$dir" | grep -E '^(cpu_kernels|openblas_core|blas_threads) '
		printf 'threads %s\nseq_tokens %s\nbatch %s\n' "$THREADS" "$SEQ" "$BATCH"
	fi
	# batch 1: one session, the inputs one after another (after input 0 once, untimed)
	ms=$($PSQL -c "SELECT lm_embed('$key', ids) IS NOT NULL FROM bench_inputs WHERE model = '$key' AND b = 0" \
		-c '\timing on' -c "SELECT count(lm_embed('$key', ids)) FROM bench_inputs WHERE model = '$key'" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	echo "engine_b1_s $(echo "$ms / 1000 / $BATCH" | bc -l)"
	# batch N: N sessions at once, one input each per transaction
	tps=$(/usr/lib/postgresql/15/bin/pgbench -n -h "$TMP/pg" -p "$PORT" -U postgres -c "$BATCH" -j 4 \
		-T "${PGBENCH_SECONDS:-10}" -f "$TMP/$key.pgbench" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	echo "engine_b32_s $(echo "$BATCH / $tps" | bc -l)"
	echo "server_mean_batch $($PSQL -c "SELECT mean_batch FROM lm.server_models WHERE name = '$key'")"
	# the embeddings for the check: input 0 mean-pooled, then every input, L2-normalised (twice,
	# for the rows of batch 1 and of the batch: the calls the server batched are not kept)
	$PSQL -c "SELECT lm_embed('$key', ids) FROM bench_inputs WHERE model = '$key' ORDER BY b" |
		/usr/bin/python3 -c '
import sys, numpy as np
rows = [np.array([float(x) for x in l.strip().strip("{}").split(",")], dtype=np.float64) for l in sys.stdin if l.strip()]
unit = [r / np.linalg.norm(r) for r in rows]
np.array([rows[0]] + unit + unit, dtype="<f4").tofile(sys.argv[1])' "$TMP/engine.f32"
}

i=0
for shape in "${SHAPES[@]}"; do
	i=$((i + 1))
	raw=$TMP/raw.$(printf %03d $i)
	# the models, written once for a shape, inputs and version of ort_model.py
	key=$(printf '%s seq %s batch %s' "$shape" "$SEQ" "$BATCH" | sed 's/[^A-Za-z0-9.=-]\+/-/g')
	dir=build/ort/$key
	stamp="$(sha256sum bench/ort_model.py | cut -d' ' -f1) $shape $SEQ $BATCH"
	if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
		echo "writing the $shape checkpoint and ONNX graph into $dir" >&2
		rm -rf "$dir"
		mkdir -p "$dir"
		/usr/bin/python3 bench/ort_model.py prepare "$dir" --shape "$shape" --seq "$SEQ" --batch "$BATCH" >"$dir/prepare.txt"
		echo "$stamp" >"$dir/stamp"
	fi
	cat "$dir/prepare.txt" >"$raw"
	vocab=$(sed -n 's/^ort_model_shape .* vocab=\([0-9]*\).*/\1/p' "$dir/prepare.txt")

	# the two sides take turns, a round each, so that both see the machine's slow and fast minutes
	for r in $(seq "$ROUNDS"); do
		echo "$shape: round $r of $ROUNDS: the engine, then ONNX Runtime" >&2
		engine_round "$dir" "$key" "$vocab" >>"$raw"
		node bench/bench_ort.mjs --rounds 1 --threads "$THREADS" --seq "$SEQ" --batch "$BATCH" --vocab "$vocab" \
			--embeddings "$TMP/ort.f32" --optimized "$TMP/optimized.onnx" "$dir/model.onnx" >>"$raw" 2> >(grep -v 'Serializing optimized model' >&2)
		rm -f "$TMP/optimized.onnx"
	done
	/usr/bin/python3 bench/ort_model.py compare "$dir" "$TMP/engine.f32" "$TMP/ort.f32" >>"$raw"
done

table() {
	echo "# Encoders: the engine$([ "$SERVER" = 0 ] || echo " through SQL and the model server") vs ONNX Runtime (npm onnxruntime-node, CPU), $THREADS thread$([ "$THREADS" = 1 ] || echo s), best of $ROUNDS"
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(getconf _NPROCESSORS_ONLN) CPUs, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset (the engine picks)}"
	/usr/bin/python3 - "$THREADS" "$SERVER" "$TMP"/raw.* <<'PY'
import sys

threads = int(sys.argv[1])
server = sys.argv[2] == "1"
NAMES = {"minilm-l6": "MiniLM-L6", "bert-base": "BERT-base"}
runs = []
for path in sys.argv[3:]:
    v = {}
    for line in open(path):
        if " " in line.strip():
            k, val = line.split(None, 1)
            # one line per round for the timings: the best
            if k in ("engine_b1_s", "engine_b32_s", "ort_b1_s", "ort_b32_s") and k in v:
                val = str(min(float(v[k]), float(val)))
            v[k] = val.strip()
    runs.append(v)

first = runs[0]
nt = first["blas_threads"]
print(f"# engine: kernels {first['cpu_kernels']}; OpenBLAS core {first['openblas_core']}, {nt} thread{'' if nt == '1' else 's'}")
print(f"# ONNX Runtime {first['ort_version']}: graphOptimizationLevel 'all', intraOpNumThreads {first['ort_threads']}, "
      "interOpNumThreads 1, executionMode 'sequential'")
SEQ, B = int(first["seq_tokens"]), int(first["batch"])
if server:
    print(f"# the engine in the model server: pg_lm.threads = {threads}, pg_lm.max_batch = {B}; batch 1: one session calling")
    print(f"# lm_embed(model, ids) on the {B} inputs one after another; batch {B}: {B} sessions at once (pgbench -c {B}),")
    print("# one input each per transaction, which the server runs together")
print(f"# inputs of {SEQ} tokens: batch 1 (each of {B} inputs alone) and batch {B} (one call); same weights, same ids")
for v in runs:
    name, *kv = v["ort_model_shape"].split()
    d = dict(x.split("=") for x in kv)
    v["label"] = NAMES.get(name, name)
    print(f"# {v['label']}: {d['layers']} layers, {d['hidden']} wide, {d['heads']} heads, intermediate {d['ffn']}, "
          f"{int(v['ort_model_params']) / 1e6:.1f}M parameters; ORT runs {v['ort_ops'].replace(',', ', ')}")
print()

w = max(len(v["label"]) for v in runs) + len(" batch %d" % B)
print("%-*s %13s %11s %11s" % (w, "", "engine seq/s", "ORT seq/s", "engine÷ORT"))
for v in runs:
    for label, n, key in (("batch 1", 1, "b1_s"), ("batch %d" % B, B, "b32_s")):
        e, o = n / float(v["engine_" + key]), n / float(v["ort_" + key])
        print("%-*s %13.1f %11.1f %11.2f" % (w, v["label"] + " " + label, e, o, e / o))
print()
print("Best of the rounds, the two sides taking turns a round each: batch %d per call; batch 1 per" % B)
print("input (a round's time is the mean over the inputs), for both.  Each side first runs input 0")
print("and the batch once, untimed, in every round.")
if threads > 1:
    print(f"{threads} threads: the engine splits its products, attention heads, norms and activations among")
    print("its threads; ONNX Runtime runs every operator on its intra-op pool.")
print()
if server:
    print("The server's mean batch over the rounds (lm.server_models): " +
          ", ".join("%s %s" % (v["label"], v.get("server_mean_batch", "?")) for v in runs) + ".")
    print()
ok = True
if server:
    print("Same embeddings: input 0 before normalisation and every input (lm_embed after the rounds,")
    print("L2-normalised), relative error per row ‖a − b‖ / ‖b‖, the largest:")
else:
    print("Same embeddings: the outputs of the timed calls (input 0 before normalisation, the inputs alone,")
    print("the batch), relative error per row ‖a − b‖ / ‖b‖, the largest:")
for v in runs:
    good = v["check_ok"] == "1"
    ok &= good
    print("  %s: engine vs ORT %s (alone %s, batch %s), engine vs float64 torch %s, ORT vs float64 torch %s: %s"
          % (v["label"], v["check_engine_ort_rel"], v["check_engine_ort_b1_rel"], v["check_engine_ort_batch_rel"],
             v["check_engine_ref_rel"], v["check_ort_ref_rel"],
             "within %s" % v["check_tolerance"] if good else "NOT within %s: the timings above compare different work" % v["check_tolerance"]))
sys.exit(0 if ok else 1)
PY
}

# the table of record only when both sides computed the same embeddings
if table >"$TMP/table"; then
	tee "$OUT" <"$TMP/table"
else
	cat "$TMP/table"
	echo "run_ort.sh: the engine and ONNX Runtime disagree (see the check above); $OUT not written" >&2
	exit 1
fi
