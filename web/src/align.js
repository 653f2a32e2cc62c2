// Face crops framed like the training faces, as fer_runtime.align and detect.crop_with_margin make them:
// a least-squares similarity transform puts the five landmarks on the model's template, or the box grows
// by the spec's margin when there is no template.

import { crop, roundHalfEven, warpAffine } from "./pixels.js";

/** @typedef {import("./pixels.js").Raster} Raster */

/**
 * The rotation, scale and shift [a, -b, tx, b, a, ty] mapping `source` points closest to `target` in least
 * squares (fer_runtime.align.similarity_transform).
 * @param {number[][]} source
 * @param {number[][]} target
 */
export function similarityTransform(source, target) {
  const mean = (/** @type {number[][]} */ points) => [0, 1].map((k) => points.reduce((s, p) => s + p[k], 0) / points.length);
  const [sx, sy] = mean(source);
  const [tx, ty] = mean(target);
  let spread = 0;
  let a = 0;
  let b = 0;
  source.forEach((p, i) => {
    const [px, py, qx, qy] = [p[0] - sx, p[1] - sy, target[i][0] - tx, target[i][1] - ty];
    spread += px * px + py * py;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
  });
  if (spread === 0) throw new Error("cannot align a face whose landmarks coincide");
  a /= spread;
  b /= spread;
  return [a, -b, tx - (a * sx - b * sy), b, a, ty - (b * sx + a * sy)];
}

/**
 * The face whose landmarks are given, warped onto `template` (x0, y0, x1, y1, ... as fractions of the frame) in
 * a frame of the face's own resolution with the input's aspect ratio (fer_runtime.align.aligned_crop).
 * @param {Raster} image
 * @param {number[][]} landmarks
 * @param {number[]} template
 * @param {number} height
 * @param {number} width
 */
export function alignedCrop(image, landmarks, template, height, width) {
  const target = [];
  for (let i = 0; i < template.length; i += 2) target.push([template[i], template[i + 1]]);
  const meanNorm = (/** @type {number[][]} */ points, /** @type {number} */ yScale) => {
    const cx = points.reduce((s, p) => s + p[0], 0) / points.length;
    const cy = points.reduce((s, p) => s + p[1], 0) / points.length;
    return points.reduce((s, p) => s + Math.hypot(p[0] - cx, (p[1] - cy) * yScale), 0) / points.length;
  };
  // at most the image's longest side, as in Python (a faulty detection's landmarks may spread far beyond it)
  const natural = roundHalfEven(meanNorm(landmarks, 1) / meanNorm(target, height / width));
  const side = Math.max(1, Math.min(natural, Math.max(image.width, image.height)));
  const frameW = side;
  const frameH = Math.max(1, roundHalfEven((side * height) / width));
  const matrix = similarityTransform(
    landmarks,
    target.map(([x, y]) => [x * frameW, y * frameH]),
  );
  return warpAffine(image, matrix, frameW, frameH);
}

/**
 * The box grown by `margin` x its size on each side, clipped to the image (detect.crop_with_margin).
 * @param {Raster} image
 * @param {number[]} box
 * @param {number} margin
 */
export function cropWithMargin(image, box, margin) {
  const [x, y, w, h] = box;
  const dx = roundHalfEven(w * margin);
  const dy = roundHalfEven(h * margin);
  const x0 = Math.max(0, x - dx);
  const y0 = Math.max(0, y - dy);
  const x1 = Math.min(image.width, x + w + dx);
  const y1 = Math.min(image.height, y + h + dy);
  return crop(image, [x0, y0, x1 - x0, y1 - y0]);
}
