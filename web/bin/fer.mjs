#!/usr/bin/env node
// `fer-run` in Node: the page's pipeline (web/src) on onnxruntime-node's CPU provider, images decoded by sharp
// (libvips: the pixels OpenCV decodes, EXIF orientation applied). Prints what `fer-run IMAGE...` prints, or with
// --json its records (one object for one image, a list for several). Exit 1 with one line on bad input.

import { parseArgs } from "node:util";

import * as ort from "onnxruntime-node";
import sharp from "sharp";

import { loadFromCheckout } from "../src/checkout.js";
import { fromRGBA } from "../src/pixels.js";
import { imageRecord } from "../src/recognizer.js";

const USAGE = `usage: node web/bin/fer.mjs IMAGE... [--json] [--graph int8|float|ort] [--prior CHOICE]
                              [--min-confidence P] [--tta none|flip] [--threads N]
(--prior: one of runtime.json's priors, as fer-run --prior)`;

/** @param {string[]} argv */
function options(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      graph: { type: "string", default: "int8" },
      prior: { type: "string" },
      "min-confidence": { type: "string", default: "0" },
      tta: { type: "string" },
      threads: { type: "string", default: "1" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const minConfidence = Number(values["min-confidence"]);
  const threads = Number(values.threads);
  if (!(minConfidence >= 0 && minConfidence <= 1)) throw new Error("--min-confidence must be in [0, 1]");
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error("--threads must be a whole number >= 1");
  if (!values.help && !positionals.length) throw new Error("no image given");
  return { ...values, minConfidence, threads, images: positionals };
}

/** @param {string} path */
async function readImage(path) {
  try {
    const { data, info } = await sharp(path).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return fromRGBA({ width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) });
  } catch (error) {
    throw new Error(`${path}: not a readable image (${/** @type {Error} */ (error).message})`);
  }
}

/** One line per face, as fer_runtime.results.format_faces writes them. @param {any} record @returns {string[]} */
function formatFaces(record) {
  const lines = record.faces.map((/** @type {any} */ face, /** @type {number} */ i) => {
    const [x, y, w, h] = face.box;
    const others = Object.entries(face.scores)
      .filter(([k]) => k !== face.label)
      .map(([k, v]) => `${k} ${Number(v).toFixed(2)}`)
      .join(", ");
    return `face ${i}  box ${x},${y},${w}x${h}  ${face.label.padEnd(9)} ${face.confidence.toFixed(2)}${others ? `   (${others})` : ""}`;
  });
  return lines.length ? lines : ["no face found"];
}

async function main() {
  const args = options(process.argv.slice(2));
  if (args.help) return console.log(USAGE);
  const sessionOptions = { intraOpNumThreads: args.threads, interOpNumThreads: 1, executionMode: "sequential" };
  const recognizer = await loadFromCheckout(ort, {
    graph: args.graph,
    prior: args.prior,
    minConfidence: args.minConfidence,
    tta: args.tta,
    sessionOptions,
  });
  const names = recognizer.runtime.detector.landmarks;
  const records = [];
  for (const path of args.images) {
    const record = imageRecord(path, await recognizer.analyze(await readImage(path)), names);
    if (!args.json) console.log([path, ...formatFaces(record).map((line) => `  ${line}`)].join("\n"));
    records.push(record);
  }
  if (args.json) console.log(JSON.stringify(records.length === 1 ? records[0] : records, null, 2));
}

main().catch((/** @type {Error} */ error) => {
  console.error(`fer.mjs: ${error.message}\n${USAGE}`);
  process.exit(1);
});
