"""The int8 outlier rewrites on a toy FFN block: exact in fp32, and they do move the outliers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from marketpulse.training.outliers import (  # noqa: E402
    SMOOTH_RATIO,
    _Graph,
    prepare_for_int8,
    rowwise_word_embeddings,
)

H, F, V = 16, 64, 50
SEQS = [[1, 5, 7, 2], [1, 9, 2], [1, 3, 4, 8, 11, 2]]


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    # IR 8: what the onnxruntime this project pins reads (newer onnx writes a newer IR by default).
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def _toy_ffn(path: Path) -> None:
    """ids → embedding → FFN (MatMul→Add→Gelu→MatMul→Add) → residual Add, with one hidden channel
    and one GELU channel far above the others, as in BERT."""
    rng = np.random.default_rng(0)
    table = rng.normal(0, 1, (V, H)).astype(np.float32)
    table[:, 3] *= 15  # an outlier input channel
    w1 = rng.normal(0, 0.3, (H, F)).astype(np.float32)
    w1[:, 7] *= 20  # an outlier GELU channel
    inits = [numpy_helper.from_array(a, n) for a, n in (
        (table, "table"), (w1, "w1"), (rng.normal(0, 0.1, F).astype(np.float32), "b1"),
        (rng.normal(0, 0.3, (F, H)).astype(np.float32), "w2"), (rng.normal(0, 0.1, H).astype(np.float32), "b2"))]
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["x"], name="embed"),
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="up"),
        helper.make_node("Add", ["b1", "h0"], ["h"], name="up_bias"),
        helper.make_node("Gelu", ["h"], ["g"], name="Gelu_0", domain="com.microsoft"),
        helper.make_node("MatMul", ["g", "w2"], ["y0"], name="down"),
        helper.make_node("Add", ["b2", "y0"], ["y1"], name="down_bias"),
        helper.make_node("Add", ["x", "y1"], ["y"], name="residual"),
    ]
    graph = helper.make_graph(
        nodes, "toy",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "s"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["b", "s"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", H])], inits)
    onnx.save(_model(graph), str(path))


def _run(path: Path, ids: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(["y"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]


def test_rewrites_are_exact_and_move_the_outliers(tmp_path: Path) -> None:
    src, dst = tmp_path / "toy.onnx", tmp_path / "prepared.onnx"
    _toy_ffn(src)
    report = prepare_for_int8(src, dst, SEQS)

    ids = np.array([[1, 2, 3, 4, 5, 6, 7, 8], [10, 20, 30, 40, 41, 42, 43, 44]], dtype=np.int64)
    np.testing.assert_allclose(_run(dst, ids), _run(src, ids), atol=1e-4, rtol=1e-5)

    assert report["fp32_gelu_channels"] >= 1
    assert report["scaled_input_channels"] >= 1
    assert set(report["keep_fp32"]) == {"Gelu_0_outliers_up", "Gelu_0_outliers_down"}
    g = _Graph(onnx.load(str(dst)))
    assert g.array("w1").shape[1] == F - report["fp32_gelu_channels"]  # the int8 path lost those channels
    # What the int8 up-projection now sees has no channel far above the rest.
    seen = next(n for n in g.graph.node if n.name == "up").input[0]
    model = onnx.load(str(dst))
    model.graph.output.append(helper.make_tensor_value_info(seen, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    calibration = np.array([sum(SEQS, [])], dtype=np.int64)
    (value,) = sess.run([seen], {"input_ids": calibration, "attention_mask": np.ones_like(calibration)})
    peak = np.abs(value[0]).max(0)
    assert peak.max() <= SMOOTH_RATIO * np.median(peak) * 1.01


def test_a_graph_without_the_expected_ffn_is_refused(tmp_path: Path) -> None:
    from marketpulse.core.errors import ModelError

    path = tmp_path / "odd.onnx"
    _toy_ffn(path)
    model = onnx.load(str(path))
    gelu = next(n for n in model.graph.node if n.op_type == "Gelu")
    gelu.input[0] = "h0"  # GELU straight after the MatMul: not the pattern the split knows
    onnx.save(model, str(path))
    with pytest.raises(ModelError, match="Gelu_0"):
        prepare_for_int8(path, tmp_path / "out.onnx", SEQS)


def test_rowwise_word_embeddings_keep_each_row_within_half_a_step(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    table = rng.normal(0, 0.05, (V, H)).astype(np.float32)
    table[4] *= 40  # one loud row: a single table-wide scale would flatten all the others
    ids = np.arange(V, dtype=np.int64)[None, :]
    inits = [numpy_helper.from_array(a, n) for a, n in (
        (table, "word"), (rng.normal(0, 0.05, (V, H)).astype(np.float32), "pos"),
        (np.ones(H, np.float32), "gamma"), (np.zeros(H, np.float32), "beta"))]
    node = helper.make_node("EmbedLayerNormalization", ["input_ids", "", "word", "pos", "", "gamma", "beta", "mask"],
                            ["y", "mask_index"], name="embed", domain="com.microsoft", epsilon=1e-12)
    graph = helper.make_graph([node], "emb", [helper.make_tensor_value_info("input_ids", TensorProto.INT32, [1, V]),
                                              helper.make_tensor_value_info("mask", TensorProto.INT32, [1, V])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, V, H])], inits)
    path = tmp_path / "emb.onnx"
    onnx.save(_model(graph), str(path))
    feed = {"input_ids": ids.astype(np.int32), "mask": np.ones_like(ids, dtype=np.int32)}
    before = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["y"], feed)[0]

    assert rowwise_word_embeddings(path)
    model = onnx.load(str(path))
    stored = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert "word" not in stored and stored["word_int8"].dtype == np.int8
    dequantised = stored["word_int8"].astype(np.float32) * stored["word_row_scale"]
    step = np.abs(table).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(dequantised - table) <= step / 2 + 1e-7)
    after = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["y"], feed)[0]
    assert np.abs(after - before).max() < 0.05  # LayerNorm output of near-identical rows
