"""Where the time goes inside a graph: ONNX Runtime's own profiler, kernel time summed per op type, and the
nodes that take the most."""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from benchmarks.records import JsonRecord

CONVOLUTIONS = ("Conv", "QLinearConv")
SLOWEST = 3  # nodes named per profile


@dataclass(frozen=True)
class SlowNode(JsonRecord):
    node: str
    op: str
    us: float


@dataclass(frozen=True)
class OpProfile:
    """One graph (`graph`, its name in the result) at one batch size: microseconds of a whole run (median), kernel
    microseconds per op type (slowest first) and the slowest nodes."""

    graph: str
    batch: int
    threads: int
    run_us: float
    op_us: dict[str, float]
    slowest_nodes: list[SlowNode]

    @property
    def conv_us(self) -> float:
        """The convolutions' share: Conv and QLinearConv kernels."""
        return sum(us for op, us in self.op_us.items() if op in CONVOLUTIONS)

    @property
    def other_us(self) -> dict[str, float]:
        return {op: us for op, us in self.op_us.items() if op not in CONVOLUTIONS}

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "slowest_nodes": [n.to_json() for n in self.slowest_nodes]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OpProfile:
        return cls(**{**data, "slowest_nodes": [SlowNode.from_json(n) for n in data["slowest_nodes"]]})


def op_profile(name: str, graph: Path, batch: np.ndarray, runs: int, threads: int = 1) -> OpProfile:
    """`graph` (called `name` in the result) profiled: microseconds per run of each op type (kernel time, sum of
    per-node medians), of the slowest nodes and of the whole run."""
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "profile")
        session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: batch}
        for _ in range(runs):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    per_node: dict[tuple[str, str], list[float]] = defaultdict(list)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_node[(event["args"]["op_name"], event["name"])].append(event["dur"])
    node_us = {key: float(np.median(durations)) for key, durations in per_node.items()}  # a stall counts little
    per_op: defaultdict[str, float] = defaultdict(float)
    for (op, _), us in node_us.items():
        per_op[op] += us
    slowest = sorted(node_us.items(), key=lambda item: -item[1])[:SLOWEST]
    run_us = [event["dur"] for event in events if event.get("name") == "model_run"]
    return OpProfile(
        graph=name,
        batch=len(batch),
        threads=threads,
        run_us=float(np.median(run_us)),
        op_us=dict(sorted(per_op.items(), key=lambda item: -item[1])),
        slowest_nodes=[SlowNode(node=node.removesuffix("_kernel_time"), op=op, us=us) for (op, node), us in slowest],
    )
