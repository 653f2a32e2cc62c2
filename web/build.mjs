// `npm run build [-- --graph float|int8] [--out DIR]`: web/dist (or DIR), a static site any server can serve:
// the page, the library, ONNX Runtime Web's WASM build and the models (one graph of the default model and its
// description from ../exported, YuNet with free input size and the runtime's defaults from web/assets; the
// copied runtime.json names the graph). The float graph is the default: ONNX Runtime Web's WASM build ran it
// faster than the int8 one on one thread (README, "In a web page"). Written into a temporary folder, then swapped in.

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { graph: { type: "string", default: "float" }, out: { type: "string" } } });
if (values.graph !== "float" && values.graph !== "int8") throw new Error(`--graph must be float or int8, not ${values.graph}`);
const dist = resolve(values.out ?? join(here, "dist"));
const staging = `${dist}.building`;
const ort = join(here, "node_modules", "onnxruntime-web", "dist");
const ORT_FILES = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

/** @param {string} from @param {string} to */
function copy(from, to) {
  if (!existsSync(from)) throw new Error(`${from} is missing${from.startsWith(ort) ? ": run npm ci" : ""}`);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to, { recursive: true });
}

rmSync(staging, { recursive: true, force: true });
for (const file of ["index.html", "app.js", "style.css", "src"]) copy(join(here, file), join(staging, file));
for (const file of ORT_FILES) copy(join(ort, file), join(staging, "ort", file));
const runtime = JSON.parse(readFileSync(join(here, "assets", "runtime.json"), "utf8"));
copy(join(here, "assets", runtime.detector.model), join(staging, "models", runtime.detector.model));
for (const licence of readdirSync(join(here, "assets")).filter((name) => name.startsWith("yunet-LICENSE"))) {
  copy(join(here, "assets", licence), join(staging, "models", licence));
}
const exported = join(here, "..", "exported");
const description = JSON.parse(readFileSync(join(exported, `${runtime.model}.json`), "utf8"));
copy(join(exported, `${runtime.model}.json`), join(staging, "models", `${runtime.model}.json`));
const graph = description.graphs[values.graph];
if (!graph) throw new Error(`${runtime.model} has no ${values.graph} graph`);
copy(join(exported, graph.file), join(staging, "models", graph.file));
writeFileSync(join(staging, "models", "runtime.json"), JSON.stringify({ ...runtime, graph: graph.file }, null, 2));
rmSync(dist, { recursive: true, force: true });
renameSync(staging, dist);
console.log(`built ${dist} with ${graph.file}`);
