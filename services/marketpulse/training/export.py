"""`marketpulse export`: checkpoint → ONNX (fp32) → ORT-optimised → int8 (CPU) and fp16 (GPU).

The int8 path: the fp32 graph is rewritten so its outlier channels survive per-tensor activation
quantisation (training/outliers.py, exact in fp32), then quantised dynamically with per-channel
weights. Parity is checked before anything is written as shipped: the optimised fp32 graph and its
rewrite must match PyTorch logits to 1e-4, and int8 should agree with fp32 on ≥ 99% of dev labels.
The fp16 graph is held to the same agreement on the CPU, where ORT runs it too, so a broken
conversion is caught on a machine without a GPU (CUDA's own kernels are checked by `marketpulse
evaluate --precision fp16` on a GPU host).
The fp32 files stay in build/ (they are the reference, not shipped: the int8 file is 4× smaller).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from marketpulse.core.errors import ModelError
from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS
from marketpulse.inference.batching import length_batches
from marketpulse.inference.int8_kernel import exact_int8
from marketpulse.inference.providers import cuda_fallback_quiet
from marketpulse.inference.tokenize import WindowTokenizer
from marketpulse.training import data as D
from marketpulse.training.model import base_model_dir, load_trained
from marketpulse.training.outliers import prepare_for_int8, rowwise_word_embeddings
from marketpulse.training.recipe import Recipe

log = logging.getLogger(__name__)

FP32, INT8, FP16 = "model.fp32.onnx", "model.int8.onnx", "model.fp16.onnx"
INT8_INPUT = "model.fp32.int8prep.onnx"  # FP32 rewritten for int8 (training/outliers.py)
MAX_ABS_LOGIT_DIFF = 1e-4
MIN_AGREEMENT = 0.99  # int8 and fp16 against fp32: the target, reported in parity.json
# Below this the reduced-precision graph is broken, not merely imprecise: export refuses to ship it.
AGREEMENT_FLOOR = 0.97
_OPSET = 17
_TORCH_SAMPLE = 512
_CALIBRATION_TEXTS = 1024


def to_onnx(model: Any, path: Path) -> None:
    import torch

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 2023, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).long()
    # The TorchScript exporter gives the plain MatMul/Softmax attention pattern that ORT's
    # transformer optimiser recognises and fuses.
    torch.onnx.export(
        model, (ids, mask), str(path), dynamo=False, opset_version=_OPSET,
        input_names=["input_ids", "attention_mask"],
        output_names=["sentiment_logits", "event_logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                      "sentiment_logits": {0: "batch"}, "event_logits": {0: "batch"}},
    )


def optimise(src: Path, dst: Path, hidden: int, heads: int, use_gpu: bool = False) -> Any:
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    if not use_gpu:
        # Two of ORT's fused CPU kernels are slower than what they replace (ORT 1.31, 2 cores,
        # 2,000 headlines, int8): SkipLayerNormalization took 437 ms where Add + LayerNormalization
        # take 148, and BiasGelu 439 ms where Gelu takes 122 with the bias folded into the int8
        # MatMul before it. Leaving both unfused makes the CPU model 1.28x faster; numerics are
        # unchanged. (The CPU session must not re-fuse them: see inference/providers.py.)
        options.enable_skip_layer_norm = False
        options.enable_bias_gelu = False
    # For the GPU graph ORT's optimiser runs its basic passes in a CUDA session, which falls back
    # to the CPU provider on a machine without CUDA.
    with cuda_fallback_quiet() if use_gpu else nullcontext():
        model = optimizer.optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden,
                                         use_gpu=use_gpu, optimization_options=options)
    log.info("ORT fusion: %s", model.get_fused_operator_statistics())
    return model


def quantise(src: Path, dst: Path, method: str = "dynamic", exclude: Sequence[str] = ()) -> None:
    """int8 weights for the CPU; the nodes named in `exclude` stay fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = None
    if method == "blockwise":
        # MatMuls become 8-bit MatMulNBits: activations quantised per 128-wide block, not per
        # tensor, so BERT's outlier dimensions no longer squash every other value.
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        q = MatMulNBitsQuantizer(onnx.load(str(src)), bits=8, block_size=128, is_symmetric=True, accuracy_level=4,
                                 nodes_to_exclude=list(exclude))
        q.process()
        q.model.save_model_to_file(str(dst.with_suffix(".nbits.onnx")), False)
        src, ops = dst.with_suffix(".nbits.onnx"), ["Attention", "EmbedLayerNormalization"]
    elif method != "dynamic":
        raise ModelError(f"unknown int8 method {method!r}: dynamic or blockwise")
    # Per-channel int8 weights keep each output row's own scale (per-tensor flips 5% of labels here).
    # Shape inference cannot type the outputs of ORT's fused (com.microsoft) ops: say they are float.
    with _quiet_root_logger():
        # The embedding table gets one scale per row afterwards instead of one for the whole table.
        embed = [n.name for n in onnx.load(str(src)).graph.node if n.op_type == "EmbedLayerNormalization"]
        quantize_dynamic(str(src), str(dst), per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=ops,
                         nodes_to_exclude=[*exclude, *embed],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    rowwise_word_embeddings(dst)


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """ORT's quantiser logs a few lines per tensor at INFO on the root logger; the sensitivity scan
    quantises ~30 times, which would bury the export's own progress (its warnings are about
    shape inference on fused ops, handled by DefaultTensorType)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


_QUANTISABLE = ("MatMul", "Gemm", "Attention", "EmbedLayerNormalization")
# Measured on the shipped model (2 cores, 2,000 headlines): 1 fp32 node costs ~1% of int8 speed,
# 4 nodes ~11%, 6 nodes ~25%. Past 4 the int8 model stops being worth shipping.
MAX_FP32_NODES = 4


def _agreement(ref: tuple[np.ndarray, np.ndarray], got: tuple[np.ndarray, np.ndarray], thresholds: np.ndarray,
               precision: str = "int8") -> dict:
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return {
        f"{precision}_sentiment_label_agreement": float((ref[0].argmax(1) == got[0].argmax(1)).mean()),
        f"{precision}_event_decision_agreement":
            float(((sig(ref[1]) >= thresholds) == (sig(got[1]) >= thresholds)).mean()),
    }


def _agreements(report: dict, precision: str) -> tuple[float, float]:
    return (report[f"{precision}_sentiment_label_agreement"], report[f"{precision}_event_decision_agreement"])


def _max_abs_diff(ref: tuple[np.ndarray, np.ndarray], got: tuple[np.ndarray, np.ndarray]) -> float:
    """Largest |Δlogit| over both heads; NaN or inf in `got` (an fp16 overflow) counts as infinite."""
    diff = max(np.abs(ref[0] - got[0]).max(), np.abs(ref[1] - got[1]).max())
    return float(diff) if np.isfinite(diff) else float("inf")


def greedy_fp32_nodes(candidates: Sequence[str], agreement: Callable[[list[str]], float], target: float,
                      max_nodes: int = MAX_FP32_NODES) -> list[str]:
    """The few nodes to keep in fp32 so that int8 agrees with fp32 on at least `target` of dev.

    `agreement(excluded)` quantises all but `excluded` and measures. If everything-int8 falls short,
    each candidate is scored by the agreement reached when it alone stays fp32; then the best ones
    are kept in fp32, one at a time, until the target holds. If `max_nodes` do not reach it, no node
    stays fp32: a partial gain in agreement is not worth the speed it costs. The last call to
    `agreement` is always with the returned set.
    """
    if agreement([]) >= target:
        return []
    alone = {name: agreement([name]) for name in candidates}
    excluded: list[str] = []
    for name in sorted(candidates, key=alone.__getitem__, reverse=True)[:max_nodes]:
        excluded.append(name)
        if agreement(excluded) >= target:
            return excluded
    agreement([])
    return []


def mixed_precision(fp32: Path, prepared: Path, int8: Path, seqs: list[list[int]], thresholds: np.ndarray,
                    method: str = "dynamic", target: float = 0.99, keep: Sequence[str] = ()) -> list[str]:
    """Quantise `prepared` (fp32, rewritten by training/outliers.py) into `int8`, keeping in fp32
    the nodes named in `keep` and those whose rounding flips most dev labels against `fp32`.

    A retrained model gets its own choice (the names land in parity.json). The greedy search's
    last trial is always the chosen set, so the file left at `int8` is the one to ship.
    """
    import onnx
    from tqdm import tqdm

    ref = _run_all(_ort_run(_session(fp32)), seqs)
    candidates = [n.name for n in onnx.load(str(prepared)).graph.node
                  if n.op_type in _QUANTISABLE and n.name not in keep]
    bar = tqdm(total=len(candidates) + 2, desc="int8 sensitivity", mininterval=5)

    def agreement(exclude: list[str]) -> float:
        quantise(prepared, int8, method, [*keep, *exclude])
        bar.update()
        return min(_agreement(ref, _run_all(_ort_run(_session(int8)), seqs), thresholds).values())

    chosen = greedy_fp32_nodes(candidates, agreement, target)
    bar.close()
    log.info("int8 mixed precision: %d nodes kept in fp32: %s", len(chosen), chosen)
    return chosen


def _session(path: Path) -> Any:
    """A CPU session with the int8 kernel the engine runs, so parity measures what ships."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), exact_int8(ort.SessionOptions()), providers=["CPUExecutionProvider"])


def _ort_run(sess: Any) -> Any:
    return lambda ids, mask: sess.run(None, {"input_ids": ids, "attention_mask": mask})


def _run_all(run: Any, seqs: list[list[int]], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Logits in input order, computed in the engine's length-grouped batches: dynamic int8 sees
    padding in its activation ranges, so parity is measured on the batches the engine really runs."""
    sent = np.empty((len(seqs), len(SENTIMENT_LABELS)), dtype=np.float32)
    events = np.empty((len(seqs), len(EVENT_TYPES)), dtype=np.float32)
    for b in length_batches(seqs, batch, batch * 128):
        sent[b.rows], events[b.rows] = run(b.input_ids, b.attention_mask)
    return sent, events


def parity(model: Any, fp32: Path, prepared: Path, int8: Path, fp16: Path, seqs: list[list[int]],
           thresholds: np.ndarray) -> dict:
    import torch

    def torch_run(ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            return [t.numpy() for t in model(torch.from_numpy(ids), torch.from_numpy(mask))]

    # PyTorch on the CPU is the slow one: compare it on an evenly spread sample, ORT on all of dev.
    sample = seqs[:: max(1, len(seqs) // _TORCH_SAMPLE)]
    fp32_run = _ort_run(_session(fp32))
    sub = _run_all(fp32_run, sample)
    reference = _run_all(fp32_run, seqs)
    fp16_logits = _run_all(_ort_run(_session(fp16)), seqs)
    report = {
        "n_torch": len(sample),
        "n": len(seqs),
        "fp32_max_abs_logit_diff": _max_abs_diff(_run_all(torch_run, sample), sub),
        # The outlier rewrites must not change the fp32 function, only how well it quantises.
        "int8_input_max_abs_logit_diff": _max_abs_diff(sub, _run_all(_ort_run(_session(prepared)), sample)),
        **_agreement(reference, _run_all(_ort_run(_session(int8)), seqs), thresholds),
        "fp16_max_abs_logit_diff": _max_abs_diff(reference, fp16_logits),
        **_agreement(reference, fp16_logits, thresholds, "fp16"),
    }
    report["meets_target"] = bool(
        report["fp32_max_abs_logit_diff"] <= MAX_ABS_LOGIT_DIFF
        and report["int8_input_max_abs_logit_diff"] <= MAX_ABS_LOGIT_DIFF
        and min(*_agreements(report, "int8"), *_agreements(report, "fp16")) >= MIN_AGREEMENT
    )
    return report


def _parity_texts(recipe: Recipe, datasets: Path) -> tuple[list[str], list[str], list[str]]:
    """Dev texts for parity (never the reported test sets), and an even sample of training texts
    for int8 calibration (never the texts parity is measured on)."""
    sent = D.load_sentiment(datasets, recipe.sentiment, recipe.seed)
    events = D.load_events(datasets, recipe.events, recipe.seed)
    train = [e.text for exs in sent.train.values() for e in exs] + [e.text for e in events.train]
    calibration = train[:: max(1, len(train) // _CALIBRATION_TEXTS)]
    return [e.text for exs in sent.dev.values() for e in exs], [e.text for e in events.dev], calibration


def write_labels(recipe: Recipe, build: Path, out: Path) -> None:
    thresholds = json.loads((build / "thresholds.json").read_text())
    labels = {
        "name": recipe.name,
        "version": recipe.version,
        "window": recipe.window,
        "sentiment_labels": list(SENTIMENT_LABELS),
        "event_types": list(EVENT_TYPES),
        "event_thresholds": dict(zip(EVENT_TYPES, thresholds, strict=True)),
        "files": {"cpu": INT8, "gpu": FP16},
        "inputs": ["input_ids", "attention_mask"],
        "outputs": ["sentiment_logits", "event_logits"],
    }
    (out / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")


def export_model(recipe: Recipe, build: Path, out: Path, datasets: Path, strict: bool = True) -> dict:
    """Export, check parity, copy the shipped files to `out`. fp32 parity and finite fp16 logits are
    always enforced; int8 and fp16 agreement must reach AGREEMENT_FLOOR unless `strict=False` (smoke
    tests of an untrained model, whose probabilities all sit near the thresholds)."""
    model = load_trained(recipe, build)
    cfg = model.encoder.config
    to_onnx(model, build / "model.raw.onnx")
    optimise(build / "model.raw.onnx", build / FP32, cfg.hidden_size, cfg.num_attention_heads) \
        .save_model_to_file(str(build / FP32))
    gpu = optimise(build / "model.raw.onnx", build / FP16, cfg.hidden_size, cfg.num_attention_heads, use_gpu=True)
    gpu.convert_float_to_float16(keep_io_types=True)  # int64 ids in, fp32 logits out
    gpu.save_model_to_file(str(build / FP16))

    sent_texts, event_texts, calibration = _parity_texts(recipe, datasets)
    tok = WindowTokenizer.from_file(base_model_dir(recipe.base_model) / "tokenizer.json", recipe.window)
    seqs = tok.encode_truncated(sent_texts + event_texts)
    thresholds = np.array(json.loads((build / "thresholds.json").read_text()))
    prep = prepare_for_int8(build / FP32, build / INT8_INPUT, tok.encode_truncated(calibration))
    keep = prep.pop("keep_fp32")
    if strict:
        fp32_nodes = mixed_precision(build / FP32, build / INT8_INPUT, build / INT8, seqs, thresholds,
                                     recipe.int8_method, MIN_AGREEMENT, keep)
    else:  # an untrained smoke model sits on every threshold: the search would try all nodes for nothing
        quantise(build / INT8_INPUT, build / INT8, recipe.int8_method, keep)
        fp32_nodes = []
    report = {"parity": {**parity(model, build / FP32, build / INT8_INPUT, build / INT8, build / FP16, seqs,
                                    thresholds),
                         "int8_fp32_nodes": fp32_nodes}, "int8_outliers": prep}
    log.info("parity %s", report["parity"])
    (build / "parity.json").write_text(json.dumps(report, indent=1))
    p = report["parity"]
    fp32_ok = max(p["fp32_max_abs_logit_diff"], p["int8_input_max_abs_logit_diff"]) <= MAX_ABS_LOGIT_DIFF
    fp16_ok = math.isfinite(p["fp16_max_abs_logit_diff"])
    agreement_ok = min(*_agreements(p, "int8"), *_agreements(p, "fp16")) >= AGREEMENT_FLOOR
    if not p["meets_target"]:
        log.warning("int8 or fp16 agreement below the %.0f%% target: %s", 100 * MIN_AGREEMENT, p)
    if not (fp32_ok and fp16_ok) or (strict and not agreement_ok):
        raise ModelError(f"parity check failed: {report['parity']}")
    out.mkdir(parents=True, exist_ok=True)
    for name in (INT8, FP16):
        shutil.copyfile(build / name, out / name)
    shutil.copyfile(base_model_dir(recipe.base_model) / "tokenizer.json", out / "tokenizer.json")
    write_labels(recipe, build, out)
    return report
