"""fer-run --engine ray: the in-process engine's rows, from a Ray Data pipeline on a local Ray."""

import json
import zipfile

import pyarrow.parquet as pq
import pytest
import ray
from click.testing import CliRunner

from fer_runtime.cli import main
from fer_runtime.inputs import expand_inputs
from fer_runtime.ray_engine import FaceLabeler, default_actors

pytestmark = pytest.mark.slow  # a local Ray takes seconds to start and its pipelines minutes on 2 cores


@pytest.fixture(scope="module")
def mixed(shared_data, tmp_path_factory):
    """Crops, a photo with a face, one without, a broken JPEG and a text file named like an image."""
    root = tmp_path_factory.mktemp("mixed")
    with zipfile.ZipFile(shared_data / "seed" / "Test_100.zip") as archive:
        for name in sorted(n for n in archive.namelist() if n.endswith(".jpg"))[::20][:6]:
            (root / name.replace("/", "_")).write_bytes(archive.read(name))
    for photo in ("justin.jpg", "no-faces.jpg"):
        (root / photo).write_bytes((shared_data / "photos" / photo).read_bytes())
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff cut short")
    (root / "notes.png").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def run(*args):
    return CliRunner().invoke(main, ["--threads", "1", *args])


def test_ray_rows_equal_in_process_rows_in_every_format(mixed, tmp_path, local_ray):
    for suffix in (".jsonl", ".csv", ".parquet"):
        here = run(str(mixed), "--output", str(tmp_path / f"local{suffix}"))
        there = run(str(mixed), "--output", str(tmp_path / f"ray{suffix}"), "--engine", "ray", "--batch-size", "3")
        assert here.exit_code == there.exit_code == 1  # two files cannot be read, in both engines
        total = len(list(mixed.iterdir()))
        assert f"2 of {total} inputs" in there.output and "broken.jpg" in there.output
        if suffix == ".parquet":
            local, remote = (pq.read_table(tmp_path / f"{n}{suffix}").to_pylist() for n in ("local", "ray"))
        else:
            local, remote = ((tmp_path / f"{n}{suffix}").read_text() for n in ("local", "ray"))
        assert local == remote and local
    records = [json.loads(line) for line in (tmp_path / "ray.jsonl").read_text().splitlines()]
    assert [len(r["faces"]) for r in records if "justin" in r["file"] or "no-faces" in r["file"]] == [1, 0]

    printed = run(str(mixed), "--json", "--engine", "ray").stdout
    assert json.loads(printed) == json.loads(run(str(mixed), "--json").stdout)


def test_face_labeler_in_a_users_own_pipeline(mixed, local_ray):
    paths = [str(p) for p in expand_inputs([str(mixed)])]
    rows = (
        ray.data.from_items([{"path": p} for p in paths])
        .map_batches(FaceLabeler, batch_size=4, compute=ray.data.ActorPoolStrategy(size=1), num_cpus=1)
        .take_all()
    )
    by_path = {row["path"]: row for row in rows}
    assert set(by_path) == set(paths)
    assert by_path[str(mixed / "notes.png")]["error"] and not by_path[str(mixed / "notes.png")]["record"]
    assert json.loads(by_path[str(mixed / "justin.jpg")]["record"])["faces"][0]["landmarks"]


def test_default_pool_leaves_a_cpu_for_ray_data():
    assert [default_actors(c) for c in (1, 2, 16)] == [1, 1, 15]


def test_ray_engine_refuses_video_and_annotation(tmp_path):
    result = run("--video", "clip.mp4", "--engine", "ray")
    assert result.exit_code == 2 and "--engine ray" in result.output
