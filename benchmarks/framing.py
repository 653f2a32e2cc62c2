"""Do the crops the runtime makes from photos look like the training crops (#33)? YuNet's landmarks measured the
same way in both (`fer_train.landmark_template.landmarks_in`): in the validation faces (FER2013's crops, as the
model trained on them) and in the runtime's aligned crops of the shared photos and video frames; and the crops'
brightness and contrast. A plot of both, no faces in it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.records import JsonRecord
from fer_runtime.detect import YuNetDetector
from fer_runtime.markdown import markdown_table
from fer_runtime.recognizer import Recognizer
from fer_train.data import load_every_face
from fer_train.landmark_template import landmarks_in

SAMPLE = 500  # validation faces measured
LANDMARKS = ("right eye", "left eye", "nose", "mouth right", "mouth left")


def _gray(crop: np.ndarray) -> np.ndarray:
    return crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)


def runtime_crops(recognizer: Recognizer, images: list[np.ndarray]) -> np.ndarray:
    """The model's view of every face YuNet finds in `images`, gray at the input size (before normalising)."""
    spec = recognizer.spec
    crops = []
    for image in images:
        for face in recognizer.prepare(image).crops:
            crop = _gray(face)
            crops.append(cv2.resize(crop, (spec.width, spec.height), interpolation=cv2.INTER_AREA))
    return np.stack(crops) if crops else np.zeros((0, spec.height, spec.width), np.uint8)


@dataclass(frozen=True)
class CropFraming(JsonRecord):
    """One kind of crop: how many, in how many YuNet found landmarks, where (each crop's five points, x and y as
    shares of the side, and their median) and each crop's brightness and contrast (shares of 255)."""

    crops: int
    found: int
    landmarks_median: list[float]
    landmarks: list[list[float]]
    brightness: list[float]
    contrast: list[float]


@dataclass(frozen=True)
class Framing:
    """The training crops (validation faces) beside the runtime's crops of photos, and the landmark template."""

    template: list[float]
    training: CropFraming
    runtime: CropFraming

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Framing:
        return cls(data["template"], CropFraming.from_json(data["training"]), CropFraming.from_json(data["runtime"]))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def kinds(self) -> tuple[tuple[str, CropFraming], ...]:
        return (("training", self.training), ("runtime", self.runtime))


def _framing(faces: np.ndarray, points: np.ndarray) -> CropFraming:
    return CropFraming(
        crops=len(faces),
        found=len(points),
        landmarks_median=np.median(points, axis=0).round(4).tolist() if len(points) else [],
        landmarks=points.round(4).tolist(),
        brightness=(faces.mean(axis=(1, 2)) / 255).round(4).tolist(),
        contrast=(faces.std(axis=(1, 2)) / 255).round(4).tolist(),
    )


def framing_comparison(data: Path, images: list[np.ndarray]) -> Framing:
    """The validation faces (from `data`) and the runtime's crops of `images` (`photo_robustness.photos`)."""
    recognizer = Recognizer()
    detector = YuNetDetector()
    val = load_every_face(data / "fer2013" / "val.zip", recognizer.spec)
    training = val.pixels[np.random.default_rng(0).permutation(len(val.pixels))[:SAMPLE]]
    runtime = runtime_crops(recognizer, images)
    return Framing(
        template=list(recognizer.spec.landmark_template),
        training=_framing(training, landmarks_in(training, detector)),
        runtime=_framing(runtime, landmarks_in(runtime, detector)),
    )


def plot_framing(part: Framing, path: Path) -> None:
    """Landmarks of both kinds of crop in the crop's frame, and their brightness and contrast."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (frame, light) = plt.subplots(1, 2, figsize=(10, 4.4), dpi=110)
    for (kind, crops), color in zip(part.kinds(), ("tab:blue", "tab:orange")):
        points = np.asarray(crops.landmarks).reshape(-1, 5, 2)
        label = f"{kind} crops ({crops.found} of {crops.crops} with landmarks)"
        if len(points):
            frame.scatter(points[..., 0].ravel(), points[..., 1].ravel(), s=4, alpha=0.35, color=color, label=label)
        light.scatter(crops.brightness, crops.contrast, s=6, alpha=0.5, color=color, label=kind)
    template = np.asarray(part.template).reshape(-1, 2)
    if len(template):
        frame.scatter(template[:, 0], template[:, 1], marker="x", s=60, color="black", label="landmark template")
    frame.set(xlim=(0, 1), ylim=(1, 0), aspect="equal", title="Landmarks in the crop", xlabel="x / side")
    frame.set_ylabel("y / side")
    frame.legend(fontsize=7, loc="lower left")
    light.set(title="Brightness and contrast", xlabel="mean / 255", ylabel="standard deviation / 255")
    light.legend(fontsize=8)
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp)
    plt.close(figure)
    tmp.replace(path)


def framing_markdown(part: Framing) -> list[str]:
    """The median landmark of each kind of crop, and how far apart they are."""
    train, run = (np.asarray(crops.landmarks_median).reshape(-1, 2) for crops in (part.training, part.runtime))
    rows = [
        (name, f"{a[0]:.3f}, {a[1]:.3f}", f"{b[0]:.3f}, {b[1]:.3f}", f"{np.hypot(*(a - b)):.3f}")
        for name, a, b in zip(LANDMARKS, train, run)
    ]
    brightness = {k: float(np.median(crops.brightness)) for k, crops in part.kinds()}
    contrast = {k: float(np.median(crops.contrast)) for k, crops in part.kinds()}
    return [
        f"YuNet's landmarks measured in {part.training.found} of {part.training.crops} validation "
        f"faces and in {part.runtime.found} of {part.runtime.crops} crops the runtime made from the "
        f"shared photos and video frames (medians); median brightness {brightness['training']:.2f} vs "
        f"{brightness['runtime']:.2f}, contrast {contrast['training']:.2f} vs {contrast['runtime']:.2f}.",
        "",
        *markdown_table(("landmark", "training crops (x, y)", "runtime crops (x, y)", "distance, share of side"), rows),
    ]
