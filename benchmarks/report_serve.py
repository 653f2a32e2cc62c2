"""The service part of the benchmark as markdown: `fer-serve` under `wrk` against the in-process rates."""

from __future__ import annotations

from typing import Any

from benchmarks.overload_run import Overload
from benchmarks.part import run_heading
from benchmarks.serve_runs import BadInputs, InProcessRates
from benchmarks.wrk_run import Latency, WrkRun
from fer_runtime.markdown import goal_table, markdown_table

MIN_REQUESTS = 10_000  # the memory goal's request count


def serve_goals(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    serve = result.get("serve", {})
    if "crops" not in serve:
        return []
    base, over = InProcessRates.from_json(serve["in_process"]), Overload.from_json(serve["overload"])
    crops, photos = WrkRun.from_json(serve["crops"]["micro-batching"]), WrkRun.from_json(serve["photos"])
    crop_share, photo_share = crops.per_s / base.classify_per_s, photos.per_s / base.analyze_per_s
    refused = None if over.probe.turned_away is None else over.probe.turned_away.p99
    bad = BadInputs.from_json(serve["bad_inputs"])
    return [
        *_roof_goals(serve, crops),
        (
            f"fer-serve, crops one per request on {crops.connections} connections >= 0.5x classify's batch-64 rate, no non-2xx",
            f"{crop_share:.2f}x, {crops.non_2xx} non-2xx",
            crop_share >= 0.5 and crops.non_2xx == 0,
        ),
        ("fer-serve, 640x480 photos >= 0.8x analyze's rate", f"{photo_share:.2f}x", photo_share >= 0.8),
        (
            "fer-serve at twice its capacity: overflow answered 503 within 50 ms (p99)",
            "no 503 seen" if refused is None else f"{refused:.1f} ms",
            refused is not None and refused <= 50,
        ),
        (
            f"fer-serve memory growth <= 50 MB over {MIN_REQUESTS:,} requests, alive after, exit 0",
            f"{over.rss_growth_mb:+.1f} MB over {over.run.requests:,}",
            over.rss_growth_mb <= 50
            and over.run.requests >= MIN_REQUESTS
            and over.alive_after
            and over.exit_status == 0,
        ),
        (
            "fer-serve: bad inputs under load all 4xx, healthy after each",
            f"{bad.rounds} rounds, {bad.unhealthy_after} unhealthy",
            bad.all_4xx and bad.unhealthy_after == 0,
        ),
    ]


def _roof_goals(serve: dict[str, Any], crops: WrkRun) -> list[tuple[str, str, bool]]:
    """`crops` (one per request) against the HTTP stack's own rate, and the batch route against in-process classify
    (results measured before 2026-12-03 lack both)."""
    if "healthz" not in serve:
        return []
    healthz = WrkRun.from_json(serve["healthz"])
    share = crops.per_s / healthz.per_s
    goals = [
        (
            "fer-serve, crops one per request >= 0.7x of GET /healthz's rate (same server, connections and wrk)",
            f"{share:.2f}x ({healthz.per_s:,.0f} requests/s)",
            share >= 0.7,
        )
    ]
    classify = InProcessRates.from_json(serve["in_process"]).classify_per_s
    for name, batch in _batch_runs(serve).items():
        batch_share = batch.crops_per_s / classify
        goals.append(
            (
                f"fer-serve, /v1/analyze/batch ({batch.crops_per_request} crops a request{name}) >= 0.8x "
                "classify's batch-64 rate, no non-2xx",
                f"{batch_share:.2f}x, {batch.non_2xx} non-2xx",
                batch_share >= 0.8 and batch.non_2xx == 0,
            )
        )
    return goals


def _batch_runs(serve: dict[str, Any]) -> dict[str, WrkRun]:
    """The batch route's runs by how their crops were sent (results measured before 2026-12-07 lack the stack)."""
    kinds = {"batch": "", "batch_stack": ", as one .npy stack"}
    return {name: WrkRun.from_json(serve[key]) for key, name in kinds.items() if key in serve}


def _row(name: str, run: WrkRun, unit: str) -> tuple[object, ...]:
    return (
        name,
        f"{run.crops_per_s:,.0f} {unit}/s",
        f"{run.latency_ms.p50:.1f}",
        f"{run.latency_ms.p99:.1f}",
        f"{run.requests:,}",
        run.non_2xx,
    )


def serve_lines(result: dict[str, Any]) -> list[str]:
    serve = result.get("serve")
    if serve is None:
        return []
    if "skipped" in serve:
        return ["", f"`fer-serve` was not measured: {serve['skipped']}."]
    base, over = InProcessRates.from_json(serve["in_process"]), Overload.from_json(serve["overload"])
    lines = [
        "",
        "`fer-serve` on this machine, driven by `wrk` on 127.0.0.1 (client and server share the cores):",
        "",
    ]
    runs = {name: WrkRun.from_json(run) for name, run in serve["crops"].items()}
    rows = [_row(f"crops, {run.connections} connections, {name}", run, "crops") for name, run in runs.items()]
    if "healthz" in serve:
        healthz = WrkRun.from_json(serve["healthz"])
        rows.append(_row(f"GET /healthz, {healthz.connections} connections", healthz, "requests"))
        for name, batch in _batch_runs(serve).items():
            load = f"crops, /v1/analyze/batch with {batch.crops_per_request} a request{name}"
            rows.append(_row(f"{load}, {batch.connections} connections", batch, "crops"))
    photos = WrkRun.from_json(serve["photos"])
    rows.append(_row(f"640x480 photos, {photos.connections} connections", photos, "photos"))
    lines += markdown_table(("load", "answered", "p50 ms", "p99 ms", "requests", "non-2xx"), rows)
    lines += [
        "",
        f"- In process, same run: `Recognizer.classify` at batch 64 {base.classify_per_s:,.0f} crops/s, "
        f"`Recognizer.analyze` {base.analyze_per_s:,.1f} photos/s.",
        f"- Twice the capacity ({over.offered_per_s:,.0f} requests/s offered by {over.run.connections} connections, "
        f"the server letting {over.max_queue} faces wait): {over.run.statuses.get('200', 0):,} answered 200 and "
        f"{over.run.statuses.get('503', 0):,} answered 503 in {over.run.seconds:.1f} s. One more client among them, "
        f"on a kept-alive connection, saw its 503s in {_spread(over.probe.turned_away)} and its 200s in "
        f"{_spread(over.probe.accepted)}; resident memory {over.rss_before_mb:.0f} MB, "
        f"{over.rss_growth_mb:+.1f} MB after {over.run.requests:,} requests.",
        "- Bad inputs sent during the crops load: "
        + ", ".join(
            f"{name} {'/'.join(map(str, s))}" for name, s in BadInputs.from_json(serve["bad_inputs"]).statuses.items()
        )
        + ".",
    ]
    return lines


def _spread(latency: Latency | None) -> str:
    if latency is None:
        return "(none seen)"
    return f"{latency.p50:.1f} / {latency.p90:.1f} / {latency.p99:.1f} ms (p50 / p90 / p99)"


def serve_markdown(result: dict[str, Any]) -> str:
    """The service part alone (`python -m benchmarks.measure_serve`): what ran where, the tables, the goals."""
    lines = [run_heading(result, "Service benchmark") + ".", *serve_lines(result)]
    lines += ["", *goal_table(serve_goals(result))]
    return "\n".join(lines)
