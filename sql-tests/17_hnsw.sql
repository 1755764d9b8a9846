-- The lm_hnsw index access method: plans, results against exact scans,
-- filtered queries that keep their LIMIT, bad vectors and options,
-- maintenance (VACUUM, REINDEX, CONCURRENTLY), and lm_hnsw_check's
-- verification of the graph after each.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o
-- 2,000 rows around 40 centres in 24 dimensions (deterministic), category 1 in 50
CREATE TABLE docs (id int PRIMARY KEY, cat int, emb real[]);
CREATE FUNCTION hn_vec(seed int, dim int) RETURNS real[] LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg((sin((seed % 40) * 12.9898 + i * 78.233) * 0.8
	                  + sin(seed * 3.1 + i * 1.7) * 0.3)::real ORDER BY i)
	FROM generate_series(1, dim) i $$;
INSERT INTO docs SELECT g, g % 50, hn_vec(g, 24) FROM generate_series(1, 2000) g;
CREATE TABLE queries AS SELECT g AS qid, hn_vec(g * 7 + 3, 24) AS q FROM generate_series(1, 20) g;
-- the exact answers, by sequential scans
CREATE FUNCTION hn_top(op text, q real[], k int, filtered boolean) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM docs %s ORDER BY emb %s $1 LIMIT %s) t',
	               CASE WHEN filtered THEN 'WHERE cat = 7' ELSE '' END, op, k) INTO r USING q;
	RETURN r;
END $$;
CREATE TABLE exact AS
SELECT qid, op, filtered, hn_top(op, q, 10, filtered) AS ids
FROM queries, unnest(ARRAY['<=>', '<->', '<#>']) op, unnest(ARRAY[false, true]) filtered;
-- recall@10 of the index (all it hands out must be right rows; rows short of 10 counted)
CREATE FUNCTION hn_recall(op text, filtered boolean, OUT recall float8, OUT short int) LANGUAGE plpgsql AS $$
DECLARE e record; got int[]; hits int := 0;
BEGIN
	short := 0;
	FOR e IN SELECT x.*, qu.q FROM exact x JOIN queries qu USING (qid) WHERE x.op = hn_recall.op AND x.filtered = hn_recall.filtered LOOP
		got := hn_top(op, e.q, 10, filtered);
		short := short + (cardinality(got) < 10)::int;
		hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (e.ids));
	END LOOP;
	recall := hits / 200.0;
END $$;

CREATE INDEX docs_cos ON docs USING lm_hnsw (emb);
CREATE INDEX docs_l2 ON docs USING lm_hnsw (emb real_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX docs_ip ON docs USING lm_hnsw (emb real_ip_ops);
SELECT indexrelid::regclass AS index, opc.opcname, opc.opcdefault
FROM pg_index i JOIN pg_opclass opc ON opc.oid = i.indclass[0]
WHERE indrelid = 'docs'::regclass AND indexrelid::regclass::text LIKE 'docs\_%' ORDER BY 1;
SELECT 'docs_cos' AS index, * FROM lm_hnsw_check('docs_cos')
UNION ALL SELECT 'docs_l2', * FROM lm_hnsw_check('docs_l2')
UNION ALL SELECT 'docs_ip', * FROM lm_hnsw_check('docs_ip');

-- plans: ORDER BY the index's distance with LIMIT uses it; nothing else does
SET enable_seqscan = off;
EXPLAIN (costs off) SELECT id FROM docs ORDER BY emb <=> '{1,2,3}' LIMIT 10;
EXPLAIN (costs off) SELECT id FROM docs ORDER BY emb <-> '{1,2,3}' LIMIT 10;
EXPLAIN (costs off) SELECT id FROM docs ORDER BY emb <#> '{1,2,3}' LIMIT 10;
EXPLAIN (costs off) SELECT id FROM docs WHERE cat = 7 ORDER BY emb <=> '{1,2,3}' LIMIT 10;
EXPLAIN (costs off) SELECT id FROM docs ORDER BY emb <=> '{1,2,3}' DESC LIMIT 10;
EXPLAIN (costs off) SELECT count(*) FROM docs WHERE emb IS NOT NULL;
RESET enable_seqscan;
-- at this size a sequential scan and a top-10 sort cost less: the planner says so
EXPLAIN (costs off) SELECT id FROM docs ORDER BY emb <=> '{1,2,3}' LIMIT 10;
SET enable_seqscan = off;

-- results: recall@10 against the exact answers, no query short of its LIMIT
SELECT op, filtered, recall >= 0.95 AS recall_ok, short
FROM unnest(ARRAY['<=>', '<->', '<#>']) op, unnest(ARRAY[false, true]) filtered, hn_recall(op, filtered)
ORDER BY 1, 2;
-- the distances in the index's order are the operator's, ascending
SELECT bool_and(d >= prev) AS ascending, count(*) AS rows_out
FROM (SELECT d, lag(d, 1, '-infinity') OVER (ORDER BY n) AS prev
      FROM (SELECT emb <=> (SELECT q FROM queries WHERE qid = 1) AS d, row_number() OVER () AS n
            FROM (SELECT emb FROM docs ORDER BY emb <=> (SELECT q FROM queries WHERE qid = 1) LIMIT 200) s) t) u;
-- a scan asked for everything hands out every row once (the search widens until the graph is exhausted)
SELECT count(*) AS rows_out, count(DISTINCT id) AS distinct_rows
FROM (SELECT id FROM docs ORDER BY emb <=> (SELECT q FROM queries WHERE qid = 2)) s;
-- a filter that keeps 1 row in 500 still gets all 4 of them, and a LIMIT beyond them ends the scan
SELECT array_agg(id ORDER BY id) AS ids FROM (SELECT id FROM docs WHERE id % 500 = 0 ORDER BY emb <-> (SELECT q FROM queries WHERE qid = 3) LIMIT 10) s;
-- a NULL or zero query: every row, in no order
SELECT count(*) FROM (SELECT id FROM docs ORDER BY emb <=> NULL LIMIT 7) s;
SELECT count(*) FROM (SELECT id FROM docs ORDER BY emb <=> array_fill(0, ARRAY[24])::real[] LIMIT 2000) s;
-- a query of other dimensions
SELECT id FROM docs ORDER BY emb <=> '{1,2,3}' LIMIT 1;
SELECT id FROM docs ORDER BY emb <=> array_fill(1, ARRAY[23])::real[] || '{NaN}'::real[] LIMIT 1;

-- bad vectors: ERROR, nothing written
INSERT INTO docs VALUES (9001, 0, '{1,2}');
INSERT INTO docs VALUES (9002, 0, array_fill(1, ARRAY[24])::real[] || '{NULL}'::real[]);
INSERT INTO docs VALUES (9003, 0, array_fill(1, ARRAY[23])::real[] || '{NaN}'::real[]);
INSERT INTO docs VALUES (9004, 0, array_fill(1, ARRAY[23])::real[] || '{Infinity}'::real[]);
INSERT INTO docs VALUES (9005, 0, array_fill(1, ARRAY[2, 12])::real[]);
INSERT INTO docs VALUES (9006, 0, '{}');
SELECT count(*) AS rows_9000 FROM docs WHERE id > 9000;
-- NULL rows and (for cosine) zero vectors are kept out of the index; L2 and inner product take zeros
INSERT INTO docs VALUES (9007, 0, NULL), (9008, 0, array_fill(0, ARRAY[24])::real[]);
SELECT 'docs_cos' AS index, live FROM lm_hnsw_check('docs_cos')
UNION ALL SELECT 'docs_l2', live FROM lm_hnsw_check('docs_l2');
DELETE FROM docs WHERE id > 9000;

-- options
CREATE TABLE small (id int, emb real[]);
INSERT INTO small SELECT g, hn_vec(g, 8) FROM generate_series(1, 300) g;
CREATE INDEX ON small USING lm_hnsw (emb) WITH (m = 1);
CREATE INDEX ON small USING lm_hnsw (emb) WITH (m = 16, ef_construction = 16);
CREATE INDEX ON small USING lm_hnsw (emb) WITH (efc = 16);
CREATE INDEX ON small USING lm_hnsw (emb) WITH (dimensions = 9);
CREATE INDEX ON small USING lm_hnsw (emb, emb);
CREATE INDEX ON small USING lm_hnsw (id);
CREATE UNIQUE INDEX ON small USING lm_hnsw (emb);
SET pg_lm.hnsw_ef_search = 0;
SET pg_lm.hnsw_ef_search = 1;
SELECT count(*) FROM (SELECT id FROM small ORDER BY emb <=> hn_vec(5, 8) LIMIT 20) s;
RESET pg_lm.hnsw_ef_search;
-- vectors too large for a page
CREATE TABLE wide (emb real[]);
INSERT INTO wide VALUES (array_fill(0.5, ARRAY[2000])::real[]);
CREATE INDEX ON wide USING lm_hnsw (emb);
CREATE INDEX ON wide USING lm_hnsw (emb) WITH (m = 4);
-- the first row fixes the dimensions of an empty index, later rows must match
CREATE TABLE later (id int, emb real[]);
CREATE INDEX later_idx ON later USING lm_hnsw (emb real_l2_ops);
INSERT INTO later SELECT g, hn_vec(g, 6) FROM generate_series(1, 200) g;
INSERT INTO later VALUES (201, '{1,2,3}');
SELECT * FROM lm_hnsw_check('later_idx');
SELECT (SELECT array_agg(id) FROM (SELECT id FROM later ORDER BY emb <-> hn_vec(17, 6) LIMIT 3) s)
     = (SELECT array_agg(id) FROM (SELECT id FROM later ORDER BY lm_l2_distance(emb, hn_vec(17, 6)) LIMIT 3) s) AS same_as_exact;

-- an expression index over a model's embeddings (IMMUTABLE functions)
CREATE TABLE notes (id int, body text);
INSERT INTO notes SELECT g, 'note number ' || g || CASE WHEN g % 3 = 0 THEN ' about films' ELSE ' about food' END FROM generate_series(1, 60) g;
CREATE INDEX notes_emb ON notes USING lm_hnsw (lm_embed('fx-minilm-tiny-st', body));
EXPLAIN (costs off) SELECT id FROM notes ORDER BY lm_embed('fx-minilm-tiny-st', body) <=> (SELECT lm_embed('fx-minilm-tiny-st', 'films')) LIMIT 3;
SELECT (SELECT array_agg(id) FROM (SELECT id FROM notes ORDER BY lm_embed('fx-minilm-tiny-st', body) <=> lm_embed('fx-minilm-tiny-st', 'note 12 about films') LIMIT 5) s)
     = (SELECT array_agg(id) FROM (SELECT id FROM notes ORDER BY lm_cosine_distance(lm_embed('fx-minilm-tiny-st', body), lm_embed('fx-minilm-tiny-st', 'note 12 about films')) LIMIT 5) s) AS same_as_exact;

-- beyond maintenance_work_mem the build goes on on the pages: slower, still right
CREATE TABLE big (id int, emb real[]);
INSERT INTO big SELECT g, hn_vec(g, 64) FROM generate_series(1, 5000) g;
SET maintenance_work_mem = '1MB';
CREATE INDEX big_idx ON big USING lm_hnsw (emb);
RESET maintenance_work_mem;
SELECT elements, live, unreachable < 10 AS few_unreachable FROM lm_hnsw_check('big_idx');
SELECT count(*) FILTER (WHERE same) AS same_top1 FROM (
	SELECT (SELECT id FROM big ORDER BY emb <=> hn_vec(g * 13, 64) LIMIT 1)
	     = (SELECT id FROM big ORDER BY lm_cosine_distance(emb, hn_vec(g * 13, 64)), id LIMIT 1) AS same
	FROM generate_series(1, 20) g) s;
DROP TABLE big;

-- VACUUM: deleted rows leave the graph, recall holds, their space is reused
DELETE FROM docs WHERE id % 2 = 0;
VACUUM docs;
SELECT 'docs_cos' AS index, * FROM lm_hnsw_check('docs_cos')
UNION ALL SELECT 'docs_l2', * FROM lm_hnsw_check('docs_l2');
DELETE FROM exact;
SET enable_indexscan = off;
SET enable_seqscan = on;
INSERT INTO exact SELECT qid, op, filtered, hn_top(op, q, 10, filtered)
FROM queries, unnest(ARRAY['<=>', '<->']) op, unnest(ARRAY[false, true]) filtered;
RESET enable_indexscan;
SET enable_seqscan = off;
SELECT op, filtered, recall >= 0.95 AS recall_ok, short
FROM unnest(ARRAY['<=>', '<->']) op, unnest(ARRAY[false, true]) filtered, hn_recall(op, filtered)
ORDER BY 1, 2;
CREATE TEMP TABLE sizes AS SELECT pg_relation_size('docs_cos') AS cos, pg_relation_size('docs_l2') AS l2;
INSERT INTO docs SELECT g, g % 50, hn_vec(g, 24) FROM generate_series(2, 1000, 2) g;
SELECT pg_relation_size('docs_cos') = cos AS cos_same_size, pg_relation_size('docs_l2') = l2 AS l2_same_size FROM sizes;
SELECT 'docs_cos' AS index, elements, live, deleted FROM lm_hnsw_check('docs_cos');

-- REINDEX, and building and rebuilding concurrently
REINDEX INDEX docs_cos;
DROP INDEX docs_l2;
CREATE INDEX CONCURRENTLY docs_l2 ON docs USING lm_hnsw (emb real_l2_ops);
REINDEX INDEX CONCURRENTLY docs_ip;
SELECT 'docs_cos' AS index, * FROM lm_hnsw_check('docs_cos')
UNION ALL SELECT 'docs_l2', * FROM lm_hnsw_check('docs_l2')
UNION ALL SELECT 'docs_ip', * FROM lm_hnsw_check('docs_ip');
DELETE FROM exact;
SET enable_indexscan = off;
SET enable_seqscan = on;
INSERT INTO exact SELECT qid, op, false, hn_top(op, q, 10, false) FROM queries, unnest(ARRAY['<=>', '<->']) op;
RESET enable_indexscan;
SET enable_seqscan = off;
SELECT op, recall >= 0.95 AS recall_ok, short
FROM unnest(ARRAY['<=>', '<->']) op, hn_recall(op, false) ORDER BY 1;

-- an unlogged table's index
CREATE UNLOGGED TABLE scratch_vecs (id int, emb real[]);
CREATE INDEX scratch_idx ON scratch_vecs USING lm_hnsw (emb);
INSERT INTO scratch_vecs SELECT g, hn_vec(g, 8) FROM generate_series(1, 100) g;
SELECT count(*) FROM (SELECT id FROM scratch_vecs ORDER BY emb <=> hn_vec(3, 8) LIMIT 5) s;

-- lm_hnsw_check: only lm_hnsw indexes, only for superusers
SELECT * FROM lm_hnsw_check('docs_pkey');
CREATE ROLE hn_user;
SET ROLE hn_user;
SELECT * FROM lm_hnsw_check('docs_cos');
RESET ROLE;
DROP ROLE hn_user;
RESET enable_seqscan;
DROP TABLE docs, queries, exact, small, wide, later, notes, scratch_vecs;
DROP FUNCTION hn_vec, hn_top, hn_recall;
