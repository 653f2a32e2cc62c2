"""The main benchmark's in-process and whole-process records: `ModelRun` (one model's speed per runtime and thread
count, its accuracy and sizes), `ColdStart` (`fer-run` against a PyTorch script) and `FolderRate` (a folder of
crops through `fer-run`, in process and on Ray, against `Recognizer.classify`), written by
benchmarks/measure_inference.py and benchmarks/measure_pipeline.py, read by benchmarks/report.py. In a result's
JSON each is its fields as they are, so results written before the records existed read the same."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.records import JsonRecord


@dataclass(frozen=True)
class RuntimeSpeed(JsonRecord):
    """Batch-1 milliseconds and batch-64 crops/s of one runtime on one thread count: medians, and the range."""

    batch1_ms: float
    batch1_ms_min: float
    batch1_ms_max: float
    batch64_per_s: float
    batch64_per_s_min: float
    batch64_per_s_max: float


@dataclass(frozen=True)
class ModelRun:
    """One model under test: `speed` keyed `RUNTIME/Nt` (pytorch, ort_float, ort_int8), balanced accuracy per
    runtime on `accuracy_data` (None for PyTorch on random weights), parameters, MACs and file sizes."""

    name: str
    trained_pytorch_weights: bool
    parameters: int
    macs_per_image: int
    file_bytes: dict[str, int]  # checkpoint, float, int8
    speed: dict[str, RuntimeSpeed]
    balanced_accuracy: dict[str, float | None]
    accuracy_data: str

    def on(self, runtime: str, threads: int) -> RuntimeSpeed:
        return self.speed[f"{runtime}/{threads}t"]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "speed": {key: s.to_json() for key, s in self.speed.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelRun:
        speed = {key: RuntimeSpeed.from_json(s) for key, s in data["speed"].items()}
        return cls(**{**data, "speed": speed})


@dataclass(frozen=True)
class ColdStart(JsonRecord):
    """Process start to first result, seconds (median and range): `fer-run` and a minimal PyTorch script."""

    fer_run_s: float
    fer_run_min_s: float
    fer_run_max_s: float
    pytorch_script_s: float
    pytorch_min_s: float
    pytorch_max_s: float
    ratio: float  # fer-run's median over the script's


@dataclass(frozen=True)
class FolderRate(JsonRecord):
    """A folder of `images` crops: `fer-run` as a process beside a classify script's, `run_images` in process,
    `Recognizer.classify` on the decoded crops (and with the test-time flip), and `--engine ray`."""

    images: int
    seconds: float
    images_per_s: float
    in_process_per_s: float
    classify_per_s: float
    classify_flip_per_s: float | None  # absent from results written before it was measured
    in_process_share: float  # of classify's rate, median of paired repeats
    ray_per_s: float
    ray_actors: int
    script_seconds: float | None = None  # the classify script's process; None in results from before it
    script_share: float | None = None  # fer-run's rate over the script's, median of paired repeats

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FolderRate:
        share = data.get("in_process_share", data["in_process_per_s"] / data["classify_per_s"])
        return cls(**{"classify_flip_per_s": None, **data, "in_process_share": share})

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def model_runs(result: dict[str, Any]) -> list[ModelRun]:
    """The result's models, the shipped one first."""
    return [ModelRun.from_json(m) for m in result["models"]]
