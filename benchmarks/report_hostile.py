"""The fuzz and abuse parts as markdown: what ran, what came back, and the goals of hostile input."""

from __future__ import annotations

from typing import Any

from benchmarks.abuse_runs import KilledWorker, SlowClients
from benchmarks.fuzz_runs import FolderRun, Uploads
from benchmarks.part import run_heading
from fer_runtime.markdown import goal_table, markdown_table

FUZZ_GOAL = 10_000  # fuzzed uploads and files the goal asks for
SLOW_RATE_SHARE = 0.8  # normal requests beside the slow clients keep this share of their rate
SLOW_P99_FACTOR = 2.0  # and their p99 within this factor
REPLACED_WITHIN_S = 5.0


def fuzz_goals(fuzz: dict[str, Any]) -> list[tuple[str, str, bool]]:
    uploads, run = Uploads.from_json(fuzz["uploads"]), FolderRun.from_json(fuzz["fer_run"])
    return [
        (
            f"{FUZZ_GOAL:,} fuzzed uploads: 0 tracebacks, 0 5xx (or unanswered)",
            f"{uploads.posted:,} uploads: {uploads.tracebacks} tracebacks, {uploads.server_errors} 5xx or unanswered",
            uploads.posted >= FUZZ_GOAL and uploads.tracebacks == 0 and uploads.server_errors == 0,
        ),
        (
            f"{FUZZ_GOAL:,} fuzzed files through fer-run: 0 tracebacks, each a record or a one-line error",
            f"{run.files:,} files: {run.tracebacks} tracebacks, {run.answered:,} answered",
            run.files >= FUZZ_GOAL and run.tracebacks == 0 and run.answered == run.files,
        ),
    ]


def fuzz_markdown(result: dict[str, Any]) -> str:
    fuzz = result["fuzz"]
    uploads, run = Uploads.from_json(fuzz["uploads"]), FolderRun.from_json(fuzz["fer_run"])
    mutations = sorted(uploads.by_mutation)
    statuses = sorted({s for counts in uploads.by_mutation.values() for s in counts})
    lines = [
        run_heading(result, "Fuzz run") + ".",
        "",
        f"{fuzz['files']:,} mutated files (seed {fuzz['seed']}) posted to `fer-serve` in {uploads.seconds:.0f} s "
        f"(alive after: {'yes' if uploads.alive_after else 'no'}, exit {uploads.exit_status}), answers by mutation:",
        "",
        *markdown_table(
            ("mutation", *statuses),
            [(kind, *(f"{uploads.by_mutation[kind].get(s, 0):,}" for s in statuses)) for kind in mutations],
        ),
    ]
    lines += [
        "",
        f"The same files through one `fer-run FOLDER --output fuzz.jsonl` process in {run.seconds:.0f} s: "
        f"{run.records:,} records, {run.error_lines:,} one-line errors, exit {run.exit_status}.",
    ]
    return "\n".join([*lines, "", *goal_table(fuzz_goals(fuzz))])


def abuse_goals(abuse: dict[str, Any]) -> list[tuple[str, str, bool]]:
    slow, killed = SlowClients.from_json(abuse["slow_clients"]), KilledWorker.from_json(abuse["killed_worker"])
    alone, beside = slow.alone.run, slow.beside_slow.run
    rate = beside.per_s / alone.per_s
    p99 = beside.latency_ms.p99 / alone.latency_ms.p99
    replaced, gap = killed.replaced_after_s, killed.probe.longest_gap_s
    failed = killed.run.non_2xx
    return [
        (
            f"with {slow.slow_clients:,} slow-header clients connected, normal requests keep "
            f">= {SLOW_RATE_SHARE}x their rate and p99 <= {SLOW_P99_FACTOR:g}x",
            f"{rate:.2f}x rate, {p99:.2f}x p99",
            rate >= SLOW_RATE_SHARE and p99 <= SLOW_P99_FACTOR,
        ),
        (
            f"slow-header clients answered 408 and closed by the {slow.header_timeout_s:g} s deadline",
            f"{slow.cut_off_408:,} of {slow.slow_clients:,} within {slow.cut_off_within_s:.1f} s",
            slow.cut_off_408 == slow.slow_clients,
        ),
        (
            f"worker killed under load: replaced and answering within {REPLACED_WITHIN_S:g} s, "
            f"failures only for its in-flight requests (<= {killed.run.connections} connections)",
            "not replaced"
            if replaced is None
            else f"replaced in {replaced:.1f} s, longest /healthz gap "
            f"{gap:.2f} s, {failed} failed of {killed.run.requests:,}",
            replaced is not None
            and replaced <= REPLACED_WITHIN_S
            and gap <= REPLACED_WITHIN_S
            and failed <= killed.run.connections,
        ),
    ]


def abuse_markdown(result: dict[str, Any]) -> str:
    abuse = result["abuse"]
    slow, killed = SlowClients.from_json(abuse["slow_clients"]), KilledWorker.from_json(abuse["killed_worker"])
    rows = [("alone", slow.alone.run), (f"beside {slow.slow_clients:,} slow-header clients", slow.beside_slow.run)]
    lines = [
        run_heading(result, "Abuse run") + ".",
        "",
        f"One-crop POSTs from `wrk` on 127.0.0.1, alone and beside the slow clients in turn for "
        f"{len(slow.alone.rounds)} rounds; the round of median rate with the median p99 (client, slow "
        "clients and server share the cores). Rates by round: alone "
        + " / ".join(f"{run.per_s:,.0f}" for run in slow.alone.rounds)
        + ", beside "
        + " / ".join(f"{run.per_s:,.0f}" for run in slow.beside_slow.rounds)
        + " crops/s.",
        "",
        *markdown_table(
            ("load", "crops/s", "p50 ms", "p99 ms", "requests", "socket errors"),
            [
                (
                    f"{name}, {run.connections} connections",
                    f"{run.per_s:,.0f}",
                    f"{run.latency_ms.p50:.1f}",
                    f"{run.latency_ms.p99:.1f}",
                    f"{run.requests:,}",
                    run.socket_errors,
                )
                for name, run in rows
            ],
        ),
    ]
    run, probe = killed.run, killed.probe
    lines += [
        "",
        f"`--workers {killed.workers}` under the same load, one worker killed with SIGKILL: {run.requests:,} "
        "requests, "
        + ", ".join(f"{n:,} answered {status}" for status, n in sorted(run.statuses.items()))
        + f", {run.socket_errors} socket errors; /healthz probed "
        f"{probe.probes:,} times, {probe.failures} failed, longest gap {probe.longest_gap_s:.2f} s; "
        f"{killed.startups} worker start-ups in the log, exit {killed.exit_status}.",
    ]
    return "\n".join([*lines, "", *goal_table(abuse_goals(abuse))])
