// Pure pixel operations on plain typed arrays, written to give what OpenCV gives the Python runtime:
// BGR→gray with OpenCV's fixed-point weights, INTER_AREA resizing, bilinear warpAffine with OpenCV's 1/32-pixel
// fixed-point grid and replicated border, and YuNet's input blob. Nothing here keeps state.

/**
 * @typedef {object} Raster  An image as rows of interleaved channels (ImageData is one, with 4 channels).
 * @property {number} width
 * @property {number} height
 * @property {number} channels  1 (gray) or 4 (RGBA, as a canvas gives it)
 * @property {Uint8Array | Uint8ClampedArray} data
 */

/** Round to the nearest integer, halves to even (OpenCV's cvRound and Python's round). @param {number} v */
export function roundHalfEven(v) {
  const floor = Math.floor(v);
  const diff = v - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** @param {number} v */
const saturate = (v) => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * ImageData (or any RGBA pixels) as a Raster.
 * @param {{width: number, height: number, data: Uint8Array | Uint8ClampedArray}} image
 * @returns {Raster}
 */
export function fromRGBA(image) {
  return { width: image.width, height: image.height, channels: 4, data: image.data };
}

/**
 * Gray pixels as OpenCV's COLOR_BGR2GRAY gives them (fixed point, 14 bits). A gray raster is returned as is.
 * @param {Raster} image
 * @returns {Raster}
 */
export function toGray(image) {
  if (image.channels === 1) return image;
  const { width, height, data } = image;
  const out = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < out.length; i += image.channels, j++) {
    out[j] = (data[i] * 4899 + data[i + 1] * 9617 + data[i + 2] * 1868 + 8192) >> 14;
  }
  return { width, height, channels: 1, data: out };
}

/**
 * OpenCV's INTER_AREA weights along one axis (computeResizeAreaTab): per output index, [source index, weight].
 * @param {number} size  source length
 * @param {number} outSize
 * @param {number} scale  source pixels per output pixel
 */
function areaTable(size, outSize, scale) {
  /** @type {Array<Array<[number, number]>>} */
  const table = [];
  for (let d = 0; d < outSize; d++) {
    const from = d * scale;
    const to = from + scale;
    const cell = Math.min(scale, size - from);
    const last = Math.min(Math.floor(to), size - 1);
    const first = Math.min(Math.ceil(from), last);
    /** @type {Array<[number, number]>} */
    const taps = [];
    if (first - from > 1e-3) taps.push([first - 1, (first - from) / cell]);
    for (let s = first; s < last; s++) taps.push([s, 1 / cell]);
    if (to - last > 1e-3) taps.push([last, Math.min(Math.min(to - last, 1), cell) / cell]);
    table.push(taps);
  }
  return table;
}

/**
 * Linear taps OpenCV uses when INTER_AREA enlarges along an axis.
 * @param {number} size
 * @param {number} outSize
 * @param {number} scale  source pixels per output pixel (< 1)
 */
function enlargeTable(size, outSize, scale) {
  /** @type {Array<Array<[number, number]>>} */
  const table = [];
  for (let d = 0; d < outSize; d++) {
    const s = Math.floor(d * scale);
    let f = d + 1 - (s + 1) / scale;
    f = f <= 0 ? 0 : f - Math.floor(f);
    const a = Math.min(Math.max(s, 0), size - 1);
    const b = Math.min(Math.max(s + 1, 0), size - 1);
    table.push([
      [a, 1 - f],
      [b, f],
    ]);
  }
  return table;
}

/**
 * Resize like cv2.resize(..., interpolation=INTER_AREA). `scaleX`/`scaleY` are source pixels per output pixel;
 * by default the ratio of the sizes (cv2 with a dsize), or 1/fx when the caller mimics cv2 with fx.
 * @param {Raster} image
 * @param {number} width
 * @param {number} height
 * @param {number} [scaleX]
 * @param {number} [scaleY]
 * @returns {Raster}
 */
export function resizeArea(image, width, height, scaleX, scaleY) {
  if (image.width === width && image.height === height) {
    return { ...image, data: Uint8Array.from(image.data) };
  }
  const sx = scaleX ?? image.width / width;
  const sy = scaleY ?? image.height / height;
  const xs = sx >= 1 && sy >= 1 ? areaTable(image.width, width, sx) : enlargeTable(image.width, width, sx);
  const ys = sx >= 1 && sy >= 1 ? areaTable(image.height, height, sy) : enlargeTable(image.height, height, sy);
  const ch = image.channels;
  const src = image.data;
  const out = new Uint8Array(width * height * ch);
  const row = new Float64Array(width * ch);
  for (let y = 0; y < height; y++) {
    row.fill(0);
    for (const [sy0, wy] of ys[y]) {
      const base = sy0 * image.width * ch;
      for (let x = 0; x < width; x++) {
        for (const [sx0, wx] of xs[x]) {
          const i = base + sx0 * ch;
          for (let c = 0; c < ch; c++) row[x * ch + c] += wy * wx * src[i + c];
        }
      }
    }
    for (let i = 0; i < row.length; i++) out[y * width * ch + i] = saturate(roundHalfEven(row[i]));
  }
  return { width, height, channels: ch, data: out };
}

const INTER_BITS = 5; // OpenCV warps on a 1/32-pixel grid
const INTER_SIZE = 1 << INTER_BITS;
const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
const COEF_BITS = 15;

/**
 * The inverse of a 2x3 affine matrix [a, b, c, d, e, f] (OpenCV's invertAffineTransform).
 * @param {number[]} m
 */
export function invertAffine(m) {
  const det = m[0] * m[4] - m[1] * m[3];
  const inv = det !== 0 ? 1 / det : 0;
  const a = m[4] * inv;
  const b = -m[1] * inv;
  const d = -m[3] * inv;
  const e = m[0] * inv;
  return [a, b, -a * m[2] - b * m[5], d, e, -d * m[2] - e * m[5]];
}

/**
 * cv2.warpAffine(image, matrix, (width, height), INTER_LINEAR, BORDER_REPLICATE) for 8-bit pixels, with OpenCV's
 * fixed-point source coordinates (1/32 pixel) and 15-bit weights.
 * @param {Raster} image
 * @param {number[]} matrix  forward 2x3 matrix, row-major
 * @param {number} width
 * @param {number} height
 * @returns {Raster}
 */
export function warpAffine(image, matrix, width, height) {
  const m = invertAffine(matrix);
  const ch = image.channels;
  const src = image.data;
  const out = new Uint8Array(width * height * ch);
  const round = AB_SCALE / INTER_SIZE / 2;
  const last = [image.width - 1, image.height - 1];
  /** @param {number} v @param {number} hi */
  const clamp = (v, hi) => (v < 0 ? 0 : v > hi ? hi : v);
  for (let y = 0; y < height; y++) {
    const x0 = roundHalfEven((m[1] * y + m[2]) * AB_SCALE) + round;
    const y0 = roundHalfEven((m[4] * y + m[5]) * AB_SCALE) + round;
    for (let x = 0; x < width; x++) {
      const X = (x0 + roundHalfEven(m[0] * x * AB_SCALE)) >> (AB_BITS - INTER_BITS);
      const Y = (y0 + roundHalfEven(m[3] * x * AB_SCALE)) >> (AB_BITS - INTER_BITS);
      const fx = X & (INTER_SIZE - 1);
      const fy = Y & (INTER_SIZE - 1);
      const sx = X >> INTER_BITS;
      const sy = Y >> INTER_BITS;
      // the bilinear weights of a 1/32 grid are exact multiples of 2^-15
      const w00 = (INTER_SIZE - fx) * (INTER_SIZE - fy) * 32;
      const w01 = fx * (INTER_SIZE - fy) * 32;
      const w10 = (INTER_SIZE - fx) * fy * 32;
      const w11 = fx * fy * 32;
      const xa = clamp(sx, last[0]);
      const xb = clamp(sx + 1, last[0]);
      const ya = clamp(sy, last[1]) * image.width;
      const yb = clamp(sy + 1, last[1]) * image.width;
      for (let c = 0; c < ch; c++) {
        const v =
          src[(ya + xa) * ch + c] * w00 +
          src[(ya + xb) * ch + c] * w01 +
          src[(yb + xa) * ch + c] * w10 +
          src[(yb + xb) * ch + c] * w11;
        out[(y * width + x) * ch + c] = saturate((v + (1 << (COEF_BITS - 1))) >> COEF_BITS);
      }
    }
  }
  return { width, height, channels: ch, data: out };
}

/**
 * The part of an image inside a box (x, y, width, height), clipped to the image.
 * @param {Raster} image
 * @param {number[]} box
 * @returns {Raster}
 */
export function crop(image, box) {
  const x0 = Math.max(0, box[0]);
  const y0 = Math.max(0, box[1]);
  const x1 = Math.min(image.width, box[0] + box[2]);
  const y1 = Math.min(image.height, box[1] + box[3]);
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const ch = image.channels;
  const out = new Uint8Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    const start = ((y0 + y) * image.width + x0) * ch;
    out.set(image.data.subarray(start, start + width * ch), y * width * ch);
  }
  return { width, height, channels: ch, data: out };
}

/**
 * YuNet's input: the image in B, G, R planes of float pixel values, zero-padded on the bottom and right
 * to `padWidth` x `padHeight` (OpenCV's copyMakeBorder, then blobFromImage with no scaling).
 * @param {Raster} image  RGBA or gray
 * @param {number} padWidth
 * @param {number} padHeight
 */
export function bgrBlob(image, padWidth, padHeight) {
  const plane = padWidth * padHeight;
  const blob = new Float32Array(3 * plane);
  const [blue, green, red] = [0, 1, 2].map((c) => blob.subarray(c * plane, (c + 1) * plane));
  const { data, width, channels } = image;
  const [r, g, b] = channels === 1 ? [0, 0, 0] : [0, 1, 2];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0, i = y * width * channels, o = y * padWidth; x < width; x++, i += channels, o++) {
      blue[o] = data[i + b];
      green[o] = data[i + g];
      red[o] = data[i + r];
    }
  }
  return blob;
}
