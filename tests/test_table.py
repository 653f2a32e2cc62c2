"""Results tables stream, survive a kill, and resume with every file exactly once."""

import csv
import json
import os
import shutil
import signal
import subprocess
import time
import zipfile
from collections import Counter

import pytest
from click.testing import CliRunner

from fer_runtime.cli import main
from fer_runtime.errors import FerError
from fer_runtime.images import run_images
from fer_runtime.inputs import expand_inputs
from fer_runtime.recognizer import Recognizer
from fer_runtime.table import TableWriter


@pytest.fixture(scope="module")
def folder(shared_data, tmp_path_factory):
    """Test_100's crops plus a broken file and a text file."""
    root = tmp_path_factory.mktemp("folder")
    with zipfile.ZipFile(shared_data / "seed" / "Test_100.zip") as archive:
        for name in sorted(n for n in archive.namelist() if n.endswith(".jpg"))[:40]:
            (root / name.replace("/", "_")).write_bytes(archive.read(name))
    (root / "zz_broken.jpg").write_bytes(b"\xff\xd8 cut")
    return root


class Stop(Exception):
    pass


def _interrupted(recognizer, paths, output, after):
    seen = []

    def stop(outcome):
        seen.append(outcome.path)
        if len(seen) == after:
            raise Stop

    with pytest.raises(Stop):
        run_images(recognizer, paths, output=output, on_image=stop, batch_size=8)


def _files(output):
    if ".jsonl" in output.name:
        return Counter(json.loads(line)["file"] for line in output.read_text().splitlines())
    return Counter(row["file"] for row in csv.DictReader(output.open()) if row["face"] in ("0", ""))


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_interrupted_run_resumes_with_every_file_once(folder, tmp_path, suffix):
    recognizer = Recognizer(threads=1)
    paths = expand_inputs([str(folder)])
    output = tmp_path / f"r{suffix}"
    _interrupted(recognizer, paths, output, after=13)  # in the second batch of 8
    partial = tmp_path / f"r{suffix}.partial"
    assert not output.exists() and 8 <= sum(_files(partial).values()) <= 13  # the first batch was flushed
    with partial.open("a") as handle:
        handle.write('{"file": "cut' if suffix == ".jsonl" else "cut,0,,1,2")  # what a kill mid-write leaves
    summary = run_images(recognizer, paths, output=output, resume=True, batch_size=8)
    assert not partial.exists()
    good = [str(p) for p in paths if p.name != "zz_broken.jpg"]
    assert _files(output) == Counter(good)  # every readable file exactly once
    assert summary.skipped + summary.written + summary.failures == len(paths) and summary.skipped >= 7

    again = run_images(recognizer, paths, output=output, resume=True)  # a finished table: only the broken file is left
    assert again.skipped == len(good) and again.written == 0 and _files(output) == Counter(good)


def test_resume_refuses_a_table_with_other_columns(tmp_path):
    (tmp_path / "r.csv").write_text("file,label\na.png,happy\n")
    with pytest.raises(FerError, match="columns differ"):
        TableWriter(tmp_path / "r.csv", ["angry", "happy"], resume=True)
    (tmp_path / "r.jsonl").write_text("not json\n")
    with pytest.raises(FerError, match=r"r\.jsonl:1"):
        TableWriter(tmp_path / "r.jsonl", ["angry", "happy"], resume=True)


def test_killed_fer_run_resumes_with_every_file_once(folder, tmp_path):
    many = tmp_path / "many"
    many.mkdir()
    crops = sorted(p for p in folder.iterdir() if p.name != "zz_broken.jpg")
    for i in range(1500):
        shutil.copyfile(crops[i % len(crops)], many / f"{i:05d}.jpg")
    output = tmp_path / "r.jsonl"
    fer_run = shutil.which("fer-run")
    assert fer_run is not None
    process = subprocess.Popen([fer_run, str(many), "--output", str(output), "--threads", "1"])
    partial = tmp_path / "r.jsonl.partial"
    deadline = time.monotonic() + 120
    while not (partial.exists() and partial.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL and not output.exists()
    result = CliRunner().invoke(main, [str(many), "--output", str(output), "--resume", "--threads", "1"])
    assert result.exit_code == 0 and "kept" in result.output
    assert _files(output) == Counter(str(p) for p in sorted(many.iterdir()))


def test_resume_needs_an_output_table(folder):
    result = CliRunner().invoke(main, [str(folder), "--resume"])
    assert result.exit_code == 2 and "--resume" in result.output
