import json

import pytest

from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec


def test_json_round_trip_keeps_every_field():
    spec = PreprocessSpec(
        classes=("a", "b", "c"), height=40, width=44, interpolation="linear", mean=0.51, std=0.26, face_margin=0.2
    )
    again = PreprocessSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(spec.to_json())["classes"] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "bad",
    [
        {"classes": []},
        {"classes": ["a", "a"]},
        {"std": 0.0},
        {"interpolation": "magic"},
        {"channels": 3},
        {"layout": "NHWC"},
        {"version": 99},
        {"height": 0},
    ],
)
def test_invalid_specs_are_rejected(bad):
    data = PreprocessSpec().to_dict() | bad
    with pytest.raises(FerError):
        PreprocessSpec.from_dict(data)


def test_unknown_keys_and_bad_json_are_errors():
    with pytest.raises(FerError, match="unknown keys"):
        PreprocessSpec.from_dict(PreprocessSpec().to_dict() | {"colour": "red"})
    with pytest.raises(FerError, match="not valid JSON"):
        PreprocessSpec.from_json("{nope")
