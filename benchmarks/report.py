"""The benchmark result as markdown, with the goals checked from ratios of the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.inference_runs import ColdStart, FolderRate, ModelRun, model_runs
from benchmarks.part import run_heading
from benchmarks.peak import CpuRoofs
from benchmarks.profile_ops import OpProfile
from benchmarks.report_peer import peer_goals, peer_lines
from benchmarks.report_photos import photo_goals, photo_lines
from benchmarks.report_serve import serve_goals, serve_lines
from benchmarks.training_runs import TrainingSpeed
from fer_runtime.atomic import write_text
from fer_runtime.markdown import goal_table, markdown_table

START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
FLOAT_VS_TORCH = "ORT float >= 1.5x PyTorch eager throughput (batch 64, 2 threads)"
INT8_SHARE_OF_ROOF = 0.75  # int8 over float at batch 1 against what the CPU's int8 and float roofs allow
INT8_VS_FLOAT = (
    f"ORT int8 over ORT float at batch 1 (2 threads) >= {INT8_SHARE_OF_ROOF:.0%} of the CPU's measured int8/float "
    "roof ratio"
)
INT8_ROOF_SHARE = 0.75  # the int8 graph's rate at batch 64 against the int8 roof
INT8_AT_ROOF = f"ORT int8 at batch 64 (2 threads) >= {INT8_ROOF_SHARE:.0%} of the measured int8 roof"
STEM_HANDOFF = ("Conv", "ReorderOutput", "QuantizeLinear", "Transpose")  # the float stem and its way into int8
RUNTIMES = (("pytorch", "PyTorch eager"), ("ort_float", "ORT float"), ("ort_int8", "ORT int8"))


def _fmt(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else format(value, pattern)


def goals(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    shipped = model_runs(result)[0]
    acc = shipped.balanced_accuracy
    int8 = shipped.on("ort_int8", 2)
    float_vs_torch = shipped.on("ort_float", 2).batch64_per_s / shipped.on("pytorch", 2).batch64_per_s
    int8_vs_float = shipped.on("ort_float", 2).batch1_ms / int8.batch1_ms
    cpu = CpuRoofs.from_json(result["cpu"])
    roof_ratio = cpu.roof(2, int8=True) / cpu.roof(2)
    int8_share = _int8_roof_share(shipped, cpu)
    drop = (acc["ort_float"] - acc["ort_int8"]) * 100  # type: ignore[operator]  # ORT's are always measured
    best_b1 = min(shipped.on("ort_int8", 1).batch1_ms, int8.batch1_ms)
    cold = ColdStart.from_json(result["cold_start"]).ratio
    train = TrainingSpeed.from_json(result["training"])
    full_run = train.full_run_min
    return [
        (FLOAT_VS_TORCH, f"{float_vs_torch:.2f}x", float_vs_torch >= 1.5),
        (
            INT8_VS_FLOAT,
            f"{int8_vs_float:.2f}x (roofs {roof_ratio:.2f}x, goal {INT8_SHARE_OF_ROOF * roof_ratio:.2f}x)",
            int8_vs_float >= INT8_SHARE_OF_ROOF * roof_ratio,
        ),
        (INT8_AT_ROOF, f"{int8_share:.0%}", int8_share >= INT8_ROOF_SHARE),
        ("int8 loses <= 1 point of balanced accuracy", f"{drop:+.2f} points", drop <= 1.0),
        ("fer-run cold start <= 1/4 of the PyTorch script's", f"{cold:.2f}", cold <= 0.25),
        (
            "int8 >= 3,000 crops/s at batch 64 (2 threads)",
            f"{int8.batch64_per_s:,.0f}/s",
            int8.batch64_per_s >= 3000,
        ),
        ("int8 <= 0.5 ms per crop at batch 1", f"{best_b1:.3f} ms", best_b1 <= 0.5),
        (
            f"one training run of the recipe ({train.epochs} epochs of {train.full_images:,} images) <= 60 min "
            "(2 threads)",
            f"{full_run:.0f} min ({train.recipe_precision})",
            full_run <= 60,
        ),
    ]


def _speed_lines(result: dict[str, Any]) -> list[str]:
    cpu = CpuRoofs.from_json(result["cpu"])
    rows = []
    models = model_runs(result)
    for model in models:
        for runtime, label in RUNTIMES:
            for threads in (1, 2):
                s = model.on(runtime, threads)
                gmacs = s.batch64_per_s * model.macs_per_image / 1e9
                peak_share = gmacs / cpu.roof(threads, int8=runtime == "ort_int8") * 100
                size = model.file_bytes["checkpoint" if runtime == "pytorch" else runtime.removeprefix("ort_")]
                rows.append(
                    (
                        model.name,
                        label,
                        threads,
                        f"{s.batch1_ms:.3f} ({s.batch1_ms_min:.3f}-{s.batch1_ms_max:.3f})",
                        f"{s.batch64_per_s:,.0f} ({s.batch64_per_s_min:,.0f}-{s.batch64_per_s_max:,.0f})",
                        f"{gmacs:.1f} ({peak_share:.0f}%)",
                        _fmt(model.balanced_accuracy[runtime], ".4f"),
                        f"{size / 1e6:.2f}",
                    )
                )
    header = (
        "model", "runtime", "threads", "batch 1 ms (min-max)", "batch 64 crops/s (min-max)", "GMAC/s (% of roof)",
        "balanced acc.", "file MB",
    )  # fmt: skip
    sizes = [(m.name, f"{m.parameters:,}", f"{m.macs_per_image / 1e6:.1f} M") for m in models]
    return [*markdown_table(header, rows), "", *markdown_table(("model", "parameters", "MACs per image"), sizes)]


def _run_lines(result: dict[str, Any]) -> list[str]:
    """Cold start, the folder, the roofs and training speed, a bullet each."""
    cpu, train = CpuRoofs.from_json(result["cpu"]), TrainingSpeed.from_json(result["training"])
    cold, folder = ColdStart.from_json(result["cold_start"]), FolderRate.from_json(result["folder"])
    return [
        f"- Cold start (process start to first result, median): `fer-run` {cold.fer_run_s:.2f} s, "
        f"minimal PyTorch script {cold.pytorch_script_s:.2f} s (ratio {cold.ratio:.2f}).",
        f"- `fer-run` over a folder of {folder.images} crops: {folder.seconds:.2f} s, "
        f"{folder.images_per_s:.0f} images/s (process start included){_script_rate(folder)}; in process "
        f"(`run_images`, decoding a batch ahead) {folder.in_process_per_s:.0f} images/s, against "
        f"{folder.classify_per_s:.0f}/s from `Recognizer.classify` at batch 64 on the same decoded crops"
        f"{_flip_rate(folder)}; "
        f"`--engine ray` on a local Ray ({folder.ray_actors} actor(s), pipeline start included) "
        f"{folder.ray_per_s:.0f} images/s.",
        f"- Roof (the % column): a large float32 MatMul in ONNX Runtime, measured in this run, reaches "
        f"{cpu.roof(1):.0f} GMAC/s on 1 thread and {cpu.roof(2):.0f} "
        f"on 2; the int8 roof ({'uint8 x int8 `MatMulInteger`' if cpu.int8_gmacs else 'derived'}) "
        f"{cpu.roof(1, int8=True):.0f} and {cpu.roof(2, int8=True):.0f}. For reference, the nominal peak from "
        f"the clock the OS reports ({cpu.peak.derivation}) is {cpu.peak.float_peak_gmacs:.0f} GMAC/s float.",
        f"- Training (`fit` with `{train.config}`, one epoch of `{train.data}`, {train.threads} threads, "
        "validation excluded): "
        + ", ".join(
            f"{p} {s.images_per_s:.0f} images/s ({s.full_run_min:.0f} min for the full run)"
            for p, s in train.speed.items()
        )
        + ".",
        "- Training under `torchrun` (the same epoch, float32, the same cores): "
        + ", ".join(
            f"{n} process(es) x {r.threads_each} thread(s), batch {r.batch_each} each: {r.images_per_s:.0f} images/s"
            for n, r in train.torchrun.items()
        )
        + ".",
    ]


def _flip_rate(folder: FolderRate) -> str:
    """classify's rate with the test-time flip, absent from results written before it was measured."""
    if folder.classify_flip_per_s is None:
        return ""
    share = folder.classify_flip_per_s / folder.classify_per_s
    return f' (with `tta="flip"`, the model run twice: {folder.classify_flip_per_s:.0f}/s, {share:.2f}x)'


def _folder_goal(folder: FolderRate) -> tuple[str, str, bool]:
    if folder.script_share is None:  # results from before the classify script was timed
        share = folder.in_process_share
        goal = "a folder of crops in process >= 80% of classify's batch-64 rate (median of paired repeats)"
        return goal, f"{share:.0%}", share >= 0.8
    return (
        "`fer-run` on a folder of crops >= 0.85x a classify script's rate (whole processes, median of paired repeats)",
        f"{folder.script_share:.2f}x",
        folder.script_share >= 0.85,
    )


def _script_rate(folder: FolderRate) -> str:
    if folder.script_seconds is None:
        return ""
    return (
        f" against {folder.script_seconds:.2f} s for a script reading, decoding and classifying them 64 at a"
        f" time ({folder.script_share:.2f}x its rate, median of paired runs)"
    )


def markdown(result: dict[str, Any]) -> str:
    folder_goal = _folder_goal(FolderRate.from_json(result["folder"]))
    runtime_goals = goals(result)
    every_goal = runtime_goals + [folder_goal] + peer_goals(result) + photo_goals(result)
    lines = [
        run_heading(result, "Benchmark", " (quick: smoke test only)" if result["quick"] else "")
        + f"; torch {result['versions']['torch']}, "
        f"onnxruntime {result['versions']['onnxruntime']}; accuracy on `{Path(result['test_data']).name}`.",
        "",
        *_speed_lines(result),
        "",
        *_run_lines(result),
        "",
        *goal_table(every_goal + serve_goals(result)),
    ]
    sections = (
        peer_lines(result)
        + photo_lines(result)
        + serve_lines(result)
        + _profile_lines(result)
        + _why_lines(result, {goal: ok for goal, _, ok in runtime_goals})
    )
    return "\n".join(lines + sections)


def _profile_lines(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "Where the time goes (ONNX Runtime profiler, shipped model, 1 thread; kernel microseconds per run):",
        "",
    ]
    rows = []
    for entry in map(OpProfile.from_json, result["profile"]):
        rows.append(
            (
                entry.graph,
                entry.batch,
                f"{entry.run_us:.0f}",
                f"{entry.conv_us:.0f}",
                ", ".join(f"{op} {us:.0f}" for op, us in list(entry.other_us.items())[:4]),
                ", ".join(f"`{node.node}` {node.op} {node.us:.0f}" for node in entry.slowest_nodes),
            )
        )
    header = ("graph", "batch", "run µs", "convolutions µs", "top other ops (µs)", "slowest nodes (µs)")
    return lines + markdown_table(header, rows)


def _why_lines(result: dict[str, Any], met: dict[str, bool]) -> list[str]:
    """The measured reasons behind the runtime-ratio and roof goals (`met`: each goal of `goals` met or not), from
    figures of the same run."""
    shipped, cpu = model_runs(result)[0], CpuRoofs.from_json(result["cpu"])
    rate = {e: shipped.on(e, 2).batch64_per_s * shipped.macs_per_image / 1e9 for e in ("pytorch", "ort_float")}
    profile = {(p.graph, p.batch): p for p in map(OpProfile.from_json, result["profile"])}
    f1, q1 = profile[("float", 1)], profile[("int8", 1)]
    conv_gain = f1.conv_us / max(q1.conv_us, 1e-9)
    rest = sum(q1.other_us.values())
    one_thread, two_threads = (
        shipped.on("ort_float", t).batch1_ms / shipped.on("ort_int8", t).batch1_ms for t in (1, 2)
    )
    only = profile.get(("int8 (Conv/Gemm only)", 1))
    lines = ["", "Measured reasons behind the runtime ratios (same run):"]
    if not met[FLOAT_VS_TORCH]:
        lines.append(
            f"- ORT float vs PyTorch: a large float32 matrix product in ONNX Runtime (MLAS) sustains "
            f"{cpu.roof(2):.0f} GMAC/s on 2 threads ({cpu.roof(1):.0f} on 1), the ceiling this CPU really "
            f"sustains. At batch 64 ONNX Runtime float runs the model at {rate['ort_float']:.0f} GMAC/s "
            f"({rate['ort_float'] / cpu.roof(2):.0%} of it) and PyTorch eager at {rate['pytorch']:.0f} "
            f"({rate['pytorch'] / cpu.roof(2):.0%}); 1.5x PyTorch would need "
            f"{1.5 * rate['pytorch'] / cpu.roof(2):.0%} of a large matrix product's rate on this model's small "
            f"convolutions ({shipped.macs_per_image / 1e6:.0f} M MACs per image)."
        )
    if not met[INT8_VS_FLOAT]:
        lines.append(
            f"- int8 vs float at batch 1: the int8 graph's convolutions (its float stem too) take {q1.conv_us:.0f} µs "
            f"against {f1.conv_us:.0f} µs "
            f"in float ({conv_gain:.1f}x, kernel time under the profiler); the other int8 kernels ("
            + ", ".join(list(q1.other_us)[:4])
            + f") take {rest:.0f} µs more, the float ones {sum(f1.other_us.values()):.0f}. "
            f"Unprofiled, int8 is {one_thread:.2f}x float at 1 thread and {two_threads:.2f}x at 2 (one image "
            "gives a second thread little to do)."
            + (
                f" Quantizing only Conv/Gemm costs more ({only.run_us:.0f} µs per run: float operators "
                "between quantize/dequantize pairs)."
                if only
                else ""
            )
        )
    if not met[INT8_AT_ROOF]:
        lines.append(
            _int8_roof_line(_int8_roof_share(shipped, cpu), shipped.macs_per_image, cpu, profile[("int8", 64)])
        )
    return lines if len(lines) > 2 else []


def _int8_roof_share(shipped: ModelRun, cpu: CpuRoofs) -> float:
    """The shipped model's int8 rate at batch 64 on 2 threads as a share of the int8 roof."""
    return shipped.on("ort_int8", 2).batch64_per_s * shipped.macs_per_image / 1e9 / cpu.roof(2, int8=True)


def _int8_roof_line(share: float, macs_per_image: float, cpu: CpuRoofs, q64: OpProfile) -> str:
    """Where the int8 graph's time at batch 64 goes against the int8 roof (`share` of it reached, 2 threads), from
    its profile (one thread)."""
    kernels = sum(q64.op_us.values())
    handoff = sum(q64.op_us.get(op, 0.0) for op in STEM_HANDOFF)
    conv_rate = macs_per_image * q64.batch / q64.op_us["QLinearConv"] / 1e3  # GMAC/s, the whole model's MACs
    return (
        f"- int8 at batch 64 against its roof: under the profiler (1 thread, {kernels:,.0f} µs of kernels a run), the "
        f"float stem and its way into int8 ({', '.join(STEM_HANDOFF)}) take {handoff:,.0f} µs "
        f"({handoff / kernels:.0%}) for one convolution over the gray channel; the int8 convolutions run the model's "
        f"MACs at {conv_rate:.0f} GMAC/s ({conv_rate / cpu.roof(1, int8=True):.0%} of the 1-thread int8 roof). "
        f"Without the hand-off the graph would run about {kernels / (kernels - handoff):.2f}x as fast, near "
        f"{share * kernels / (kernels - handoff):.0%} of the roof; ONNX Runtime keeps the stem's output in float and "
        'in its own layout until it is quantized, and an int8 stem is slower (docs/crowd.md, "The stem in float").'
    )


def fill_block(path: Path, start: str, end: str, body: str) -> None:
    """Replace what lies between the markers `start` and `end` in the file at `path` with `body` (atomically)."""
    text = path.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{path} lacks the {start} ... {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    write_text(path, f"{head}{start}\n{body}\n{end}{tail}")


def update_readme(readme: Path, table: str) -> None:
    fill_block(readme, START, END, table)
