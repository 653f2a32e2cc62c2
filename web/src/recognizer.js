// The face pipeline of fer_runtime.Recognizer.analyze, driven by the exported model's description (spec,
// temperature, class prior) and the runtime's defaults (runtime.json): detect, crop (landmark template or box
// and margin), gray, resize, normalise, classify (with "flip", beside the mirror image), calibrate, reweight, label.

import { alignedCrop, cropWithMargin } from "./align.js";
import { resizeArea, roundHalfEven, toGray } from "./pixels.js";
import { YuNet } from "./yunet.js";

/** @typedef {import("./pixels.js").Raster} Raster */
/** @typedef {import("./yunet.js").Detection} Detection */
/** @typedef {import("./yunet.js").Ort} Ort */

/**
 * @typedef {object} Face
 * @property {number[]} box
 * @property {string} label  a class, or the runtime's "uncertain"
 * @property {Record<string, number>} scores
 * @property {number | null} detectionScore
 * @property {number[][] | null} landmarks
 * @property {number} [track]
 */

/**
 * An image made ready for the model (fer_runtime.recognizer.Prepared): its faces' detections, their crops as the
 * model sees them (before resizing), and the model's input batch [N, 1, H, W], flattened.
 * @typedef {object} Prepared
 * @property {Detection[]} detections
 * @property {Raster[]} crops
 * @property {Float32Array} batch
 */

/**
 * Probabilities [C] from logits [C] at temperature T (fer_runtime.postprocess.softmax).
 * @param {ArrayLike<number>} logits
 * @param {number} temperature
 */
export function softmax(logits, temperature) {
  const scaled = Array.from(logits, (v) => v / temperature);
  const top = Math.max(...scaled);
  const p = scaled.map((v) => Math.exp(v - top));
  const total = p.reduce((s, v) => s + v, 0);
  return p.map((v) => v / total);
}

/**
 * Probabilities [C] moved to another prior: multiplied by the class shares to `power` and renormalised
 * (fer_runtime.postprocess.reweight).
 * @param {number[]} p
 * @param {number[] | null} shares
 * @param {number} power
 */
export function reweight(p, shares, power) {
  if (!shares || power === 0) return p;
  const weighted = p.map((v, i) => v * shares[i] ** power);
  const sum = weighted.reduce((s, v) => s + v, 0);
  return weighted.map((v) => v / sum);
}

/** @typedef {{shares: Record<string, number>, in_graph: number, default: string}} ClassPrior */

/**
 * The power of the training shares that takes the graph's probabilities to those of `choice`
 * (ModelDescription.prior_reweighting), with the choices runtime.json lists (`priors`: choice → power).
 * @param {ClassPrior | null} prior  the description's `prior`
 * @param {string} choice
 * @param {Record<string, number>} powers
 */
export function priorPower(prior, choice, powers) {
  if (!(choice in powers)) throw new Error(`unknown prior ${JSON.stringify(choice)}; use ${Object.keys(powers).join(" or ")}`);
  if (!prior) {
    if (powers[choice] !== 0) throw new Error("no class prior recorded; this model gives only its trained posterior");
    return 0;
  }
  return Number(prior.in_graph ?? 0) - powers[choice];
}

/**
 * A batch [N, 1, H, W] (flattened) with every face mirrored left to right.
 * @param {Float32Array} batch
 * @param {number} width
 */
export function mirrored(batch, width) {
  const out = new Float32Array(batch.length);
  for (let row = 0; row < batch.length; row += width) {
    for (let x = 0; x < width; x++) out[row + x] = batch[row + width - 1 - x];
  }
  return out;
}

/**
 * A face crop (RGBA or gray, any size) → the model's input pixels: gray at the input size, normalised.
 * @param {Raster} crop
 * @param {any} spec  the description's spec
 */
export function modelInput(crop, spec) {
  const gray = resizeArea(toGray(crop), spec.width, spec.height);
  const mean = Math.fround(spec.mean);
  const std = Math.fround(spec.std);
  return Float32Array.from(gray.data, (v) => Math.fround(Math.fround(Math.fround(v) / 255) - mean) / std);
}

export class Recognizer {
  /**
   * @param {object} parts
   * @param {Ort} parts.ort  the ONNX Runtime package the sessions come from
   * @param {import("onnxruntime-common").InferenceSession} parts.session  the emotion model
   * @param {YuNet} parts.detector
   * @param {any} parts.description  the exported model's description (NAME.json)
   * @param {any} parts.runtime  runtime.json
   * @param {string} [parts.prior]  one of runtime.json's priors (default: the description's choice)
   * @param {number} [parts.minConfidence]
   * @param {string} [parts.tta]  "flip": each face's probabilities averaged with its mirror image's (the model runs
   *   twice); default runtime.json's first choice, none
   */
  constructor({ ort, session, detector, description, runtime, prior, minConfidence = 0, tta }) {
    this.ort = ort;
    this.session = session;
    this.detector = detector;
    this.description = description;
    this.runtime = runtime;
    this.spec = description.spec;
    this.classes = /** @type {string[]} */ (description.classes);
    const recorded = /** @type {ClassPrior | null} */ (description.prior ?? null);
    this.prior = prior ?? recorded?.default ?? "trained";
    this.power = priorPower(recorded, this.prior, runtime.priors);
    this.shares = recorded ? this.classes.map((c) => Number(recorded.shares[c])) : null;
    this.temperature = Number(description.temperature ?? 1);
    if (!(minConfidence >= 0 && minConfidence <= 1)) throw new Error(`minConfidence must be in [0, 1]`);
    this.minConfidence = minConfidence;
    this.tta = tta ?? runtime.tta[0];
    if (!runtime.tta.includes(this.tta)) {
      throw new Error(`unknown test-time augmentation ${JSON.stringify(this.tta)}; use one of ${runtime.tta.join(", ")}`);
    }
  }

  /**
   * Load the model runtime.json names (the graph of kind `graph`, else runtime.json's `graph`, else the float
   * one), its description and the detector, on `ort` (onnxruntime-web or onnxruntime-node).
   * @param {object} options
   * @param {Ort} options.ort
   * @param {(name: string) => Promise<any>} options.fetchJSON
   * @param {(name: string) => Promise<string | Uint8Array>} options.modelSource  a URL, path or the bytes of a graph
   * @param {string} [options.graph]  a kind of graph the description lists ("float", "int8", "ort")
   * @param {string} [options.prior]
   * @param {number} [options.minConfidence]
   * @param {string} [options.tta]
   * @param {import("onnxruntime-common").InferenceSession.SessionOptions} [options.sessionOptions]
   */
  static async load({ ort, fetchJSON, modelSource, graph, prior, minConfidence, tta, sessionOptions = {} }) {
    const runtime = await fetchJSON("runtime.json");
    const description = await fetchJSON(`${runtime.model}.json`);
    if (graph && !description.graphs?.[graph]) {
      throw new Error(`${runtime.model} has no ${graph} graph; it has ${Object.keys(description.graphs ?? {}).join(", ")}`);
    }
    const file = graph ? description.graphs[graph].file : (runtime.graph ?? description.graphs?.float?.file);
    const session = await ort.InferenceSession.create(/** @type {any} */ (await modelSource(file)), sessionOptions);
    const yunet = await modelSource(runtime.detector.model);
    const detector = await YuNet.create(ort, yunet, runtime.detector, sessionOptions);
    return new Recognizer({ ort, session, detector, description, runtime, prior, minConfidence, tta });
  }

  /**
   * Probabilities [N][C] for face crops.
   * @param {Raster[]} crops
   */
  async classify(crops) {
    return this.probabilities(this.inputBatch(crops), crops.length);
  }

  /**
   * The model's input batch [N, 1, H, W] for face crops, flattened.
   * @param {Raster[]} crops
   */
  inputBatch(crops) {
    const size = this.spec.height * this.spec.width;
    const batch = new Float32Array(crops.length * size);
    crops.forEach((c, i) => batch.set(modelInput(c, this.spec), i * size));
    return batch;
  }

  /**
   * Calibrated probabilities [N][C] for an input batch of `n` faces (`inputBatch`), before the prior.
   * @param {Float32Array} batch
   * @param {number} n
   */
  async calibrated(batch, n) {
    const input = new this.ort.Tensor("float32", batch, [n, 1, this.spec.height, this.spec.width]);
    const output = await this.session.run({ [this.description.input.name]: input });
    const logits = /** @type {Float32Array} */ (output[this.description.output.name].data);
    const c = this.classes.length;
    return Array.from({ length: n }, (_, i) => softmax(logits.subarray(i * c, (i + 1) * c), this.temperature));
  }

  /**
   * Probabilities [N][C] for an input batch of `n` faces (`inputBatch`): calibrated (with `tta` "flip", averaged
   * with the mirrored faces'), under the recognizer's prior (Recognizer.probabilities).
   * @param {Float32Array} batch
   * @param {number} n
   */
  async probabilities(batch, n) {
    if (!n) return [];
    let probs = await this.calibrated(batch, n);
    if (this.tta === "flip") {
      const flipped = await this.calibrated(mirrored(batch, this.spec.width), n);
      probs = probs.map((p, i) => p.map((v, k) => (v + flipped[i][k]) / 2));
    }
    return probs.map((p) => reweight(p, this.shares, this.power));
  }

  /** Small images (about the model's input size) are crops already. @param {number} height @param {number} width */
  isFaceCrop(height, width) {
    return Math.max(height, width) <= this.runtime.crop_side_factor * Math.max(this.spec.height, this.spec.width);
  }

  /**
   * The model's view of a detected face: aligned on its landmarks when the spec has a template, else its box
   * grown by the spec's margin.
   * @param {Raster} image
   * @param {Detection} detection
   */
  crop(image, detection) {
    const template = this.spec.landmark_template;
    if (detection.landmarks && template?.length) {
      return alignedCrop(image, detection.landmarks, template, this.spec.height, this.spec.width);
    }
    return cropWithMargin(image, detection.box, this.spec.face_margin);
  }

  /**
   * The top class, or "uncertain" when its probability is under `minConfidence` or the box is too small.
   * @param {number[]} box
   * @param {number[]} p
   * @param {number} [minConfidence]
   */
  label(box, p, minConfidence = this.minConfidence) {
    const side = Math.min(this.spec.height, this.spec.width);
    const tooSmall = Math.min(box[2], box[3]) * this.runtime.smallest_face_share < side;
    const top = Math.max(...p);
    return tooSmall || top < minConfidence ? this.runtime.uncertain : this.classes[p.indexOf(top)];
  }

  /**
   * The first half of `analyze`, everything before the model (Recognizer.prepare): the photo's faces (largest
   * first; a face-sized image is one face filling it), their crops and the model's input batch.
   * @param {Raster} image
   * @returns {Promise<Prepared>}
   */
  async prepare(image) {
    if (!image.width || !image.height) throw new Error("empty image");
    const detections = this.isFaceCrop(image.height, image.width)
      ? [{ box: [0, 0, image.width, image.height], score: null, landmarks: null }]
      : await this.detector.detect(image);
    const crops = detections.map((d) => this.crop(image, d));
    return { detections, crops, batch: this.inputBatch(crops) };
  }

  /**
   * The second half of `analyze` (Recognizer.finish): the prepared faces with the probabilities [N][C] the model
   * gave their batch → faces, labelled by `label`.
   * @param {Prepared} prepared
   * @param {number[][]} probs
   * @returns {Face[]}
   */
  finish(prepared, probs) {
    return prepared.detections.map((d, i) => ({
      box: d.box,
      label: this.label(d.box, probs[i]),
      scores: Object.fromEntries(this.classes.map((c, k) => [c, probs[i][k]])),
      detectionScore: d.score,
      landmarks: d.landmarks,
    }));
  }

  /**
   * A photo → faces, largest first.
   * @param {Raster} image
   * @returns {Promise<Face[]>}
   */
  async analyze(image) {
    const prepared = await this.prepare(image);
    return this.finish(prepared, await this.probabilities(prepared.batch, prepared.crops.length));
  }
}

/** @param {number} v @param {number} digits */
const roundTo = (v, digits) => roundHalfEven(v * 10 ** digits) / 10 ** digits;

/**
 * A face as `fer-run --json` writes it (fer_runtime.results.face_record).
 * @param {Face} face
 * @param {string[]} landmarkNames
 */
export function faceRecord(face, landmarkNames) {
  /** @type {Record<string, any>} */
  const record = {
    box: face.box,
    label: face.label,
    confidence: roundTo(Math.max(...Object.values(face.scores)), 6),
    scores: Object.fromEntries(Object.entries(face.scores).map(([k, v]) => [k, roundTo(v, 6)])),
  };
  if (face.detectionScore !== null) record.detection_score = roundTo(face.detectionScore, 4);
  if (face.landmarks) {
    record.landmarks = Object.fromEntries(
      face.landmarks.map(([x, y], i) => [landmarkNames[i], [roundTo(x, 1), roundTo(y, 1)]]),
    );
  }
  if (face.track !== undefined) record.track = face.track;
  return record;
}

/**
 * An image's record as `fer-run --json` writes it (fer_runtime.results.image_record).
 * @param {string} name
 * @param {Face[]} faces
 * @param {string[]} landmarkNames
 */
export function imageRecord(name, faces, landmarkNames) {
  return { file: name, faces: faces.map((f) => faceRecord(f, landmarkNames)) };
}
