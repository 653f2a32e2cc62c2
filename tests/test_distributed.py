"""Training on several processes (torchrun, gloo on CPU) and the device choice."""

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from fer_train.cli import main
from fer_train.distributed import World, shard
from fer_train.export import export_checkpoint
from tests.conftest import TINY_RESNET

GRADIENT_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    from torch import nn
    from fer_train.distributed import barrier, end_process, join_world, leave_world, shard, world_from_env, wrap

    device = torch.device("cpu")
    world = world_from_env()
    join_world(world, device)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 1, 8, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    mine = torch.from_numpy(shard(np.random.default_rng(2).permutation(64), world))
    net = wrap(model, world, device)  # kept alive: DDP averages the gradients in hooks it owns
    nn.functional.cross_entropy(net(x[mine]), y[mine]).backward()
    if world.main:
        torch.save([p.grad for p in model.parameters()], sys.argv[1])
    barrier(world)  # as fit ends: no process closes its connections while another still uses them
    leave_world(world)
    end_process(world)  # as `fer-train fit` ends under torchrun
    """
)


def torchrun(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    found = shutil.which("torchrun")
    assert found is not None, "torchrun comes with torch"
    return subprocess.run(
        [found, "--standalone", "--nproc-per-node", "2", *args], capture_output=True, text=True, timeout=timeout
    )


def stderr_ends(result: subprocess.CompletedProcess) -> str:
    """A failed run's own error (at the start, before the launcher's report) and the launcher's report."""
    err = result.stderr
    return err if len(err) <= 4000 else f"{err[:2000]}\n[...]\n{err[-2000:]}"


def test_shards_are_disjoint_equal_and_cover_the_order():
    order = np.random.default_rng(0).permutation(101)
    parts = [shard(order, World(rank, 2)) for rank in range(2)]
    assert len(parts[0]) == len(parts[1]) == 50 and not set(parts[0]) & set(parts[1])
    assert list(shard(order, World())) == list(order)


@pytest.mark.slow  # torchrun starts two Python processes with torch
def test_two_processes_of_32_average_to_the_gradient_of_one_batch_of_64(tmp_path):
    script = tmp_path / "gradient.py"
    script.write_text(GRADIENT_SCRIPT)
    result = torchrun(str(script), str(tmp_path / "grads.pt"))
    assert result.returncode == 0, stderr_ends(result)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 1, 8, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    nn.functional.cross_entropy(model(x), y).backward()
    averaged = torch.load(tmp_path / "grads.pt")
    for one, two in zip([p.grad for p in model.parameters()], averaged):
        torch.testing.assert_close(two, one, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # torchrun starts two Python processes with torch
def test_torchrun_fit_writes_one_run_that_eval_export_and_resume_read(face_zip, tmp_path):
    config = tmp_path / "tiny.toml"
    out = tmp_path / "run"
    config.write_text(
        textwrap.dedent(
            f"""
            data = "{face_zip}"
            val = "{face_zip}"
            out = "{out}"
            model = "fer_resnet"
            epochs = 2
            batch_size = 8
            threads = 1
            cache_dir = "{tmp_path / "cache"}"
            [model_options]
            widths = {TINY_RESNET["widths"]}
            blocks = {TINY_RESNET["blocks"]}
            stem = {TINY_RESNET["stem"]}
            """
        )
    )
    fit = ["-m", "fer_train", "fit", "--config", str(config), "--no-progress"]
    first = torchrun(*fit)
    assert first.returncode == 0, stderr_ends(first)
    assert sorted(p.name for p in out.glob("*.pt")) == ["best.pt", "last.pt"]
    assert not list(out.glob(".*tmp*"))  # nothing half-written by a second writer
    history = json.loads((out / "metrics.json").read_text())
    assert [h["world_size"] for h in history] == [2, 2] and all("val_balanced_accuracy" in h for h in history)
    assert first.stderr.count("epoch 1/2") == 1  # one process logs

    evaluated = CliRunner().invoke(main, ["eval", "--model", str(out / "best.pt"), "--data", str(face_zip)])
    assert evaluated.exit_code == 0, evaluated.output
    assert export_checkpoint(out / "best.pt", tmp_path / "exported", "ddp").float_path.is_file()

    resumed = torchrun(*fit, "--resume", "--epochs", "3")
    assert resumed.returncode == 0, stderr_ends(resumed)
    longer = json.loads((out / "metrics.json").read_text())
    assert len(longer) == 3 and longer[:2] == history


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_is_a_one_line_error(face_zip, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fer_train",
            "fit",
            "--data",
            str(face_zip),
            "--out",
            str(tmp_path / "r"),
            "--device",
            "cuda",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: --device cuda: this PyTorch")
