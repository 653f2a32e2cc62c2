// Node's view of the page's files in a checkout: runtime.json and YuNet from web/assets, the models from
// exported/ (where `python -m fer_train.web_assets` and `fer-train export` write them).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Recognizer } from "./recognizer.js";

export const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");

/** @param {string} name */
export function checkoutFile(name) {
  const asset = join(WEB, "assets", name);
  return existsSync(asset) ? asset : join(WEB, "..", "exported", name);
}

/**
 * The Recognizer on the checkout's files.
 * @param {import("./yunet.js").Ort} ort  onnxruntime-node, or onnxruntime-web's WASM in Node
 * @param {{graph?: string, prior?: string, minConfidence?: number, tta?: string, sessionOptions?: any}} [options]
 */
export function loadFromCheckout(ort, options = {}) {
  return Recognizer.load({
    ort,
    ...options,
    fetchJSON: async (name) => JSON.parse(readFileSync(checkoutFile(name), "utf8")),
    modelSource: async (name) => new Uint8Array(readFileSync(checkoutFile(name))),
  });
}
