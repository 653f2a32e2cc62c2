"""This CPU: what the OS reports of it, its nominal multiply-accumulate peak (from those facts and stated
assumptions) and the roofs ONNX Runtime reaches on it, measured."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Any

from benchmarks.records import JsonRecord
from fer_train.cpu import cpuinfo


@dataclass(frozen=True)
class CpuHeader(JsonRecord):
    """What a result says of the CPU it was measured on."""

    cpu: str
    cores: int
    avx512: bool
    vnni: bool

    def line(self) -> str:
        """ "CPU: NAME, N cores, AVX-512 BOOL, VNNI BOOL" (a sentence; the caller ends it)."""
        return f"CPU: {self.cpu}, {self.cores} cores, AVX-512 {self.avx512}, VNNI {self.vnni}"


@dataclass(frozen=True)
class CpuPeak(JsonRecord):
    """This CPU as the OS reports it and its nominal multiply-accumulate peak (`cpu_peak`)."""

    cpu: str
    vendor: str
    cores: int
    ghz: float
    avx512: bool
    vnni: bool
    float_macs_per_cycle_per_core: int
    int8_macs_per_cycle_per_core: int
    float_peak_gmacs: float
    int8_peak_gmacs: float
    derivation: str

    @property
    def header(self) -> CpuHeader:
        return CpuHeader(self.cpu, self.cores, self.avx512, self.vnni)


@dataclass(frozen=True)
class CpuRoofs:
    """The main benchmark's CPU: its nominal peak and the GMAC/s `measured_roof` reached in the run, by threads."""

    peak: CpuPeak
    float_gmacs: dict[int, float]
    int8_gmacs: dict[int, float] | None  # None in results from before the int8 roof was measured

    @classmethod
    def measure(cls, threads: tuple[int, ...] = (1, 2)) -> CpuRoofs:
        return cls(
            cpu_peak(), {t: measured_roof(t) for t in threads}, {t: measured_roof(t, int8=True) for t in threads}
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CpuRoofs:
        int8 = data.get("measured_int8_gmacs")
        return cls(
            CpuPeak.from_json(data),
            {int(t): float(v) for t, v in data["measured_float_gmacs"].items()},
            {int(t): float(v) for t, v in int8.items()} if int8 is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        int8 = {"measured_int8_gmacs": {str(t): v for t, v in self.int8_gmacs.items()}} if self.int8_gmacs else {}
        return {**self.peak.to_json(), "measured_float_gmacs": {str(t): v for t, v in self.float_gmacs.items()}, **int8}

    def roof(self, threads: int, int8: bool = False) -> float:
        """The measured ceiling on `threads` threads: a large matrix product's GMAC/s in ONNX Runtime, float32
        `MatMul` or uint8 x int8 `MatMulInteger` (results before both were measured: the float one times the
        instruction set's int8-to-float MACs per cycle)."""
        measured = self.float_gmacs[threads]
        if not int8:
            return measured
        if self.int8_gmacs is not None:
            return self.int8_gmacs[threads]
        return measured * self.peak.int8_macs_per_cycle_per_core / self.peak.float_macs_per_cycle_per_core


def cpu_peak() -> CpuPeak:
    """Peak = cores × clock × MACs per cycle per core.

    MACs per cycle: two FMA pipes per core (true for current x86 server cores); a pipe does
    16 float32 FMAs a cycle if 512 bits wide (Intel AVX-512 server cores; AMD Zen 5, recognised by
    its AVX-VNNI flag) or 8 if 256 bits wide (AMD Zen 4 runs AVX-512 as two halves; AVX2 parts);
    VNNI (vpdpbusd) does 4 int8 MACs per 32-bit lane, 2 without it. The clock is the nominal one
    the OS reports; turbo can exceed it, so measured shares above 100% mean a higher real clock.
    """
    info = cpuinfo()
    flags = set(info.get("flags", "").split())
    cores = os.cpu_count() or 1
    ghz = float(info.get("cpu MHz", "0") or 0) / 1000
    vendor = info.get("vendor_id", platform.processor())
    wide = "avx512f" in flags and (vendor != "AuthenticAMD" or "avx_vnni" in flags)
    lanes_per_pipe = 16 if wide else 8
    pipes = 2
    float_per_cycle = pipes * lanes_per_pipe
    vnni = bool(flags & {"avx512_vnni", "avx_vnni"})
    int8_per_cycle = float_per_cycle * 4 if vnni else float_per_cycle * 2
    return CpuPeak(
        cpu=info.get("model name", platform.processor()),
        vendor=vendor,
        cores=cores,
        ghz=ghz,
        avx512="avx512f" in flags,
        vnni=vnni,
        float_macs_per_cycle_per_core=float_per_cycle,
        int8_macs_per_cycle_per_core=int8_per_cycle,
        float_peak_gmacs=cores * ghz * float_per_cycle,
        int8_peak_gmacs=cores * ghz * int8_per_cycle,
        derivation=(
            f"{cores} cores x {ghz:.2f} GHz x {pipes} FMA pipes x {lanes_per_pipe} float32 lanes "
            f"(x4 int8 MACs per lane with VNNI); cores as the OS counts them (vCPUs may be SMT siblings)"
        ),
    )


def measured_roof(
    threads: int, int8: bool = False, sizes: tuple[int, ...] = (256, 512, 1024), repeats: int = 10
) -> float:
    """GMAC/s of the fastest of a few square matrix products in ONNX Runtime (MLAS) on `threads` threads:
    float32 `MatMul`, or with `int8` uint8 x int8 `MatMulInteger` (the kernels the int8 graphs' convolutions
    use). The rate this CPU really sustains, its real clock, caches and instruction set included, against
    which the models' rates can be read (one size alone read low on a shared virtual machine)."""
    return max(_matmul_gmacs(threads, size, repeats, int8) for size in sizes)


def _matmul_gmacs(threads: int, size: int, repeats: int, int8: bool) -> float:
    import time

    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    types = (TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32) if int8 else (TensorProto.FLOAT,) * 3
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger" if int8 else "MatMul", ["a", "b"], ["c"])],
        "gemm",
        [helper.make_tensor_value_info(n, t, [size, size]) for n, t in zip(("a", "b"), types)],
        [helper.make_tensor_value_info("c", types[2], [size, size])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed: dict[str, np.ndarray] = (
        {
            "a": rng.integers(0, 255, (size, size), dtype=np.uint8),
            "b": rng.integers(-127, 127, (size, size), dtype=np.int8),
        }
        if int8
        else {n: rng.random((size, size), dtype=np.float32) for n in ("a", "b")}
    )
    session.run(None, feed)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(None, feed)
        best = min(best, time.perf_counter() - started)
    return size**3 / best / 1e9
