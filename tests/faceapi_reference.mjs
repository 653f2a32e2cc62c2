// face-api's own TensorFlow.js forward passes, the reference the PyTorch port (fer_train.faceapi) is held to:
// node tests/faceapi_reference.mjs FACE_API_DIR  →  {"expression": [7 logits], "descriptor": [128 floats]}
// for the deterministic RGB inputs pixel[i] = (i * 37) % 256 at 112x112 and (i * 53) % 256 at 150x150.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
// The ESM bundle stubs node's util module: hide node from its platform check and give it a plain platform.
const versions = process.versions;
Object.defineProperty(process, 'versions', { value: { ...versions, node: undefined } });
const faceapi = await import(pathToFileURL(path.join(dir, 'dist', 'face-api.esm.js')).href);
Object.defineProperty(process, 'versions', { value: versions });
const tf = faceapi.tf;
tf.setPlatform('plain', {
  fetch, now: () => performance.now(), setTimeoutCustom: setTimeout,
  encode: (text) => new TextEncoder().encode(text), decode: (bytes, encoding) => new TextDecoder(encoding).decode(bytes),
  isTypedArray: (a) => ArrayBuffer.isView(a) && !(a instanceof DataView),
});
await tf.setBackend('cpu');

function weightMap(name) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model', `${name}-weights_manifest.json`)));
  const bytes = fs.readFileSync(path.join(dir, 'model', manifest[0].paths[0]));
  return tf.io.decodeWeights(new Uint8Array(bytes).buffer, manifest[0].weights);
}
const pattern = (size, step) => tf.tensor4d(Array.from({ length: size * size * 3 }, (_, i) => (i * step) % 256), [1, size, size, 3]);
const asNetInput = (x) => ({ toBatchTensor: () => x }); // the nets read their input only through this

const expression = faceapi.nets.faceExpressionNet;
expression.loadFromWeightMap(weightMap('face_expression_model'));
const features = expression.faceFeatureExtractor.forwardInput(asNetInput(pattern(112, 37)));
const recognition = faceapi.nets.faceRecognitionNet;
recognition.loadFromWeightMap(weightMap('face_recognition_model'));
console.log(JSON.stringify({
  expression: Array.from(expression.runNet(features).dataSync()),
  descriptor: Array.from(recognition.forwardInput(asNetInput(pattern(150, 53))).dataSync()),
}));
