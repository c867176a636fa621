"""Real headline streams from ../shared/datasets, as documents: for benchmarks and load tests."""

from __future__ import annotations

from marketpulse.core.messages import RawDocument
from marketpulse.core.paths import shared_datasets_dir
from marketpulse.ingest.replay import PRESETS, ReplayReport, load_documents

HEADLINE_FILES = (
    ("finviz", "finviz_news_nasdaq100_2022_2023/stock_news.csv"),
    ("benzinga", "benzinga_analyst_ratings_subset/analyst_ratings_processed.csv"),
)


def real_headlines(limit: int) -> list[RawDocument]:
    """Up to `limit` distinct real headlines (FinViz, then Benzinga), each a valid document."""
    docs: dict[str, RawDocument] = {}
    for preset, relative in HEADLINE_FILES:
        path = shared_datasets_dir() / relative
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: the headline corpora live in ../shared/datasets")
        for doc in load_documents(path, PRESETS[preset], ReplayReport(), lambda _letter: None):
            docs.setdefault(doc.id, doc)
            if len(docs) >= limit:
                return list(docs.values())
    return list(docs.values())
