"""The machine a speed figure was measured on.

The engine multiplies in int8 and the PyTorch baseline in fp32, so `bench model`'s speed-up depends
on how much faster this CPU runs int8 products than fp32 ones: on an AMD EPYC with AVX-512 VNNI and
no AMX that was 3.5x and the engine 4.6-6.5x the pipeline (by day and engine layout), where earlier
hosts of the same VM size gave 7-9x (model card). A figure is only comparable with the host beside it.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

INT8_EXTENSIONS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "amx_tile"})
RUNTIMES = ("onnxruntime", "onnxruntime-gpu", "torch", "transformers")
# One FFN-in product of a caller batch: 32 headlines of ~18 tokens, hidden 384, FFN 1,536.
MATMUL_SHAPE = (576, 384, 1536)


def describe_host(threads: int) -> dict:
    """CPU, runtime versions and this host's ORT matrix-product rates on `threads` threads."""
    return {"cpus": os.cpu_count(), "cpu": cpu(), "python": platform.python_version(),
            **versions(RUNTIMES), "matmul_gops": matmul_rates(threads)}


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


def _matmul_graph(int8: bool, m: int, k: int, n: int) -> bytes:
    """x[m, k] times a constant [k, n]: plain fp32 MatMul, or the DynamicQuantizeMatMul that the
    int8 model's layers run (u8 activations quantised per call, s8 weights per column)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).standard_normal((k, n)).astype(np.float32)
    if int8:
        scale = np.abs(w).max(0) / 127
        node = helper.make_node("DynamicQuantizeMatMul", ["x", "w", "s"], ["y"], domain="com.microsoft")
        weights = [numpy_helper.from_array(np.round(w / scale).astype(np.int8), "w"),
                   numpy_helper.from_array(scale.astype(np.float32), "s")]
    else:
        node = helper.make_node("MatMul", ["x", "w"], ["y"])
        weights = [numpy_helper.from_array(w, "w")]
    graph = helper.make_graph([node], "matmul", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], weights)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 9  # onnx writes its newest IR version, which ORT may not read yet (1.31 reads up to 13)
    return model.SerializeToString()


def matmul_rates(threads: int, shape: tuple[int, int, int] = MATMUL_SHAPE, calls: int = 40) -> dict[str, float]:
    """GOPS of one fp32 and one int8 product in ONNX Runtime on the CPU (median call after warmup)."""
    import numpy as np
    import onnxruntime as ort

    m, k, n = shape
    x = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
    rates = {}
    for name, int8 in (("fp32", False), ("int8", True)):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        session = ort.InferenceSession(_matmul_graph(int8, m, k, n), opts, providers=["CPUExecutionProvider"])
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
