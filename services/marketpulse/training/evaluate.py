"""Metrics and per-type threshold tuning, in numpy so PyTorch and ONNX models are scored alike.

A scorer is any `texts -> (sentiment_probs [n, 3], event_probs [n, 18])`: the PyTorch model
during training, the ONNX engine after export.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS
from marketpulse.training.data import EventExample, SentimentExample

Scorer = Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]]

_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
# A type's own tuned threshold is trusted in proportion to its dev positives, fully only from this
# many on. Measured by 2-fold document cross-validation inside dev (tune on half the documents,
# score the other half; 30 random halvings, both ways) on two trained models: 60 scored 0.508 and 0.531, 12 scored
# 0.500 and 0.523. With SENTiVENT's 3–105 dev positives per type, thresholds mostly stay shared.
_MIN_SUPPORT = 60


def _f1(tp: float, fp: float, fn: float) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = len(SENTIMENT_LABELS)) -> float:
    scores = [
        _f1(
            np.sum((y_pred == c) & (y_true == c)),
            np.sum((y_pred == c) & (y_true != c)),
            np.sum((y_pred != c) & (y_true == c)),
        )
        for c in range(n_classes)
    ]
    return float(np.mean(scores))


def per_type_f1(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    tp = (predicted & labels).sum(0)
    fp = (predicted & ~labels).sum(0)
    fn = (~predicted & labels).sum(0)
    return np.array([_f1(*t) for t in zip(tp, fp, fn, strict=True)])


def multilabel_macro_f1(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> float:
    return float(per_type_f1(labels.astype(bool), probs >= thresholds).mean())


def tune_thresholds(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per-type thresholds maximising dev F1; rare types are pulled towards one shared threshold."""
    labels = labels.astype(bool)
    shared = max(_GRID, key=lambda t: per_type_f1(labels, probs >= t).mean())
    tuned = np.full(labels.shape[1], shared, dtype=np.float64)
    for k in range(labels.shape[1]):
        support = labels[:, k].sum()
        if support == 0:
            continue
        f1s = [_f1(*_counts(labels[:, k], probs[:, k] >= t)) for t in _GRID]
        best = float(_GRID[int(np.argmax(f1s))])
        trust = min(1.0, support / _MIN_SUPPORT)
        tuned[k] = trust * best + (1 - trust) * shared
    return tuned


def cross_validated_event_f1(labels: np.ndarray, probs: np.ndarray, documents: Sequence[str], rounds: int = 200,
                             seed: int = 0) -> float:
    """Event macro-F1 with thresholds tuned on other documents: split the documents in half at
    random, tune on one half and score the other, both ways, and average over the rounds. Scoring
    on the documents the thresholds were tuned on flatters a model by about 4 pt on SENTiVENT dev;
    this estimate does not, so candidates are compared on it."""
    docs = np.asarray(documents)
    unique = np.unique(docs)
    if len(unique) < 2:
        raise ValueError("cross-validation needs at least two documents")
    labels = labels.astype(bool)
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(rounds):
        first = np.isin(docs, rng.permutation(unique)[: len(unique) // 2])
        for tune, score in ((first, ~first), (~first, first)):
            thresholds = tune_thresholds(labels[tune], probs[tune])
            scores.append(multilabel_macro_f1(labels[score], probs[score], thresholds))
    return float(np.mean(scores))


def document_bootstrap_event_f1(labels: np.ndarray, predicted: np.ndarray, documents: Sequence[str],
                                replicates: int = 2000, seed: int = 0) -> dict:
    """How far a test event macro-F1 could move with another draw of documents of the same kind:
    resample the documents with replacement, keep each one's sentences together (sentences of one
    article share its events, so they are not independent draws), and score the fixed decisions again.
    A held-out split of a few dozen articles moves by several points this way, which is what a gap
    to a bar or between releases should be read against."""
    docs = np.asarray(documents)
    unique = np.unique(docs)
    if len(unique) < 2:
        raise ValueError("a document bootstrap needs at least two documents")
    labels, predicted = labels.astype(bool), predicted.astype(bool)
    rows = [np.flatnonzero(docs == d) for d in unique]
    rng = np.random.default_rng(seed)
    scores = np.empty(replicates)
    for b in range(replicates):
        idx = np.concatenate([rows[i] for i in rng.integers(0, len(rows), size=len(rows))])
        scores[b] = per_type_f1(labels[idx], predicted[idx]).mean()
    low, high = np.percentile(scores, [2.5, 97.5])
    return {"documents": int(len(unique)), "replicates": replicates, "sd": float(scores.std()),
            "interval_95": [float(low), float(high)]}


def _counts(y: np.ndarray, p: np.ndarray) -> tuple[int, int, int]:
    return int((p & y).sum()), int((p & ~y).sum()), int((~p & y).sum())


def _gold_and_predicted(scorer: Scorer, examples: Sequence[SentimentExample]) -> tuple[np.ndarray, np.ndarray]:
    probs, _ = scorer([e.text for e in examples])
    return np.array([e.label for e in examples]), probs.argmax(1)


def _sentiment_figures(y: np.ndarray, pred: np.ndarray) -> dict:
    return {"n": len(y), "macro_f1": macro_f1(y, pred), "accuracy": float((pred == y).mean())}


def sentiment_report(scorer: Scorer, examples: Sequence[SentimentExample]) -> dict:
    return _sentiment_figures(*_gold_and_predicted(scorer, examples))


def polar_sentiment_report(scorer: Scorer, examples: Sequence[SentimentExample]) -> dict:
    """For sets whose gold has no neutral class (user tags): beside the usual figures, how often
    the model calls a text neutral, and how often it takes the tagged side when it does not."""
    y, pred = _gold_and_predicted(scorer, examples)
    polar = pred != SENTIMENT_LABELS.index("neutral")
    return {
        **_sentiment_figures(y, pred),
        "neutral_rate": float(1 - polar.mean()),
        "polar_accuracy": float((pred[polar] == y[polar]).mean()) if polar.any() else 0.0,
    }


def event_arrays(scorer: Scorer, examples: Sequence[EventExample]) -> tuple[np.ndarray, np.ndarray]:
    _, probs = scorer([e.text for e in examples])
    return np.array([e.labels for e in examples], dtype=bool), probs


def event_report(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> dict:
    f1 = per_type_f1(labels, probs >= thresholds)
    return {
        "n": int(labels.shape[0]),
        "macro_f1": float(f1.mean()),
        "macro_f1_at_0.5": multilabel_macro_f1(labels, probs, np.full(len(EVENT_TYPES), 0.5)),
        "per_type_f1": {t: round(float(v), 4) for t, v in zip(EVENT_TYPES, f1, strict=True)},
    }
