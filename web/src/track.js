// Follow faces across webcam frames as fer_runtime.track.FaceTracker does: match boxes by overlap (greedy,
// best first), number each face, and smooth its scores with an exponential moving average.

/** @typedef {import("./recognizer.js").Face} Face */

/**
 * Intersection over union of two (x, y, w, h) boxes.
 * @param {number[]} a
 * @param {number[]} b
 */
export function overlap(a, b) {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

export class FaceTracker {
  /** @param {{smooth: number, min_overlap: number, max_missed: number}} settings  runtime.json's "track" */
  constructor(settings) {
    this.settings = settings;
    /** @type {{number: number, box: number[], scores: number[], missed: number}[]} */
    this.tracks = [];
    this.next = 0;
  }

  /**
   * This frame's faces with track numbers and smoothed scores, labelled by `label(box, scores)`.
   * @param {Face[]} faces
   * @param {string[]} classes
   * @param {(box: number[], scores: number[]) => string} label
   * @returns {Face[]}
   */
  update(faces, classes, label) {
    const { smooth, min_overlap: minOverlap, max_missed: maxMissed } = this.settings;
    const pairs = [];
    for (let t = 0; t < this.tracks.length; t++) {
      for (let f = 0; f < faces.length; f++) pairs.push([overlap(this.tracks[t].box, faces[f].box), t, f]);
    }
    pairs.sort((p, q) => q[0] - p[0] || q[1] - p[1] || q[2] - p[2]);
    /** @type {Map<number, (typeof this.tracks)[number]>} */
    const assigned = new Map();
    const taken = new Set();
    for (const [iou, t, f] of pairs) {
      if (iou < minOverlap) break;
      if (!taken.has(t) && !assigned.has(f)) {
        assigned.set(f, this.tracks[t]);
        taken.add(t);
      }
    }
    const out = faces.map((face, f) => {
      const scores = classes.map((c) => face.scores[c]);
      let track = assigned.get(f);
      if (!track) {
        track = { number: this.next++, box: face.box, scores, missed: 0 };
        this.tracks.push(track);
      } else {
        track.scores = track.scores.map((v, k) => smooth * v + (1 - smooth) * scores[k]);
        track.box = face.box;
        track.missed = 0;
      }
      const smoothed = Object.fromEntries(classes.map((c, k) => [c, track.scores[k]]));
      return { ...face, scores: smoothed, label: label(face.box, track.scores), track: track.number };
    });
    const live = new Set(assigned.values());
    for (const track of this.tracks) if (!live.has(track)) track.missed += 1;
    this.tracks = this.tracks.filter((t) => t.missed <= maxMissed);
    return out;
  }
}
