"""The demo's closing summary, read back from the store (so it shows what landed, not what was sent)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.table import Table

from marketpulse.pipeline.embedded import RunStats
from marketpulse.store.base import Store


def summary_tables(store: Store, stats: RunStats) -> list[Table]:
    totals = Table(title="summary", title_justify="left", show_header=False)
    totals.add_row("documents processed", f"{stats.documents:,} in {stats.seconds:.1f} s "
                                          f"({stats.docs_per_s:,.0f} docs/s end to end)")
    totals.add_row("documents stored", f"{store.query('SELECT count() FROM documents FINAL')[0][0]:,}")
    for label, n in store.query("SELECT sentiment, count() FROM scores FINAL GROUP BY sentiment ORDER BY sentiment"):
        totals.add_row(f"  {label}", f"{n:,}")
    for reason, n in store.query("SELECT reason, count() FROM dead_letters FINAL GROUP BY reason"):
        totals.add_row(f"dead letters: {reason}", str(n))

    tickers = Table(title="most-discussed tickers", title_justify="left")
    for column in ("ticker", "docs", "mean sentiment", "negative", "positive"):
        tickers.add_column(column, justify="right")
    rows = store.query(
        "SELECT ticker, uniqExactMerge(docs) AS n, sumMerge(score_sum) / countMerge(score_count), "
        "sumMerge(negatives), sumMerge(positives) FROM entity_sentiment_1m GROUP BY ticker ORDER BY n DESC LIMIT 10")
    for ticker, n, mean, neg, pos in rows:
        tickers.add_row(ticker, str(n), f"{mean:+.3f}", str(neg), str(pos))
    for rule, n in store.query("SELECT rule, count() FROM alerts FINAL GROUP BY rule ORDER BY rule"):
        totals.add_row(f"alerts: {rule}", str(n))
    alerts = Table(title="sentiment-shift alerts (stream time)", title_justify="left")
    for column in ("opened", "entity", "dir", "severity"):
        alerts.add_column(column, no_wrap=True)
    alerts.add_column("values", overflow="ellipsis", no_wrap=True)
    for opened, entity, direction, severity, names, values in store.query(
            "SELECT opened_at, entity, direction, severity, value_names, value_values FROM alerts FINAL "
            "WHERE rule = 'sentiment_shift' ORDER BY opened_at LIMIT 15"):
        shown = ", ".join(f"{n}={v:.2f}" for n, v in zip(names, values, strict=True))
        alerts.add_row(f"{opened:%m-%d %H:%M}", entity, direction, severity, shown)
    return [totals, tickers, alerts] if alerts.row_count else [totals, tickers]


def plot_sentiment(store: Store, path: Path, top: int = 5) -> Path:
    """Daily mean sentiment of the most-discussed tickers, from the per-minute rollup."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tickers = [t for (t,) in store.query(
        "SELECT ticker FROM entity_sentiment_1m GROUP BY ticker ORDER BY uniqExactMerge(docs) DESC LIMIT %(n)s",
        {"n": top})]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for ticker in tickers:
        rows = store.query(
            "SELECT toDate(minute) AS day, sumMerge(score_sum) / countMerge(score_count), uniqExactMerge(docs) "
            "FROM entity_sentiment_1m WHERE ticker = %(t)s GROUP BY day ORDER BY day", {"t": ticker})
        days = [datetime.fromisoformat(str(d)) for d, _, _ in rows]
        ax.plot(days, [m for _, m, _ in rows], marker="o", markersize=3, label=ticker)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("mean sentiment score (P(pos) - P(neg))")
    ax.set_title("Daily sentiment of the most-discussed tickers (StockNet tweets, April 2014)")
    ax.legend(loc="upper left", ncol=len(tickers))
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
