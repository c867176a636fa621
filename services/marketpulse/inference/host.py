"""The machine a speed figure was measured on.

The engine multiplies in int8 and the PyTorch baseline in fp32, so `bench model`'s speed-up depends
on how much faster this CPU runs int8 products than fp32 ones: on an AMD EPYC with AVX-512 VNNI and
no AMX that was 3.5x and the engine 4.6-6.5x the pipeline (by day and engine layout), where earlier
hosts of the same VM size gave 7-9x (model card). On AMD EPYCs with AVX2 alone int8 bought 1.0-1.1x
(Zen 2) and 1.4x (Zen 3), and the engine ran 2.8-2.9x and 3.2-3.5x the pipeline; there the fast int8
kernel also saturates, so the engine runs ORT's exact one (int8_kernel.py). A figure is only
comparable with the host beside it.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from marketpulse.inference.int8_kernel import exact_int8, matmul_graph, saturates

INT8_EXTENSIONS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "amx_tile"})
RUNTIMES = ("onnxruntime", "onnxruntime-gpu", "torch", "transformers")
# One FFN-in product of a caller batch: 32 headlines of ~18 tokens, hidden 384, FFN 1,536.
MATMUL_SHAPE = (576, 384, 1536)


def describe_host(threads: int) -> dict:
    """CPU, runtime versions, whether ORT's fast int8 kernel saturates here, and this host's ORT
    matrix-product rates on `threads` threads."""
    return {"cpus": os.cpu_count(), "cpu": cpu(), "python": platform.python_version(),
            **versions(RUNTIMES), "int8_fast_kernel_saturates": saturates(), "matmul_gops": matmul_rates(threads)}


def versions(packages: tuple[str, ...] | list[str]) -> dict[str, str]:
    found = {}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def cpu() -> dict[str, object]:
    """The CPU's name, family and model (Linux), and which int8 matrix extensions it has."""
    try:
        first = Path("/proc/cpuinfo").read_text(encoding="utf-8").split("\n\n")[0]
    except OSError:  # not Linux
        return {"name": platform.processor() or "unknown"}
    fields = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in first.splitlines() if ":" in line)}
    return {"name": fields.get("model name", "unknown"), "family": fields.get("cpu family"),
            "model": fields.get("model"),
            "int8_extensions": sorted(INT8_EXTENSIONS & set(fields.get("flags", "").split()))}


def matmul_rates(threads: int, shape: tuple[int, int, int] = MATMUL_SHAPE, calls: int = 40) -> dict[str, float]:
    """GOPS of one fp32 and one int8 product in ONNX Runtime on the CPU (median call after warmup)."""
    import numpy as np
    import onnxruntime as ort

    m, k, n = shape
    x = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
    w = np.random.default_rng(0).standard_normal((k, n)).astype(np.float32)
    rates = {}
    for name, int8 in (("fp32", False), ("int8", True)):
        opts = exact_int8(ort.SessionOptions())  # the int8 kernel the engine's sessions run
        opts.intra_op_num_threads = threads
        session = ort.InferenceSession(matmul_graph(w, int8, m), opts, providers=["CPUExecutionProvider"])
        for _ in range(5):
            session.run(None, {"x": x})
        seconds = []
        for _ in range(calls):
            t0 = time.perf_counter()
            session.run(None, {"x": x})
            seconds.append(time.perf_counter() - t0)
        rates[name] = round(2 * m * k * n / statistics.median(seconds) / 1e9, 1)
    rates["int8_over_fp32"] = round(rates["int8"] / rates["fp32"], 2)
    return rates
