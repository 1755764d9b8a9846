-- Install the extension and the helpers the other suites use.
CREATE EXTENSION pg_lm;

-- Run a statement; return 'ok' or its SQLSTATE, message and hint, with the
-- machine-specific directories replaced so that outputs compare.
CREATE FUNCTION lm_test_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	hint text;
	msg text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN others OR query_canceled THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	msg := sqlstate || ': ' || sqlerrm || CASE WHEN hint <> '' THEN ' HINT: ' || hint ELSE '' END;
	msg := replace(msg, current_setting('lm_test.scratch', true), '$SCRATCH');
	msg := replace(msg, current_setting('lm_test.fixtures', true), '$FIXTURES');
	msg := replace(msg, current_setting('lm_test.models', true), '$MODELS');
	RETURN msg;
END $$;

-- Paths under the shared fixtures, models and the scratch directory.
CREATE FUNCTION fx(rel text) RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT current_setting('lm_test.fixtures') || '/' || rel $$;
CREATE FUNCTION shared_model(rel text) RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT current_setting('lm_test.models') || '/' || rel $$;
CREATE FUNCTION scratch(rel text) RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT current_setting('lm_test.scratch') || '/' || rel $$;

-- The rows of a JSON-lines file.
CREATE FUNCTION jsonl(path text) RETURNS TABLE (n bigint, c jsonb) LANGUAGE sql STABLE AS $$
	SELECT t.n, t.line::jsonb
	FROM regexp_split_to_table(pg_read_file(path), E'\n') WITH ORDINALITY AS t(line, n)
	WHERE t.line <> ''
$$;

-- The cases of a reference.json.
CREATE FUNCTION jsonl_array(path text) RETURNS TABLE (n bigint, c jsonb) LANGUAGE sql STABLE AS $$
	SELECT t.n, t.c FROM jsonb_array_elements(pg_read_file(path)::jsonb->'cases') WITH ORDINALITY AS t(c, n)
$$;

-- A JSON array of integers as int[] (empty arrays included).
CREATE FUNCTION int_array(j jsonb) RETURNS int[] LANGUAGE sql IMMUTABLE
	AS $$ SELECT coalesce(array_agg(e::int ORDER BY o), '{}') FROM jsonb_array_elements_text(j) WITH ORDINALITY AS x(e, o) $$;
CREATE FUNCTION text_array(j jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE
	AS $$ SELECT coalesce(array_agg(e ORDER BY o), '{}') FROM jsonb_array_elements_text(j) WITH ORDINALITY AS x(e, o) $$;

-- An independent reading of a safetensors header, in SQL: the number of
-- parameters it declares (to check lm.models against).
CREATE FUNCTION safetensors_parameters(path text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	h8 bytea := pg_read_binary_file(path, 0, 8);
	n int := get_byte(h8, 0) + get_byte(h8, 1) * 256 + get_byte(h8, 2) * 65536 + get_byte(h8, 3) * 16777216;
	header jsonb := convert_from(substring(pg_read_binary_file(path, 0, 8 + n) from 9), 'UTF8')::jsonb;
	entry record;
	d text;
	numel bigint;
	total bigint := 0;
BEGIN
	FOR entry IN SELECT key, value FROM jsonb_each(header) WHERE key <> '__metadata__' LOOP
		numel := 1;
		FOR d IN SELECT jsonb_array_elements_text(entry.value->'shape') LOOP
			numel := numel * d::bigint;
		END LOOP;
		total := total + numel;
	END LOOP;
	RETURN total;
END $$;

CREATE FUNCTION safetensors_data_bytes(path text) RETURNS bigint LANGUAGE sql AS $$
	SELECT (pg_stat_file(path)).size - 8
	       - (get_byte(h, 0) + get_byte(h, 1) * 256 + get_byte(h, 2) * 65536 + get_byte(h, 3) * 16777216)
	FROM pg_read_binary_file(path, 0, 8) AS h
$$;

SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_lm';
SELECT count(*) AS models FROM lm.models;
