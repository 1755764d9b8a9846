-- Distances over real[] with pgvector's operators: <-> L2, <=> cosine
-- distance, <#> negative inner product; checked against PostgreSQL's own
-- float8 arithmetic over the elements.
\getenv fixtures PG_LM_FIXTURES
\getenv models PG_LM_MODELS
\getenv scratch PG_LM_SCRATCH
\o /dev/null
SELECT set_config('lm_test.fixtures', :'fixtures', false), set_config('lm_test.models', :'models', false), set_config('lm_test.scratch', :'scratch', false);
\o
CREATE TEMP TABLE vecs AS
SELECT g AS id, array_agg(((g * 7919 + i * 104729) % 2001 - 1000) / 1000.0::real ORDER BY i)::real[] AS v
FROM generate_series(1, 40) g, generate_series(1, 100) i
GROUP BY g;
CREATE TEMP TABLE pairs AS
SELECT a.id AS ia, b.id AS ib, a.v AS va, b.v AS vb,
       (SELECT sqrt(sum((x::float8 - y) ^ 2)) FROM unnest(a.v, b.v) t(x, y)) AS l2,
       (SELECT sum(x::float8 * y) FROM unnest(a.v, b.v) t(x, y)) AS dot,
       (SELECT sqrt(sum(x::float8 * x)) FROM unnest(a.v) t(x)) AS na,
       (SELECT sqrt(sum(y::float8 * y)) FROM unnest(b.v) t(y)) AS nb
FROM vecs a, vecs b;
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE abs((va <-> vb) - l2) <= 1e-5 * (na + nb)) AS l2_ok,
       count(*) FILTER (WHERE abs((va <=> vb) - (1 - dot / (na * nb))) <= 1e-5) AS cosine_ok,
       count(*) FILTER (WHERE abs((va <#> vb) + dot) <= 1e-5 * (na * na + nb * nb)) AS inner_ok,
       count(*) FILTER (WHERE (va <-> vb) = (vb <-> va) AND (va <=> vb) = (vb <=> va)) AS symmetric,
       count(*) FILTER (WHERE ia = ib AND (va <-> vb) = 0 AND (va <=> vb) < 1e-6) AS self_zero
FROM pairs;
-- the functions behind the operators
SELECT lm_l2_distance('{0,3}', '{4,0}') AS l2, lm_cosine_distance('{1,0}', '{0,1}') AS orthogonal,
       lm_cosine_distance('{1,1}', '{-1,-1}') AS opposite, lm_negative_inner_product('{1,2}', '{3,4}') AS neg_inner;
-- a zero vector has no direction: NaN, as pgvector answers (it sorts last)
SELECT lm_cosine_distance('{0,0}', '{1,2}') AS zero_vector;

-- Exact search: ORDER BY a distance LIMIT k, here over GloVe's words; the
-- nearest words by <=> are lm_most_similar's (which leaves the query out).
SELECT lm_import('glove-5k', shared_model('glove-6B-100d/glove-6B-100d-top5k.txt')) > 0 AS imported;
SELECT array_agg(word ORDER BY d) AS nearest_by_operator
FROM (SELECT word, vector <=> lm_word_vector('glove-5k', 'king') AS d
      FROM lm.word_vectors WHERE model = 'glove-5k'
      ORDER BY d LIMIT 6) t;
SELECT array_agg(word ORDER BY similarity DESC) AS nearest_by_most_similar
FROM lm_most_similar('glove-5k', 'king', 5);

-- Bad vectors: each a clear ERROR.
SELECT lm_test_try($$SELECT '{1,2,3}'::real[] <-> '{1,2}'::real[]$$) AS dimensions_differ;
SELECT lm_test_try($$SELECT '{1,NULL}'::real[] <=> '{1,2}'::real[]$$) AS null_element;
SELECT lm_test_try($$SELECT '{1,NaN}'::real[] <-> '{1,2}'::real[]$$) AS nan_element;
SELECT lm_test_try($$SELECT '{1,2}'::real[] <#> '{Infinity,2}'::real[]$$) AS infinite_element;
SELECT lm_test_try($$SELECT '{{1,2},{3,4}}'::real[] <-> '{{1,2},{3,4}}'::real[]$$) AS two_dimensions;
SELECT lm_test_try($$SELECT '{}'::real[] <=> '{}'::real[]$$) AS empty_vectors;
-- finite elements too large to square: the distance is infinite, not an error
SELECT '{3e38}'::real[] <-> '{-3e38}'::real[] AS overflow;
SELECT NULL::real[] <-> '{1}'::real[] AS null_vector;
SELECT lm_drop('glove-5k');
