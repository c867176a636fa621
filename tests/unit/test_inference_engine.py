"""The shipped model through the engine: the contract a stream consumer or a CLI user relies on."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest

from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS
from marketpulse.inference.base import Classifier
from marketpulse.inference.batching import _cuts, length_batches
from marketpulse.inference.bundle import default_model_dir
from marketpulse.inference.engine import OnnxClassifier, load_classifier

pytestmark = pytest.mark.skipif(
    not (default_model_dir() / "labels.json").is_file(), reason="shipped model not present"
)

HEADLINES = [
    "Apple beats earnings estimates and raises its dividend",
    "Tesla shares plunge after regulators open a safety probe",
    "Microsoft to hold annual shareholder meeting on Dec 7",
    "Boeing wins $2 billion order from United Airlines for 50 jets",
    "Intel announces layoffs as quarterly revenue falls 20%",
]


@pytest.fixture(scope="module")
def engine() -> OnnxClassifier:
    clf = load_classifier()
    clf.warmup()
    return clf


def test_engine_is_a_classifier(engine: OnnxClassifier) -> None:
    assert isinstance(engine, Classifier)
    assert engine.name and engine.version


def test_prediction_contract(engine: OnnxClassifier) -> None:
    for pred in engine.classify(HEADLINES):
        assert pred.sentiment in SENTIMENT_LABELS
        assert list(pred.sentiment_scores) == list(SENTIMENT_LABELS)
        assert math.isclose(sum(pred.sentiment_scores.values()), 1.0, abs_tol=1e-4)
        assert pred.sentiment == max(pred.sentiment_scores, key=pred.sentiment_scores.__getitem__)
        s = pred.sentiment_scores
        assert math.isclose(pred.sentiment_score, s["positive"] - s["negative"], abs_tol=1e-5)
        assert list(pred.event_scores) == list(EVENT_TYPES)
        assert all(0.0 <= p <= 1.0 for p in pred.event_scores.values())
        thresholds = dict(zip(EVENT_TYPES, engine.bundle.thresholds, strict=True))
        assert pred.events == [t for t in EVENT_TYPES if pred.event_scores[t] >= thresholds[t] - 1e-6]
        json.dumps(pred.as_dict())  # serialisable as is


def test_obvious_headlines_get_obvious_sentiment(engine: OnnxClassifier) -> None:
    preds = engine.classify(HEADLINES[:2])
    assert preds[0].sentiment == "positive"
    assert preds[1].sentiment == "negative"
    assert preds[0].sentiment_score > 0 > preds[1].sentiment_score


def test_results_follow_input_order_whatever_the_batching(engine: OnnxClassifier) -> None:
    # Clearly polar headlines of very different lengths: length grouping reorders them inside the
    # engine, so a mix-up of rows would show as a wrong label at some position.
    positive = ["Stock soars on record profit", "Acme beats estimates, raises full-year guidance and "
                "announces a bigger buyback as sales jump to an all-time high"]
    negative = ["Shares plunge on fraud probe", "Globex misses estimates, cuts guidance and suspends its "
                "dividend as sales collapse and losses widen sharply"]
    texts = [positive[0], negative[1], "ok " * 200, negative[0], positive[1]]
    labels = [p.sentiment for p in engine.classify(texts)]
    assert [labels[0], labels[1], labels[3], labels[4]] == ["positive", "negative", "negative", "positive"]
    alone = [engine.classify([t])[0].sentiment for t in texts]
    assert labels == alone


def test_length_grouping_preserves_order() -> None:
    seqs = [[1] * n for n in (5, 1, 9, 3, 3, 7, 2, 8)]
    seen = []
    for batch in length_batches(seqs, max_batch=3, max_tokens=20):
        assert batch.input_ids.shape[0] <= 3
        assert batch.input_ids.size <= 20 or batch.input_ids.shape[0] == 1
        for row, pos in enumerate(batch.rows):
            assert batch.attention_mask[row].sum() == len(seqs[pos])
        seen.extend(batch.rows.tolist())
    assert sorted(seen) == list(range(len(seqs)))


def _partition_cost(lengths: list[int], cuts: list[int], call_cost: int) -> int:
    starts = [0, *cuts[:-1]]
    return sum(call_cost + (end - start) * lengths[end - 1] for start, end in zip(starts, cuts, strict=True))


def test_batch_cuts_are_the_cheapest_partition() -> None:
    rng = random.Random(3)
    for _ in range(200):
        lengths = sorted(rng.randint(3, 40) for _ in range(rng.randint(1, 9)))
        max_batch, call_cost = rng.randint(1, 5), rng.choice([0, 8, 32])
        cuts = _cuts(lengths, max_batch, 10_000, call_cost)
        assert cuts[-1] == len(lengths) and all(b - a <= max_batch for a, b in zip([0, *cuts[:-1]], cuts, strict=True))
        # Every contiguous partition that respects max_batch, by brute force over the cut sets.
        inner = range(1, len(lengths))
        best = min(
            _partition_cost(lengths, [*chosen, len(lengths)], call_cost)
            for r in range(len(lengths))
            for chosen in itertools.combinations(inner, r)
            if all(b - a <= max_batch for a, b in zip([0, *chosen], [*chosen, len(lengths)], strict=True))
        )
        assert _partition_cost(lengths, cuts, call_cost) == best


def test_spread_lengths_are_split_and_equal_lengths_are_not() -> None:
    assert _cuts([18] * 64, 32, 8192, 32) == [32, 64]
    spread = sorted([5, 7, 9, 10, 11, 13, 15, 16, 17, 18, 19, 22, 24, 25, 27, 30, 33, 36, 38, 40] * 2)
    assert len(_cuts(spread, 32, 8192, 32)) > 2  # one batch padded to 40 would waste ~45% of its tokens


def test_a_2000_word_text_is_read_in_chunks(engine: OnnxClassifier) -> None:
    calm = "The company held its meeting and discussed routine matters with shareholders. "
    text = calm * 185 + "Shares collapsed after the company disclosed fraud and filed for bankruptcy."
    assert len(text.split()) >= 2000
    chunks = engine._tok.encode([text])
    assert len(chunks) > 10
    assert all(len(c.ids) <= engine.bundle.window for c in chunks)
    (pred,) = engine.classify([text])
    assert pred.sentiment in SENTIMENT_LABELS
    assert len(pred.event_scores) == len(EVENT_TYPES)


def test_empty_batch(engine: OnnxClassifier) -> None:
    assert engine.classify([]) == []
