-- pgbench: one short input (24 token ids) embedded by the MiniLM-L6-shaped model.
\set a random(1000, 29000)
SELECT lm_embed('minilm-l6', ARRAY[101, :a, :a + 1, :a + 2, :a + 3, :a + 4, :a + 5, :a + 6, :a + 7, :a + 8,
                                   :a + 9, :a + 10, :a + 11, :a + 12, :a + 13, :a + 14, :a + 15, :a + 16,
                                   :a + 17, :a + 18, :a + 19, :a + 20, :a + 21, 102]) IS NOT NULL;
