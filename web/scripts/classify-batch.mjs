// One graph on one ONNX Runtime for JavaScript, timed for `python -m benchmarks targets`: onnxruntime-node (its
// CPU provider) or onnxruntime-web's WASM build in Node (the page's kernels, without a browser). Reads prepared
// float32 faces [N, C, H, W], writes the logits of all of them, prints the first call's and the timed calls'
// figures as JSON.
//   node scripts/classify-batch.mjs --backend node|wasm --graph G.onnx --input faces.f32 --shape N,C,H,W
//                                   --out logits.f32 [--threads 1] [--repeats 30]

import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const BATCH = 64;

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "node" },
    graph: { type: "string" },
    input: { type: "string" },
    shape: { type: "string" },
    out: { type: "string" },
    threads: { type: "string", default: "1" },
    repeats: { type: "string", default: "30" },
  },
});
const threads = Number(values.threads);
const repeats = Number(values.repeats);
const [n, c, h, w] = String(values.shape).split(",").map(Number);
const faces = new Float32Array(new Uint8Array(readFileSync(String(values.input))).buffer);

/** @type {any} */
let ort;
/** @type {any} */
let options;
if (values.backend === "wasm") {
  ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = threads;
  options = {};
} else {
  ort = await import("onnxruntime-node");
  options = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential" };
}

/** @param {any} session @param {number} start @param {number} count */
async function run(session, start, count) {
  const data = faces.subarray(start * c * h * w, (start + count) * c * h * w);
  const output = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", data, [count, c, h, w]) });
  return /** @type {Float32Array} */ (output[session.outputNames[0]].data);
}

/** Median milliseconds of `times` calls after three untimed ones. @param {() => Promise<unknown>} call @param {number} times */
async function medianMs(call, times) {
  for (let i = 0; i < 3; i++) await call();
  const samples = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const started = performance.now();
const bytes = new Uint8Array(readFileSync(String(values.graph)));
const session = await ort.InferenceSession.create(bytes, options);
await run(session, 0, 1);
const firstCallMs = performance.now() - started;
const logits = [];
for (let start = 0; start < n; start += BATCH) logits.push(await run(session, start, Math.min(BATCH, n - start)));
const all = new Float32Array(logits.reduce((total, part) => total + part.length, 0));
logits.reduce((offset, part) => (all.set(part, offset), offset + part.length), 0);
writeFileSync(String(values.out), new Uint8Array(all.buffer));
const batch = Math.min(BATCH, n);
const batch1Ms = await medianMs(() => run(session, 0, 1), repeats);
const batchMs = await medianMs(() => run(session, 0, batch), Math.max(2, Math.floor(repeats / 10)));
console.log(JSON.stringify({ first_call_ms: firstCallMs, batch1_ms: batch1Ms, batch64_per_s: (batch / batchMs) * 1000 }));
