"""fer-train fit / eval / export through the command line, including its one-line errors."""

import json
import subprocess
import sys

from click.testing import CliRunner

from fer_train.cli import main


def run(*args: str):
    return CliRunner().invoke(main, ["-q", *args], catch_exceptions=False)


def test_fit_eval_export_from_the_command_line(face_zip, tmp_path):
    config = tmp_path / "recipe.toml"
    config.write_text(
        'model = "fer_resnet"\nepochs = 2\nbatch_size = 16\nthreads = 1\n'
        "[model_options]\nwidths = [8, 16, 16, 16]\nblocks = [1, 1, 1, 1]\nstem = 8\n"
    )
    cache = str(tmp_path / "cache")
    out = tmp_path / "run"
    fitted = run(
        "fit",
        "--config",
        str(config),
        "--data",
        str(face_zip),
        "--val",
        str(face_zip),
        "--out",
        str(out),
        "--cache-dir",
        cache,
        "--no-progress",
        "--optimizer",
        "adamw",
        "--label-smoothing",
        "0.1",
    )
    assert fitted.exit_code == 0, fitted.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"] == "fer_resnet" and saved["optimizer"] == "adamw" and saved["epochs"] == 2

    evaluated = run(
        "eval",
        "--model",
        str(out / "best.pt"),
        "--data",
        str(face_zip),
        "--out",
        str(tmp_path / "ev"),
        "--cache-dir",
        cache,
    )
    assert evaluated.exit_code == 0 and "balanced accuracy" in evaluated.output
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["n"] == 49

    exported = run(
        "export", "--model", str(out / "best.pt"), "--out", str(tmp_path / "exp"), "--name", "m", "--cache-dir", cache
    )
    assert exported.exit_code == 0 and (tmp_path / "exp" / "m.onnx").is_file()
    assert not (tmp_path / "exp" / "m.int8.onnx").exists()


def test_user_errors_are_one_line(face_zip, tmp_path):
    cases = [
        ("fit", "--data", str(face_zip), "--out", str(tmp_path / "r"), "--classes", "angry,unicorn"),
        ("fit", "--data", str(face_zip)),
        ("eval", "--model", str(face_zip), "--data", str(face_zip)),
    ]
    for args in cases:
        result = run(*args, "--cache-dir", str(tmp_path / "c"))
        assert result.exit_code == 1, args
        assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1, result.output
    missing = run("fit", "--data", str(tmp_path / "nope.zip"), "--out", str(tmp_path / "r"))
    assert missing.exit_code == 2 and "nope.zip" in missing.output


def test_version_and_help_load_no_heavy_library():
    code = (
        "import sys\nfrom fer_train.cli import main\nfor args in (['--version'], ['--help']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'onnxsim', 'onnxruntime') if m in sys.modules]\n"
        "sys.exit(len(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and "fer-train, version" in result.stdout and "Commands:" in result.stdout
