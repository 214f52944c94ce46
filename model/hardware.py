"""What this machine's CPU computes natively, for choosing a runtime."""

from __future__ import annotations

from functools import cache
from pathlib import Path

BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The feature flags of the first CPU in ``cpuinfo`` (empty where there is no such file)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@cache
def native_bf16() -> bool:
    """Whether matrix products in bf16 run in hardware here (Intel AMX or AVX-512 BF16).

    Elsewhere torch emulates bf16, which is slower than fp32, so the bf16 runtime is only chosen
    where this holds.
    """
    return bool(BF16_FLAGS & cpu_flags())
