"""`bench alerts` machinery on a tiny synthetic stream: injections found, accounting, outputs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from marketpulse.alerts.bench import BenchConfig, report_lines, run
from marketpulse.inference.fake import FakeClassifier

START = datetime(2015, 1, 5, tzinfo=UTC)


class Quiet:
    """tqdm stand-in: no output in tests."""

    def __init__(self, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def update(self, n):
        pass


def write_inputs(tmp_path):
    tweets = tmp_path / "tweets.jsonl"
    with tweets.open("w") as f:
        for i in range(6 * 96):  # six days, one tweet per ticker every 15 minutes
            for ticker in ("AAA", "BBB", "CCC"):
                at = START + timedelta(minutes=15 * i)
                f.write(json.dumps({"id": f"{ticker}{i}", "created_at": at.isoformat().replace("+00:00", "Z"),
                                    "text": f"${ticker} chatter number {i}", "cashtags": [ticker],
                                    "stocknet_tickers": [ticker]}) + "\n")
    headlines = tmp_path / "headlines.jsonl"
    rows = [{"text": f"$XYZ falls on weak loss {i}", "label_name": "bearish"} for i in range(30)]
    rows += [{"text": f"$XYZ jumps on strong gain {i}", "label_name": "bullish"} for i in range(30)]
    headlines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tweets, headlines


def test_injected_shifts_are_found_and_reported(tmp_path):
    tweets, headlines = write_inputs(tmp_path)
    cfg = BenchConfig(tweets=tweets, headlines=headlines, start=START, end=START + timedelta(days=6),
                      inject_tickers=1, shifts_per_ticker=2, burst_docs=12, burst_seconds=120, warmup_days=1,
                      seed=3, dedup=False, out=tmp_path / "out", cache_dir=tmp_path / "cache")
    result = run(cfg, FakeClassifier(), progress=Quiet)
    assert len(result.injections) == 2 and result.detected == 2
    assert result.delay_median_s is not None and result.delay_median_s <= 60
    assert result.untouched_tickers == 2 and result.false_alerts == 0
    assert (tmp_path / "out/alerts_bench.json").exists() and (tmp_path / "out/alerts_bench.png").exists()
    assert any(line.startswith("detected: 2/2") for line in report_lines(result))

    cached = FakeClassifier()
    run(cfg, cached, progress=Quiet)  # a rerun scores nothing: the cache has every text
    assert cached.calls == []


class Strict(FakeClassifier):
    """Detects nothing whatever the probability, as a model whose tuned thresholds sit above 0.9 would."""

    def classify(self, texts):
        return [replace(p, events=[]) for p in super().classify(texts)]


def test_replayed_documents_carry_the_models_own_event_decisions(tmp_path):
    import numpy as np

    from marketpulse.alerts.bench import Doc, ScoreCache, scored

    text = "Acme hit by lawsuit"
    doc = Doc(doc_id="d1", t=START, text=text, url="", entities=["ACME"])
    for classifier, expected in ((FakeClassifier(), ["Legal"]), (Strict(), [])):
        cache = ScoreCache(tmp_path / type(classifier).__name__, classifier)
        row = cache.score([text], 8, Quiet)[ScoreCache.key(text)]
        got = scored(doc, row, ("m", "1"))
        assert got.events == expected and got.event_scores["Legal"] == np.float32(0.9)

    # a cache written with an older row layout is rescored rather than misread
    stale = ScoreCache(tmp_path / "stale", FakeClassifier())
    stale.path.parent.mkdir(parents=True)
    np.savez_compressed(stale.path, keys=np.array([ScoreCache.key(text)]), values=np.zeros((1, 21), np.float32))
    fresh = FakeClassifier()
    ScoreCache(tmp_path / "stale", fresh).score([text], 8, Quiet)
    assert fresh.calls == [1]
