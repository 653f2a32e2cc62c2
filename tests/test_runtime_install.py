"""`pip install` the runtime into a fresh venv without torch, then run fer-run there."""

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_fresh_venv_without_torch_runs_fer_run(tmp_path, shared_data):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(REPO)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-2000:]

    with zipfile.ZipFile(shared_data / "seed" / "Test_100.zip") as archive:
        name = sorted(n for n in archive.namelist() if n.endswith(".jpg"))[0]
        (tmp_path / "face.jpg").write_bytes(archive.read(name))

    def fer_run(image: Path, *options: str) -> dict:
        result = subprocess.run(
            [str(env_dir / "bin" / "fer-run"), str(image), "--json", *options],
            capture_output=True,
            text=True,
            env=environment,
            cwd=tmp_path,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert fer_run(tmp_path / "face.jpg")["faces"][0]["label"] in ("angry", "happy", "neutral", "sad")

    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util, fer_runtime, sys; "
            "print(importlib.util.find_spec('torch') is None, fer_runtime.__file__)",
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    no_torch, location = probe.stdout.split()
    assert no_torch == "True" and str(env_dir) in location
    assert sys.prefix != str(env_dir)

    detector = Path(location).parent / "models" / "yunet"  # the wheel carries YuNet and its licences
    assert {"yunet_s_640_640.onnx", "LICENSE", "LICENSE-opencv_zoo"} <= {p.name for p in detector.iterdir()}
    assert len(fer_run(shared_data / "photos" / "justin.jpg")["faces"][0]["landmarks"]) == 5
    mobile = Path(location).parent / "models" / "fer_default.int8.ort"  # and the ORT format with its op list
    assert mobile.with_name("fer_default.required_operators.config").is_file()
    assert fer_run(tmp_path / "face.jpg", "--model", str(mobile)) == fer_run(tmp_path / "face.jpg")
