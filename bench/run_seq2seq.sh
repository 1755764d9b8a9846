#!/bin/bash
# Translation speed: the pg_lm engine, the same engine through SQL
# (lm_translate), and PyTorch running the same M2M100 architecture and
# weights, in the same run, one thread each.  English -> German with
# ../shared/models/mt-en-de (NLLB architecture, F16 weights) on the first N
# captions of multi30k.test_2016_flickr.en, greedy and beam 4,
# max_new_tokens 128, early stopping, length penalty 1.0.
# Prints one table and writes bench/results/seq2seq.txt.
#   bench/run_seq2seq.sh [N] [runs]     (default 200 sentences, best of 2 runs)
# Needs root (or sudo) for `make install` and the throwaway cluster, gcc, the
# libraries of scripts/install-deps.sh, and PyTorch as /usr/bin/python3 -c 'import torch'.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
N=${1:-${N:-200}}
RUNS=${2:-${RUNS:-2}}
PORT=${PG_LM_BENCH_PORT:-54341}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
MODEL=$SHARED/models/mt-en-de
TEXT=$SHARED/data/multi30k.test_2016_flickr.en
OUT=bench/results/seq2seq.txt
mkdir -p build/bench bench/results

make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null
make -s -j2 bench-build PG_CONFIG=$PG_CONFIG >/dev/null
# The server must run the engine built here, as the C program does.  The
# installed library is shared by everyone on the machine: check it before
# and after the run (an install by someone else in between skews the SQL column).
SO=$($PG_CONFIG --pkglibdir)/pg_lm.so
SO_MD5=$(md5sum <pg_lm.so | cut -c1-12)
so_check() {
	if [ "$(md5sum <"$SO" | cut -c1-12)" = "$SO_MD5" ]; then
		echo "# SQL ran the pg_lm.so built with the C program's engine (md5 $SO_MD5), unchanged during the run"
	else
		echo "# WARNING: $SO is not the pg_lm.so built here (md5 $SO_MD5): someone installed another build during the run; rerun"
	fi
}
[ "$(md5sum <"$SO" | cut -c1-12)" = "$SO_MD5" ] || { echo "$SO differs from ./pg_lm.so after make install" >&2; exit 1; }

# One thread everywhere, and the same OpenBLAS kernels for the engine, the server and torch.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
	flags=$(grep -m1 '^flags' /proc/cpuinfo)
	if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512vl* && $flags == *avx512dq* ]]; then
		export OPENBLAS_CORETYPE=SkylakeX
	elif [[ $flags == *avx2* && $flags == *fma* ]]; then
		export OPENBLAS_CORETYPE=Haswell
	fi
fi

TMP=$(mktemp -d /tmp/pg_lm_bench_s2s.XXXXXX); chmod 755 "$TMP"
trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT
# the server inherits OPENBLAS_* from here
scripts/cluster.sh start "$TMP/pg" "$PORT"
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $TMP/pg -p $PORT -U postgres -d postgres"
head -n "$N" "$TEXT" >"$TMP/src.en"
$PSQL <<SQL
CREATE EXTENSION pg_lm;
SELECT lm_import('mt-en-de', '$MODEL') \gset
CREATE TABLE t (id serial PRIMARY KEY, en text NOT NULL);
\copy t (en) FROM '$TMP/src.en'
-- CPU seconds (user + system) of this backend so far, from /proc/self/stat.
CREATE FUNCTION backend_cpu() RETURNS float8 LANGUAGE sql AS \$\$
	SELECT (split_part(s, ' ', 14)::float8 + split_part(s, ' ', 15)::float8) / $(getconf CLK_TCK)
	FROM pg_read_file('/proc/self/stat') AS s \$\$;
-- One timed pass of lm_translate over t after one untimed call (model load).
CREATE FUNCTION bench(beams int) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; cpu0 float8; secs float8; cpu float8; n bigint; bytes bigint;
BEGIN
	PERFORM lm_translate('mt-en-de', 'warm up', 'eng_Latn', 'deu_Latn', beams, 128, NULL, 'true');
	cpu0 := backend_cpu();
	t0 := clock_timestamp();
	-- OFFSET 0 keeps the subquery whole: flattened, each aggregate would
	-- call lm_translate again (translating every sentence twice)
	SELECT count(h), sum(octet_length(h)) INTO n, bytes
	FROM (SELECT lm_translate('mt-en-de', en, 'eng_Latn', 'deu_Latn', beams, 128, NULL, 'true') AS h FROM t OFFSET 0) s;
	secs := extract(epoch FROM clock_timestamp() - t0);
	cpu := backend_cpu() - cpu0;
	RETURN format('sentences=%s seconds=%s sentences_per_second=%s cpu_seconds=%s sentences_per_cpu_second=%s output_chars=%s',
				  n, round(secs::numeric, 4), round((n / secs)::numeric, 2),
				  round(cpu::numeric, 2), round((n / cpu)::numeric, 2), bytes);
END \$\$;
SQL

RAW=$TMP/raw
: >"$RAW"
# Alternate the three so that each sees the same load on a shared machine.
for r in $(seq "$RUNS"); do
	PG_LM_MODELS=$SHARED/models build/bench/bench_seq2seq "$TMP/src.en" "$N" 1 "$TMP/ids.txt" >>"$RAW"
	echo "sql greedy $($PSQL -c 'SELECT bench(1)')" >>"$RAW"
	echo "sql beam-4 $($PSQL -c 'SELECT bench(4)')" >>"$RAW"
	/usr/bin/python3 bench/bench_seq2seq_torch.py "$MODEL" "$TMP/ids.txt" 1 20 >>"$RAW"
done

{
	echo "# Translation en->de, mt-en-de (M2M100/NLLB, d_model 256, 3+3 layers, vocab 8003, F16 weights run in float32)"
	echo "# first $N of $(wc -l <"$TEXT") captions of multi30k.test_2016_flickr.en; max_new_tokens 128, early stopping, length penalty 1.0"
	echo "# one thread each, best of $RUNS runs; $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}"
	echo "# Timings swing 30-50% between runs on these shared 2-core machines: read the ratios."
	so_check
	/usr/bin/python3 - "$RAW" <<'PY'
import sys
best, meta = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 3:
        continue
    kv = dict(x.split("=", 1) for x in f if "=" in x)
    if f[1] == "check":
        meta["check"] = kv
        continue
    key = (f[0], f[1])
    meta.setdefault(key, kv)
    b = best.setdefault(key, [0.0, 0.0])
    b[0] = max(b[0], float(kv["sentences_per_second"]))
    b[1] = max(b[1], float(kv["sentences_per_cpu_second"]))
names = {"engine": "engine (C, tokenizer in)", "sql": "SQL lm_translate", "torch": "PyTorch (ids in)"}
for col, what in ((0, "sentences/s, wall clock"), (1, "sentences per CPU second (the process: program or backend)")):
    print()
    print("%-26s %14s %10s %14s %10s   (%s)" % ("", "greedy", "÷ PyTorch", "beam 4", "÷ PyTorch", what))
    for who in ("engine", "sql", "torch"):
        cells = []
        for mode in ("greedy", "beam-4"):
            v = best.get((who, mode), [0, 0])[col]
            t = best.get(("torch", mode), [0, 0])[col]
            cells += ["%14.2f" % v if v else "%14s" % "-", "%10.2f" % (v / t) if v and t else "%10s" % "-"]
        print("%-26s %s %s %s %s" % (names[who], *cells))
print()
for col, what in ((0, "wall"), (1, "CPU")):
    e, s = best.get(("engine", "greedy")), best.get(("sql", "greedy"))
    if e and s:
        print("SQL ÷ engine (%s): greedy %.2f, beam 4 %.2f"
              % (what, s[col] / e[col], best[("sql", "beam-4")][col] / best[("engine", "beam-4")][col]))
for mode in ("greedy", "beam-4"):
    g = meta.get(("engine", mode), {})
    t = meta.get(("torch", mode), {})
    q = meta.get(("sql", mode), {})
    print("%s: generated tokens engine %s, torch %s; output bytes engine %s, SQL %s"
          % (mode, g.get("generated_tokens"), t.get("generated_tokens"), g.get("output_chars"), q.get("output_chars")))
c = meta.get("check", {})
print("PyTorch pass checked against the engine (same output ids): greedy %s on the first sentences, "
      "%s on all; beam-4 %s, %s on all"
      % (c.get("greedy_agree_first"), c.get("greedy_agree_all"), c.get("beam4_agree_first"), c.get("beam4_agree_all")))
print("engine and SQL time tokenizing + generating + detokenizing each sentence; PyTorch takes the")
print("engine's source ids and times generation only (ids out, no detokenizing). PyTorch uses")
print("torch.mv/addmv for single-row products (F.linear of one row is 3-7x slower in this torch).")
PY
} | tee "$OUT"
