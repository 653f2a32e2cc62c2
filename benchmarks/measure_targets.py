"""`python -m benchmarks targets [--quick] [--update-readme]`: the default model on every deployment target
this machine has, in one run, on the Test_250 faces beside PyTorch: ONNX Runtime's CPU provider on the float,
int8, ORT-format and float16 graphs, OpenVINO (when `openvino` is installed; float means float), ONNX Runtime
for Node and its WASM build (the page's kernels), and CUDA when onnxruntime-gpu and a GPU are here. Each row:
top-1 agreement with PyTorch, the largest probability difference, balanced accuracy against the raters'
majority, crops/s at batch 1 and 64, first-call latency (load and one crop) and file size."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from benchmarks.records import JsonRecord
from benchmarks.timing import CallSpeed, interleaved_speed
from fer_runtime.model_files import DEFAULT_MODEL_NAME, ModelDescription, bundled_model_dir, read_description
from fer_runtime.postprocess import reweight, softmax
from fer_runtime.preprocess import model_input
from fer_runtime.session import create_session
from fer_train.crowd_metrics import crowd_metrics
from fer_train.data import load_dataset
from fer_train.derived_graphs import convert
from fer_train.graph_model import load_float_graph
from fer_train.votes import match_votes, read_votes

THREADS = 1  # every target on one thread: the same work per crop on each
BATCH = 64
WEB = Path(__file__).resolve().parents[1] / "web"
MIN_AGREEMENT, MIN_FLOAT_AGREEMENT = 0.99, 0.998  # top-1 agreement with PyTorch: every target, float32 ones
MAX_BALANCED_GAP = 0.005  # balanced accuracy against the raters within half a point of PyTorch's
MAX_FLOAT_DP = 1e-3  # max |probability difference| of a float32 target from PyTorch
MIN_NODE_RATIO = 0.8  # Node's crops/s against Python's on the same graph and threads
MIN_ORT_RATIO = 0.97  # .ort int8 against .onnx int8 at batch 1: the same kernels, within this machine's noise

Run = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TargetRow(JsonRecord):
    """One deployment target against PyTorch (the first row): its graph and file size, top-1 agreement, the widest
    probability difference, balanced accuracy against the raters, speed, and the first call (load + one crop)."""

    target: str
    graph: str
    float32: bool
    file_mb: float | None
    top1_agreement: float
    max_abs_dp: float
    balanced_vs_raters: float
    batch1_ms: float
    batch64_per_s: float
    first_call_ms: float


@dataclass(frozen=True)
class Target:
    name: str
    graph: str  # the graph kind the description lists, or "pytorch"
    float32: bool  # float32 arithmetic: held to the float tolerances
    run: Run | None  # in process; None: measured by web/scripts/classify-batch.mjs
    first_call_ms: float | None = None


def _pytorch(float_graph: Path) -> Run:
    """The model in PyTorch from its float graph (`fer_train.graph_model`; the checkpoint is not shipped)."""
    model = load_float_graph(float_graph).model

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(x)).numpy()

    return run


def _timed_load(load: Callable[[], Run], probe: np.ndarray) -> tuple[Run, float]:
    started = time.perf_counter()
    run = load()
    run(probe)
    return run, (time.perf_counter() - started) * 1e3


def _ort(path: Path, provider: str) -> Run:
    session = create_session(path, threads=THREADS, providers=[provider])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def _openvino(path: Path) -> Run:
    import openvino

    compiled = openvino.Core().compile_model(
        str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": THREADS}
    )
    output = compiled.output(0)
    return lambda x: compiled(x)[output]


def _targets(
    description: ModelDescription, files: dict[str, Path], probe: np.ndarray
) -> tuple[list[Target], list[str]]:
    """The targets this machine has, loaded (and their first call timed) in process, Node's later; and what
    the others would need."""
    absent = []
    plans: list[tuple[str, str, bool, Callable[[], Run]]] = [
        ("PyTorch (reference)", "pytorch", True, lambda: _pytorch(files["float"])),
    ]
    for kind, label in (("float", "float"), ("int8", "int8"), ("ort", "int8, .ort"), ("fp16", "float16")):
        plans.append((f"ORT CPU, {label}", kind, kind == "float", partial(_ort, files[kind], "cpu")))
    if "CUDAExecutionProvider" in ort.get_available_providers():
        for kind in ("float", "fp16"):
            plans.append((f"ORT CUDA, {kind}", kind, kind == "float", partial(_ort, files[kind], "cuda")))
    else:
        absent.append("ORT CUDA (onnxruntime-gpu and an NVIDIA GPU)")
    if importlib.util.find_spec("openvino") is not None:
        for kind in ("float", "int8"):
            plans.append((f"OpenVINO CPU, {kind}", kind, kind == "float", partial(_openvino, files[kind])))
    else:
        absent.append("OpenVINO (pip install openvino)")
    targets = [Target(name, kind, float32, *_timed_load(load, probe)) for name, kind, float32, load in plans]
    if (WEB / "node_modules" / "onnxruntime-node").is_dir() and shutil.which("node"):
        targets += [Target("Node, int8", "int8", False, None), Target("Node, float", "float", True, None)]
        targets += [Target("WASM (the page's), float", "float", True, None)]
    else:
        absent.append("Node and WASM (node and npm ci --prefix web)")
    return targets, absent


def _node(
    target: Target, path: Path, batch: np.ndarray, work: Path, repeats: int
) -> tuple[np.ndarray, CallSpeed, float]:
    """Logits, speed and first-call milliseconds of a JavaScript target, in its own Node process."""
    faces, out = work / "faces.f32", work / "logits.f32"
    batch.astype(np.float32).tofile(faces)
    backend = "wasm" if target.name.startswith("WASM") else "node"
    done = subprocess.run(
        ["node", str(WEB / "scripts" / "classify-batch.mjs"), "--backend", backend, "--graph", str(path),
         "--input", str(faces), "--shape", ",".join(map(str, batch.shape)), "--out", str(out),
         "--threads", str(THREADS), "--repeats", str(repeats)],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    timing = json.loads(done.stdout)
    speed = CallSpeed(batch1_ms=timing["batch1_ms"], batch64_per_s=timing["batch64_per_s"])
    return np.fromfile(out, np.float32).reshape(len(batch), -1), speed, float(timing["first_call_ms"])


def _logits(run: Run, batch: np.ndarray) -> np.ndarray:
    return np.concatenate([run(batch[i : i + BATCH]) for i in range(0, len(batch), BATCH)])


def _graph_files(work: Path) -> tuple[ModelDescription, dict[str, Path]]:
    """The default model's shipped graphs and a float16 one made from them (`fer-train convert`), in `work`."""
    folder = work / "exported"
    folder.mkdir()
    description = read_description(bundled_model_dir() / f"{DEFAULT_MODEL_NAME}.json")
    for entry in description.graphs.values():
        shutil.copyfile(bundled_model_dir() / entry.file, folder / entry.file)
    shutil.copyfile(bundled_model_dir() / f"{DEFAULT_MODEL_NAME}.json", folder / f"{DEFAULT_MODEL_NAME}.json")
    description = convert(export_dir=folder, name=DEFAULT_MODEL_NAME, kinds=("fp16",))
    return description, {kind: folder / entry.file for kind, entry in description.graphs.items()}


def targets_benchmark(data: Path, quick: bool) -> dict[str, Any]:
    repeats = 3 if quick else 30
    test_file = data / "seed" / ("Test_100.zip" if quick else "Test_250.zip")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        description, files = _graph_files(work)
        test = load_dataset(test_file, description.spec)
        batch = model_input(test.pixels, description.spec)
        votes = match_votes(read_votes(data / "ferplus" / "votes.csv", description.classes), test.paths, test_file.name)
        targets, absent = _targets(description, files, batch[:1])
        in_process = {t.name: (t.run, batch[:BATCH]) for t in targets if t.run is not None}
        speeds = interleaved_speed(in_process, repeats)
        logits: dict[str, np.ndarray] = {}
        first_call: dict[str, float] = {}
        for target in targets:
            if target.run is not None:
                logits[target.name] = _logits(target.run, batch)
                first_call[target.name] = float(target.first_call_ms or 0.0)
            else:
                node = _node(target, files[target.graph], batch, work, repeats)
                logits[target.name], speeds[target.name], first_call[target.name] = node
        sizes = {kind: path.stat().st_size / 1e6 for kind, path in files.items()}
    shares = description.prior_shares()
    power = description.prior_reweighting(description.default_prior())

    def probabilities(values: np.ndarray) -> np.ndarray:  # as the runtime gives them, under the default prior
        p = softmax(values.astype(np.float64), description.temperature)
        return p if shares is None else reweight(p, shares, power)

    reference = probabilities(logits[targets[0].name])
    rows = []
    for target in targets:
        p = probabilities(logits[target.name])
        rows.append(
            TargetRow(
                target=target.name,
                graph=target.graph,
                float32=target.float32,
                file_mb=sizes.get(target.graph),
                top1_agreement=float((p.argmax(1) == reference.argmax(1)).mean()),
                max_abs_dp=float(np.abs(p - reference).max()),
                balanced_vs_raters=crowd_metrics(p, votes, description.classes).majority.balanced_accuracy,
                batch1_ms=speeds[target.name].batch1_ms,
                batch64_per_s=speeds[target.name].batch64_per_s,
                first_call_ms=first_call[target.name],
            ).to_json()
        )
    return {
        "model": description.name,
        "data": test_file.name,
        "faces": len(batch),
        "threads": THREADS,
        "rows": rows,
        "absent": absent,
    }


def main(argv: list[str] | None = None) -> None:
    from benchmarks.part import REPO, part_parser, write_part
    from benchmarks.report import fill_block
    from benchmarks.report_targets import targets_markdown

    parser = part_parser("python -m benchmarks targets", __doc__)
    parser.add_argument("--quick", action="store_true", help="Test_100 and few repeats: a smoke test, not numbers.")
    parser.add_argument("--update-readme", action="store_true", help="Put the table into README.md.")
    args = parser.parse_args(argv)
    table = write_part(args.out, "targets", targets_benchmark(args.data, args.quick), targets_markdown)
    if args.update_readme:
        fill_block(REPO / "README.md", "<!-- targets:start -->", "<!-- targets:end -->", table)


if __name__ == "__main__":
    main()
