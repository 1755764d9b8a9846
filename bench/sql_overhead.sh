#!/bin/bash
# What SQL costs on top of the engine: UPDATE t SET emb = lm_embed(model, body)
# over 10,000 rows beside the engine alone (bench/bench_embed.c: the same
# tokenizer.json, the same lm_model_embed, mean pooling) on the same texts,
# in the same run, one thread each.  Model ../shared/models/sentiment-rt
# (BERT, 2 layers, 128 wide, 128 positions); texts: the first 10,000 lines
# of rt-polarity.pos followed by rt-polarity.neg.
# Prints rows/s for both and the overhead, writes bench/results/sql_overhead.txt.
#   bench/sql_overhead.sh [rows] [runs]      (default 10000 rows, best of 5 runs)
# Needs root (or sudo) for `make install` and the throwaway cluster.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
ROWS=${1:-${ROWS:-10000}}
RUNS=${2:-${RUNS:-5}}
PORT=${PG_LM_BENCH_PORT:-54343}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
MODEL=$SHARED/models/sentiment-rt
OUT=bench/results/sql_overhead.txt
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

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
	flags=$(grep -m1 '^flags' /proc/cpuinfo)
	if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512vl* && $flags == *avx512dq* ]]; then
		export OPENBLAS_CORETYPE=SkylakeX
	elif [[ $flags == *avx2* && $flags == *fma* ]]; then
		export OPENBLAS_CORETYPE=Haswell
	fi
fi

TMP=$(mktemp -d /tmp/pg_lm_bench_sql.XXXXXX); chmod 755 "$TMP"
trap 'scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT
scripts/cluster.sh start "$TMP/pg" "$PORT"
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $TMP/pg -p $PORT -U postgres -d postgres"
cat "$SHARED/data/rt-polarity.pos" "$SHARED/data/rt-polarity.neg" | head -n "$ROWS" >"$TMP/texts.txt"
$PSQL <<SQL
CREATE EXTENSION pg_lm;
SELECT lm_import('sentiment-rt', '$MODEL') \gset
CREATE TABLE t (id serial PRIMARY KEY, body text NOT NULL, emb real[]);
\copy t (body) FROM '$TMP/texts.txt'
VACUUM ANALYZE t;
-- CPU seconds (user + system) of this backend so far, from /proc/self/stat.
CREATE FUNCTION backend_cpu() RETURNS float8 LANGUAGE sql AS \$\$
	SELECT (split_part(s, ' ', 14)::float8 + split_part(s, ' ', 15)::float8) / $(getconf CLK_TCK)
	FROM pg_read_file('/proc/self/stat') AS s \$\$;
-- One timed statement after one untimed call (which loads the model into the backend).
CREATE FUNCTION bench(what text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; cpu0 float8; secs float8; cpu float8; n bigint; sum1 float8;
BEGIN
	PERFORM lm_embed('sentiment-rt', 'warm up');
	cpu0 := backend_cpu();
	t0 := clock_timestamp();
	IF what = 'update' THEN
		UPDATE t SET emb = lm_embed('sentiment-rt', body);
		GET DIAGNOSTICS n = ROW_COUNT;
	ELSE
		SELECT count(e) INTO n FROM (SELECT lm_embed('sentiment-rt', body) AS e FROM t) s;
	END IF;
	secs := extract(epoch FROM clock_timestamp() - t0);
	cpu := backend_cpu() - cpu0;
	SELECT sum(emb[1]::float8) INTO sum1 FROM t;
	RETURN format('rows=%s seconds=%s rows_per_second=%s cpu_seconds=%s rows_per_cpu_second=%s checksum=%s',
				  n, round(secs::numeric, 4), round((n / secs)::numeric, 1),
				  round(cpu::numeric, 2), round((n / cpu)::numeric, 1), round(sum1::numeric, 4));
END \$\$;
SQL

RAW=$TMP/raw
: >"$RAW"
for r in $(seq "$RUNS"); do
	build/bench/bench_embed "$MODEL" "$TMP/texts.txt" "$ROWS" 1 >>"$RAW"
	$PSQL -c 'VACUUM t' >/dev/null
	echo "sql update $($PSQL -c "SELECT bench('update')")" >>"$RAW"
	echo "sql select $($PSQL -c "SELECT bench('select')")" >>"$RAW"
done

{
	echo "# SQL overhead: UPDATE t SET emb = lm_embed('sentiment-rt', body) vs the engine alone (tokenize + lm_model_embed)"
	echo "# sentiment-rt (BERT, 2 layers, hidden 128, 128 positions), $ROWS lines of rt-polarity.pos + .neg, one row at a time"
	echo "# one thread each, best of $RUNS runs; $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}"
	echo "# Timings swing 30-50% between runs on these shared 2-core machines: read the ratios."
	so_check
	/usr/bin/python3 - "$RAW" <<'PY'
import sys
best, meta = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f if "=" in x)
    key = f[0] + " " + f[1]
    meta.setdefault(key, kv)
    b = best.setdefault(key, [0.0, 0.0])
    b[0] = max(b[0], float(kv["rows_per_second"]))
    b[1] = max(b[1], float(kv["rows_per_cpu_second"]))
e = best["engine embed"]
print("# longest input %s tokens of %s positions; %s tokens in all"
      % (meta["engine embed"]["longest"], meta["engine embed"]["max_positions"], meta["engine embed"]["tokens"]))
print()
print("%-42s %9s %9s %9s | %10s %9s %9s" % ("", "rows/s", "÷ engine", "overhead", "rows/CPU-s", "÷ engine", "overhead"))
for key, name in (("engine embed", "engine: tokenize + lm_model_embed (C)"),
                  ("sql update", "SQL: UPDATE t SET emb = lm_embed(...)"),
                  ("sql select", "SQL: SELECT count(lm_embed(...)) FROM t")):
    v = best[key]
    print("%-42s %9.1f %9.2f %8.1f%% | %10.1f %9.2f %8.1f%%"
          % (name, v[0], v[0] / e[0], 100 * (e[0] / v[0] - 1), v[1], v[1] / e[1], 100 * (e[1] / v[1] - 1)))
print()
print("overhead = extra time per row over the engine's (engine rows/s ÷ SQL rows/s − 1); target: within 15% for")
print("the UPDATE.  Wall clock on the left, CPU time of the process (the engine program, the backend) on the right:")
print("CPU time is what to read when the machine is shared.")
print("checksum sum(emb[1]): engine %s, SQL %s" % (meta["engine embed"]["checksum"], meta["sql update"]["checksum"]))
PY
} | tee "$OUT"
