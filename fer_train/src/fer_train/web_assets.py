"""What the web page (`web/`) needs from the Python side besides an exported model and its description:
the runtime's defaults as JSON (so the JavaScript pipeline reads them instead of copying constants) and the
bundled YuNet graph with free input height and width (OpenCV reshapes the fixed 640x640 graph to each
photo's padded size; ONNX Runtime needs the sizes left open to do the same).

    python -m fer_train.web_assets web/assets

writes both; `tests/test_web.py` holds the committed files to what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import onnx

from fer_runtime import defaults
from fer_runtime.annotate import COLORS, UNCERTAIN_COLOR
from fer_runtime.atomic import atomic_path, write_text
from fer_runtime.detect import LANDMARK_NAMES, YUNET_MIN_SIDE, bundled_yunet_path
from fer_runtime.model_files import DEFAULT_MODEL_NAME
from fer_runtime.recognizer import CROP_SIDE_FACTOR, SMALLEST_FACE_SHARE, UNCERTAIN
from fer_runtime.timeline import FORGET_AFTER_S, MAX_BINS, RETURNING_FACE, SummaryRules
from fer_runtime.track import MAX_MISSED, MIN_OVERLAP

YUNET_WEB_FILE = "yunet_dynamic.onnx"
RUNTIME_FILE = "runtime.json"
YUNET_DIVISOR = 32  # OpenCV pads a photo to a multiple of this on its bottom and right before YuNet
YUNET_STRIDES = (8, 16, 32)  # the grids of YuNet's outputs (cls_8, obj_8, bbox_8, kps_8, ...)


def _css(bgr: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{v:02x}" for v in reversed(bgr))


def runtime_defaults() -> dict[str, Any]:
    """The settings `Recognizer.analyze` uses without being told, as the web page reads them."""
    return {
        "model": DEFAULT_MODEL_NAME,
        "detector": {
            "model": YUNET_WEB_FILE,
            "detect_threshold": defaults.DETECT_THRESHOLD,
            "nms_threshold": defaults.YUNET_NMS_THRESHOLD,
            "top_k": defaults.YUNET_TOP_K,
            "detect_size": defaults.DETECT_SIZE,
            "divisor": YUNET_DIVISOR,
            "min_side": YUNET_MIN_SIDE,
            "strides": list(YUNET_STRIDES),
            "landmarks": list(LANDMARK_NAMES),
        },
        "crop_side_factor": CROP_SIDE_FACTOR,
        "smallest_face_share": SMALLEST_FACE_SHARE,
        "uncertain": UNCERTAIN,
        "priors": dict(defaults.PRIORS),  # choice → the power of the training shares it divides out
        "tta": list(defaults.TTA),  # test-time augmentations, the first the default
        "track": {"smooth": defaults.SMOOTH, "min_overlap": MIN_OVERLAP, "max_missed": MAX_MISSED},
        "summary": {
            "min_person_s": SummaryRules.min_person_s,
            "min_stretch_s": SummaryRules.min_stretch_s,
            "max_bins": MAX_BINS,
            "forget_after_s": FORGET_AFTER_S,
            "returning_face": RETURNING_FACE,
        },
        "annotate": {"colors": [_css(c) for c in COLORS], "uncertain_color": _css(UNCERTAIN_COLOR)},
    }


def dynamic_yunet(source: Path) -> onnx.ModelProto:
    """The YuNet graph with its input's height and width and its outputs' anchor counts left free."""
    model = onnx.load(str(source))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    del model.graph.value_info[:]  # shapes inferred for 640x640 would contradict other sizes
    onnx.checker.check_model(model)
    return model


def write_web_assets(out: Path) -> list[Path]:
    """Write runtime.json, the dynamic YuNet graph and YuNet's licence files into `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    runtime = out / RUNTIME_FILE
    write_text(runtime, json.dumps(runtime_defaults(), indent=2) + "\n")
    yunet = out / YUNET_WEB_FILE
    with atomic_path(yunet) as tmp:
        onnx.save(dynamic_yunet(bundled_yunet_path()), str(tmp))
    licences = [out / f"yunet-{p.name}" for p in yunet_licences()]
    for source, target in zip(yunet_licences(), licences):
        write_text(target, source.read_text(encoding="utf-8"))
    return [runtime, yunet, *licences]


def yunet_licences() -> list[Path]:
    """The licence files shipped beside the bundled YuNet graph."""
    return sorted(bundled_yunet_path().parent.glob("LICENSE*"))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    for path in write_web_assets(Path(args[0] if args else "web/assets")):
        print(path)


if __name__ == "__main__":
    main()
