"""`RecognizerSettings`: what a `Recognizer` is made with, as one frozen, typed, picklable value, so that a Ray
actor, a service worker or a test makes the same recognizer as the command that started it. Ranges are
checked here, once; what depends on the model (its prior choices) is checked when the model is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from fer_runtime.defaults import BATCH_SIZE, DETECT_SIZE, DETECT_THRESHOLD, DETECTORS, TTA, detector_problem
from fer_runtime.errors import FerError
from fer_runtime.request_options import DETECT_THRESHOLD_OPTION, MIN_CONFIDENCE


@dataclass(frozen=True)
class RecognizerSettings:
    """The fields are `Recognizer`'s keyword arguments, with its defaults."""

    model: str | None = None  # an exported graph (.onnx or .ort); None: the bundled model
    threads: int | None = None  # ONNX Runtime intra-op threads (None: its default, all cores)
    providers: tuple[str, ...] = ()  # ONNX Runtime execution providers in order of preference (empty: the CPU's)
    prefer_int8: bool = True  # the bundled model's int8 graph rather than its float one
    batch_size: int = BATCH_SIZE  # faces per model call
    min_confidence: float = 0.0  # a face whose top probability is under this is labelled `uncertain`
    detector: str = DETECTORS[0]  # "yunet" or "haar"
    detect_threshold: float = DETECT_THRESHOLD  # YuNet drops faces scoring under this
    detect_size: int = DETECT_SIZE  # photos are shrunk to this longest side before detection
    prior: str | None = None  # a defaults.PRIORS choice (None: the model's recorded default)
    tta: str = TTA[0]  # "flip": each face's probabilities averaged with its mirror image's
    spin_wait: bool = True  # ONNX Runtime's threads busy-wait between runs (off: they free the cores; a server's)

    def __post_init__(self) -> None:
        problem = MIN_CONFIDENCE.out_of_range(self.min_confidence) or DETECT_THRESHOLD_OPTION.out_of_range(
            self.detect_threshold
        )
        if problem:
            raise FerError(problem)
        if self.tta not in TTA:
            raise FerError(f"unknown test-time augmentation {self.tta!r}; use one of {', '.join(TTA)}")
        problem = detector_problem(self.detector, self.detect_size)
        if problem:
            raise FerError(problem)
        checks = {"threads": self.threads is None or self.threads >= 1, "batch_size": self.batch_size >= 1}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise FerError(f"invalid recognizer setting(s): {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")
