#!/bin/bash
# Memory per connection: N connections each generate with the bundled
# captions-gpt2 model (19 MB of float32 weights) and stay open; the private
# memory of each backend (Private_Clean + Private_Dirty of
# /proc/PID/smaps_rollup) is read beside that of a connection that never used
# a model, and the part of it that is the backend's own heap (Pss_Anon): a
# backend that read the model's rows also holds shared-buffer pages no other
# backend touched, which smaps counts as its private memory (Pss_Shmem).
# Three ways: backends read the weights into their own memory
# (pg_lm.execution backend, weights_files off), backends map the one weights
# file (backend, on), or the model server runs the model (server: backends
# load nothing; the server's own memory is reported beside).
#   bench/connections_memory.sh [connections]      (default 20)
# Writes bench/results/connections_memory.txt.  Needs root for the throwaway cluster.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
N=${1:-20}
PORT=${PG_LM_BENCH_PORT:-54345}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
OUT=bench/results/connections_memory.txt
mkdir -p bench/results
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null
make -s install PG_CONFIG=$PG_CONFIG >/dev/null

TMP=$(mktemp -d /tmp/pg_lm_bench_mem.XXXXXX); chmod 755 "$TMP"
trap 'pkill -f "pg_lm_mem_hold" 2>/dev/null || true; scripts/cluster.sh stop "$TMP/pg"; rm -rf "$TMP"' EXIT
scripts/cluster.sh start "$TMP/pg" "$PORT"
cp -r models/captions-gpt2 "$TMP/model" && chmod -R a+rX "$TMP/model"
PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $TMP/pg -p $PORT -U postgres -d postgres"
$PSQL -c "CREATE EXTENSION pg_lm" -c "SELECT lm_import('captions-gpt2', '$TMP/model')" >/dev/null

# KB of private memory and of Pss_Anon, one line per backend whose application_name is $1.
private_kb() {
	for pid in $($PSQL -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"); do
		awk '/^Private_(Clean|Dirty):/ {kb += $2} /^Pss_Anon:/ {anon = $2} END {print kb, anon}' /proc/$pid/smaps_rollup
	done
}

# Open n connections named $2 that run $3, then wait (pg_sleep) until killed.
hold() {
	local n=$1 name=$2 sql=$3
	for i in $(seq "$n"); do
		PGAPPNAME=$name $PSQL -c "$sql" -c "SELECT pg_sleep(600) /* pg_lm_mem_hold */" >/dev/null 2>&1 &
	done
	for _ in $(seq 300); do
		[ "$($PSQL -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$name' AND query LIKE '%pg_sleep(600)%'")" -ge "$n" ] && return
		sleep 0.2
	done
	echo "connections did not settle" >&2; exit 1
}

settings_of() {
	case $1 in
	backend-copy) echo "SET pg_lm.execution = backend; SET pg_lm.weights_files = off" ;;
	backend-mapped) echo "SET pg_lm.execution = backend; SET pg_lm.weights_files = on" ;;
	server) echo "SET pg_lm.execution = server" ;;
	esac
}
GEN="SELECT lm_generate('captions-gpt2', '<|endoftext|>A man in a', 16)"
hold 1 idle "SELECT 1"
idle=$(private_kb idle | cut -d' ' -f1)
idle_anon=$(private_kb idle | cut -d' ' -f2)
{
	echo "# $N connections, each after lm_generate('captions-gpt2', ..., 16) (19 MB float32 weights), then idle"
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	echo "# private = Private_Clean + Private_Dirty of /proc/PID/smaps_rollup, heap = Pss_Anon, in MB;"
	echo "# a connection that never used a model: private $(awk -v k=$idle 'BEGIN{printf "%.1f", k/1024}'), heap $(awk -v k=$idle_anon 'BEGIN{printf "%.1f", k/1024}')"
	printf "%-20s %13s %12s %15s %13s %13s\n" "mode" "private mean" "private max" "private - idle" "heap mean" "heap - idle"
	for setting in backend-copy backend-mapped server; do
		hold "$N" "mem_$setting" "$(settings_of $setting); $GEN"
		private_kb "mem_$setting" | awk -v s=$setting -v idle=$idle -v idle_anon=$idle_anon '
			{sum += $1; if ($1 > max) max = $1; anon += $2; n++}
			END {printf "%-20s %13.1f %12.1f %15.1f %13.1f %13.1f\n", s, sum/n/1024, max/1024,
			     (sum/n - idle)/1024, anon/n/1024, (anon/n - idle_anon)/1024}'
		pkill -f "pg_lm_mem_hold" 2>/dev/null || true
		$PSQL -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mem_$setting'" >/dev/null
		sleep 1
	done
	server=$($PSQL -c "SELECT pid FROM lm.server")
	echo "# the model server (pid $server) after serving them: RSS $(awk '/^Rss:/ {printf "%.1f", $2/1024}' /proc/$server/smaps_rollup) MB," \
	     "private $(awk '/^Private_(Clean|Dirty):/ {kb += $2} END {printf "%.1f", kb/1024}' /proc/$server/smaps_rollup) MB, one copy of the weights"

	# A new connection's first call on a model others already use, then its second.
	echo
	printf "%-20s %28s %14s\n" "mode" "first call, ms (5 connections)" "second call"
	for setting in backend-copy backend-mapped server; do
		first=""; second=""
		for i in $(seq 5); do
			t=$($PSQL -c "$(settings_of $setting)" -c '\timing on' -c "$GEN" -c "$GEN" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
			first="$first $(echo "$t" | sed -n 1p)"; second="$second $(echo "$t" | sed -n 2p)"
		done
		printf "%-20s %28s %14s\n" "$setting" "$(echo $first | tr ' ' '\n' | sort -n | sed -n 3p) (median)" "$(echo $second | tr ' ' '\n' | sort -n | sed -n 3p)"
	done
	echo "# first call in a backend: the model's name lookup, its tokenizer parsed from _lm.model, the weights"
	echo "# mapped (hash checked) or read from the tables, OpenBLAS loaded, then 16 tokens generated;"
	echo "# through the server: the name lookup and the weights file's header, then the request"
} | tee "$OUT"
