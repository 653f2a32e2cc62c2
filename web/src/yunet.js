// YuNet face detection as OpenCV's FaceDetectorYN does it for the Python runtime (fer_runtime.detect): the photo
// shrunk to the runtime's longest side (never under a pixel), zero-padded to a multiple of 32 and to at least
// `min_side`, run as B, G, R planes; each grid cell's score is sqrt(cls * obj); boxes and five landmarks decoded
// per stride; non-maximum suppression on integer boxes; candidates with a non-finite value or a box outside the
// photo dropped.

import { bgrBlob, resizeArea, roundHalfEven } from "./pixels.js";
import { overlap } from "./track.js"; // IoU of (x, y, w, h) boxes, as OpenCV's Rect2i gives it for integer ones

/** @typedef {import("./pixels.js").Raster} Raster */
/** @typedef {typeof import("onnxruntime-common")} Ort  onnxruntime-web in a page, onnxruntime-node in Node */

/**
 * @typedef {object} Detection
 * @property {number[]} box  x, y, width, height in the photo's pixels
 * @property {number | null} score  the detector's score (null for a photo taken as one face)
 * @property {number[][] | null} landmarks  five [x, y] points in the runtime's landmark order
 */

/**
 * @typedef {object} DetectorSettings  runtime.json's "detector" (fer_train.web_assets.runtime_defaults)
 * @property {number} detect_threshold
 * @property {number} nms_threshold
 * @property {number} top_k
 * @property {number} detect_size
 * @property {number} divisor
 * @property {number} min_side
 * @property {number[]} strides
 */

const f32 = Math.fround;

/**
 * The candidates OpenCV's NMSBoxes keeps: best score first, dropping any that overlaps a kept one too much.
 * @param {number[][]} boxes
 * @param {number[]} scores
 * @param {DetectorSettings} settings
 * @param {number} detectThreshold
 */
export function suppress(boxes, scores, settings, detectThreshold) {
  const order = scores
    .map((s, i) => [s, i])
    .filter(([s]) => s > detectThreshold)
    .sort((p, q) => q[0] - p[0])
    .slice(0, settings.top_k)
    .map(([, i]) => i);
  /** @type {number[]} */
  const kept = [];
  for (const i of order) {
    if (kept.every((k) => overlap(boxes[i], boxes[k]) <= settings.nms_threshold)) kept.push(i);
  }
  return kept;
}

/**
 * Decode YuNet's outputs for a padded input into candidate rows (x1, y1, w, h, 10 landmark values, score).
 * @param {Record<string, {data: any}>} outputs
 * @param {number} padWidth
 * @param {number} padHeight
 * @param {DetectorSettings} settings
 * @param {number} detectThreshold
 */
export function decode(outputs, padWidth, padHeight, settings, detectThreshold) {
  /** @type {number[][]} */
  const rows = [];
  for (const stride of settings.strides) {
    const cols = Math.floor(padWidth / stride);
    const lines = Math.floor(padHeight / stride);
    const cls = outputs[`cls_${stride}`].data;
    const obj = outputs[`obj_${stride}`].data;
    const bbox = outputs[`bbox_${stride}`].data;
    const kps = outputs[`kps_${stride}`].data;
    for (let r = 0; r < lines; r++) {
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        const score = f32(Math.sqrt(f32(Math.min(Math.max(cls[i], 0), 1) * Math.min(Math.max(obj[i], 0), 1))));
        if (score < detectThreshold) continue;
        const cx = f32((c + bbox[i * 4]) * stride);
        const cy = f32((r + bbox[i * 4 + 1]) * stride);
        const w = f32(f32(Math.exp(bbox[i * 4 + 2])) * stride);
        const h = f32(f32(Math.exp(bbox[i * 4 + 3])) * stride);
        const row = [f32(cx - w / 2), f32(cy - h / 2), w, h];
        for (let n = 0; n < 5; n++) {
          row.push(f32((kps[i * 10 + 2 * n] + c) * stride), f32((kps[i * 10 + 2 * n + 1] + r) * stride));
        }
        row.push(score);
        rows.push(row);
      }
    }
  }
  return rows;
}

/**
 * The photo shrunk by `scale` as detect._shrink does it: OpenCV's rounding of the size and, for a strip that
 * would be under a pixel thin, one pixel (OpenCV then maps by the size, not the scale).
 * @param {Raster} image
 * @param {number} scale
 */
function shrink(image, scale) {
  const width = roundHalfEven(image.width * scale);
  const height = roundHalfEven(image.height * scale);
  if (Math.min(width, height) >= 1) return resizeArea(image, width, height, 1 / scale, 1 / scale);
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  return resizeArea(image, w, h, image.width / w, image.height / h);
}

export class YuNet {
  /**
   * @param {Ort} ort
   * @param {import("onnxruntime-common").InferenceSession} session
   * @param {DetectorSettings} settings
   */
  constructor(ort, session, settings) {
    this.ort = ort;
    this.session = session;
    this.settings = settings;
  }

  /**
   * @param {Ort} ort
   * @param {string | Uint8Array} model  URL, path (Node) or bytes of the YuNet graph with free input size
   * @param {DetectorSettings} settings
   * @param {import("onnxruntime-common").InferenceSession.SessionOptions} [options]
   */
  static async create(ort, model, settings, options = {}) {
    return new YuNet(ort, await ort.InferenceSession.create(/** @type {any} */ (model), options), settings);
  }

  /**
   * Faces scoring at least `detectThreshold` (default: the runtime's), largest first, in the photo's coordinates.
   * @param {Raster} image  RGBA or gray
   * @param {number} [detectThreshold]
   * @returns {Promise<Detection[]>}
   */
  async detect(image, detectThreshold = this.settings.detect_threshold) {
    const scale = Math.min(1, this.settings.detect_size / Math.max(image.width, image.height));
    const small = scale < 1 ? shrink(image, scale) : image;
    const { divisor, min_side: minSide } = this.settings;
    const padWidth = Math.max(minSide, (Math.floor((small.width - 1) / divisor) + 1) * divisor);
    const padHeight = Math.max(minSide, (Math.floor((small.height - 1) / divisor) + 1) * divisor);
    const input = new this.ort.Tensor("float32", bgrBlob(small, padWidth, padHeight), [1, 3, padHeight, padWidth]);
    const outputs = await this.session.run({ [this.session.inputNames[0]]: input });
    let rows = decode(outputs, padWidth, padHeight, this.settings, detectThreshold);
    if (rows.length > 1) {
      const boxes = rows.map((r) => r.slice(0, 4).map(Math.trunc));
      rows = suppress(boxes, rows.map((r) => r[14]), this.settings, detectThreshold).map((i) => rows[i]);
    }
    const inImage = (/** @type {number[]} */ v) => {
      const [x, y, w, h] = v;
      return v.every(Number.isFinite) && w > 0 && h > 0 && x < image.width && y < image.height && x + w > 0 && y + h > 0;
    };
    const scaled = rows.map((row) => row.map((value, k) => (k < 14 ? value / scale : value))).filter(inImage);
    const detections = scaled.map((v) => {
      return {
        box: v.slice(0, 4).map(roundHalfEven),
        score: v[14],
        landmarks: [0, 1, 2, 3, 4].map((n) => [v[4 + 2 * n], v[5 + 2 * n]]),
      };
    });
    return detections.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
  }
}
