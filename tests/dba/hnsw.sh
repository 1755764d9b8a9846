#!/bin/bash
# lm_hnsw indexes under what a DBA puts them through:
#   tests/dba/hnsw.sh SOCKET_DIR PORT
#
#   - concurrent sessions inserting, searching, deleting and vacuuming one
#     index (pgbench, the running cluster): no error, every search gets its
#     LIMIT, lm_hnsw_check finds the graph sound and holding every row;
#   - crash recovery (a cluster of its own): an index built after a
#     checkpoint, then inserts, a VACUUM and inserts into the freed space,
#     the postmaster killed with SIGKILL: after restart the graph is sound
#     and every query answers as before the crash;
#   - a streaming replica (pg_basebackup -R): rows inserted and vacuumed on
#     the primary reach the replica's index by WAL replay, and it answers as
#     the primary;
#   - a build reports its phases in pg_stat_progress_create_index.
# Prints "hnsw-tests: N passed, N failed".
set -u
HOST=$1; PORT=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BINDIR=$(/usr/lib/postgresql/15/bin/pg_config --bindir)
WORK=$(mktemp -d /tmp/pg_lm_hnsw.XXXXXX); chmod 755 "$WORK"; chown postgres: "$WORK" 2>/dev/null
OWN_PORT=$((PORT + 6)); REPLICA_PORT=$((PORT + 7))
passed=0; failed=0
check() {	# check NAME CONDITION-STATUS [DETAIL]
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok - $1"
	else failed=$((failed + 1)); echo "FAILED - $1 ${3:-}"; fi
}
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
q() { psql -X -q -At -h "$1" -p "$2" -U postgres -d "$3" -v ON_ERROR_STOP=1 -c "$4" 2>&1; }
cleanup() {
	[ -d "$WORK/replica" ] && as_postgres "$BINDIR/pg_ctl" -D "$WORK/replica" -m immediate -w stop >/dev/null 2>&1
	"$ROOT/scripts/cluster.sh" stop "$WORK/own" >/dev/null 2>&1
	q "$HOST" "$PORT" postgres "DROP DATABASE IF EXISTS hnsw_concurrent" >/dev/null
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# The same table in every part: vectors of 16 dimensions, deterministic.
SETUP="CREATE EXTENSION IF NOT EXISTS pg_lm;
CREATE FUNCTION vec(seed int) RETURNS real[] LANGUAGE sql IMMUTABLE AS
  \$\$ SELECT array_agg(sin(seed * 0.731 + i * 1.37 + (seed % 17))::real ORDER BY i) FROM generate_series(1, 16) i \$\$;
CREATE TABLE t (id bigserial PRIMARY KEY, emb real[]);"
# The answers compared before and after: 20 queries' top 10, and the check.
ANSWERS="SELECT g, (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY emb <=> vec(g * 31) LIMIT 10) s) FROM generate_series(1, 20) g;
SELECT * FROM lm_hnsw_check('t_emb');"
sound() {	# sound HOST PORT DB: lm_hnsw_check passes and holds every row (after a VACUUM)
	local out
	# INDEX_CLEANUP ON: with few dead rows VACUUM may skip the indexes (and leave their entries)
	q "$1" "$2" "$3" "VACUUM (INDEX_CLEANUP ON) t" >/dev/null
	out=$(q "$1" "$2" "$3" "SELECT (SELECT live FROM lm_hnsw_check('t_emb')) = (SELECT count(*) FROM t WHERE emb IS NOT NULL)")
	[ "$out" = t ] || { echo "$out"; return 1; }
}

# ---- concurrent sessions ------------------------------------------------------------------
q "$HOST" "$PORT" postgres "CREATE DATABASE hnsw_concurrent" >/dev/null
q "$HOST" "$PORT" hnsw_concurrent "$SETUP
INSERT INTO t (emb) SELECT vec(g) FROM generate_series(1, 2000) g;
CREATE INDEX t_emb ON t USING lm_hnsw (emb);" >/dev/null
cat >"$WORK/insert.sql" <<'SQL'
\set s random(1, 1000000)
INSERT INTO t (emb) VALUES (vec(:s));
SQL
cat >"$WORK/search.sql" <<'SQL'
\set s random(1, 1000000)
SET enable_seqscan = off;
SELECT count(*) AS n FROM (SELECT id FROM t ORDER BY emb <=> vec(:s) LIMIT 10) s \gset
\if :n != 10
SELECT 'a search got ' || :n || ' rows' AS short_search, 1 / 0;
\endif
SQL
cat >"$WORK/churn.sql" <<'SQL'
\set s random(1, 3000)
DELETE FROM t WHERE id BETWEEN :s AND :s + 3;
VACUUM t;
SQL
chmod 644 "$WORK"/*.sql
out=$("$BINDIR/pgbench" -n -h "$HOST" -p "$PORT" -U postgres -T 8 -c 6 -j 2 \
	-f "$WORK/insert.sql@3" -f "$WORK/search.sql@3" -f "$WORK/churn.sql@1" hnsw_concurrent 2>&1)
rc=$?
check "6 sessions inserting, searching, deleting and vacuuming for 8 s: no error, every search full ($(echo "$out" | sed -n 's/^number of transactions actually processed: //p') transactions)" \
	$rc "$(echo "$out" | grep -iE 'error|abort|short' | head -5)"
out=$(sound "$HOST" "$PORT" hnsw_concurrent); check "after them the graph is sound and holds every row" $? "$out"
out=$(q "$HOST" "$PORT" hnsw_concurrent "SET enable_seqscan = off;
SELECT sum((SELECT count(*) FROM unnest(idx.ids) i WHERE i = ANY (ex.ids))) / 200.0 >= 0.9
FROM generate_series(1, 20) g,
     LATERAL (SELECT array_agg(id) AS ids FROM (SELECT id FROM t ORDER BY emb <=> vec(g * 7) LIMIT 10) s) idx,
     LATERAL (SELECT array_agg(id) AS ids FROM (SELECT id FROM t ORDER BY lm_cosine_distance(emb, vec(g * 7)) LIMIT 10) s) ex")
check "and recall@10 against exact answers is at least 0.9" $([ "$out" = t ]; echo $?) "$out"

# ---- crash recovery -----------------------------------------------------------------------
"$ROOT/scripts/cluster.sh" start "$WORK/own" "$OWN_PORT" >/dev/null
OWN="$WORK/own"
cat >>"$OWN/data/postgresql.conf" <<CONF
fsync = on
full_page_writes = on
synchronous_commit = on
wal_level = replica
max_wal_senders = 4
CONF
as_postgres "$BINDIR/pg_ctl" -D "$OWN/data" -w restart -m fast >/dev/null
q "$OWN" "$OWN_PORT" postgres "$SETUP" >/dev/null
out=$(q "$OWN" "$OWN_PORT" postgres "CHECKPOINT;
INSERT INTO t (emb) SELECT vec(g) FROM generate_series(1, 3000) g;
CREATE INDEX t_emb ON t USING lm_hnsw (emb);
INSERT INTO t (emb) SELECT vec(g) FROM generate_series(3001, 3500) g;
DELETE FROM t WHERE id % 3 = 0;" 2>&1 &&
	q "$OWN" "$OWN_PORT" postgres "VACUUM t" &&
	q "$OWN" "$OWN_PORT" postgres "INSERT INTO t (emb) SELECT vec(g) FROM generate_series(3501, 4000) g;" 2>&1)
check "an index built after a checkpoint, inserts, a VACUUM, inserts into the freed space" $? "$out"
q "$OWN" "$OWN_PORT" postgres "$ANSWERS" >"$WORK/before.txt"
as_postgres kill -9 "$(head -1 "$OWN/data/postmaster.pid")"
# the postmaster's children notice it is gone and exit; then it can start again
for _ in $(seq 1 60); do
	sleep 0.5
	as_postgres "$BINDIR/pg_ctl" -D "$OWN/data" -l "$OWN/server.log" -w start >/dev/null 2>&1 && break
done
q "$OWN" "$OWN_PORT" postgres "SELECT 1" >/dev/null
check "the cluster recovers after SIGKILL" $? "$(tail -5 "$OWN/server.log")"
q "$OWN" "$OWN_PORT" postgres "$ANSWERS" >"$WORK/after.txt"
check "after recovery every query answers as before the crash ($(wc -l <"$WORK/before.txt") lines)" \
	$(cmp -s "$WORK/before.txt" "$WORK/after.txt"; echo $?) "$(diff "$WORK/before.txt" "$WORK/after.txt" | head -6)"
out=$(sound "$OWN" "$OWN_PORT" postgres); check "and the recovered graph is sound and holds every row" $? "$out"

# ---- a streaming replica ------------------------------------------------------------------
as_postgres timeout 120 "$BINDIR/pg_basebackup" -h "$OWN" -p "$OWN_PORT" -U postgres -D "$WORK/replica" -X stream -c fast -R \
	>"$WORK/basebackup.log" 2>&1
check "pg_basebackup -R" $? "$(tail -3 "$WORK/basebackup.log")"
cat >>"$WORK/replica/postgresql.conf" <<CONF
port = $REPLICA_PORT
unix_socket_directories = '$WORK'
CONF
as_postgres "$BINDIR/pg_ctl" -D "$WORK/replica" -l "$WORK/replica.log" -w start >/dev/null
check "the replica starts" $? "$(tail -5 "$WORK/replica.log")"
q "$OWN" "$OWN_PORT" postgres "INSERT INTO t (emb) SELECT vec(g) FROM generate_series(4001, 4600) g;
DELETE FROM t WHERE id % 5 = 0;" >/dev/null
q "$OWN" "$OWN_PORT" postgres "VACUUM t" >/dev/null
q "$OWN" "$OWN_PORT" postgres "INSERT INTO t (emb) SELECT vec(g) FROM generate_series(4601, 4800) g;" >/dev/null
lsn=$(q "$OWN" "$OWN_PORT" postgres "SELECT pg_current_wal_lsn()")
caught=f
for _ in $(seq 1 60); do
	caught=$(q "$WORK" "$REPLICA_PORT" postgres "SELECT pg_last_wal_replay_lsn() >= '$lsn'")
	[ "$caught" = t ] && break
	sleep 0.5
done
check "the replica replayed the primary's WAL" $([ "$caught" = t ]; echo $?)
q "$OWN" "$OWN_PORT" postgres "$ANSWERS" >"$WORK/primary.txt"
q "$WORK" "$REPLICA_PORT" postgres "$ANSWERS" >"$WORK/replica.txt"
check "the replica's index answers as the primary's" $(cmp -s "$WORK/primary.txt" "$WORK/replica.txt"; echo $?) \
	"$(diff "$WORK/primary.txt" "$WORK/replica.txt" | head -6)"

# ---- progress ----------------------------------------------------------------------------
q "$OWN" "$OWN_PORT" postgres "CREATE TABLE wide AS SELECT g AS id, (SELECT array_agg(sin(g * 0.37 + i)::real) FROM generate_series(1, 64) i) AS emb FROM generate_series(1, 20000) g" >/dev/null
# a session polls the view (a fresh snapshot each time) while another builds
q "$OWN" "$OWN_PORT" postgres "CREATE TEMP TABLE seen (phase text);
DO \$\$ DECLARE p text; started boolean := false; t0 timestamptz := clock_timestamp();
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT phase INTO p FROM pg_stat_progress_create_index LIMIT 1;
		IF p IS NOT NULL THEN
			started := true;
			INSERT INTO seen SELECT p WHERE NOT EXISTS (SELECT 1 FROM seen WHERE phase = p);
		ELSIF started OR clock_timestamp() - t0 > interval '120 s' THEN
			EXIT;
		END IF;
	END LOOP;
END \$\$;
SELECT string_agg(replace(phase, ' ', '_'), ' ') FROM seen" >"$WORK/phases.txt" &
poller=$!
sleep 0.5
q "$OWN" "$OWN_PORT" postgres "CREATE INDEX wide_emb ON wide USING lm_hnsw (emb)" >/dev/null
wait $poller
phases=$(cat "$WORK/phases.txt")
check "a build reports its phases in pg_stat_progress_create_index (seen: $phases)" \
	$(echo "$phases" | grep -q "loading_tuples" && echo "$phases" | grep -q "writing_the_graph"; echo $?)

echo "hnsw-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
