-- pgbench: one of four model calls on the bundled models, at random.
\set kind random(1, 4)
\set n random(1, 100000)
\if :kind = 1
SELECT lm_embed('sentiment-rt', 'review ' || :n || ': a moving, well acted film') IS NOT NULL;
\elif :kind = 2
SELECT lm_classify('sentiment-rt', 'review ' || :n || ': dull and far too long');
\elif :kind = 3
SELECT lm_translate('mt-en-de', 'A man ' || (:n % 7) || ' is riding a bicycle.', NULL, NULL, 2, 32);
\else
SELECT lm_generate('captions-gpt2', '<|endoftext|>A dog', 16, 0.8, 40, 0.95, :n);
\endif
