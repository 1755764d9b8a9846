-- pgbench: 32 tokens generated greedily by the GPT-2-small-shaped model.
SELECT length(lm_generate('gpt2-small', 'A man in a', 32)) > 0;
