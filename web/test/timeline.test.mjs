// The page's timeline (src/timeline.js) held to `fer-run --summary` (fer_runtime.timeline): fed the frame records
// tests/web_cases.py wrote for the shared clip, it must give the summary Python gave (run by tests/test_web.py,
// which sets FER_WEB_FIXTURES).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { TimelineBuilder } from "../src/timeline.js";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = process.env.FER_WEB_FIXTURES;
const SHARE_TOLERANCE = 0.01; // one point

test("the page's timeline gives fer-run --summary's summary of the same frames", () => {
  assert.ok(fixtures, "FER_WEB_FIXTURES is not set: run python -m pytest tests/test_web.py, which writes the cases");
  const expected = JSON.parse(readFileSync(join(fixtures, "timeline.json"), "utf8"));
  const runtime = JSON.parse(readFileSync(join(web, "assets", "runtime.json"), "utf8"));
  const builder = new TimelineBuilder(expected.classes, runtime.summary);
  const lines = readFileSync(join(fixtures, "timeline_frames.jsonl"), "utf8").trim().split("\n");
  for (const line of lines) builder.add(JSON.parse(line));
  const got = builder.summary();
  assert.deepEqual(got.rules, expected.rules);
  assert.equal(got.frames, expected.frames);
  assert.equal(got.dropped_people, expected.dropped_people);
  assert.deepEqual(
    got.people.map((/** @type {any} */ p) => p.track),
    expected.people.map((/** @type {any} */ p) => p.track),
  );
  let worst = 0;
  got.people.forEach((/** @type {any} */ person, /** @type {number} */ k) => {
    const want = expected.people[k];
    for (const label of new Set([...Object.keys(person.shares), ...Object.keys(want.shares)])) {
      worst = Math.max(worst, Math.abs((person.shares[label] ?? 0) - (want.shares[label] ?? 0)));
    }
    assert.deepEqual(person.changes, want.changes);
    assert.deepEqual(Object.keys(person.longest), Object.keys(want.longest));
    assert.equal(person.timeline.bins.length, want.timeline.bins.length);
  });
  console.log(`timeline of ${got.people.length} people over ${got.frames} frames: worst share difference ${worst}`);
  assert.ok(worst <= SHARE_TOLERANCE, `shares differ by ${worst}`);
});
