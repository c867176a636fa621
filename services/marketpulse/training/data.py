"""Read the labelled sets named by a recipe and split them into train / dev (/ test) once, by seed.

Sentiment sets come in four shapes (`kind`), all mapped to negative/neutral/positive:
  tfns           bearish → negative, bullish → positive, neutral → neutral
  sentfin        a headline's entity labels, kept only when every entity agrees
  score          a score in [-1, 1]: |score| < neutral_band → neutral, else its sign
  stockemotions  user bullish/bearish tags (no neutral class exists in that set)
SENTiVENT event sentences are split by document, so no article is both trained on and scored.
"""

from __future__ import annotations

import csv
import html
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from marketpulse.core.errors import ModelError
from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS
from marketpulse.training.recipe import EventTask, SentimentSource, SentimentTask, UnlabelledSource

_TFNS = {"bearish": "negative", "bullish": "positive", "neutral": "neutral"}
_URL = re.compile(r"https?://\S+")
_NON_WORD = re.compile(r"[^a-z0-9 ]+")


@dataclass(frozen=True, slots=True)
class SentimentExample:
    text: str
    label: int  # index into SENTIMENT_LABELS
    source: str


@dataclass(frozen=True, slots=True)
class EventExample:
    text: str
    labels: tuple[int, ...]  # 0/1 per EVENT_TYPES
    document_id: str
    subtypes: tuple[str, ...] = ()  # "Type.Subtype" names, for the auxiliary subtype head


@dataclass(frozen=True)
class SentimentSplits:
    train: dict[str, list[SentimentExample]]  # by source, for the source-weighted sampler
    dev: dict[str, list[SentimentExample]]


@dataclass(frozen=True)
class EventSplits:
    train: list[EventExample]
    dev: list[EventExample]
    test: list[EventExample]


def normalise(text: str) -> str:
    """The normalisation TFNS's SOURCE.md used to find train/valid near-duplicates."""
    text = _URL.sub(" ", text.lower())
    return " ".join(_NON_WORD.sub(" ", text).split())


def _jsonl(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc


def _label(name: str) -> int:
    return SENTIMENT_LABELS.index(name)


def _score_label(score: float, band: float) -> int:
    if abs(score) < band:
        return _label("neutral")
    return _label("positive" if score > 0 else "negative")


def _read_tfns(rows: list[dict], src: SentimentSource, _: float) -> list[SentimentExample]:
    return [SentimentExample(r["text"], _label(_TFNS[r["label_name"]]), src.name) for r in rows]


def _read_sentfin(rows: list[dict], src: SentimentSource, _: float) -> list[SentimentExample]:
    out = []
    for r in rows:
        labels = set(r["entities"].values())
        if len(labels) == 1:  # mixed-entity headlines have no single headline label
            out.append(SentimentExample(r["title"], _label(labels.pop()), src.name))
    return out


def _read_score(rows: list[dict], src: SentimentSource, band: float) -> list[SentimentExample]:
    # Several rows per text (one per company): average them, drop texts whose targets disagree in sign.
    by_text: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        text = r.get(src.text_field)
        if text:
            by_text[text].append(float(r["sentiment_score"]))
    out = []
    for text, scores in by_text.items():
        if min(scores) < -band and max(scores) > band:
            continue
        out.append(SentimentExample(text, _score_label(sum(scores) / len(scores), band), src.name))
    return out


def _read_stockemotions(path: Path, src: SentimentSource) -> list[SentimentExample]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [SentimentExample(r["original"], _label(_TFNS[r["senti_label"]]), src.name) for r in rows]


_READERS = {"tfns": _read_tfns, "sentfin": _read_sentfin, "score": _read_score}


def read_source(root: Path, src: SentimentSource, band: float) -> list[SentimentExample]:
    paths = [root / p for p in src.path.split("+")]  # "a.jsonl+b.jsonl" pools several files
    if src.kind == "stockemotions":
        return [e for p in paths for e in _read_stockemotions(p, src)]
    if src.kind not in _READERS:
        raise ModelError(f"unknown sentiment source kind {src.kind!r}")
    rows = [r for p in paths for r in _jsonl(p)]
    return _READERS[src.kind](rows, src, band)


def _dedupe(examples: list[SentimentExample], banned: set[str]) -> list[SentimentExample]:
    """Drop near-duplicates inside the set and anything that also occurs in an evaluation file."""
    seen = set(banned)
    out = []
    for e in examples:
        key = normalise(e.text)
        if key and key not in seen:
            seen.add(key)
            out.append(e)
    return out


def load_sentiment(root: Path, task: SentimentTask, seed: int) -> SentimentSplits:
    train: dict[str, list[SentimentExample]] = {}
    dev: dict[str, list[SentimentExample]] = {}
    for src in task.sources:
        banned: set[str] = set()
        if src.exclude_overlap_with:
            banned = {normalise(r["text"]) for r in _jsonl(root / src.exclude_overlap_with)}
        examples = _dedupe(read_source(root, src, task.neutral_band), banned)
        random.Random(f"{seed}:{src.name}").shuffle(examples)
        n_dev = int(len(examples) * src.dev_fraction)
        dev[src.name], train[src.name] = examples[:n_dev], examples[n_dev:]
    return SentimentSplits(train, dev)


def _event_vector(types: list[str]) -> tuple[int, ...]:
    unknown = set(types) - set(EVENT_TYPES)
    if unknown:
        raise ModelError(f"unknown event types in data: {sorted(unknown)}")
    return tuple(int(t in types) for t in EVENT_TYPES)


def load_events(root: Path, task: EventTask, seed: int) -> EventSplits:
    rows = _jsonl(root / task.path)
    docs = sorted({r["document_id"] for r in rows})
    random.Random(f"{seed}:events").shuffle(docs)
    n_dev, n_test = round(len(docs) * task.dev_fraction), round(len(docs) * task.test_fraction)
    dev_docs, test_docs = set(docs[:n_dev]), set(docs[n_dev : n_dev + n_test])
    splits: dict[str, list[EventExample]] = {"train": [], "dev": [], "test": []}
    for r in rows:
        doc = r["document_id"]
        split = "dev" if doc in dev_docs else "test" if doc in test_docs else "train"
        subtypes = tuple(r.get("event_subtypes", ()))
        splits[split].append(EventExample(r["text"], _event_vector(r["event_types"]), doc, subtypes))
    return EventSplits(splits["train"], splits["dev"], splits["test"])


def document_folds(examples: list[EventExample], k: int, seed: int) -> list[set[str]]:
    """The examples' documents cut into k folds of near-equal document count (seeded shuffle), for
    cross-fitting: a run trains on every fold but one and scores the one it never saw."""
    docs = sorted({e.document_id for e in examples})
    if not 1 < k <= len(docs):
        raise ModelError(f"cannot cut {len(docs)} documents into {k} folds")
    random.Random(f"{seed}:folds").shuffle(docs)
    return [set(docs[i::k]) for i in range(k)]


def read_tfns_valid(root: Path, path: str) -> list[SentimentExample]:
    """The reported sentiment test set; never trained or selected on."""
    src = SentimentSource(name="tfns_valid", kind="tfns", path=path, weight=0.0)
    return read_source(root, src, 0.0)


def read_gold_news(root: Path, path: str, banned: set[str]) -> list[SentimentExample]:
    """Gold-market headlines with human price-sentiment labels (Sinha & Khandait, FICC 2021): news
    from other publishers than any training source, so an external check that no recipe trains or
    selects on. Rows labelled 'none' (the headline states no price view) are left out: the set's
    own neutral class means "price steady", and ours means "no view either way", so neither fits
    'none' cleanly. Headlines whose normalised text occurs in `banned` (training text) are dropped."""
    out = []
    for i, r in enumerate(_jsonl(root / path), start=1):
        label = r.get("price_sentiment")
        if label == "none":
            continue
        if label not in SENTIMENT_LABELS or not r.get("headline"):
            raise ModelError(f"{root / path} line {i}: expected a headline and a price_sentiment in "
                             f"{SENTIMENT_LABELS + ('none',)}, got {label!r}")
        if normalise(r["headline"]) not in banned:
            out.append(SentimentExample(r["headline"], _label(label), "gold_news"))
    return out


_USER_TAGS = {"Bullish": "positive", "Bearish": "negative"}


def read_tagged_posts(root: Path, path: str, banned: set[str]) -> list[SentimentExample]:
    """StockTwits posts (a 2022 crypto stream) that their authors tagged Bullish or Bearish: posts
    from another time and asset class than StockEmotions, as an external check. A tag states the
    author's position, not always what the text says, and there is no neutral tag, so 3-class
    macro-F1 is capped at 0.667 here. Untagged posts and repeated message ids are skipped; bodies
    come HTML-escaped from the StockTwits API and are unescaped."""
    out, seen = [], set()
    file = root / path
    try:
        with file.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not {"message_id", "tag", "body"} <= set(reader.fieldnames or ()):
                raise ModelError(f"{file} needs the columns message_id, tag and body")
            for row in reader:
                label = _USER_TAGS.get(row["tag"])
                text = html.unescape(row["body"] or "").strip()
                if label is None or not text or row["message_id"] in seen or normalise(text) in banned:
                    continue
                seen.add(row["message_id"])
                out.append(SentimentExample(text, _label(label), "tagged_posts"))
    except OSError as exc:
        raise ModelError(f"cannot read {file}: {exc}") from exc
    return out


def read_unlabelled(root: Path, src: UnlabelledSource) -> list[str]:
    """The non-empty texts of one unlabelled source."""
    path = root / src.path
    if src.kind == "jsonl":
        texts = [str(r.get(src.text_field) or "") for r in _jsonl(path)]
    elif src.kind == "csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if src.text_field not in (reader.fieldnames or []):
                raise ModelError(f"{path} has no column {src.text_field!r}")
            texts = [row[src.text_field] or "" for row in reader]
    else:
        raise ModelError(f"unknown unlabelled source kind {src.kind!r}")
    return [t.strip() for t in texts if t and t.strip()]
