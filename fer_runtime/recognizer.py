"""`Recognizer`: one ONNX Runtime session, its preprocessing spec, and the face pipeline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fer_runtime.align import aligned_crop
from fer_runtime.defaults import BATCH_SIZE, DETECT_SIZE, DETECT_THRESHOLD
from fer_runtime.detect import Box, Detection, FaceDetector, Point, create_detector, crop_with_margin
from fer_runtime.errors import FerError
from fer_runtime.model_files import ModelDescription, bundled_model_path, parse_metadata, read_sidecar
from fer_runtime.postprocess import reweight, softmax
from fer_runtime.preprocess import model_input, prepare_batch
from fer_runtime.recognizer_settings import RecognizerSettings
from fer_runtime.session import create_session
from fer_runtime.spec import PreprocessSpec

CROP_SIDE_FACTOR = 2  # images at most this × the model input size are taken as one face crop
SMALLEST_FACE_SHARE = 4  # a face box whose shorter side is under 1/4 of the input side holds too little face
UNCERTAIN = "uncertain"  # the label of a face the model is not sure about


@dataclass(frozen=True)
class Prepared:
    """An image made ready for the model (`Recognizer.prepare`): its faces' detections, their crops as the
    model sees them (uint8, before resizing), and the model's input batch [N, C, H, W]."""

    detections: tuple[Detection, ...]
    crops: tuple[np.ndarray, ...]
    batch: np.ndarray


@dataclass(frozen=True)
class Face:
    """One face in an image: its box (x, y, w, h), its label (a class, or `uncertain` when the top
    probability is under the recognizer's `min_confidence` or the crop is too small to hold a face),
    every class's probability, and what the detector said: its score and the five landmarks
    (`detect.LANDMARK_NAMES`; None from Haar or without detection). In video, `track` numbers the
    same face across frames."""

    box: Box
    label: str
    scores: dict[str, float] = field(default_factory=dict)
    detection_score: float | None = None
    landmarks: tuple[Point, ...] | None = None
    track: int | None = None

    @property
    def confidence(self) -> float:
        """The top probability (also for an `uncertain` face)."""
        return max(self.scores.values())

    def top(self, k: int) -> list[tuple[str, float]]:
        return sorted(self.scores.items(), key=lambda kv: kv[1], reverse=True)[:k]


class Recognizer:
    """Classify face crops or find and classify faces in photos.

    `Recognizer()` loads the bundled model (its int8 graph when shipped; `prefer_int8=False`
    for the float one). Pass a path to use any exported graph. With `min_confidence` P > 0, `analyze`
    labels a face `uncertain` when its top probability is under P; for a model calibrated on crowd
    votes, P is about the share of raters who would agree with the label.

    `prior` picks what the probabilities mean (default: the model's recorded choice): "trained", what the
    training targets say (for a model trained on votes, the share of raters who would choose each class),
    "uniform", divided by the training class shares, as if every class were equally likely a priori
    (rarer classes come out more often; a score is then no longer a share of raters), or "halfway", divided
    by their square root (`defaults.PRIORS`).

    `tta="flip"` averages each face's probabilities with those of its mirror image (the model runs twice).

    Photos go through `detector` ("yunet", the bundled YuNet model, or "haar"); YuNet keeps faces
    scoring at least `detect_threshold`, and photos are shrunk to `detect_size` pixels first. A face
    with landmarks is cropped by warping them onto the model's `landmark_template` when it has one.

    `spin_wait=False` lets ONNX Runtime's threads sleep between runs rather than busy-wait (`fer-serve` does, its
    cores shared with the event loop).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        prefer_int8: bool = True,
        batch_size: int = BATCH_SIZE,
        min_confidence: float = 0.0,
        detector: str = "yunet",
        detect_threshold: float = DETECT_THRESHOLD,
        detect_size: int = DETECT_SIZE,
        prior: str | None = None,
        tta: str = "none",
        spin_wait: bool = True,
    ) -> None:
        self.settings = settings = RecognizerSettings(
            model=None if model is None else os.fspath(model),
            threads=threads,
            providers=tuple(providers or ()),
            prefer_int8=prefer_int8,
            batch_size=batch_size,
            min_confidence=min_confidence,
            detector=detector,
            detect_threshold=detect_threshold,
            detect_size=detect_size,
            prior=prior,
            tta=tta,
            spin_wait=spin_wait,
        )
        path = Path(settings.model) if settings.model is not None else bundled_model_path(prefer_int8)
        if not path.is_file():
            raise FerError(f"model not found: {path}")
        self.model_path = path
        sidecar = read_sidecar(path)
        self.session = create_session(path, threads, settings.providers or None, spin_wait=spin_wait)
        self.description: ModelDescription = sidecar or parse_metadata(
            self.session.get_modelmeta().custom_metadata_map, str(path)
        )
        self._check_graph()
        self.prior = prior or self.description.default_prior()
        try:
            self._prior_power = self.description.prior_reweighting(self.prior)
        except FerError as exc:
            raise FerError(f"{self.model_path}: {exc}") from None
        self._prior_shares = self.description.prior_shares()
        self._detectors = threading.local()  # one detector per thread: OpenCV's are not shared across threads

    @classmethod
    def from_settings(cls, settings: RecognizerSettings) -> Recognizer:
        """The recognizer `settings` describe (a recognizer's own `settings` make its twin)."""
        return cls(**asdict(settings))

    @property
    def tta(self) -> str:
        return self.settings.tta

    def _check_graph(self) -> None:
        spec, inputs, outputs = self.spec, self.session.get_inputs(), self.session.get_outputs()
        by_name = {i.name: i for i in inputs}
        if self.description.input_name not in by_name:
            raise FerError(f"{self.model_path}: graph has no input {self.description.input_name!r}")
        shape = by_name[self.description.input_name].shape
        if list(shape[1:]) != [spec.channels, spec.height, spec.width]:
            raise FerError(
                f"{self.model_path}: graph input {shape} does not match the spec's "
                f"{spec.channels}x{spec.height}x{spec.width}"
            )
        out = {o.name: o for o in outputs}.get(self.description.output_name)
        if out is None or out.shape[-1] != spec.num_classes:
            raise FerError(f"{self.model_path}: graph output does not have {spec.num_classes} classes")

    @property
    def spec(self) -> PreprocessSpec:
        return self.description.spec

    @property
    def classes(self) -> list[str]:
        return list(self.description.classes)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw model outputs for a prepared float32 batch [N, 1, H, W], run in chunks."""
        outputs = [
            self.session.run(
                [self.description.output_name], {self.description.input_name: batch[i : i + self.settings.batch_size]}
            )[0]
            for i in range(0, len(batch), self.settings.batch_size)
        ]
        return np.concatenate(outputs) if outputs else np.zeros((0, self.spec.num_classes), np.float32)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Calibrated probabilities [N, C] for a prepared batch: softmax(logits / the model's temperature) (with
        `tta` "flip", averaged with the mirrored faces'), under the recognizer's `prior` (the trained posterior, or
        divided by the training class shares)."""
        temperature = self.description.temperature
        probabilities = softmax(self.logits(batch).astype(np.float64), temperature)
        if self.tta == "flip":
            mirrored = softmax(self.logits(np.ascontiguousarray(batch[..., ::-1])).astype(np.float64), temperature)
            probabilities = (probabilities + mirrored) / 2
        shares = self._prior_shares
        return probabilities if shares is None else reweight(probabilities, shares, self._prior_power)

    def classify(self, crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Face crops → probabilities [N, C]: one crop or a list of them (uint8 gray/BGR/BGRA, any size),
        or a stacked uint8 batch [N, H, W] of grayscale crops."""
        if isinstance(crops, np.ndarray) and crops.ndim == 3 and crops.shape[-1] not in (3, 4):
            stack: np.ndarray | None = crops
        else:
            stack, crops = None, [crops] if isinstance(crops, np.ndarray) else crops
        for crop in crops:
            if crop.size == 0:
                raise FerError("empty face crop")
        return self.probabilities(
            self._stack_input(stack) if stack is not None else prepare_batch(list(crops), self.spec)
        )

    def _stack_input(self, stack: np.ndarray) -> np.ndarray:
        """A stack of crops [N, H, W] (gray) or [N, H, W, C] → the model's input batch."""
        if stack.ndim == 3 and stack.dtype == np.uint8 and stack.shape[1:] == (self.spec.height, self.spec.width):
            return model_input(stack, self.spec)  # already gray at the input size
        return prepare_batch(list(stack), self.spec)

    def is_face_crop(self, height: int, width: int) -> bool:
        """Small images (about the model's input size) are crops already: detection would miss them."""
        return max(height, width) <= CROP_SIDE_FACTOR * max(self.spec.height, self.spec.width)

    def _detector(self) -> FaceDetector:
        """The calling thread's face detector, created on its first use (face crops never need one)."""
        detector: FaceDetector | None = getattr(self._detectors, "detector", None)
        if detector is None:
            s = self.settings
            detector = self._detectors.detector = create_detector(s.detector, s.detect_threshold, s.detect_size)
        return detector

    def crop(self, image: np.ndarray, detection: Detection) -> np.ndarray:
        """The model's view of a detected face: aligned on its landmarks when both the detector and the
        model's spec allow it, else its box grown by the spec's margin."""
        template = self.spec.landmark_template
        if detection.landmarks is not None and template:
            return aligned_crop(image, detection.landmarks, template, self.spec.height, self.spec.width)
        return crop_with_margin(image, detection.box, self.spec.face_margin)

    def prepare(self, image: np.ndarray, *, detect: bool = True, detect_threshold: float | None = None) -> Prepared:
        """The first half of `analyze`, everything before the model: the photo's faces (largest first; a
        face-sized image, or `detect=False`, is one face filling it), their crops and the model's input batch.
        `detect_threshold` replaces the detector's score floor for this image (YuNet's; Haar gives no scores)."""
        if image.size == 0:
            raise FerError("empty image")
        if detect and not self.is_face_crop(*image.shape[:2]):
            detections = tuple(self._detector().detect(image, detect_threshold))
        else:
            detections = (whole_image(image),)
        crops = tuple(self.crop(image, d) for d in detections)
        return Prepared(detections, crops, prepare_batch(list(crops), self.spec))

    def prepare_crops(self, crops: np.ndarray) -> list[Prepared]:
        """`prepare` for a stack of face crops [N, H, W] (gray) or [N, H, W, 3] (BGR), each one face filling it (no
        detection), made ready as one batch: each image's `batch` is a view of it."""
        batch = self._stack_input(crops)
        return [Prepared((whole_image(crop),), (crop,), batch[i : i + 1]) for i, crop in enumerate(crops)]

    def finish(
        self, prepared: Prepared, probabilities: np.ndarray, *, min_confidence: float | None = None
    ) -> list[Face]:
        """The second half of `analyze`: the prepared faces with the probabilities [N, C] the model gave their
        batch (`probabilities`) → `Face`s, labelled by `label`."""
        return [
            Face(d.box, self.label(d.box, p, min_confidence), dict(zip(self.classes, p)), d.score, d.landmarks)
            for d, p in zip(prepared.detections, probabilities.tolist())  # Python floats: small rows are quicker
        ]

    def analyze(self, image: np.ndarray, detect: bool = True) -> list[Face]:
        """A photo → faces, largest first. A face-sized image (or `detect=False`) is one face."""
        return self.analyze_many([image], detect)[0]

    def finish_all(
        self, prepared: Sequence[Prepared], probabilities: np.ndarray, *, min_confidence: float | None = None
    ) -> list[list[Face]]:
        """`finish` for images whose faces were classified together, in order (`joined_batch`): `probabilities`
        cut back into each image's rows."""
        bounds = np.cumsum([0, *(len(p.detections) for p in prepared)]).tolist()
        return [
            self.finish(p, probabilities[a:b], min_confidence=min_confidence)
            for p, a, b in zip(prepared, bounds[:-1], bounds[1:])
        ]

    def analyze_many(self, images: Sequence[np.ndarray], detect: bool = True) -> list[list[Face]]:
        """`analyze` for several images, their faces classified in one batch."""
        prepared = [self.prepare(image, detect=detect) for image in images]
        if not prepared:
            return []
        return self.finish_all(prepared, self.probabilities(joined_batch(prepared)))

    def label(self, box: Box, probabilities: Sequence[float] | np.ndarray, min_confidence: float | None = None) -> str:
        """The top class, or `uncertain` when its probability is under `min_confidence` (default: the
        recognizer's) or the face's box is too small to hold a face (under a quarter of the input side)."""
        floor = self.settings.min_confidence if min_confidence is None else min_confidence
        too_small = min(box[2:]) * SMALLEST_FACE_SHARE < min(self.spec.height, self.spec.width)
        top = max(range(len(probabilities)), key=probabilities.__getitem__)  # the first of equal tops, as argmax
        if too_small or probabilities[top] < floor:
            return UNCERTAIN
        return self.classes[top]


def joined_batch(prepared: Sequence[Prepared]) -> np.ndarray:
    """The model inputs of the prepared images' faces as one batch, image after image (`Recognizer.finish_all`
    cuts its probabilities back)."""
    return np.concatenate([p.batch for p in prepared])


def whole_image(image: np.ndarray) -> Detection:
    """An image taken as one face: a box that fills it, with no detector score or landmarks."""
    return Detection((0, 0, image.shape[1], image.shape[0]))
