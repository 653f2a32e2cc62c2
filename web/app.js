// The demo page: a photo or the webcam through the Recognizer, drawn as `fer-run --annotate` draws it.
// URL contract (tests, embedding): ?image=URL analyses that image on load and writes its `fer-run --json`
// record into <pre id="result" data-state="done">; ?prior=CHOICE (one of runtime.json's priors, which the prior
// menu lists), ?min_confidence=P and ?tta=none|flip set those options; ?bench=N also times N photo analyses and
// N single-crop classifications into <pre id="bench">. The
// webcam mode draws a timeline per tracked face; when it is stopped, its summary (`fer-run --summary`'s JSON)
// is in <pre id="summary" data-state="done"> and the download button.

import * as ort from "onnxruntime-web";

import { drawFaces } from "./src/annotate.js";
import { fromRGBA } from "./src/pixels.js";
import { Recognizer, imageRecord } from "./src/recognizer.js";
import { drawTimeline, TimelineBuilder } from "./src/timeline.js";
import { FaceTracker } from "./src/track.js";

const MODELS = "./models/";
const params = new URLSearchParams(location.search);
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const canvas = /** @type {HTMLCanvasElement} */ ($("canvas"));
const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d", { willReadFrequently: true }));

ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

/** @param {string} text */
const status = (text) => ($("status").textContent = text);

/** @param {string} name */
async function fetchJSON(name) {
  const response = await fetch(MODELS + name);
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  return response.json();
}

/** @param {string} [prior] */
async function loadRecognizer(prior) {
  const minConfidence = Number(params.get("min_confidence") ?? $("min-confidence").value ?? 0);
  const tta = params.get("tta") ?? $("tta").value;
  return Recognizer.load({ ort, fetchJSON, modelSource: async (file) => MODELS + file, prior, minConfidence, tta });
}

/**
 * Draw an image on the canvas at its own size and return its pixels.
 * @param {CanvasImageSource & {width: number, height: number}} source
 * @param {number} width
 * @param {number} height
 */
function paint(source, width, height) {
  canvas.width = width;
  canvas.height = height;
  context.drawImage(source, 0, 0, width, height);
  return fromRGBA(context.getImageData(0, 0, width, height));
}

/**
 * @param {Recognizer} recognizer
 * @param {import("./src/recognizer.js").Face[]} faces
 */
function showScores(recognizer, faces) {
  const head = `<tr><th>face</th>${recognizer.classes.map((c) => `<th>${c}</th>`).join("")}</tr>`;
  const rows = faces.map((face, i) => {
    const top = Math.max(...Object.values(face.scores));
    const cells = recognizer.classes.map((c) => {
      const v = face.scores[c];
      return `<td class="${v === top ? "top" : ""}">${(100 * v).toFixed(1)}%</td>`;
    });
    return `<tr><td>${face.track !== undefined ? `#${face.track}` : i} ${face.label}</td>${cells.join("")}</tr>`;
  });
  $("scores").innerHTML = head + rows.join("");
}

/**
 * Analyse one photo (a Blob or a URL), draw it and write its record.
 * @param {Recognizer} recognizer
 * @param {Blob} blob
 * @param {string} name
 */
async function analyzePhoto(recognizer, blob, name) {
  const bitmap = await createImageBitmap(blob);
  const image = paint(bitmap, bitmap.width, bitmap.height);
  const faces = await recognizer.analyze(image);
  drawFaces(context, faces, recognizer.classes, recognizer.runtime.annotate);
  showScores(recognizer, faces);
  const result = $("result");
  result.textContent = JSON.stringify(imageRecord(name, faces, recognizer.runtime.detector.landmarks), null, 2);
  result.dataset.elapsedMs = String(Math.round(performance.now())); // since the page's navigation began
  result.dataset.state = "done";
  status(`${faces.length} face${faces.length === 1 ? "" : "s"} found`);
  return image;
}

/**
 * Time `rounds` photo analyses and single-crop classifications (the page's part of `python -m benchmarks`).
 * @param {Recognizer} recognizer
 * @param {import("./src/pixels.js").Raster} image
 * @param {number} rounds
 */
async function bench(recognizer, image, rounds) {
  const prepared = await recognizer.prepare(image);
  const crop = prepared.crops[0] ?? image;
  const time = async (/** @type {() => Promise<unknown>} */ work) => {
    await work(); // warm-up
    const samples = [];
    for (let i = 0; i < rounds; i++) {
      const start = performance.now();
      await work();
      samples.push(performance.now() - start);
    }
    return samples.sort((a, b) => a - b)[Math.floor(rounds / 2)]; // the median
  };
  const photoMs = await time(() => recognizer.analyze(image));
  const cropMs = await time(() => recognizer.classify([crop]));
  $("bench").textContent = JSON.stringify({ rounds, photo_ms: photoMs, crop_ms: cropMs, threads: ort.env.wasm.numThreads });
  $("bench").dataset.state = "done";
}

/** @param {Recognizer} recognizer */
async function runWebcam(recognizer) {
  const video = /** @type {HTMLVideoElement} */ ($("video"));
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await video.play();
  const tracker = new FaceTracker(recognizer.runtime.track);
  const timeline = new TimelineBuilder(recognizer.classes, recognizer.runtime.summary);
  const timelineCanvas = /** @type {HTMLCanvasElement} */ ($("timeline"));
  const timelineContext = /** @type {CanvasRenderingContext2D} */ (timelineCanvas.getContext("2d"));
  timelineCanvas.hidden = $("download-summary").hidden = false;
  $("download-summary").onclick = () => download("fer-summary.json", JSON.stringify(timeline.summary(), null, 1));
  const button = $("webcam");
  let running = true;
  button.textContent = "Stop the webcam";
  button.onclick = () => (running = false);
  const started = performance.now();
  $("summary").dataset.state = "live";
  for (let frame = 0; running; frame++) {
    const image = paint(video, video.videoWidth, video.videoHeight);
    const time = (performance.now() - started) / 1000;
    const faces = tracker.update(await recognizer.analyze(image), recognizer.classes, (box, s) => recognizer.label(box, s));
    drawFaces(context, faces, recognizer.classes, recognizer.runtime.annotate);
    showScores(recognizer, faces);
    timeline.add({ frame, time_s: time, faces });
    drawTimeline(timelineContext, timeline.summary(), recognizer.runtime.annotate.colors);
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  $("summary").textContent = JSON.stringify(timeline.summary());
  $("summary").dataset.state = "done";
  for (const track of /** @type {MediaStream} */ (video.srcObject).getTracks()) track.stop();
  button.textContent = "Use the webcam";
  button.onclick = () => runWebcam(recognizer).catch(fail);
}

/** Offer `text` as a file download. @param {string} name @param {string} text */
function download(name, text) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

/** @param {unknown} error */
function fail(error) {
  const message = error instanceof Error ? error.message : String(error);
  status(`error: ${message}`);
  $("result").textContent = message;
  $("result").dataset.state = "error";
}

async function main() {
  const prior = params.get("prior") ?? undefined;
  let recognizer = await loadRecognizer(prior);
  for (const choice of Object.keys(recognizer.runtime.priors)) $("prior").add(new Option(choice, choice));
  status(`ready: ${recognizer.description.name}, prior ${recognizer.prior}, ${ort.env.wasm.numThreads} thread(s)`);
  const reload = async () => {
    recognizer = await loadRecognizer($("prior").value || undefined);
    status(`ready: ${recognizer.description.name}, prior ${recognizer.prior}`);
  };
  $("prior").onchange = () => reload().catch(fail);
  $("min-confidence").onchange = () => reload().catch(fail);
  $("tta").onchange = () => reload().catch(fail);
  $("file").onchange = () => {
    const file = $("file").files?.[0];
    if (file) analyzePhoto(recognizer, file, file.name).catch(fail);
  };
  $("webcam").onclick = () => runWebcam(recognizer).catch(fail);
  const url = params.get("image");
  if (url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const image = await analyzePhoto(recognizer, await response.blob(), url);
    const rounds = Number(params.get("bench") ?? 0);
    if (rounds > 0) await bench(recognizer, image, rounds);
  }
}

main().catch(fail);
