"""What the OS says about this CPU: its name and instruction sets (int8 results of ONNX Runtime depend
on them: VNNI machines take another integer path than AVX2-only ones)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpuinfo() -> dict[str, str]:
    """The first processor's entries of /proc/cpuinfo (empty where there is none)."""
    info: dict[str, str] = {}
    path = Path("/proc/cpuinfo")
    for line in path.read_text().splitlines() if path.exists() else []:
        if ":" in line:
            key, value = (part.strip() for part in line.split(":", 1))
            info.setdefault(key, value)
    return info


def describe_cpu() -> str:
    """e.g. "AMD EPYC (AVX-512, VNNI)" or "Intel Xeon (AVX2)"."""
    info = cpuinfo()
    flags = set(info.get("flags", "").split())
    features = [
        name
        for name, present in (
            ("AVX-512", "avx512f" in flags),
            ("VNNI", bool(flags & {"avx512_vnni", "avx_vnni"})),
            ("AVX2", "avx2" in flags and "avx512f" not in flags),
        )
        if present
    ]
    name = info.get("model name") or platform.processor() or "unknown CPU"
    return f"{name} ({', '.join(features)})" if features else name
