"""Exact int8 products on CPUs whose fast int8 kernel saturates.

The int8 model multiplies u8 activations by s8 weights. On x86 CPUs with VNNI or AMX, ONNX Runtime
sums those products in int32. Without them (AVX2 only: AMD EPYC Zen 2 and 3, Intel before Cascade
Lake) its default kernel uses VPMADDUBSW, which adds two u8·s8 products into a saturating int16:
2 · 255 · 127 = 64,770 does not fit in 32,767, so the largest products are clipped. On an AMD EPYC
(Zen 2) that cost the shipped model 0.9 pt of event macro-F1 and 0.7 pt of TFNS sentiment macro-F1
on dev. ORT's `session.x64quantprecision` moves such CPUs to its exact u8·u8 kernel.

Whether a CPU saturates is found by running one product whose exact value is known, not by reading
CPU flags, so a new CPU or ORT release is judged by what it does. Where nothing saturates the
setting stays off and sessions are exactly what the shipped figures were measured with.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PRECISE_INT8 = "session.x64quantprecision"
# Saturation halves the probe's result (see `probe_error`); rounding alone stays far below this.
_PROBE_TOLERANCE = 0.05


def matmul_graph(w: np.ndarray, int8: bool, rows: int | None = None) -> bytes:
    """x[rows, k] times the constant w[k, n]: a plain fp32 MatMul, or the DynamicQuantizeMatMul
    that the int8 model's layers run (u8 activations quantised per call, s8 weights per column)."""
    from onnx import TensorProto, helper, numpy_helper

    k, n = w.shape
    if int8:
        scale = np.abs(w).max(0) / 127
        node = helper.make_node("DynamicQuantizeMatMul", ["x", "w", "s"], ["y"], domain="com.microsoft")
        weights = [numpy_helper.from_array(np.round(w / scale).astype(np.int8), "w"),
                   numpy_helper.from_array(scale.astype(np.float32), "s")]
    else:
        node = helper.make_node("MatMul", ["x", "w"], ["y"])
        weights = [numpy_helper.from_array(w.astype(np.float32), "w")]
    graph = helper.make_graph([node], "matmul", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, n])], weights)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 9  # onnx writes its newest IR version, which ORT may not read yet (1.31 reads up to 13)
    return model.SerializeToString()


def probe_error(options: Any) -> float:
    """Relative error of one int8 product run with session `options`. Ones times ones quantise to
    255 and 127, the largest pair an int16 cannot hold twice: exact, the result is 64; a kernel
    that saturates each pair at 32,767 returns about 32."""
    import onnxruntime as ort

    k = 64
    session = ort.InferenceSession(matmul_graph(np.ones((k, 8), np.float32), int8=True), options,
                                   providers=["CPUExecutionProvider"])
    y = session.run(None, {"x": np.ones((1, k), np.float32)})[0]
    return float(np.abs(y - k).max() / k)


@functools.cache
def saturates() -> bool:
    """True when ORT's default int8 kernel clips products on this CPU (checked once per process)."""
    import onnxruntime as ort

    error = probe_error(ort.SessionOptions())
    if error > _PROBE_TOLERANCE:
        log.info("this CPU's fast int8 kernel saturates (probe off by %.0f%%): using ORT's exact one (%s)",
                 100 * error, PRECISE_INT8)
        return True
    return False


def exact_int8(options: Any) -> Any:
    """`options`, set to ORT's exact int8 kernel where the default one saturates; returned for chaining."""
    if saturates():
        options.add_session_config_entry(PRECISE_INT8, "1")
    return options
