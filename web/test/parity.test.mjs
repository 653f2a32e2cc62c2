// The JavaScript pipeline held to the Python runtime on the cases tests/web_cases.py writes (run by
// tests/test_web.py, which sets FER_WEB_FIXTURES): the same model inputs for the same detections, the same
// faces found, and the same probabilities.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import * as ort from "onnxruntime-web";

import { overlap } from "../src/track.js";
import { loadFromCheckout } from "../src/checkout.js";
import { modelInput } from "../src/recognizer.js";

const fixtures = process.env.FER_WEB_FIXTURES;
const PROBABILITY_TOLERANCE = 0.02;
const MIN_AGREEMENT = 0.99;
const MIN_IOU = 0.9;

ort.env.wasm.numThreads = 1;

/** The page's Recognizer on WASM, on the checkout's files. @param {{prior?: string, min_confidence?: number, tta?: string}} [options] */
const load = (options = {}) =>
  loadFromCheckout(ort, { prior: options.prior, minConfidence: options.min_confidence, tta: options.tta });

test("the JavaScript pipeline gives the Python runtime's inputs, faces and probabilities", async () => {
  assert.ok(fixtures, "FER_WEB_FIXTURES is not set: run python -m pytest tests/test_web.py, which writes the cases");
  const { cases, options } = JSON.parse(readFileSync(join(fixtures, "cases.json"), "utf8"));
  const recognizer = await load();
  const other = await load(options);
  let inputDiff = 0;
  let differing = 0;
  let probabilityDiff = 0;
  let faces = 0;
  let agree = 0;
  let worstIou = 1;
  for (const item of cases) {
    const image = {
      width: item.width,
      height: item.height,
      channels: 4,
      data: new Uint8Array(readFileSync(join(fixtures, item.rgba))),
    };
    const expected = new Float32Array(new Uint8Array(readFileSync(join(fixtures, item.input))).buffer);
    const size = recognizer.spec.height * recognizer.spec.width;
    item.detections.forEach((/** @type {any} */ detection, /** @type {number} */ k) => {
      const input = modelInput(recognizer.crop(image, detection), recognizer.spec);
      for (let i = 0; i < size; i++) {
        const diff = Math.abs(input[i] - expected[k * size + i]);
        inputDiff = Math.max(inputDiff, diff);
        differing += diff > 0 ? 1 : 0;
      }
    });
    const found = await recognizer.analyze(image);
    assert.equal(found.length, item.record.faces.length, `${item.name}: faces found`);
    found.forEach((face, k) => {
      const want = item.record.faces[k];
      worstIou = Math.min(worstIou, overlap(face.box, want.box));
      for (const name of recognizer.classes) {
        probabilityDiff = Math.max(probabilityDiff, Math.abs(face.scores[name] - want.scores[name]));
      }
      faces += 1;
      agree += face.label === want.label ? 1 : 0;
    });
    const optioned = await other.analyze(image);
    optioned.forEach((face, k) => {
      const want = item.record_options.faces[k];
      for (const name of other.classes) {
        probabilityDiff = Math.max(probabilityDiff, Math.abs(face.scores[name] - want.scores[name]));
      }
      faces += 1;
      agree += face.label === want.label ? 1 : 0;
    });
  }
  console.log(
    `parity on ${cases.length} images, ${faces / 2} faces (twice: default options, then ${JSON.stringify(options)}): max |model input difference| ${inputDiff.toExponential(2)} ` +
      `(${differing} of ${faces / 2 * recognizer.spec.height * recognizer.spec.width} values differ), ` +
      `max |probability difference| ${probabilityDiff.toExponential(2)}, top-1 agreement ${agree}/${faces}, ` +
      `worst box IoU ${worstIou.toFixed(3)}`,
  );
  assert.ok(probabilityDiff <= PROBABILITY_TOLERANCE, `probabilities differ by ${probabilityDiff}`);
  assert.ok(agree >= MIN_AGREEMENT * faces, `top-1 agreement ${agree}/${faces}`);
  assert.ok(worstIou >= MIN_IOU, `a box overlaps Python's by only ${worstIou}`);
});
