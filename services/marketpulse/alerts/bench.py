"""`marketpulse bench alerts`: inject known sentiment shifts into a real stream, replay, measure.

The stream is StockNet's cashtag tweets (real text, real timing). Into it go bursts of real
bearish / bullish headlines (Twitter Financial News, valid split) rewritten onto chosen tickers at
known stream times. Every document, real or injected, is scored by the classifier; the scores are
cached under .marketpulse/cache/ keyed by model name, version and text. The engine replays the
merged stream in event time, and we measure:

- detected share: injected shifts followed, within `max_delay_s`, by a shift/drift alert on that
  ticker in that direction;
- delay in stream time from the first injected document to that alert (median, p90);
- false alerts per ticker-day: distinct shift/drift alerts opened on tickers nothing was injected
  into, over (untouched tickers x days of the range), and over the active ticker-days (with a doc).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from marketpulse.alerts.engine import AlertEngine
from marketpulse.alerts.settings import AlertSettings, TickerSignalSettings
from marketpulse.alerts.signals import DRIFT, SHIFT
from marketpulse.core.messages import EVENT_TYPES, Alert, RawDocument, ScoredDocument

SIGNAL_RULES = (SHIFT, DRIFT)
_CASHTAG = re.compile(r"\$[A-Za-z][A-Za-z.]{0,5}\b")
_LABELS = ("negative", "neutral", "positive")
_ROW_WIDTH = len(_LABELS) + 2 * len(EVENT_TYPES)  # sentiment probs, event probs, event decisions


@dataclass
class BenchConfig:
    tweets: Path
    headlines: Path
    start: datetime
    end: datetime
    tickers: list[str] | None = None  # the universe; None = every StockNet ticker in the range
    limit: int | None = None  # first N tweets of the range (quick runs)
    inject_tickers: int = 20
    shifts_per_ticker: int = 3
    burst_docs: int = 20
    burst_seconds: float = 180.0
    max_delay_s: float = 1800.0
    warmup_days: float = 7.0
    seed: int = 2
    batch_size: int = 256
    # Social posts reach the pipeline without a near-duplicate filter (ingest: many users posting
    # the same words is signal), so the replay keeps them; True applies the news-feed filter.
    dedup: bool = False
    plot_ticker: str | None = None
    out: Path = Path(".marketpulse/bench")
    cache_dir: Path = Path(".marketpulse/cache")


@dataclass
class Doc:
    doc_id: str
    t: datetime
    text: str
    entities: list[str]
    url: str | None


@dataclass
class Injection:
    ticker: str
    t0: datetime
    direction: str
    doc_ids: list[str]
    detected_at: datetime | None = None
    alert_id: str | None = None
    masked: bool = False  # an alert in that direction was already open: nothing new to say

    @property
    def delay_s(self) -> float | None:
        return (self.detected_at - self.t0).total_seconds() if self.detected_at else None


@dataclass
class BenchResult:
    model: str
    config: dict
    params: dict
    docs_real: int
    docs_injected: int
    tickers: int
    untouched_tickers: int
    days: float
    injections: list[dict] = field(default_factory=list)
    detected: int = 0
    delay_median_s: float | None = None
    delay_p90_s: float | None = None
    false_alerts: int = 0
    false_per_ticker_day: float = 0.0
    false_per_active_ticker_day: float = 0.0
    active_ticker_days: int = 0
    event_alerts: int = 0
    alerts_total: int = 0

    @property
    def detected_share(self) -> float:
        return self.detected / len(self.injections) if self.injections else 0.0


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def load_stream(cfg: BenchConfig, max_entities: int) -> list[Doc]:
    """Tweets of the range, linked to their StockNet tickers (a list of many cashtags stays a list)."""
    universe = set(cfg.tickers) if cfg.tickers else None
    docs = []
    with cfg.tweets.open() as f:
        for line in f:
            row = json.loads(line)
            t = _utc(row["created_at"])
            if not cfg.start <= t < cfg.end:
                continue
            tickers = [x for x in row["stocknet_tickers"] if universe is None or x in universe]
            if not tickers:
                continue
            mentioned = list(dict.fromkeys([*tickers, *row.get("cashtags", [])]))
            entities = mentioned if len(mentioned) > max_entities else tickers
            docs.append(Doc(f"stocknet:{row['id']}", t, row["text"], entities,
                            f"https://twitter.com/i/web/status/{row['id']}"))
            if cfg.limit and len(docs) >= cfg.limit:
                break
    return docs


def load_headlines(path: Path) -> dict[str, list[str]]:
    """Bearish and bullish headlines, cashtags replaced by a {T} placeholder for the target ticker."""
    out: dict[str, list[str]] = {"negative": [], "positive": []}
    with path.open() as f:
        for line in f:
            row = json.loads(line)
            direction = {"bearish": "negative", "bullish": "positive"}.get(row["label_name"])
            if direction and _CASHTAG.search(row["text"]):
                out[direction].append(_CASHTAG.sub("{T}", row["text"]))
    return out


def plan_injections(cfg: BenchConfig, docs: list[Doc], headlines: dict[str, list[str]]
                    ) -> tuple[list[Injection], list[Doc]]:
    rng = random.Random(cfg.seed)
    present = sorted({e for d in docs for e in d.entities if len(d.entities) <= 5})
    chosen = sorted(rng.sample(present, min(cfg.inject_tickers, len(present))))
    first = cfg.start + timedelta(days=cfg.warmup_days)
    span = (cfg.end - timedelta(days=1) - first).total_seconds()
    injections, injected = [], []
    for ticker in chosen:
        times: list[float] = []
        while len(times) < cfg.shifts_per_ticker:  # spaced >= 2 days so each shift stands alone
            x = rng.uniform(0, span)
            if all(abs(x - y) > 2 * 86400 for y in times):
                times.append(x)
        for x in sorted(times):
            t0 = first + timedelta(seconds=round(x))
            direction = rng.choice(("negative", "positive"))
            offsets = [0.0] + sorted(rng.uniform(0, cfg.burst_seconds) for _ in range(cfg.burst_docs - 1))
            ids = []
            texts = rng.sample(headlines[direction], cfg.burst_docs)  # distinct headlines in one burst
            for i, (off, template) in enumerate(zip(offsets, texts, strict=True)):
                text = template.replace("{T}", f"${ticker}")
                doc_id = f"inject:{ticker}:{t0:%Y%m%d%H%M%S}:{i}"
                injected.append(Doc(doc_id, t0 + timedelta(seconds=off), text, [ticker], None))
                ids.append(doc_id)
            injections.append(Injection(ticker, t0, direction, ids))
    return injections, injected


def near_dedup(stream: list[Doc]) -> list[Doc]:
    """The news-feed ingest filter: one copy of a near-identical text per window."""
    from marketpulse.ingest.dedup import NearDuplicateFilter
    from marketpulse.ingest.settings import IngestSettings

    settings = IngestSettings()
    dedup = NearDuplicateFilter(settings.dedup_window_s, settings.dedup_max_items)
    kept = []
    for d in stream:
        raw = RawDocument(id=d.doc_id, source="bench", source_kind="social", text=d.text, published_at=d.t,
                          ingested_at=d.t)
        if not dedup.seen(raw):
            kept.append(d)
    return kept


class ScoreCache:
    """Classifier outputs per text (sha1), in one .npz per model version: reruns score nothing.

    A row is the 3 sentiment probabilities, the 18 event probabilities and the model's 18 event
    decisions (its per-type thresholds), so replays see the same `events` the pipeline would."""

    def __init__(self, directory: Path, classifier) -> None:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{classifier.name}-{classifier.version}")
        self.path = directory / f"alerts-bench-{safe}.npz"
        self.classifier = classifier
        self.rows: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            if data["values"].shape[1:] == (_ROW_WIDTH,):  # an older layout is rescored, not misread
                self.rows = dict(zip(data["keys"].tolist(), data["values"], strict=True))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def score(self, texts: list[str], batch: int, progress) -> dict[str, np.ndarray]:
        missing = list(dict.fromkeys(k for k in map(self.key, texts) if k not in self.rows))
        by_key = {self.key(t): t for t in texts}
        with progress(total=len(missing), desc="scoring", unit="doc") as bar:
            for i in range(0, len(missing), batch):
                keys = missing[i:i + batch]
                for k, p in zip(keys, self.classifier.classify([by_key[k] for k in keys]), strict=True):
                    self.rows[k] = np.array([p.sentiment_scores[x] for x in _LABELS]
                                            + [p.event_scores.get(e, 0.0) for e in EVENT_TYPES]
                                            + [e in p.events for e in EVENT_TYPES], dtype=np.float32)
                bar.update(len(keys))
        if missing:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = list(self.rows)
            np.savez_compressed(self.path, keys=np.array(keys), values=np.stack([self.rows[k] for k in keys]))
        return {k: self.rows[k] for k in by_key}


def scored(doc: Doc, row: np.ndarray, model: tuple[str, str]) -> ScoredDocument:
    n, m = len(_LABELS), len(EVENT_TYPES)
    probs = {x: float(p) for x, p in zip(_LABELS, row[:n], strict=True)}
    events = {e: float(p) for e, p in zip(EVENT_TYPES, row[n:n + m], strict=True)}
    detected = [e for e, flag in zip(EVENT_TYPES, row[n + m:], strict=True) if flag]
    return ScoredDocument(
        doc_id=doc.doc_id, source="stocknet" if doc.doc_id.startswith("stocknet") else "injected",
        source_kind="social", url=doc.url, title=doc.text[:200], published_at=doc.t, ingested_at=doc.t,
        scored_at=doc.t, entities=doc.entities, model_name=model[0], model_version=model[1],
        sentiment=max(probs, key=probs.__getitem__), sentiment_scores=probs,
        sentiment_score=max(-1.0, min(1.0, probs["positive"] - probs["negative"])),
        events=detected, event_scores=events,
    )


def evaluate(alerts: list[Alert], injections: list[Injection], max_delay_s: float) -> None:
    """Mark each injection detected (first alert message in its direction within the window)."""
    by_ticker: dict[str, list[Alert]] = defaultdict(list)
    for a in alerts:
        if a.entity_kind == "ticker" and a.rule in SIGNAL_RULES and a.state == "open":
            by_ticker[a.entity].append(a)
    for inj in injections:
        window_end = inj.t0 + timedelta(seconds=max_delay_s)
        for a in by_ticker[inj.ticker]:
            if a.direction == inj.direction and inj.t0 <= a.event_time <= window_end:
                inj.detected_at, inj.alert_id = a.event_time, a.alert_id
                inj.masked = a.opened_at < inj.t0  # an older alert escalated rather than a new one
                break


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.array(values), q))


def run(cfg: BenchConfig, classifier, progress=None, engine_kwargs: dict | None = None) -> BenchResult:
    from tqdm import tqdm

    progress = progress or tqdm
    engine_kwargs = engine_kwargs or {}
    settings: AlertSettings = engine_kwargs.setdefault("settings", AlertSettings())
    ticker_params: TickerSignalSettings = engine_kwargs.setdefault("ticker", TickerSignalSettings())
    real = load_stream(cfg, settings.max_entities_per_doc)
    injections, injected = plan_injections(cfg, real, load_headlines(cfg.headlines))
    stream = sorted(real + injected, key=lambda d: (d.t, d.doc_id))
    if cfg.dedup:
        stream = near_dedup(stream)
        real = [d for d in stream if not d.doc_id.startswith("inject:")]
        injected = [d for d in stream if d.doc_id.startswith("inject:")]
    cache = ScoreCache(cfg.cache_dir, classifier)
    rows = cache.score([d.text for d in stream], cfg.batch_size, progress)
    model = (classifier.name, classifier.version)

    engine = AlertEngine(**engine_kwargs)
    plot_ticker = cfg.plot_ticker or (injections[0].ticker if injections else None)
    trace: list[tuple[float, float, float, float, float]] = []
    engine.detectors["ticker"].on_update = (
        lambda e, t, z, ewma, mean, sd: trace.append((t, z, ewma, mean, sd)) if e == plot_ticker else None)
    alerts: list[Alert] = []
    with progress(total=len(stream), desc="replay", unit="doc") as bar:
        for i in range(0, len(stream), cfg.batch_size):
            chunk = stream[i:i + cfg.batch_size]
            alerts += engine.observe([scored(d, rows[ScoreCache.key(d.text)], model) for d in chunk])
            bar.update(len(chunk))

    evaluate(alerts, injections, cfg.max_delay_s)
    result = _summarise(cfg, classifier, real, injected, injections, alerts, settings, ticker_params)
    cfg.out.mkdir(parents=True, exist_ok=True)
    (cfg.out / "alerts_bench.json").write_text(json.dumps(asdict(result), indent=1, default=str) + "\n")
    if plot_ticker:
        from marketpulse.alerts.bench_plot import plot

        plot(cfg.out / "alerts_bench.png", plot_ticker, trace, injections, alerts, ticker_params)
    return result


def _summarise(cfg, classifier, real, injected, injections, alerts, settings, ticker_params) -> BenchResult:
    injected_tickers = {i.ticker for i in injections}
    tickers = {e for d in real for e in d.entities if len(d.entities) <= settings.max_entities_per_doc}
    untouched = tickers - injected_tickers
    days = (cfg.end - cfg.start).total_seconds() / 86400
    active = {(e, d.t.date()) for d in real for e in d.entities if e in untouched}
    false_ids = {a.alert_id for a in alerts if a.entity_kind == "ticker" and a.rule in SIGNAL_RULES
                 and a.entity in untouched}
    delays = [i.delay_s for i in injections if i.delay_s is not None]
    return BenchResult(
        model=f"{classifier.name} {classifier.version}",
        config={k: str(v) for k, v in asdict(cfg).items()},
        params={"ticker": ticker_params.model_dump(), "alerts": settings.model_dump(mode="json")},
        docs_real=len(real), docs_injected=len(injected), tickers=len(tickers), untouched_tickers=len(untouched),
        days=round(days, 2), injections=[asdict(i) | {"delay_s": i.delay_s} for i in injections],
        detected=sum(i.detected_at is not None for i in injections),
        delay_median_s=statistics.median(delays) if delays else None, delay_p90_s=_percentile(delays, 90),
        false_alerts=len(false_ids),
        false_per_ticker_day=len(false_ids) / max(len(untouched) * days, 1e-9),
        false_per_active_ticker_day=len(false_ids) / max(len(active), 1), active_ticker_days=len(active),
        event_alerts=len({a.alert_id for a in alerts if a.rule.startswith("event:")}),
        alerts_total=len({a.alert_id for a in alerts}),
    )


def report_lines(r: BenchResult) -> list[str]:
    n = len(r.injections)
    med = f"{r.delay_median_s:.0f}" if r.delay_median_s is not None else "n/a"
    p90 = f"{r.delay_p90_s:.0f}" if r.delay_p90_s is not None else "n/a"
    masked = sum(1 for i in r.injections if i["masked"])
    c = r.config
    return [
        f"model: {r.model}",
        f"stream: {r.docs_real} real tweets, {r.tickers} tickers, {c['start']} .. {c['end']} ({r.days:.0f} days); "
        f"{r.docs_injected} injected docs",
        f"injected shifts: {n} ({c['inject_tickers']} tickers x {c['shifts_per_ticker']}, bursts of "
        f"{c['burst_docs']} docs in {float(c['burst_seconds']):.0f} s, seed {c['seed']})",
        f"detected: {r.detected}/{n} = {r.detected_share:.1%} (target >= 95%; {masked} joined an alert already open)",
        f"delay (stream time): median {med} s, p90 {p90} s (target median <= 60 s)",
        f"false alerts on {r.untouched_tickers} untouched tickers: {r.false_alerts} = "
        f"{r.false_per_ticker_day:.4f} per ticker-day (target <= 0.5); "
        f"{r.false_per_active_ticker_day:.4f} per active ticker-day ({r.active_ticker_days} with a document)",
        f"event alerts (all tickers): {r.event_alerts}; alerts in all: {r.alerts_total}",
        "parameters (ticker): " + ", ".join(f"{k}={v}" for k, v in r.params["ticker"].items()),
    ]
