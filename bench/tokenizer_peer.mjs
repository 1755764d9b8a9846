// Tokens per second of JavaScript GPT-2 tokenizers from the npm registry on
// the same text: js-tiktoken ("gpt2" encoding) and gpt-tokenizer (r50k_base,
// GPT-2's vocabulary).  Prints one line per peer, best of ROUNDS rounds.
//   node tokenizer_peer.mjs TEXT_FILE [ROUNDS]
import { readFileSync } from 'node:fs';
import { getEncoding } from 'js-tiktoken';
import { encode as gptTokenizerEncode } from 'gpt-tokenizer/encoding/r50k_base';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();
const rounds = Number(process.argv[3] || 3);

function bench(name, encode) {
  let best = Infinity, tokens = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    tokens = 0;
    for (const line of lines) tokens += encode(line).length;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.min(best, s);
  }
  console.log(`peer=${name} lines=${lines.length} tokens=${tokens} seconds=${best.toFixed(4)} tokens_per_second=${Math.round(tokens / best)}`);
}

const tiktoken = getEncoding('gpt2');
bench('js-tiktoken', (s) => tiktoken.encode(s));
bench('gpt-tokenizer', (s) => gptTokenizerEncode(s));
