"""Video summaries (`fer_runtime.timeline`): shares, stretches and changes by their stated rules, memory bounded
in video length, the same summary live and from a finished table, and `fer-run --summary` end to end."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from fer_runtime.cli import main
from fer_runtime.frames_table import read_frames
from fer_runtime.timeline import MAX_BINS, SummaryRules, TimelineBuilder, summarize
from fer_runtime.timeline_plot import write_summary

CLASSES = ["angry", "happy", "neutral", "sad"]
FPS = 25


def frame(index: int, faces: dict[int, str]) -> dict:
    """A frame record with a face per track, all its probability on its label."""
    return {
        "frame": index,
        "time_s": index / FPS,
        "faces": [
            {"track": t, "label": label, "scores": {c: float(c == label) for c in CLASSES}}
            for t, label in faces.items()
        ],
    }


def labels_of(plan: list[tuple[str, float]]) -> list[str]:
    return [label for label, seconds in plan for _ in range(round(seconds * FPS))]


def test_shares_stretches_and_changes_follow_the_stated_rules():
    plan = [("happy", 2.0), ("neutral", 0.2), ("happy", 1.0), ("sad", 2.0), ("uncertain", 0.4), ("sad", 0.6)]
    labels = labels_of(plan)
    records = [frame(i, {0: label, **({7: "angry"} if i < FPS // 2 else {})}) for i, label in enumerate(labels)]
    summary = summarize(records, CLASSES, SummaryRules(min_person_s=1.0, min_stretch_s=0.5)).to_json()
    assert summary["dropped_people"] == 1  # track 7, seen for half a second
    [person] = summary["people"]
    assert person["shares"] == pytest.approx({k: n / len(labels) for k, n in Counter(labels).items()})
    assert [(c["from"], c["to"]) for c in person["changes"]] == [("happy", "sad")]  # flickers are not moments
    assert person["changes"][0]["time_s"] == pytest.approx(3.2)
    assert person["longest"]["happy"]["seconds"] == pytest.approx(3.2)  # the neutral flicker does not end it
    assert person["longest"]["sad"]["seconds"] == pytest.approx(len(labels) / FPS - 1 / FPS - 3.2)


def test_memory_does_not_grow_with_the_video():
    builder = TimelineBuilder(CLASSES)
    for i in range(FPS * 60 * 30):  # 30 minutes
        builder.add(frame(i, {0: CLASSES[(i // 1000) % 4]}))
    [person] = builder.summary().to_json()["people"]
    bins = person["timeline"]["bins"]
    assert len(bins) <= MAX_BINS and person["timeline"]["bin_s"] * MAX_BINS >= 30 * 60
    assert all(sum(means) == pytest.approx(1) for _, means in bins)


def test_tracks_that_end_too_short_are_dropped_and_forgotten():
    builder = TimelineBuilder(CLASSES)
    for i in range(FPS * 120):  # two minutes: one person, and a new 0.2 s flicker of a face every 5 frames
        builder.add(frame(i, {0: "happy", 1000 + i // 5: "sad"}))
    summary = builder.summary()
    assert [p.track for p in summary.people] == [0] and summary.dropped_people == FPS * 120 // 5
    assert len(builder._people) < 100  # the ended ones hold no memory (a look inside: nothing else shows it)


def test_no_face_is_an_empty_summary_and_a_blank_timeline(tmp_path):
    summary = summarize([frame(i, {}) for i in range(50)], CLASSES)
    assert summary.people == [] and summary.frames == 50
    json_file, markdown, picture = write_summary(summary, tmp_path / "empty")
    assert json.loads(json_file.read_text())["people"] == [] and "0 people" in markdown.read_text()
    assert cv2.imread(str(picture)) is not None


@pytest.fixture(scope="module")
def clip(shared_data):
    return shared_data / "photos" / "test.mp4"


def _shares_from_csv(path: Path) -> dict[int, dict[str, float]]:
    """An independent count: each track's labels over its rows of the frames table."""
    counts: dict[int, Counter] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["label"]:
                counts.setdefault(int(row["track"]), Counter())[row["label"]] += 1
    return {t: {k: n / sum(c.values()) for k, n in c.items()} for t, c in counts.items()}


def test_fer_run_summary_live_and_from_every_table_format(clip, tmp_path):
    pytest.importorskip("pyarrow")
    tables = [tmp_path / f"frames{suffix}" for suffix in (".csv", ".jsonl", ".parquet")]
    summaries = []
    for table in tables:
        run = CliRunner().invoke(
            main,
            ["--threads", "1", "--video", str(clip), "--output", str(table), "--summary", str(table.with_suffix(""))],
            catch_exceptions=False,
        )
        assert run.exit_code == 0, run.output
        summaries.append(json.loads(table.with_suffix(".json").read_text()))
    live = summaries[0]
    assert all(s["people"] == live["people"] for s in summaries)
    expected = _shares_from_csv(tables[0])
    assert live["people"]
    for person in live["people"]:
        assert person["shares"] == pytest.approx(expected[person["track"]])
    for table in tables:
        again = CliRunner().invoke(main, ["--summarize", str(table), "--summary", str(tmp_path / "again")])
        assert again.exit_code == 0 and "| person |" in again.output
        assert json.loads((tmp_path / "again.json").read_text())["people"] == live["people"]
    classes, frames = read_frames(tables[0])
    assert classes == CLASSES and sum(1 for _ in frames) == live["frames"]


def test_a_clip_without_a_face_gives_an_empty_summary(tmp_path):
    clip = tmp_path / "gray.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10, (160, 120))
    for _ in range(20):
        writer.write(np.full((120, 160, 3), 128, np.uint8))
    writer.release()
    run = CliRunner().invoke(
        main, ["--video", str(clip), "--output", str(tmp_path / "f.jsonl"), "--summary", str(tmp_path / "s")]
    )
    assert run.exit_code == 0, run.output
    assert json.loads((tmp_path / "s.json").read_text())["people"] == []
    again = CliRunner().invoke(main, ["--summarize", str(tmp_path / "f.jsonl")])
    assert again.exit_code == 0 and "20 frames" in again.output and "0 people" in again.output


def test_summary_usage_and_bad_tables(tmp_path):
    assert CliRunner().invoke(main, ["--summary", str(tmp_path / "s"), "x.jpg"]).exit_code == 2
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    bad = CliRunner().invoke(main, ["--summarize", str(tmp_path / "other.csv")])
    assert bad.exit_code == 1 and "not a fer-run video table" in bad.output


def test_a_cut_video_still_gets_the_summary_of_what_was_read(tmp_path, clip):
    capture = cv2.VideoCapture(str(clip))
    frames = [capture.read()[1] for _ in range(50)]
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter.fourcc(*"MJPG"), 10, frames[0].shape[1::-1])
    for image in frames:
        writer.write(image)
    writer.release()
    data = (tmp_path / "clip.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    run = CliRunner().invoke(main, ["--video", str(tmp_path / "cut.avi"), "--summary", str(tmp_path / "cut")])
    assert run.exit_code == 1 and "cut or corrupt" in run.output
    summary = json.loads((tmp_path / "cut.json").read_text())
    assert 0 < summary["frames"] < 50 and np.isfinite(summary["seconds"])
