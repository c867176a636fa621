"""`marketpulse bench model`'s bookkeeping: the summary it prints, the host it records, where its
figures are stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketpulse.core.errors import ModelError
from marketpulse.inference import bench as B
from marketpulse.inference import host as H
from marketpulse.inference.int8_kernel import exact_int8, matmul_graph


def _report(model_dir: Path) -> dict:
    return {"model": {"name": "m", "version": "9.9.9", "dir": str(model_dir)},
            "measured_at": "2026-11-25T02:00:00+00:00", "host": {"cpus": 2}, "threads": 2, "rounds": 5,
            "results": [{"system": "a", "texts_per_s": 100.0}, {"system": "b", "texts_per_s": 800.0}],
            "cpu_speedup": 8.0}


def test_summary_takes_the_median_round_and_the_99th_percentile_batch() -> None:
    t = B._Timings(whole_s=[1.0, 4.0, 2.0], batch_s=[[0.1] * 99 + [0.5], [0.1] * 100, [0.2] * 100])
    r = B._summary("engine", "cpu", 400, 4, t)
    assert r.texts_per_s == 200.0  # median of 400, 100, 200 texts/s
    assert r.texts_per_s_in_batches == pytest.approx(400 / 10.4, abs=0.05)  # rounds sum to 10.4, 10, 20 s
    assert r.p50_batch_ms == pytest.approx(100.0)
    assert r.p99_batch_ms == pytest.approx(200.0)  # 100 of the 300 batches took 200 ms


def test_figures_replace_the_bench_section_and_keep_the_rest(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps({"int8": {"f1": 0.8}, "bench": {"cpu_speedup": 1.0}}))
    path = B.store_in_metrics(_report(tmp_path))
    stored = json.loads(path.read_text())
    assert stored["int8"] == {"f1": 0.8}
    bench = stored["bench"]
    assert bench["cpu_speedup"] == 8.0 and bench["model_version"] == "9.9.9" and "model" not in bench
    assert bench["results"][1]["texts_per_s"] == 800.0
    assert bench["measured_at"] == "2026-11-25T02:00:00+00:00"
    assert bench["host"] == {"cpus": 2}


def test_the_host_names_its_cpu_runtime_versions_and_matrix_rates() -> None:
    import numpy

    host = H.describe_host(threads=1)
    assert host["cpus"] >= 1 and host["cpu"]["name"]
    assert set(host) >= set(H.RUNTIMES)
    assert isinstance(host["int8_fast_kernel_saturates"], bool)
    assert H.versions(["numpy", "no-such-package-here"]) == {
        "numpy": numpy.__version__, "no-such-package-here": "not installed"}
    gops = host["matmul_gops"]
    assert gops["fp32"] > 0 and gops["int8"] > 0
    assert gops["int8_over_fp32"] == pytest.approx(gops["int8"] / gops["fp32"], abs=0.01)


def test_the_int8_rate_is_timed_on_the_product_the_model_runs() -> None:
    import numpy as np
    import onnxruntime as ort

    x = np.random.default_rng(2).standard_normal((8, 16)).astype(np.float32)
    w = np.random.default_rng(0).standard_normal((16, 24)).astype(np.float32)

    def run(int8: bool) -> np.ndarray:
        session = ort.InferenceSession(matmul_graph(w, int8, 8), exact_int8(ort.SessionOptions()),
                                       providers=["CPUExecutionProvider"])
        return session.run(None, {"x": x})[0]

    exact, quantised = run(False), run(True)
    assert quantised.shape == exact.shape == (8, 24)
    # Same weights, int8 error only: close, but not bit-identical (else int8 was not what ran).
    assert np.abs(quantised - exact).max() < 0.05 * np.abs(exact).max()
    assert not np.array_equal(quantised, exact)


def test_a_model_folder_without_metrics_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="export the model"):
        B.store_in_metrics(_report(tmp_path))
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        B.store_in_metrics(_report(tmp_path))


def test_too_few_distinct_headlines_is_an_error(tmp_path: Path) -> None:
    csv = tmp_path / "h.csv"
    csv.write_text("title\nA\nB\nA\n")
    assert B.load_headlines(csv, 2) == ["A", "B"]
    with pytest.raises(ModelError, match="2 distinct headlines, 3 asked for"):
        B.load_headlines(csv, 3)
