"""Default settings the library and `fer-run` share, in a module that imports nothing heavy (so the CLI
can show them in its help without loading OpenCV or ONNX Runtime)."""

DETECTORS = ("yunet", "haar")  # face detectors for photos, the default first
DETECT_SIZE = 960  # photos are shrunk to this longest side before detection (chosen in docs/detection.md)
MIN_DETECT_SIZE = 32  # the smallest longest side photos may be shrunk to
DETECT_THRESHOLD = 0.7  # the detection score under which YuNet drops a candidate (OpenCV's sample uses 0.9)
YUNET_NMS_THRESHOLD = 0.3  # overlap (IoU) above which YuNet keeps only the higher-scoring of two candidates
YUNET_TOP_K = 5000  # candidates YuNet's non-maximum suppression considers
SMOOTH = 0.6  # video: weight of a tracked face's past scores in each frame's (0: no smoothing)
BATCH_SIZE = 64  # images (fer-run) or faces (Recognizer, fer-serve) in one model call
TTA = ("none", "flip")  # test-time augmentation: "flip" averages a face's probabilities with its mirror image's
# What scores mean: each choice's power of the training class shares divided out of the trained posterior
PRIORS = {"trained": 0.0, "halfway": 0.5, "uniform": 1.0}
PRIOR_MEANINGS = {  # each PRIORS choice in words, for help text and cards
    "trained": "as the training targets had the classes (for a crowd-trained model, the share of raters who would "
    "choose each)",
    "halfway": "divided by the square root of the training targets' class shares, halfway to uniform (rare "
    "classes found more often, at some cost in top-1)",
    "uniform": "divided by those shares, every class equally likely a priori",
}


def prior_choices_help(quote: str = "'") -> str:
    """The PRIORS choices and what each means, as one sentence for help text (each name in `quote`s; "`" for
    markdown)."""
    return "; ".join(f"{quote}{name}{quote}, {PRIOR_MEANINGS[name]}" for name in PRIORS) + "."


def detector_problem(detector: str, detect_size: int) -> str | None:
    """Why a face detector's name or shrink size cannot be used, or None: the one check behind both
    `RecognizerSettings` (early, as the detector is made lazily) and `detect.create_detector`."""
    if detector not in DETECTORS:
        return f"unknown face detector {detector!r}; use one of {', '.join(DETECTORS)}"
    if detect_size < MIN_DETECT_SIZE:
        return f"photos must be shrunk to at least {MIN_DETECT_SIZE} pixels, got {detect_size}"
    return None
