"""The photo and video part of the benchmark as markdown: detectors side by side, crop policy, video."""

from __future__ import annotations

from typing import Any

from benchmarks.photo_runs import Alignment, DetectorRun, SizeSweep, VideoRate
from fer_runtime.markdown import markdown_table


def detector_runs(photos: dict[str, Any]) -> list[DetectorRun]:
    return [DetectorRun.from_json(d) for d in photos["detectors"]]


def video_rates(photos: dict[str, Any]) -> dict[str, list[VideoRate]]:
    """Each timed detector setting's runs, one per clip."""
    return {name: [VideoRate.from_json(v) for v in runs] for name, runs in photos["video"].items()}


def alignment_of(photos: dict[str, Any]) -> Alignment:
    return Alignment.from_json(photos["alignment"])


def size_sweeps(result: dict[str, Any]) -> dict[str, list[SizeSweep]]:
    """YuNet per `--detect-size`, by scene."""
    return {scene: [SizeSweep.from_json(r) for r in rows] for scene, rows in result["detect_size"].items()}


def _slowest_video(videos: dict[str, list[VideoRate]], detector: str) -> float:
    return min(v.frames_per_s for v in videos[detector])


def photo_goals(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The detector goals, each a ratio or count measured in this run."""
    found = {run.detector: run for run in detector_runs(result["photos"])}
    yunet, haar = found["yunet"], found["haar"]
    speedup = yunet.photos_per_s / haar.photos_per_s
    videos = video_rates(result["photos"])
    fps, small = _slowest_video(videos, "yunet"), _slowest_video(videos, "yunet at 320 px")
    return [
        ("YuNet photos/s end to end >= 4x Haar's", f"{speedup:.1f}x", speedup >= 4),
        ("YuNet recall >= Haar's", f"{yunet.recall:.2f} vs {haar.recall:.2f}", yunet.recall >= haar.recall),
        (
            "YuNet false positives <= a tenth of Haar's",
            f"{yunet.false_positives} vs {haar.false_positives}",
            yunet.false_positives * 10 <= haar.false_positives,
        ),
        ("video >= 30 frames/s at 640x480 (one face, slower clip)", f"{fps:.0f} frames/s", fps >= 30),
        ("the same with --detect-size 320", f"{small:.0f} frames/s", small >= 30),
    ]


def _video_cell(runs: list[VideoRate]) -> str:
    return ", ".join(f"{v.frames_per_s:.1f} ({v.tracks})" for v in runs)


def detector_table(photos: dict[str, Any]) -> list[str]:
    header = (
        "detector", "recall", "false positives", "decode ms", "detect ms", "crop ms", "infer ms", "photos/s",
        "justin.jpg faces (1)", "no-faces.jpg faces (0)", "video frames/s (test.mp4, woman2.mp4; tracks)",
    )  # fmt: skip
    videos = video_rates(photos)
    runs = detector_runs(photos)
    rows: list[tuple[object, ...]] = []
    for d in runs:
        real = photos["real_photos"][d.detector]
        rows.append(
            (
                d.detector,
                f"{d.recall:.2f} ({d.faces_found}/{d.faces_pasted})",
                d.false_positives,
                f"{d.decode_ms:.2f}",
                f"{d.detect_ms:.1f}",
                f"{d.crop_ms:.2f}",
                f"{d.infer_ms:.2f}",
                f"{d.photos_per_s:.1f}",
                real["justin.jpg"],
                real["no-faces.jpg"],
                _video_cell(videos[d.detector]),
            )
        )
    detected = {d.detector for d in runs}
    rows += [
        (f"{name} (video only)", *[""] * 9, _video_cell(clips))
        for name, clips in videos.items()
        if name not in detected
    ]
    return markdown_table(header, rows)


def crop_policy_table(alignment: Alignment) -> list[str]:
    header = (
        "tilt", "faces", "box + margin: agreement", "aligned: agreement", "box + margin: bal. acc.", "aligned: bal. acc.",
    )  # fmt: skip
    rows = [
        (
            f"{angle}°",
            row.faces,
            f"{row.box_agreement:.3f}",
            f"{row.aligned_agreement:.3f}",
            f"{row.box_balanced_accuracy:.3f}",
            f"{row.aligned_balanced_accuracy:.3f}",
        )
        for angle, row in alignment.by_angle.items()
    ]
    return markdown_table(header, rows)


def detect_size_table(sweep: dict[str, list[SizeSweep]]) -> list[str]:
    """Per --detect-size: each scene's recall (found/pasted, false positives) and median detection ms."""
    scenes = list(sweep)
    header = ["--detect-size", *(f"{s}: {what}" for s in scenes for what in ("recall", "detect ms"))]
    table_rows = [
        [
            rows[0].size,
            *(
                cell
                for r in rows
                for cell in (
                    f"{r.recall:.2f} ({round(r.recall * r.faces)}/{r.faces}, {r.false_positives} false)",
                    f"{r.detect_ms:.0f}",
                )
            ),
        ]
        for rows in zip(*sweep.values())
    ]
    return markdown_table(header, table_rows)


def photo_lines(result: dict[str, Any]) -> list[str]:
    photos = result["photos"]
    first, alignment = detector_runs(photos)[0], alignment_of(photos)
    lines = [
        "",
        f"Photos: {first.photos} JPEGs of 640x480 with {first.faces_pasted} "
        "test faces pasted in at known places (100-220 px, tilted 0/±15/±30 degrees; half on a real photo with no "
        "face). A face is found when a box's centre lies in it and the box is 0.3-1.5x its size; any other box is "
        "a false positive. Milliseconds per photo are medians; photos/s is the mean end to end.",
        "",
        *detector_table(photos),
        "",
        f"Crop policy ({alignment.faces} validation faces pasted and found by YuNet): how often the "
        "model's answer on the crop agrees with its answer on the untouched face, and balanced accuracy on the labels.",
        "",
        *crop_policy_table(alignment),
    ]
    if "detect_size" in result:
        lines += [
            "",
            "YuNet on 1920x1080 photos of validation faces, shrunk to each `--detect-size` first (group: six faces "
            "of 40-100 px; portrait: one of 300-500 px):",
            "",
            *detect_size_table(size_sweeps(result)),
        ]
    return lines
