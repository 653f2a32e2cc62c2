"""Accuracy per int8 millisecond: candidate `fer_resnet` shapes timed as exported int8 graphs on this CPU (random
weights: speed does not depend on them), beside the trained models' validation accuracy where one was trained.

    python -m benchmarks.arch_speed          # writes benchmarks/results/DATE-arch.json and .md

Each candidate is exported like a shipped model (BatchNorm folded, onnxsim, int8 QDQ calibrated on Train_400,
the stem convolution kept float) and timed with ONNX Runtime at batch 1 and batch 64, on 1 and 2 threads, in
turn with every other and the `fer` peer, round after round. The shipped shape is timed once more with its
stem in int8 too, as shipped models were exported before.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure_peer import BATCH, PeerModel, graph_call, peer_input, peer_model_file
from benchmarks.part import part_parser, write_part
from benchmarks.peak import CpuHeader
from benchmarks.timing import CallSpeed, Timed, interleaved_speed, read_speeds
from benchmarks.variants import random_checkpoint
from fer_runtime.markdown import markdown_table
from fer_runtime.preprocess import model_input
from fer_runtime.spec import PreprocessSpec
from fer_train.data import load_dataset
from fer_train.export import export_checkpoint
from fer_train.graph_stats import graph_stats
from fer_train.onnx_graph import INPUT_NAME
from fer_train.quantize import CALIBRATION_SIZE, calibration_sample, quantize_int8

THREADS = (1, 2)
SHIPPED = "default (shipped): 24-48-96-192, stem 16"
INT8_STEM = "default (shipped), stem convolution in int8 too"
CANDIDATES: dict[str, dict[str, Any]] = {  # name → fer_resnet options
    "previous default (to 2026-12-01)": {"widths": [32, 64, 128, 192], "blocks": [1, 2, 2, 1], "se": True},
    "previous default, no SE": {"widths": [32, 64, 128, 192], "blocks": [1, 2, 2, 1], "se": False},
    "previous default, no SE, stem 16": {"stem": 16, "widths": [32, 64, 128, 192], "blocks": [1, 2, 2, 1], "se": False},
    "one block a stage, stem 16": {"stem": 16, "widths": [32, 64, 128, 192], "blocks": [1, 1, 1, 1], "se": False},
    SHIPPED: {
        "stem": 16,
        "widths": [24, 48, 96, 192],
        "blocks": [1, 1, 2, 1],
        "se": False,
    },
    "previous default, no SE, 12x12 from the first stage": {
        "stem": 16,
        "widths": [32, 64, 128, 192],
        "blocks": [1, 2, 2, 1],
        "strides": [2, 1, 2, 2],
        "se": False,
    },
    "fer_small (retired)": {"stem": 16, "widths": [16, 32, 64, 128], "blocks": [1, 1, 1, 1], "se": False},
}
CANDIDATES[INT8_STEM] = CANDIDATES[SHIPPED]


@dataclass(frozen=True)
class ShapeSpeed:
    """One candidate shape: its `fer_resnet` options, size, and int8 speed by thread count ("1t", "2t")."""

    name: str
    options: dict[str, Any]
    params: int
    macs: int
    speed: dict[str, CallSpeed]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShapeSpeed:
        return cls(data["name"], data["options"], data["params"], data["macs"], read_speeds(data["speed"]))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "speed": {t: s.to_json() for t, s in self.speed.items()}}


@dataclass(frozen=True)
class ArchSpeeds:
    """The part: every candidate, and the peer's speed by thread count (None when it could not run: `skipped`)."""

    candidates: list[ShapeSpeed]
    peer: dict[str, CallSpeed] | None
    skipped: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArchSpeeds:
        peer = data["peer"]
        candidates = [ShapeSpeed.from_json(row) for row in data["candidates"]]
        return cls(candidates, None, peer["skipped"]) if "skipped" in peer else cls(candidates, read_speeds(peer))

    def to_json(self) -> dict[str, Any]:
        peer = {"skipped": self.skipped} if self.peer is None else {t: s.to_json() for t, s in self.peer.items()}
        return {"candidates": [row.to_json() for row in self.candidates], "peer": peer}


def candidate_graph(work: Path, name: str, options: dict[str, Any], calib: str) -> tuple[int, int, Path]:
    """One shape exported as shipped models are (INT8_STEM: SHIPPED's shape with every convolution in int8):
    its parameters, MACs per image and int8 graph."""
    spec = PreprocessSpec()
    stem = "".join(c if c.isalnum() else "_" for c in name)
    checkpoint = random_checkpoint(work, "fer_resnet", {**options, "dropout": 0.2}, spec, stem)
    every_conv_int8 = name == INT8_STEM  # quantized here, with no node kept float, instead of by export
    exported = export_checkpoint(checkpoint, work / stem, stem, quantize=not every_conv_int8, calib=calib)
    int8_path = exported.int8_path or exported.float_path.with_suffix(".int8.onnx")
    if every_conv_int8:
        calibration = load_dataset(calib, spec)
        pixels = calibration_sample(calibration.pixels, calibration.paths, CALIBRATION_SIZE)
        quantize_int8(exported.float_path, int8_path, input_name=INPUT_NAME, pixels=pixels, spec=spec, keep_float=())
    stats = graph_stats(exported.float_path)
    return stats.parameters, stats.macs_per_image, int8_path


def arch_benchmark(data: Path, repeats: int) -> ArchSpeeds:
    calib = str(data / "seed" / "Train_400.zip")
    faces = load_dataset(data / "seed" / "Test_100.zip", PreprocessSpec()).pixels[:BATCH]
    ours = model_input(faces, PreprocessSpec())
    peer_model = peer_model_file()
    with tempfile.TemporaryDirectory() as tmp:
        graphs = {name: candidate_graph(Path(tmp), name, options, calib) for name, options in CANDIDATES.items()}
        timed: dict[str, Timed] = {
            f"{name}/{t}t": (graph_call(graph, t), ours) for name, (_, _, graph) in graphs.items() for t in THREADS
        }
        if not isinstance(peer_model, str):
            timed |= {f"peer/{t}t": (PeerModel(peer_model, t), peer_input(faces)) for t in THREADS}
        speed = interleaved_speed(timed, repeats * 10)
    rows = [
        ShapeSpeed(name, CANDIDATES[name], params, macs, {f"{t}t": speed[f"{name}/{t}t"] for t in THREADS})
        for name, (params, macs, _) in graphs.items()
    ]
    if isinstance(peer_model, str):
        return ArchSpeeds(rows, None, peer_model)
    return ArchSpeeds(rows, {f"{t}t": speed[f"peer/{t}t"] for t in THREADS})


def arch_markdown(result: dict[str, Any]) -> str:
    arch = ArchSpeeds.from_json(result["arch"])
    lines = [
        f"# int8 speed of candidate shapes: {result['date'][:10]}",
        "",
        f"{CpuHeader.from_json(result['cpu']).line()}. Random weights, "
        "exported and quantized as shipped models are; every graph and the peer timed in turn, round after round; "
        "medians over the rounds; `python -m benchmarks.arch_speed`. "
        "x peer: against the `fer` peer at the same thread count (goals: >= 2x at batch 64, >= 1.5x at batch 1).",
        "",
    ]
    rows: list[tuple[object, ...]] = []
    peer = arch.peer or {}
    for row in arch.candidates:
        for threads, s in row.speed.items():
            vs = peer.get(threads)
            b1 = f"{s.batch1_ms:.3f}" + (f" ({vs.batch1_ms / s.batch1_ms:.2f}x)" if vs else "")
            b64 = f"{s.batch64_per_s:,.0f}" + (f" ({s.batch64_per_s / vs.batch64_per_s:.2f}x)" if vs else "")
            rows.append((row.name, f"{row.params:,}", f"{row.macs / 1e6:.1f}", threads[:-1], b1, b64))
    for threads, s in peer.items():
        rows.append(("`fer` peer", "", "", threads[:-1], f"{s.batch1_ms:.3f}", f"{s.batch64_per_s:,.0f}"))
    header = ("shape", "params", "MMACs", "threads", "batch 1 ms (x peer)", "batch 64 crops/s (x peer)")
    return "\n".join(lines + markdown_table(header, rows))


def main() -> None:
    parser = part_parser("python -m benchmarks.arch_speed", __doc__)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    write_part(args.out, "arch", arch_benchmark(args.data, args.repeats).to_json(), arch_markdown)


if __name__ == "__main__":
    main()
