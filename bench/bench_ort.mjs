// ONNX Runtime (npm onnxruntime-node, CPU) on the encoder bench/ort_model.py
// exports: the peer of bench_encoder.c in bench/run_ort.sh.
//
//   node bench/bench_ort.mjs [--rounds N] [--threads N] [--seq N] [--batch N]
//        [--vocab N] [--embeddings FILE] [--optimized FILE] MODEL.onnx
//
// Session: graphOptimizationLevel 'all', intraOpNumThreads N (default 1),
// interOpNumThreads 1, executionMode 'sequential'; the rest ONNX Runtime's
// defaults (memory arena and patterns on).  Inputs as bench_encoder.c's:
// --batch inputs of --seq tokens, token i (counting across the inputs)
// (i · 7919 + 101) mod --vocab, attention mask all ones, token type 0.
// Untimed first: input 0 (fetching both outputs, for the check) and the
// batch once; then --rounds rounds of: each input alone (batch 1), then all
// of them as one [batch, seq] run.  Prints "key value" lines: ort_b1_s is the
// mean over the inputs of each input's best time over the rounds, ort_b32_s
// the batch's best time.  --embeddings writes rows as bench/ort_model.py
// describes; --optimized saves the graph ONNX Runtime runs after its
// optimisations, and ort_ops counts its main operators.
import { readFileSync, writeFileSync } from 'node:fs';

let ort;
try {
	ort = await import('onnxruntime-node');
} catch (e) {
	console.error(`bench_ort.mjs: cannot load onnxruntime-node (${e.message})`);
	process.exit(3);
}

const opts = { rounds: 3, threads: 1, seq: 128, batch: 32, vocab: 30522, embeddings: null, optimized: null };
let model = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
	const m = /^--([a-z]+)(?:=(.*))?$/.exec(args[i]);
	if (!m) {
		model = args[i];
		continue;
	}
	const key = m[1];
	const value = m[2] ?? args[++i];
	if (!(key in opts) || value === undefined) {
		console.error(`bench_ort.mjs: unknown option or missing value: ${args[i]}`);
		process.exit(2);
	}
	opts[key] = ['embeddings', 'optimized'].includes(key) ? value : Number(value);
	if (typeof opts[key] === 'number' && !(Number.isInteger(opts[key]) && opts[key] >= 1)) {
		console.error(`bench_ort.mjs: --${key} wants a whole number of at least 1`);
		process.exit(2);
	}
}
if (model === null) {
	console.error('usage: node bench/bench_ort.mjs [--rounds N] [--threads N] [--seq N] [--batch N] [--vocab N] [--embeddings FILE] [--optimized FILE] MODEL.onnx');
	process.exit(2);
}
const { rounds, threads, seq, batch, vocab } = opts;

const sessionOptions = {
	graphOptimizationLevel: 'all',
	intraOpNumThreads: threads,
	interOpNumThreads: 1,
	executionMode: 'sequential',
};
if (opts.optimized)
	sessionOptions.optimizedModelFilePath = opts.optimized;
let t0 = process.hrtime.bigint();
const session = await ort.InferenceSession.create(model, sessionOptions);
const sessionSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

const ids = new BigInt64Array(batch * seq);
for (let i = 0; i < batch * seq; i++)
	ids[i] = BigInt((i * 7919 + 101) % vocab);

function feeds(first, count) {
	const n = count * seq;
	return {
		input_ids: new ort.Tensor('int64', ids.subarray(first * seq, first * seq + n), [count, seq]),
		attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [count, seq]),
		token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), [count, seq]),
	};
}

const seconds = () => Number(process.hrtime.bigint()) / 1e9;
const one = Array.from({ length: batch }, (_, i) => feeds(i, 1));
const all = feeds(0, batch);

// untimed first call: input 0, both outputs (the check compares the vector before normalisation too)
const first = await session.run(one[0], ['embeddings', 'mean_pooled']);
const hidden = first.embeddings.dims[1];
const rows = new Float32Array((1 + 2 * batch) * hidden);
rows.set(first.mean_pooled.data, 0);
await session.run(all, ['embeddings']);	// and the batch once, untimed: its first run sizes the arena

const oneBest = new Array(batch).fill(Infinity);
let batchBest = Infinity;
for (let r = 0; r < rounds; r++) {
	for (let i = 0; i < batch; i++) {
		const t = seconds();
		const out = await session.run(one[i], ['embeddings']);
		const dt = seconds() - t;
		if (dt < oneBest[i])
			oneBest[i] = dt;
		rows.set(out.embeddings.data, (1 + i) * hidden);
	}
	const t = seconds();
	const out = await session.run(all, ['embeddings']);
	const dt = seconds() - t;
	if (dt < batchBest)
		batchBest = dt;
	rows.set(out.embeddings.data, (1 + batch) * hidden);
	console.error(`ort round ${r + 1} of ${rounds} done`);
}

if (opts.embeddings)
	writeFileSync(opts.embeddings, Buffer.from(rows.buffer));

// Operator types of the optimised graph: NodeProto.op_type is field 4, a
// length-delimited string (tag 0x22), and the names below do not occur in a
// graph otherwise, so counting "0x22, length, name" counts the nodes.
let fused = '-';
if (opts.optimized) {
	const bytes = readFileSync(opts.optimized);
	const counts = [];
	for (const op of ['Attention', 'MultiHeadAttention', 'EmbedLayerNormalization', 'SkipLayerNormalization',
		'LayerNormalization', 'BiasGelu', 'FastGelu', 'Gelu', 'FusedMatMul', 'MatMul', 'Gemm', 'Softmax', 'Erf']) {
		const needle = Buffer.concat([Buffer.from([0x22, op.length]), Buffer.from(op)]);
		let n = 0;
		for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1))
			n++;
		if (n > 0)
			counts.push(`${op}=${n}`);
	}
	fused = counts.join(',') || 'none';
}

const mean = oneBest.reduce((a, b) => a + b, 0) / batch;
console.log(`ort_version ${ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown'}`);
console.log(`ort_threads ${threads}`);
console.log(`ort_session_s ${sessionSeconds.toFixed(3)}`);
console.log(`ort_ops ${fused}`);
console.log(`ort_b1_s ${mean.toFixed(6)}`);
console.log(`ort_b32_s ${batchBest.toFixed(6)}`);
