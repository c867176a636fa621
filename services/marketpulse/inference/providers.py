"""Execution provider and thread choice: CUDA + fp16 when a GPU really works, else CPU + int8.

`onnxruntime-gpu` lists CUDAExecutionProvider even on machines without a usable GPU (it only
fails, or silently falls back, when the session is created), so the choice is confirmed on the
created session, not on the list of available providers. CPU sessions use ORT's exact int8 kernel
where the fast one saturates (int8_kernel.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketpulse.core.errors import ModelError
from marketpulse.inference.int8_kernel import exact_int8

log = logging.getLogger(__name__)

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
# The CPU model is exported with residual-add + LayerNorm unfused because ORT's fused CPU kernel
# is ~3x slower than the pair (training/export.py); the session must not fuse them back on load.
CPU_UNFUSED = ("SkipLayerNormFusion",)


# Auto lanes stop here: a caller's batch of 32 headlines is cut into a few length batches, and a
# lane with no batch to run only holds memory. Untested beyond 2 cores; `lanes` overrides it.
MAX_AUTO_LANES = 4


@dataclass(frozen=True, slots=True)
class Placement:
    provider: str  # CUDA or CPU
    model_file: Path
    threads: int  # intra-op threads of each session
    lanes: int = 1  # sessions running different batches side by side (lanes.py)


def cpu_threads(requested: int) -> int:
    """`requested`, or every core this process may run on (cgroup/affinity aware)."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _options(threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    # One graph runs at a time per session; inter-op threads would only compete for the cores.
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # CUDA fallback warnings are handled here, not printed
    return opts


@contextmanager
def cuda_fallback_quiet() -> Iterator[None]:
    """Without CUDA libraries ORT logs a red error before falling back to the CPU; where that
    fallback is expected (probing for a GPU, exporting on a CPU machine) the message is muted."""
    import onnxruntime as ort

    ort.set_default_logger_severity(4)
    try:
        yield
    finally:
        ort.set_default_logger_severity(2)


def _try_cuda(gpu_file: Path, threads: int) -> Any | None:
    import onnxruntime as ort

    if CUDA not in ort.get_available_providers() or not gpu_file.is_file():
        return None
    try:
        with cuda_fallback_quiet():
            session = ort.InferenceSession(str(gpu_file), _options(threads), providers=[CUDA, CPU])
    except Exception as exc:  # noqa: BLE001 - missing CUDA/cuDNN libraries surface as plain errors
        log.info("CUDA provider unusable (%s); using the CPU", exc)
        return None
    if session.get_providers()[0] != CUDA:
        log.info("CUDA provider listed but not usable; using the CPU")
        return None
    return session


def split_threads(threads: int, lanes: int) -> tuple[int, int]:
    """(lanes, threads per lane) for `threads` cores in all; lanes=0 means one single-threaded
    lane per core, at most MAX_AUTO_LANES."""
    n = cpu_threads(threads)
    lanes = lanes or min(n, MAX_AUTO_LANES)
    return lanes, max(1, n // lanes)


def create_sessions(
    cpu_file: Path, gpu_file: Path, provider: str, threads: int, lanes: int = 0
) -> tuple[list[Any], Placement]:
    """ONNX Runtime sessions on the best provider allowed by `provider` (auto | cuda | cpu): one on
    a GPU, which runs one batch at a time anyway; on the CPU `threads` cores in all, split into
    lanes (see `split_threads`)."""
    import onnxruntime as ort

    if provider not in ("auto", "cuda", "cpu"):
        raise ModelError(f"provider must be auto, cuda or cpu, not {provider!r}")
    if provider in ("auto", "cuda"):
        n = cpu_threads(threads)
        session = _try_cuda(gpu_file, n)
        if session is not None:
            return [session], Placement(CUDA, gpu_file, n)
        if provider == "cuda":
            raise ModelError("provider=cuda was asked for but CUDA is not usable here")
    n_lanes, per_lane = split_threads(threads, lanes)
    try:
        sessions = [ort.InferenceSession(str(cpu_file), exact_int8(_options(per_lane)), providers=[CPU],
                                         disabled_optimizers=list(CPU_UNFUSED)) for _ in range(n_lanes)]
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load {cpu_file}: {exc}") from exc
    return sessions, Placement(CPU, cpu_file, per_lane, n_lanes)
