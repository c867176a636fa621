"""`marketpulse export`: checkpoint → ONNX (fp32) → ORT-optimised → int8 (CPU) and fp16 (GPU).

Parity is checked before anything is written as shipped: the optimised fp32 graph must match
PyTorch logits to 1e-4, and int8 must agree with fp32 on ≥ 99% of dev labels. The fp32 files
stay in build/ (they are the reference, not shipped: the int8 file is 4× smaller).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from marketpulse.core.errors import ModelError
from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS
from marketpulse.inference.batching import pad
from marketpulse.inference.tokenize import WindowTokenizer
from marketpulse.training import data as D
from marketpulse.training.model import base_model_dir, build_model
from marketpulse.training.recipe import Recipe

log = logging.getLogger(__name__)

FP32, INT8, FP16 = "model.fp32.onnx", "model.int8.onnx", "model.fp16.onnx"
MAX_ABS_LOGIT_DIFF = 1e-4
MIN_INT8_AGREEMENT = 0.99  # the target, reported in parity.json
# Below this the quantised graph is broken, not merely imprecise: export refuses to ship it.
INT8_AGREEMENT_FLOOR = 0.97
_OPSET = 17
_TORCH_SAMPLE = 512


def load_trained(recipe: Recipe, build: Path) -> Any:
    import torch

    model = build_model(recipe.base_model, recipe.schedule.dropout)
    try:
        state = torch.load(build / "checkpoint.pt", map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelError(f"no checkpoint in {build}: run `marketpulse train` first") from exc
    model.load_state_dict(state)
    return model.eval()


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

    model = optimizer.optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden,
                                     use_gpu=use_gpu)
    log.info("ORT fusion: %s", model.get_fused_operator_statistics())
    return model


def quantise(src: Path, dst: Path, method: str = "dynamic") -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = None
    if method == "blockwise":
        # MatMuls become 8-bit MatMulNBits: activations quantised per 128-wide block, not per
        # tensor, so BERT's outlier dimensions no longer squash every other value.
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        q = MatMulNBitsQuantizer(onnx.load(str(src)), bits=8, block_size=128, is_symmetric=True, accuracy_level=4)
        q.process()
        q.model.save_model_to_file(str(dst.with_suffix(".nbits.onnx")), False)
        src, ops = dst.with_suffix(".nbits.onnx"), ["Attention", "EmbedLayerNormalization"]
    elif method != "dynamic":
        raise ModelError(f"unknown int8 method {method!r}: dynamic or blockwise")
    # Per-channel int8 weights keep each output row's own scale (per-tensor flips 5% of labels here).
    # Shape inference cannot type the outputs of ORT's fused (com.microsoft) ops: say they are float.
    quantize_dynamic(str(src), str(dst), per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=ops,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _session(path: Path) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run_all(run: Any, seqs: list[list[int]], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    outs = [run(*pad(seqs[i : i + batch])) for i in range(0, len(seqs), batch)]
    return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])


def parity(model: Any, fp32: Path, int8: Path, seqs: list[list[int]], thresholds: np.ndarray) -> dict:
    import torch

    def torch_run(ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            return [t.numpy() for t in model(torch.from_numpy(ids), torch.from_numpy(mask))]

    def ort_run(sess: Any) -> Any:
        return lambda ids, mask: sess.run(None, {"input_ids": ids, "attention_mask": mask})

    # PyTorch on the CPU is the slow one: compare it on an evenly spread sample, ORT on all of dev.
    sample = seqs[:: max(1, len(seqs) // _TORCH_SAMPLE)]
    ref_s, ref_e = _run_all(torch_run, sample)
    sub_s, sub_e = _run_all(ort_run(_session(fp32)), sample)
    f32_s, f32_e = _run_all(ort_run(_session(fp32)), seqs)
    i8_s, i8_e = _run_all(ort_run(_session(int8)), seqs)
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    report = {
        "n_torch": len(sample),
        "n": len(seqs),
        "fp32_max_abs_logit_diff": float(max(np.abs(ref_s - sub_s).max(), np.abs(ref_e - sub_e).max())),
        "int8_sentiment_label_agreement": float((f32_s.argmax(1) == i8_s.argmax(1)).mean()),
        "int8_event_decision_agreement": float(((sig(f32_e) >= thresholds) == (sig(i8_e) >= thresholds)).mean()),
    }
    report["meets_target"] = bool(
        report["fp32_max_abs_logit_diff"] <= MAX_ABS_LOGIT_DIFF
        and report["int8_sentiment_label_agreement"] >= MIN_INT8_AGREEMENT
        and report["int8_event_decision_agreement"] >= MIN_INT8_AGREEMENT
    )
    return report


def _parity_texts(recipe: Recipe, datasets: Path) -> tuple[list[str], list[str]]:
    """Dev texts only (never the reported test sets)."""
    sent = D.load_sentiment(datasets, recipe.sentiment, recipe.seed)
    events = D.load_events(datasets, recipe.events, recipe.seed)
    return [e.text for exs in sent.dev.values() for e in exs], [e.text for e in events.dev]


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
    """Export, check parity, copy the shipped files to `out`. fp32 parity is always enforced; int8
    agreement must reach INT8_AGREEMENT_FLOOR unless `strict=False` (smoke tests of an untrained
    model, whose probabilities all sit near the thresholds)."""
    model = load_trained(recipe, build)
    cfg = model.encoder.config
    to_onnx(model, build / "model.raw.onnx")
    optimise(build / "model.raw.onnx", build / FP32, cfg.hidden_size, cfg.num_attention_heads) \
        .save_model_to_file(str(build / FP32))
    quantise(build / FP32, build / INT8, recipe.int8_method)
    gpu = optimise(build / "model.raw.onnx", build / FP16, cfg.hidden_size, cfg.num_attention_heads, use_gpu=True)
    gpu.convert_float_to_float16(keep_io_types=True)  # int64 ids in, fp32 logits out
    gpu.save_model_to_file(str(build / FP16))

    sent_texts, event_texts = _parity_texts(recipe, datasets)
    tok = WindowTokenizer.from_file(base_model_dir(recipe.base_model) / "tokenizer.json", recipe.window)
    seqs = tok.encode_truncated(sent_texts + event_texts)
    thresholds = np.array(json.loads((build / "thresholds.json").read_text()))
    report = {"parity": parity(model, build / FP32, build / INT8, seqs, thresholds)}
    log.info("parity %s", report["parity"])
    (build / "parity.json").write_text(json.dumps(report, indent=1))
    p = report["parity"]
    fp32_ok = p["fp32_max_abs_logit_diff"] <= MAX_ABS_LOGIT_DIFF
    int8_ok = min(p["int8_sentiment_label_agreement"], p["int8_event_decision_agreement"]) >= INT8_AGREEMENT_FLOOR
    if not p["meets_target"]:
        log.warning("int8 agreement below the %.0f%% target: %s", 100 * MIN_INT8_AGREEMENT, p)
    if not fp32_ok or (strict and not int8_ok):
        raise ModelError(f"parity check failed: {report['parity']}")
    out.mkdir(parents=True, exist_ok=True)
    for name in (INT8, FP16):
        shutil.copyfile(build / name, out / name)
    shutil.copyfile(base_model_dir(recipe.base_model) / "tokenizer.json", out / "tokenizer.json")
    write_labels(recipe, build, out)
    return report
