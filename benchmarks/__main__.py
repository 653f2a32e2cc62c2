"""`python -m benchmarks [--quick] [--out benchmarks/results]`: one run, one JSON, one markdown table;
`python -m benchmarks targets` and `robustness` run those parts on their own (`benchmarks.measure_targets`,
`.measure_robustness`)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path
from typing import Any

import cv2
import onnxruntime
import torch

from benchmarks.measure_inference import benchmark_model
from benchmarks.measure_peer import peer_benchmark
from benchmarks.measure_pipeline import cold_start, folder_rate
from benchmarks.measure_serve import serve_benchmark
from benchmarks.measure_training import training_speed
from benchmarks.peak import CpuRoofs
from benchmarks.photo_part import photo_part
from benchmarks.profile_ops import op_profile
from benchmarks.report import markdown, update_readme
from benchmarks.variants import ModelUnderTest, seed_model, shipped_model
from fer_runtime import __version__
from fer_runtime.atomic import write_text
from fer_runtime.preprocess import model_input
from fer_train.data import FaceDataset, load_dataset
from fer_train.data_root import data_root
from fer_train.quantize import quantize_int8

REPO = Path(__file__).resolve().parents[1]
DATA = data_root()


def _models_part(args: argparse.Namespace, work: Path, test: FaceDataset, shipped: ModelUnderTest) -> dict[str, Any]:
    """The shipped model and the seed_cnn timed and scored, and where the time goes in the shipped one."""
    repeats = 3 if args.quick else 30
    seed = seed_model(work, args.seed_checkpoint, str(args.data / "seed" / "Train_400.zip"), shipped.spec)
    conv_only = work / "conv_only.int8.onnx"
    calib = load_dataset(args.data / "seed" / "Train_400.zip", shipped.spec)
    quantize_int8(
        shipped.float_graph,
        conv_only,
        shipped.description.input_name,
        calib.pixels,
        shipped.spec,
        op_types=("Conv", "Gemm"),
    )
    batch = model_input(test.pixels, shipped.spec)
    graphs = {"float": shipped.float_graph, "int8": shipped.int8_graph, "int8 (Conv/Gemm only)": conv_only}
    return {
        "models": [benchmark_model(m, test, repeats, (1, 2)).to_json() for m in (shipped, seed)],
        "profile": [
            op_profile(name, path, batch[:size], runs).to_json()
            for size, runs in ((1, 30 if args.quick else 500), (64, 3 if args.quick else 40))
            for name, path in graphs.items()
        ],
        "peer": peer_benchmark(test, args.data / "ferplus" / "votes.csv", [shipped.int8_graph], repeats, (1, 2)),
    }


PARTS = {
    "targets": "benchmarks.measure_targets",
    "robustness": "benchmarks.measure_robustness",
}  # `python -m benchmarks PART [options]`: one part on its own


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in PARTS:
        import_module(PARTS[sys.argv[1]]).main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Few repeats and Test_100: a smoke test, not numbers.")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--data", type=Path, default=DATA, help="The shared data folder.")
    parser.add_argument("--checkpoint", type=Path, help="The shipped model's PyTorch checkpoint (else random weights).")
    parser.add_argument("--seed-checkpoint", type=Path, help="A trained seed_cnn checkpoint (else random weights).")
    parser.add_argument("--update-readme", action="store_true", help="Put the table into README.md.")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULT.json",
        help="Measure nothing: write a stored result's markdown again (beside it, and with --update-readme into "
        "README.md), as the report code now renders it.",
    )
    args = parser.parse_args()
    if args.render:
        _render(args.render, args.update_readme)
        return

    test_file = args.data / "seed" / ("Test_100.zip" if args.quick else "Test_250.zip")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shipped = shipped_model(work, args.checkpoint)
        test = load_dataset(test_file, shipped.spec)
        image = work / "face.png"
        cv2.imwrite(str(image), test.pixels[0])
        result = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "quick": args.quick,
            "versions": {"fer": __version__, "torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
            "cpu": CpuRoofs.measure().to_json(),
            "test_data": str(test_file),
            **_models_part(args, work, test, shipped),
            "cold_start": cold_start(image, shipped.checkpoint, 2 if args.quick else 7).to_json(),
            "folder": folder_rate(test, work / "crops").to_json(),
            **photo_part(args.data, test, shipped.spec, args.quick),
            "serve": serve_benchmark(
                work / "serve", test.pixels, args.data / "photos" / "justin.jpg", 2 if args.quick else 10
            ),
            "training": training_speed(
                REPO / "configs" / "default.toml",
                args.data / "seed" / ("Train_400.zip" if args.quick else "Train_1000.zip"),
                args.data / "fer2013" / "train.zip",
                work / "training",
            ).to_json(),
        }
    stamp = result["date"][:10] + ("-quick" if args.quick else "")
    path = args.out / f"{stamp}.json"
    write_text(path, json.dumps(result, indent=2) + "\n")
    _render(path, args.update_readme)


def _render(path: Path, readme: bool) -> None:
    """The result stored at `path` as markdown: beside it (.md), printed, and with `readme` into README.md."""
    table = markdown(json.loads(path.read_text()))
    write_text(path.with_suffix(".md"), table + "\n")
    if readme:
        update_readme(REPO / "README.md", table)
    print(table)


if __name__ == "__main__":
    main()
