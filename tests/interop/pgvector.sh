#!/bin/bash
# pg_lm beside pgvector, against a running cluster that preloads pg_lm:
#   tests/interop/pgvector.sh SOCKET_DIR PORT
#
# pgvector is no dependency of pg_lm: this test builds and installs it from
# ../shared/peers (or $PG_LM_SHARED/peers) as the benchmarks do, and skips,
# saying why, when the tarball is missing or does not build.  In a database
# that creates pg_lm then vector, and in one that creates them the other way:
#   - <->, <=> and <#> on vector columns are pgvector's operators (its
#     l2_distance, cosine_distance, vector_negative_inner_product) and use its
#     hnsw indexes (vector_l2_ops, vector_cosine_ops, vector_ip_ops); on real[]
#     columns they are pg_lm's (lm_l2_distance, ...), and ORDER BY ... LIMIT 10
#     over real[] gives the ids pgvector gives over the same rows cast to
#     vector, the distances within 1e-5 relative;
#   - a vector column against a real[] value: pg_lm's operator through
#     pgvector's implicit cast vector -> real[], right but without the index;
#   - real[]::vector::real[] and vector::real[]::vector are exact, a column
#     migrates real[] -> vector(8) -> real[] keeping its data, and one query
#     text (ORDER BY emb <=> $1 LIMIT 10) answers alike on either type;
#   - an untyped '{...}' literal against a real[] column is still real[];
#   - DROP EXTENSION vector (no CASCADE) succeeds and leaves pg_lm's operators,
#     and a view over them, working.
# Prints "interop-tests: N passed, N failed".
set -u
HOST=$1; PORT=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
passed=0; failed=0
check() {	# check NAME CONDITION-STATUS [DETAIL]
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok - $1"
	else failed=$((failed + 1)); echo "FAILED - $1 ${3:-}"; fi
}
skip() { echo "skip - pgvector interoperation: $1"; echo "interop-tests: 0 passed, 0 failed"; exit 0; }
q() { psql -X -q -At -h "$HOST" -p "$PORT" -U postgres -d "$1" -v ON_ERROR_STOP=1 -c "$2" 2>&1; }
WORK=$(mktemp -d /tmp/pg_lm_interop.XXXXXX)
DBS="pg_lm_interop_lm_first pg_lm_interop_vector_first"
cleanup() {
	for db in $DBS; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

# pgvector: built and installed unless the installed one is the tarball's.
tarball=$(ls "$SHARED"/peers/pgvector-*.tar.gz 2>/dev/null | head -1)
[ -n "$tarball" ] || skip "no pgvector tarball in $SHARED/peers"
tar xzf "$tarball" -C "$WORK" 2>/dev/null || skip "could not unpack $tarball"
src=$(ls -d "$WORK"/pgvector-*/ | head -1)
ver=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$src/vector.control")
ext=$($PG_CONFIG --sharedir)/extension
if [ -f "$($PG_CONFIG --pkglibdir)/vector.so" ] && cmp -s "$src/vector.control" "$ext/vector.control" \
	&& cmp -s "$src/sql/vector.sql" "$ext/vector--$ver.sql"; then
	echo "# pgvector $ver is installed already: $(basename "$tarball")"
else
	(cd "$src" && make -s -j"$(nproc)" PG_CONFIG=$PG_CONFIG >"$WORK/build.log" 2>&1 \
		&& make -s install PG_CONFIG=$PG_CONFIG >>"$WORK/build.log" 2>&1) \
		|| skip "pgvector did not build or install ($(tail -1 "$WORK/build.log"))"
	echo "# pgvector $ver built and installed from $(basename "$tarball")"
fi

# The operators a query uses, as "operator=function" sorted and comma-joined,
# read from the dependencies of a temporary view over it.
ops_of() {	# ops_of DB QUERY
	q "$1" "CREATE TEMP VIEW interop_ops AS $2;
		SELECT string_agg(d.refobjid::regoperator || '=' || o.oprcode::oid::regprocedure, ',' ORDER BY d.refobjid::regoperator::text)
		FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_operator o ON o.oid = d.refobjid
		WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_operator'::regclass
		  AND r.ev_class = 'interop_ops'::regclass;
		DROP VIEW interop_ops"
}
# Deterministic pseudo-random components in [-0.5, 0.5): row g, component k.
RAND="((abs(sin(g * 12.9898 + k * 78.233)) * 43758.5453) - floor(abs(sin(g * 12.9898 + k * 78.233)) * 43758.5453) - 0.5)::real"
Q='[0.1,-0.2,0.3,-0.4,0.05,0.25,-0.15,0.35]'
QA='{0.1,-0.2,0.3,-0.4,0.05,0.25,-0.15,0.35}'

battery() {	# battery DB LABEL
	local db=$1 L=$2 out exp op pvf lmf opc ix
	out=$(q "$db" "
		CREATE TABLE t (id int PRIMARY KEY, emb real[] NOT NULL);
		INSERT INTO t SELECT g, ARRAY(SELECT $RAND FROM generate_series(1, 8) k) FROM generate_series(1, 200) g;
		CREATE TABLE queries (qid int PRIMARY KEY, q real[] NOT NULL);
		INSERT INTO queries SELECT g, ARRAY(SELECT $RAND FROM generate_series(1, 8) k) FROM generate_series(1001, 1005) g;
		CREATE TABLE tv (id int PRIMARY KEY, v vector(8) NOT NULL);
		INSERT INTO tv SELECT id, emb::vector FROM t;
		CREATE INDEX tv_l2 ON tv USING hnsw (v vector_l2_ops);
		CREATE INDEX tv_cosine ON tv USING hnsw (v vector_cosine_ops);
		CREATE INDEX tv_ip ON tv USING hnsw (v vector_ip_ops);
		ANALYZE t, tv, queries;
		SELECT count(DISTINCT emb) FROM t")
	check "$L 200 distinct 8-d real[] rows, a vector(8) copy with three hnsw indexes" \
		$([ "$out" = 200 ]; echo $?) "$out"

	for op in '<->' '<=>' '<#>'; do
		case $op in
		'<->') pvf=l2_distance; lmf=lm_l2_distance; opc=vector_l2_ops; ix=tv_l2;;
		'<=>') pvf=cosine_distance; lmf=lm_cosine_distance; opc=vector_cosine_ops; ix=tv_cosine;;
		'<#>') pvf=vector_negative_inner_product; lmf=lm_negative_inner_product; opc=vector_ip_ops; ix=tv_ip;;
		esac
		out=$(ops_of "$db" "SELECT id FROM tv ORDER BY v $op '$Q' LIMIT 10")
		exp=$(q "$db" "SELECT '$op(vector,vector)'::regoperator || '=' || '$pvf(vector,vector)'::regprocedure
			WHERE (SELECT oprcode FROM pg_operator WHERE oid = '$op(vector,vector)'::regoperator) = '$pvf(vector,vector)'::regprocedure")
		check "$L vector $op '[...]' is pgvector's operator ($pvf)" $([ -n "$exp" ] && [ "$out" = "$exp" ]; echo $?) \
			"(uses: $out; pgvector's: $exp)"
		out=$(q "$db" "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM tv ORDER BY v $op '$Q' LIMIT 10")
		n=$(q "$db" "SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM tv ORDER BY v $op '$Q' LIMIT 10) s")
		check "$L vector $op with enable_seqscan off: an index scan of the hnsw index ($opc), 10 rows" \
			$(echo "$out" | grep -q "Index Scan using $ix on tv" && [ "$n" = 10 ]; echo $?) "($n rows) $out"

		out=$(ops_of "$db" "SELECT id FROM t ORDER BY emb $op '$QA'::real[] LIMIT 10")
		exp=$(q "$db" "SELECT '$op(real[],real[])'::regoperator || '=' || '$lmf(real[],real[])'::regprocedure
			WHERE (SELECT oprcode FROM pg_operator WHERE oid = '$op(real[],real[])'::regoperator) = '$lmf(real[],real[])'::regprocedure")
		check "$L real[] $op real[] is pg_lm's operator ($lmf)" $([ -n "$exp" ] && [ "$out" = "$exp" ]; echo $?) \
			"(uses: $out; pg_lm's: $exp)"

		# pg_lm over real[] against pgvector over the same rows cast to vector (both sequential scans).
		out=$(q "$db" "
			WITH lm AS (SELECT qid, array_agg(id ORDER BY d, id) AS ids, array_agg(d ORDER BY d, id) AS ds
			            FROM queries, LATERAL (SELECT id, emb $op q AS d FROM t ORDER BY emb $op q LIMIT 10) s GROUP BY qid),
			     pv AS (SELECT qid, array_agg(id ORDER BY d, id) AS ids, array_agg(d ORDER BY d, id) AS ds
			            FROM queries, LATERAL (SELECT id, emb::vector $op q::vector AS d FROM t
			                                   ORDER BY emb::vector $op q::vector LIMIT 10) s GROUP BY qid)
			SELECT count(*), count(*) FILTER (WHERE lm.ids = pv.ids AND cardinality(lm.ids) = 10),
			       max((SELECT max(abs(a - b) / greatest(abs(a), abs(b), 1e-30)) FROM unnest(lm.ds, pv.ds) u(a, b)))
			FROM lm JOIN pv USING (qid)")
		check "$L ORDER BY emb $op q LIMIT 10: pg_lm on real[] gives pgvector's ids, distances within 1e-5 (queries|same|max rel. diff: $out)" \
			$(echo "$out" | awk -F'|' '{ exit !($1 == 5 && $2 == 5 && $3 != "" && $3 <= 1e-5) }'; echo $?)
	done

	# A vector column against a real[] value: pgvector's cast vector -> real[] is
	# implicit, so pg_lm's operator answers, exactly, but not through the index.
	out=$(ops_of "$db" "SELECT id FROM tv ORDER BY v <=> '$QA'::real[] LIMIT 10")
	check "$L vector <=> real[] resolves to pg_lm's operator through the cast vector -> real[]" \
		$([ "$out" = "<=>(real[],real[])=lm_cosine_distance(real[],real[])" ]; echo $?) "(uses: $out)"
	out=$(q "$db" "SELECT (SELECT array_agg(id) FROM (SELECT id FROM tv ORDER BY v <=> '$QA'::real[] LIMIT 10) s)
	                  = (SELECT array_agg(id) FROM (SELECT id FROM tv ORDER BY v::real[] <=> '$QA'::real[] LIMIT 10) s)")
	plan=$(q "$db" "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM tv ORDER BY v <=> '$QA'::real[] LIMIT 10")
	check "$L vector <=> real[]: the same rows, without pgvector's index" \
		$([ "$out" = t ] && ! echo "$plan" | grep -q "Index Scan using tv_"; echo $?) "$out $plan"

	# Casts and migration.
	out=$(q "$db" "SELECT count(*) FILTER (WHERE emb::vector::real[] = emb AND array_length(emb::vector::real[], 1) = 8),
	                      count(*) FILTER (WHERE v::real[]::vector = v AND v::real[]::vector::text = v::text) FROM t JOIN tv USING (id)")
	check "$L real[]::vector::real[] and vector::real[]::vector are exact (rows: $out)" $([ "$out" = "200|200" ]; echo $?)
	q "$db" "CREATE TABLE m AS SELECT id, emb FROM t" >/dev/null
	q "$db" "CREATE TABLE answers AS SELECT qid, 'real[]' AS col, (SELECT array_agg(id) FROM (SELECT id FROM m ORDER BY emb <=> q LIMIT 10) s) AS ids FROM queries" >/dev/null
	out=$(q "$db" "ALTER TABLE m ALTER COLUMN emb TYPE vector(8) USING emb::vector;
	               SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'm'::regclass AND attname = 'emb';
	               SELECT count(*) FROM m JOIN t USING (id) WHERE m.emb = t.emb::vector AND m.emb::real[] = t.emb")
	check "$L ALTER TABLE ... TYPE vector(8) USING emb::vector keeps the data" \
		$([ "$(echo $out)" = "vector(8) 200" ]; echo $?) "$out"
	out=$(ops_of "$db" "SELECT id FROM m ORDER BY emb <=> '$Q' LIMIT 10")
	q "$db" "CREATE INDEX m_cosine ON m USING hnsw (emb vector_cosine_ops)" >/dev/null
	plan=$(q "$db" "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM m ORDER BY emb <=> '$Q' LIMIT 10")
	check "$L after the migration, ORDER BY emb <=> \$1 is pgvector's and uses a new hnsw index" \
		$([ "$out" = "<=>(vector,vector)=cosine_distance(vector,vector)" ] && echo "$plan" | grep -q "Index Scan using m_cosine"; echo $?) "$out $plan"
	q "$db" "DROP INDEX m_cosine;
	         INSERT INTO answers SELECT qid, 'vector', (SELECT array_agg(id) FROM (SELECT id FROM m ORDER BY emb <=> q::vector LIMIT 10) s) FROM queries" >/dev/null
	out=$(q "$db" "ALTER TABLE m ALTER COLUMN emb TYPE real[] USING emb::real[];
	               SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'm'::regclass AND attname = 'emb';
	               SELECT count(*) FROM m JOIN t USING (id) WHERE m.emb = t.emb")
	check "$L and back, TYPE real[] USING emb::real[]: the original arrays" \
		$([ "$(echo $out)" = "real[] 200" ]; echo $?) "$out"
	q "$db" "CREATE INDEX m_lm ON m USING lm_hnsw (emb real_cosine_ops)" >/dev/null
	plan=$(q "$db" "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM m ORDER BY emb <=> '$QA'::real[] LIMIT 10")
	out=$(q "$db" "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM tv ORDER BY v <=> '$Q' LIMIT 10")
	check "$L an lm_hnsw index serves ORDER BY emb <=> \$1 on real[]; pgvector's query on vector keeps its hnsw index" \
		$(echo "$plan" | grep -q "Index Scan using m_lm on m" && echo "$out" | grep -q "Index Scan using tv_cosine on tv"; echo $?) "$plan $out"
	out=$(ops_of "$db" "SELECT id FROM m ORDER BY emb <=> '$QA'::real[] LIMIT 10")
	q "$db" "INSERT INTO answers SELECT qid, 'real[] again', (SELECT array_agg(id) FROM (SELECT id FROM m ORDER BY emb <=> q LIMIT 10) s) FROM queries" >/dev/null
	n=$(q "$db" "SELECT count(*) FROM (SELECT qid FROM answers GROUP BY qid HAVING count(DISTINCT ids) = 1 AND count(*) = 3) s")
	check "$L ORDER BY emb <=> \$1 LIMIT 10 is pg_lm's again, and the same ten ids on real[], vector, real[] ($n of 5 queries)" \
		$([ "$out" = "<=>(real[],real[])=lm_cosine_distance(real[],real[])" ] && [ "$n" = 5 ]; echo $?) "$out"

	# An untyped literal against a real[] column is taken as real[].
	out=$(ops_of "$db" "SELECT id FROM t ORDER BY emb <-> '$QA' LIMIT 3")
	n=$(q "$db" "SELECT count(*) FROM t WHERE emb <-> '$QA' < 10")
	d=$(q "$db" "SELECT '{0,0,0}'::real[] <-> '{1,2,2}'")
	check "$L emb <-> '{...}' (untyped) is pg_lm's operator and answers (rows: $n; '{0,0,0}'::real[] <-> '{1,2,2}' = $d)" \
		$([ "$out" = "<->(real[],real[])=lm_l2_distance(real[],real[])" ] && [ "$n" = 200 ] && [ "$d" = 3 ]; echo $?) "$out"

	# Without pgvector: nothing of pg_lm depends on it.
	q "$db" "CREATE VIEW nearest AS SELECT qid, (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY emb <#> q LIMIT 10) s) AS ids FROM queries;
	         CREATE TABLE nearest_before AS SELECT * FROM nearest" >/dev/null
	out=$(q "$db" "DROP TABLE tv; DROP EXTENSION vector; SELECT count(*) FROM pg_extension WHERE extname = 'vector'")
	check "$L DROP EXTENSION vector (no CASCADE) once no column is a vector" $([ "$out" = 0 ]; echo $?) "$out"
	out=$(q "$db" "SELECT '{0,0}'::real[] <-> '{3,4}'::real[], '{1,0}'::real[] <=> '{0,1}'::real[], '{1,2}'::real[] <#> '{3,4}'::real[]")
	n=$(q "$db" "SELECT count(*) FROM nearest JOIN nearest_before b USING (qid) WHERE nearest.ids = b.ids")
	ops=$(ops_of "$db" "SELECT id FROM t ORDER BY emb <-> '$QA', emb <=> '$QA', emb <#> '$QA'")
	check "$L without pgvector pg_lm's operators answer ($out) and a view over them still gives its ids ($n of 5)" \
		$([ "$out" = "5|1|-11" ] && [ "$n" = 5 ] &&
		  [ "$ops" = "<#>(real[],real[])=lm_negative_inner_product(real[],real[]),<->(real[],real[])=lm_l2_distance(real[],real[]),<=>(real[],real[])=lm_cosine_distance(real[],real[])" ]
		  echo $?) "$ops"
}

for order in "pg_lm vector" "vector pg_lm"; do
	set -- $order
	db=pg_lm_interop_$1_first; [ "$1" = pg_lm ] && db=pg_lm_interop_lm_first
	q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
	out=$(q postgres "CREATE DATABASE $db" && q "$db" "CREATE EXTENSION $1; CREATE EXTENSION $2;
		SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('pg_lm', 'vector')")
	check "[$1, $2] CREATE EXTENSION $1; CREATE EXTENSION $2" $([ "$out" = "pg_lm,vector" ]; echo $?) "$out"
	[ "$out" = "pg_lm,vector" ] && battery "$db" "[$1, $2]"
	q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
done

echo "interop-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
