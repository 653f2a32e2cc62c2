import pickle
import subprocess
import sys
import zipfile

import cv2
import numpy as np
import onnxruntime
import pytest

from fer_runtime import Recognizer
from fer_runtime.detect import crop_with_margin
from fer_runtime.errors import FerError
from fer_runtime.model_files import bundled_model_path
from fer_runtime.postprocess import reweight
from fer_runtime.recognizer_settings import RecognizerSettings
from fer_runtime.session import resolve_providers


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(threads=1)


def test_import_does_not_load_torch():
    code = (
        "import sys, numpy as np, fer_runtime; from fer_runtime import Recognizer; "
        "Recognizer().classify(np.zeros((48, 48), np.uint8)); "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_default_model_is_the_bundled_int8_graph(recognizer):
    assert recognizer.model_path == bundled_model_path(prefer_int8=True)
    assert recognizer.model_path.name.endswith(".int8.onnx")
    assert Recognizer(prefer_int8=False).model_path.name.endswith(".onnx")
    assert recognizer.classes == ["angry", "happy", "neutral", "sad"]
    assert recognizer.session.get_providers() == ["CPUExecutionProvider"]


def test_classify_single_list_and_batches_agree(recognizer):
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (48, 48), dtype=np.uint8) for _ in range(70)]
    crops.append(cv2.cvtColor(crops[0], cv2.COLOR_GRAY2BGR))
    probs = recognizer.classify(crops)
    assert probs.shape == (71, 4) and np.allclose(probs.sum(1), 1)
    assert np.allclose(recognizer.classify(crops[5])[0], probs[5], atol=1e-6)
    assert np.allclose(probs[0], probs[70], atol=1e-6)  # BGR and gray of the same face
    small_batches = Recognizer(threads=1, batch_size=8)
    assert np.allclose(small_batches.classify(crops), probs, atol=1e-5)
    stacked = np.stack(crops[:70])  # one [N, H, W] uint8 array of gray crops
    assert np.allclose(recognizer.classify(stacked), probs[:70], atol=1e-6)
    assert np.allclose(recognizer.classify(stacked[:, :40, :44]), recognizer.classify(list(stacked[:, :40, :44])))


def test_analyze_crop_photo_and_empty_scene(recognizer, shared_data):
    with zipfile.ZipFile(shared_data / "seed" / "Test_100.zip") as archive:
        name = sorted(n for n in archive.namelist() if "/happy/" in n.lower() and n.endswith(".jpg"))[0]
        crop = cv2.imdecode(np.frombuffer(archive.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
    faces = recognizer.analyze(crop)
    assert len(faces) == 1 and faces[0].box == (0, 0, 48, 48)
    assert faces[0].label in recognizer.classes and abs(sum(faces[0].scores.values()) - 1) < 1e-6

    scene = np.full((480, 640), 128, np.uint8)
    face = cv2.resize(crop, (200, 200), interpolation=cv2.INTER_CUBIC)
    scene[140:340, 300:500] = face
    found = recognizer.analyze(scene)
    assert found, "the Haar detector should find an upscaled FER face"
    x, y, w, h = found[0].box
    assert 250 <= x + w / 2 <= 550 and 90 <= y + h / 2 <= 390

    assert recognizer.analyze(np.full((480, 640, 3), 90, np.uint8)) == []
    assert len(recognizer.analyze(scene, detect=False)) == 1


def test_prepare_then_finish_is_analyze(recognizer, shared_data):
    """The two halves the service runs with its batcher between them give what `analyze` gives."""
    with zipfile.ZipFile(shared_data / "seed" / "Test_100.zip") as archive:
        name = sorted(n for n in archive.namelist() if "/sad/" in n.lower() and n.endswith(".jpg"))[0]
        crop = cv2.imdecode(np.frombuffer(archive.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
    scene = np.full((480, 640), 128, np.uint8)
    scene[100:300, 200:400] = cv2.resize(crop, (200, 200), interpolation=cv2.INTER_CUBIC)
    prepared = recognizer.prepare(scene)
    assert len(prepared.detections) == len(prepared.crops) == len(prepared.batch) >= 1
    assert prepared.batch.shape[1:] == (1, recognizer.spec.height, recognizer.spec.width)
    assert recognizer.finish(prepared, recognizer.probabilities(prepared.batch)) == recognizer.analyze(scene)
    unsure = recognizer.finish(prepared, recognizer.probabilities(prepared.batch), min_confidence=1.0)
    assert {face.label for face in unsure} == {"uncertain"}
    with pytest.raises(FerError, match="empty"):
        recognizer.prepare(np.zeros((0, 0), np.uint8))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"detect_threshold": 1.5}, "detect_threshold"),
        ({"detect_size": 8}, "at least 32 pixels"),
        ({"min_confidence": -0.1}, "min_confidence"),
        ({"tta": "rotate"}, "test-time augmentation"),
        ({"detector": "mtcnn"}, "face detector"),
        ({"threads": 0}, "threads=0"),
        ({"batch_size": 0}, "batch_size=0"),
    ],
)
def test_settings_out_of_range_are_one_clear_error(bad, message):
    with pytest.raises(FerError, match=message):
        RecognizerSettings(**bad)
    with pytest.raises(FerError, match=message):
        Recognizer(**bad)


def test_settings_make_the_same_recognizer_after_pickling():
    settings = RecognizerSettings(threads=1, batch_size=8, min_confidence=0.3, tta="flip", prior="trained")
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings
    recognizer = Recognizer.from_settings(copy)
    assert recognizer.settings == settings and recognizer.tta == "flip"
    assert Recognizer(threads=1, batch_size=8, min_confidence=0.3, tta="flip", prior="trained").settings == settings
    resting = Recognizer.from_settings(RecognizerSettings(threads=1, spin_wait=False))
    assert resting.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_crop_with_margin_is_clipped():
    image = np.arange(100 * 100, dtype=np.uint16).reshape(100, 100)
    crop = crop_with_margin(image, (0, 10, 20, 20), 0.5)
    assert crop.shape == (40, 30) and crop[0, 0] == image[0, 0]


def test_bad_model_and_provider_are_clear_errors(tmp_path):
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_text("not a graph")
    with pytest.raises(FerError, match="not a loadable ONNX model"):
        Recognizer(not_onnx)
    with pytest.raises(FerError, match="not found"):
        Recognizer(tmp_path / "missing.onnx")
    with pytest.raises(FerError, match="not available"):
        Recognizer(providers=["NoSuchExecutionProvider"])


def test_providers_by_full_or_short_name_and_a_missing_one_named_with_those_available():
    assert resolve_providers(["CPU", "CPUExecutionProvider"]) == ["CPUExecutionProvider"] * 2
    assert Recognizer(providers=["cpu"], threads=1).session.get_providers() == ["CPUExecutionProvider"]
    missing = next(p for p in onnxruntime.get_all_providers() if p not in onnxruntime.get_available_providers())
    with pytest.raises(FerError) as error:
        resolve_providers(["cpu", missing.removesuffix("ExecutionProvider").lower()])
    message = str(error.value)
    assert "\n" not in message and message.split(";")[0].endswith(f"({onnxruntime.__version__})")
    assert all(p.removesuffix("ExecutionProvider").lower() in message for p in onnxruntime.get_available_providers())


def test_flip_averages_each_face_with_its_mirror_image(recognizer):
    rng = np.random.default_rng(3)
    faces = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    trained = Recognizer(threads=1, prior="trained")
    expected = (trained.classify(faces) + trained.classify(np.ascontiguousarray(faces[:, :, ::-1]))) / 2
    np.testing.assert_allclose(Recognizer(threads=1, prior="trained", tta="flip").classify(faces), expected, atol=1e-9)
    flipping = Recognizer(threads=1, prior="uniform", tta="flip")  # the average first, then the prior's division
    power = flipping.description.prior_reweighting("uniform")
    uniform = reweight(expected, flipping.description.prior_shares(), power)
    np.testing.assert_allclose(flipping.classify(faces), uniform, atol=1e-9)
    assert power != 0 and not np.allclose(uniform, expected)  # the bundled model's default divides at run time
    assert not np.allclose(flipping.classify(faces), Recognizer(threads=1, prior="uniform").classify(faces))
    with pytest.raises(FerError, match="test-time augmentation"):
        Recognizer(tta="rotate")


def test_a_description_names_each_graph_file_and_refuses_one_it_lacks():
    from fer_runtime.model_files import bundled_model_dir, read_description

    description = read_description(bundled_model_dir() / "fer_default.json")
    assert description.graph_file("int8") == "fer_default.int8.onnx"
    assert all((bundled_model_dir() / description.graph_file(kind)).is_file() for kind in description.graphs)
    with pytest.raises(FerError, match=r"fer_default: no fp16 graph in its description \(graphs: float, int8, ort\)"):
        description.graph_file("fp16")
    ort = description.graphs["ort"]
    assert ort.derived is not None and ort.derived.source == "int8" and ort.suits == ("cpu",)
    assert ort.derived.operators == "fer_default.required_operators.config"
    assert description.graphs["float"].derived is None


def test_a_description_whose_graph_entry_lacks_its_sha256_is_a_one_line_error(tmp_path):
    import json

    from fer_runtime.model_files import bundled_model_dir, read_description

    data = json.loads((bundled_model_dir() / "fer_default.json").read_text())
    del data["graphs"]["int8"]["sha256"]
    (tmp_path / "edited.json").write_text(json.dumps(data))
    with pytest.raises(FerError, match=r"edited.json: a graph entry lacks its file, sha256 or derivation$"):
        read_description(tmp_path / "edited.json")
