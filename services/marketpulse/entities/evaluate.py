"""Precision and recall of the linker on ticker-tagged real headlines (FinViz, Benzinga).

Each dataset files every headline under one ticker (a story on several pages appears once per
ticker). Grouping rows by headline gives, per headline, the set of tickers it was filed under.

- recall: of the (headline, filed ticker) pairs where the headline *names* that company, the share
  where the linker returns it. "Names" is a deliberately loose test, independent of the linker's
  rules: the symbol appears as an upper-case word or cashtag, or a distinctive word (≥4 letters, not
  a common or industry word) of the company's name or curated aliases appears in any case. Benzinga
  and FinViz file generic round-ups ("Stocks That Hit 52-Week Highs On Friday") and stories about
  other companies under a ticker; no linker can find a company that is not in the text, so those
  pairs are counted apart (recall over all pairs is printed too).
- precision (closed world): every entity the linker returns whose company is in the dataset's ticker
  universe is a prediction; it is right when the headline is filed under that company. A company the
  headline does name but that the dataset did not file it under counts as wrong, so this is a lower
  bound. Entities outside the universe cannot be judged and are reported as a count.
Tickers of one company (GOOG/GOOGL) and the symbol a company used at the headline's date (ABX for
Barrick in 2015) are the same entity.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from marketpulse.core.errors import ConfigError
from marketpulse.core.paths import shared_datasets_dir
from marketpulse.entities.aliases import WEAK_WORDS, alias_keys, name_forms
from marketpulse.entities.graph import Company
from marketpulse.entities.linker import EntityLinker
from marketpulse.entities.stopwords import STOPWORDS
from marketpulse.ingest.normalize import parse_timestamp

DATASETS = {
    "finviz": ("finviz_news_nasdaq100_2022_2023/stock_news.csv", "title", "datetime", "ticker", "America/New_York"),
    "benzinga": ("benzinga_analyst_ratings_subset/analyst_ratings_processed.csv", "title", "date", "stock", "UTC"),
}


@dataclass
class Headline:
    text: str
    day: date
    filed: set[str] = field(default_factory=set)


@dataclass
class Scores:
    dataset: str
    headlines: int = 0
    judged_headlines: int = 0
    strict_predictions: int = 0
    strict_correct: int = 0
    pairs: int = 0
    named_pairs: int = 0
    named_found: int = 0
    all_found: int = 0
    predictions: int = 0
    correct: int = 0
    outside_universe: int = 0
    misses: list[str] = field(default_factory=list)
    false_links: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.predictions if self.predictions else 0.0

    @property
    def precision_strict(self) -> float:
        return self.strict_correct / self.strict_predictions if self.strict_predictions else 0.0

    @property
    def recall(self) -> float:
        return self.named_found / self.named_pairs if self.named_pairs else 0.0

    @property
    def recall_all(self) -> float:
        return self.all_found / self.pairs if self.pairs else 0.0


def load_headlines(dataset: str, path: Path | None = None) -> list[Headline]:
    rel, text_col, time_col, ticker_col, tz = DATASETS[dataset]
    path = path or shared_datasets_dir() / rel
    if not path.is_file():
        raise ConfigError(f"{dataset} headlines not found at {path}; set MARKETPULSE_DATASETS or pass --path")
    by_text: dict[str, Headline] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text, ticker = (row.get(text_col) or "").strip(), (row.get(ticker_col) or "").strip()
            if not text or not ticker or None in row:  # None key: a row split by an embedded newline
                continue
            try:
                day = parse_timestamp(row[time_col], tz).date()
            except Exception:  # noqa: BLE001 - a bad date only drops the row from the evaluation
                continue
            by_text.setdefault(text, Headline(text, day)).filed.add(ticker.upper())
    return list(by_text.values())


def _name_words(company: Company) -> set[str]:
    words: set[str] = set()
    for name in [company.name, company.legal_name or "", *company.aliases]:
        for form in name_forms(name) if name else []:
            words.update(k for k in alias_keys(form) if len(k) >= 4 and k not in WEAK_WORDS and k.isalpha())
    return words


def _names_symbol(text: str, ticker: str) -> bool:
    """The symbol as a word; one-letter and stop-word symbols ("A", "ON") only as $A, (A) or in a list."""
    loose = len(ticker) >= 2 and ticker not in STOPWORDS
    for match in re.finditer(rf"(?<![\w.]){re.escape(ticker)}(?![\w])", text):
        before, after = text[:match.start()].rstrip(), text[match.end():].lstrip()
        if loose or before.endswith(("$", "(", ",")) or after.startswith((")", ",")):
            return True
    return False


def names_company(text: str, ticker: str, company: Company | None, words: set[str] | None = None) -> bool:
    """The loose, linker-independent test that a headline names a company."""
    if _names_symbol(text, ticker):
        return True
    if company is None:
        return False
    return bool((words if words is not None else _name_words(company)) & set(alias_keys(text)))


def evaluate(dataset: str, linker: EntityLinker | None = None, path: Path | None = None,
             keep_examples: int = 20) -> Scores:
    linker = linker or EntityLinker()
    graph = linker.graph
    headlines = load_headlines(dataset, path)
    universe: dict[str, tuple[str, Company | None]] = {}
    for h in headlines:
        for ticker in h.filed:
            company = graph.company(ticker, h.day)
            universe.setdefault(company.key if company else f"ticker:{ticker}", (ticker, company))
    words = {key: _name_words(c) if c else set() for key, (_, c) in universe.items()}
    scores = Scores(dataset=dataset, headlines=len(headlines))
    for h in headlines:
        linked = _keys(graph, [m.ticker for m in linker.link(h.text, h.day)], h.day)
        filed = _keys(graph, sorted(h.filed), h.day)
        for key, ticker in filed.items():
            scores.pairs += 1
            found = key in linked
            scores.all_found += found
            if names_company(h.text, ticker, universe[key][1], words[key]):
                scores.named_pairs += 1
                scores.named_found += found
                if not found and len(scores.misses) < keep_examples:
                    scores.misses.append(f"{ticker}: {h.text}")
        named = [k for k, (t, c) in universe.items() if names_company(h.text, t, c, words[k])]
        single = len(named) == 1 and named[0] in filed
        scores.judged_headlines += single
        for key, ticker in linked.items():
            if key not in universe:
                scores.outside_universe += 1
                continue
            right = key in filed
            scores.strict_predictions += 1
            scores.strict_correct += right
            if single:
                scores.predictions += 1
                scores.correct += right
                if not right and len(scores.false_links) < keep_examples:
                    scores.false_links.append(f"{ticker} (filed {','.join(sorted(h.filed))}): {h.text}")
    return scores


def _keys(graph, tickers: list[str], day: date) -> dict[str, str]:
    """Company key → ticker, so share classes and renamed symbols compare as one entity."""
    out: dict[str, str] = {}
    for ticker in tickers:
        company = graph.company(ticker, day)
        out.setdefault(company.key if company else f"ticker:{ticker}", ticker)
    return out
