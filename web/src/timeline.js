// Who felt what and when, as fer_runtime.timeline summarises a video: per tracked person, the share of time in
// each label, the longest time in each (from one moment of change to the next), the moments of change, and mean
// probabilities in at most `max_bins` time bins. The rules come from runtime.json's "summary"; the summary has
// the shape `fer-run --summary` writes as JSON, so the page's download and the runtime's file compare key by key.

/**
 * @typedef {object} SummaryRules  runtime.json's "summary" (fer_train.web_assets.runtime_defaults)
 * @property {number} min_person_s
 * @property {number} min_stretch_s
 * @property {number} max_bins
 * @property {number} forget_after_s
 * @property {string} returning_face
 */

/** @typedef {{label: string, start: number, end: number}} Stretch */

class Bins {
  /** @param {number} classes @param {number} width @param {number} maxBins */
  constructor(classes, width, maxBins) {
    this.classes = classes;
    this.width = width;
    this.maxBins = maxBins;
    /** @type {Map<number, {sums: number[], count: number}>} */
    this.bins = new Map();
  }

  /** @param {number} time @param {number[]} scores */
  add(time, scores) {
    let index = Math.floor(time / this.width);
    while (index >= this.maxBins) {
      this.coarsen();
      index = Math.floor(time / this.width);
    }
    const bin = this.bins.get(index) ?? { sums: new Array(this.classes).fill(0), count: 0 };
    scores.forEach((v, k) => (bin.sums[k] += v));
    bin.count += 1;
    this.bins.set(index, bin);
  }

  coarsen() {
    /** @type {Map<number, {sums: number[], count: number}>} */
    const merged = new Map();
    for (const [index, bin] of this.bins) {
      const into = merged.get(Math.floor(index / 2)) ?? { sums: new Array(this.classes).fill(0), count: 0 };
      bin.sums.forEach((v, k) => (into.sums[k] += v));
      into.count += bin.count;
      merged.set(Math.floor(index / 2), into);
    }
    this.bins = merged;
    this.width *= 2;
  }

  /** @returns {[number, number[]][]} */
  means() {
    return [...this.bins.keys()]
      .sort((a, b) => a - b)
      .map((i) => {
        const bin = /** @type {{sums: number[], count: number}} */ (this.bins.get(i));
        return [i * this.width, bin.sums.map((v) => v / bin.count)];
      });
  }
}

/** @param {Map<string, Stretch>} longest @param {Stretch} stretch */
function keepLongest(longest, stretch) {
  const best = longest.get(stretch.label);
  if (!best || stretch.end - stretch.start > best.end - best.start) longest.set(stretch.label, stretch);
}

export class TimelineBuilder {
  /** @param {string[]} classes @param {SummaryRules} rules @param {number} [frameSeconds] */
  constructor(classes, rules, frameSeconds = 0.04) {
    this.classes = classes;
    this.rules = rules;
    this.frameSeconds = frameSeconds;
    /** @type {Map<number, any>} */
    this.people = new Map();
    this.frames = 0;
    this.last = 0;
    this.forgotten = 0;
  }

  /** One frame: its time and faces, each with `track`, `label` and `scores` (a `fer-run` frame record). */
  add(/** @type {{frame?: number, time_s: number, faces: {track?: number, label: string, scores: Record<string, number>}[]}} */ record) {
    const time = record.time_s;
    this.frames += 1;
    this.last = time;
    for (const face of record.faces) {
      if (face.track === undefined || face.track === null) continue;
      let person = this.people.get(face.track);
      if (!person) {
        person = {
          track: face.track,
          first: time,
          last: time,
          frames: 0,
          bins: new Bins(this.classes.length, this.frameSeconds, this.rules.max_bins),
          labels: new Map(),
          current: null,
          longest: new Map(),
          changes: [],
          settled: null,
          settledSince: 0,
        };
        this.people.set(face.track, person);
      }
      this.see(person, time, face.label, this.classes.map((c) => face.scores[c] ?? 0));
    }
    if (this.frames % 100 === 0) this.forgetShort(time);
  }

  /** Drop the tracks that ended too short to matter, so that flickering detections cost no memory. */
  forgetShort(/** @type {number} */ time) {
    for (const [track, person] of this.people) {
      if (time - person.last > this.rules.forget_after_s && person.last - person.first < this.rules.min_person_s) {
        this.people.delete(track);
        this.forgotten += 1;
      }
    }
  }

  /** @param {any} person @param {number} time @param {string} label @param {number[]} scores */
  see(person, time, label, scores) {
    person.frames += 1;
    person.last = time;
    person.labels.set(label, (person.labels.get(label) ?? 0) + 1);
    person.bins.add(time, scores);
    const previous = person.current;
    const stretch = previous && previous.label === label ? { ...previous, end: time } : { label, start: time, end: time };
    person.current = stretch;
    if (stretch.end - stretch.start >= this.rules.min_stretch_s && person.settled !== label) {
      if (person.settled !== null) {
        person.changes.push({ time_s: stretch.start, from: person.settled, to: label });
        keepLongest(person.longest, { label: person.settled, start: person.settledSince, end: stretch.start });
      }
      person.settled = label;
      person.settledSince = stretch.start;
    }
  }

  /** The summary so far, in the JSON shape `fer-run --summary` writes. */
  summary() {
    const kept = [...this.people.values()].filter((p) => p.last - p.first >= this.rules.min_person_s);
    return {
      frames: this.frames,
      seconds: this.last,
      classes: this.classes,
      rules: {
        min_person_s: this.rules.min_person_s,
        min_stretch_s: this.rules.min_stretch_s,
        returning_face: this.rules.returning_face,
      },
      dropped_people: this.forgotten + this.people.size - kept.length,
      people: kept.sort((a, b) => a.track - b.track).map((p) => personSummary(p)),
    };
  }
}

/** @param {any} person */
function personSummary(person) {
  const longest = new Map(person.longest);
  if (person.settled !== null) keepLongest(longest, { label: person.settled, start: person.settledSince, end: person.last });
  const byCount = [...person.labels.entries()].sort((a, b) => b[1] - a[1]);
  const byLength = [.../** @type {Map<string, Stretch>} */ (longest).values()].sort(
    (a, b) => b.end - b.start - (a.end - a.start),
  );
  return {
    track: person.track,
    first_s: person.first,
    last_s: person.last,
    frames: person.frames,
    shares: Object.fromEntries(byCount.map(([label, n]) => [label, n / person.frames])),
    longest: Object.fromEntries(byLength.map((s) => [s.label, { start_s: s.start, end_s: s.end, seconds: s.end - s.start }])),
    changes: person.changes,
    timeline: { bin_s: person.bins.width, bins: person.bins.means() },
  };
}

/**
 * Draw a summary's people as stacked-probability rows over time (fer_runtime.timeline_plot's picture, live).
 * @param {CanvasRenderingContext2D} context
 * @param {ReturnType<TimelineBuilder["summary"]>} summary
 * @param {string[]} colors  the annotation colours, by class
 */
export function drawTimeline(context, summary, colors) {
  const { width } = context.canvas;
  const row = 40;
  const left = 40;
  context.canvas.height = Math.max(1, summary.people.length) * row;
  context.clearRect(0, 0, width, context.canvas.height);
  const seconds = Math.max(summary.seconds, 1e-3);
  summary.people.forEach((person, k) => {
    const top = k * row;
    context.fillStyle = "#333";
    context.fillText(`#${person.track}`, 4, top + row / 2);
    for (const [start, means] of person.timeline.bins) {
      const x0 = left + ((width - left) * start) / seconds;
      const x1 = Math.max(x0 + 1, left + ((width - left) * Math.min(seconds, start + person.timeline.bin_s)) / seconds);
      let bottom = top + row - 4;
      means.forEach((/** @type {number} */ p, /** @type {number} */ i) => {
        context.fillStyle = colors[i % colors.length];
        context.fillRect(x0, bottom - (row - 8) * p, x1 - x0, (row - 8) * p);
        bottom -= (row - 8) * p;
      });
    }
  });
}
