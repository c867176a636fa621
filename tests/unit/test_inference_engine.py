"""The shipped model through the engine: the contract a stream consumer or a CLI user relies on."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest

from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS
from marketpulse.inference.base import Classifier
from marketpulse.inference.batching import CPU_SHAPES, GPU_SHAPES, ShapePolicy, _cuts, length_batches
from marketpulse.inference.bundle import default_model_dir
from marketpulse.inference.engine import OnnxClassifier, load_classifier
from marketpulse.inference.lanes import Lanes

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


def test_gpu_batches_take_few_shapes_and_keep_their_rows() -> None:
    rng = random.Random(5)
    seqs = [[7] * rng.randint(3, 60) for _ in range(300)]
    allowed = set(GPU_SHAPES.warmup_shapes(256, 128))
    seen = []
    for batch in length_batches(seqs, max_batch=256, max_tokens=8192, shapes=GPU_SHAPES):
        n_rows, width = batch.input_ids.shape
        assert (n_rows, width) in allowed
        assert n_rows >= len(batch.rows) and width >= max(len(seqs[i]) for i in batch.rows)
        for row, pos in enumerate(batch.rows):
            assert batch.attention_mask[row].sum() == len(seqs[pos])
        assert (batch.attention_mask[len(batch.rows):].sum(axis=1) == 1).all()  # padding rows: one position
        seen.extend(batch.rows.tolist())
    assert sorted(seen) == list(range(len(seqs)))
    # A caller's batch of 32 mixed headlines is one call on a GPU, several narrower ones on a CPU.
    caller = seqs[:32]
    assert len(list(length_batches(caller, 256, 8192, shapes=GPU_SHAPES))) == 1
    assert len(list(length_batches(caller, 32, 8192, shapes=CPU_SHAPES))) > 1


def test_warmup_shapes_are_bounded_only_when_padding_bounds_them() -> None:
    assert CPU_SHAPES.warmup_shapes(32, 128) == []
    assert len(GPU_SHAPES.warmup_shapes(256, 128)) == 9 * 8  # rows 1..256 in powers of two x widths 16..128
    assert GPU_SHAPES.padded(33, 17) == (64, 32)


def test_gpu_padding_does_not_change_the_answers(engine: OnnxClassifier) -> None:
    padded = OnnxClassifier(engine.bundle, provider="cpu", shapes=GPU_SHAPES)
    texts = [*HEADLINES, "Shares plunge on fraud probe", "Stock soars on record profit", "ok " * 200]
    plain, wide = engine.classify(texts), padded.classify(texts)
    assert [p.sentiment for p in plain] == [p.sentiment for p in wide]
    for a, b in zip(plain, wide, strict=True):
        assert max(abs(a.sentiment_scores[k] - b.sentiment_scores[k]) for k in SENTIMENT_LABELS) < 0.05
        assert max(abs(a.event_scores[t] - b.event_scores[t]) for t in EVENT_TYPES) < 0.05


def test_warmup_runs_every_shape_the_policy_allows(engine: OnnxClassifier) -> None:
    policy = ShapePolicy(call_cost=1 << 20, width_multiple=64, pow2_rows=True)
    clf = OnnxClassifier(engine.bundle, provider="cpu", lanes=1, max_batch=4, shapes=policy)
    (session,), shapes = clf._lanes.sessions, []

    class Recording:  # the real session, with the shapes it was asked to run written down
        def run(self, names, feeds):
            shapes.append(feeds["input_ids"].shape)
            return session.run(names, feeds)

    clf._lanes = Lanes([Recording()])
    clf.warmup()
    assert set(policy.warmup_shapes(4, engine.bundle.window)) <= set(shapes)
    assert len(policy.warmup_shapes(4, engine.bundle.window)) == 3 * 2  # rows 1, 2, 4 x widths 64, 128


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


def test_lanes_give_the_same_answers_as_one_session(engine: OnnxClassifier) -> None:
    rng = random.Random(11)
    words = " ".join(HEADLINES).split()
    texts = [" ".join(rng.choices(words, k=rng.randint(2, 60))) for _ in range(150)]  # many length batches
    one = OnnxClassifier(engine.bundle, provider="cpu", threads=1, lanes=1).classify(texts)
    three = OnnxClassifier(engine.bundle, provider="cpu", threads=3, lanes=3)
    assert three.placement.lanes == 3 and three.placement.threads == 1
    assert [p.as_dict() for p in three.classify(texts)] == [p.as_dict() for p in one]


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


def test_cpu_sessions_run_the_exact_int8_kernel_where_the_fast_one_saturates(engine: OnnxClassifier) -> None:
    from marketpulse.inference.int8_kernel import PRECISE_INT8, saturates

    for session in engine._lanes.sessions:
        options = session.get_session_options()
        if saturates():
            assert options.get_session_config_entry(PRECISE_INT8) == "1"
        else:
            with pytest.raises(RuntimeError):  # never set: sessions are what the figures were measured on
                options.get_session_config_entry(PRECISE_INT8)


def test_the_gpu_file_agrees_with_the_cpu_file_wherever_it_runs() -> None:
    # The fp16 file runs on CUDA where it works and on the CPU otherwise, so a broken GPU export is
    # caught on any machine. Against int8 (its own rounding), labels must agree at export's floor.
    import gzip

    from marketpulse.demo.runner import DEMO_STREAM
    from marketpulse.inference.bundle import ModelBundle
    from marketpulse.training.export import AGREEMENT_FLOOR
    from marketpulse.training.report import shipped_classifier

    with gzip.open(DEMO_STREAM, "rt", encoding="utf-8") as lines:
        posts = [json.loads(line)["text"] for line in itertools.islice(lines, 500)]
    bundle = ModelBundle.load(default_model_dir())
    gpu_file = shipped_classifier(bundle, "fp16")
    assert gpu_file.placement.model_file == bundle.gpu_file
    cpu_sent, cpu_events = shipped_classifier(bundle, "int8").score(posts)
    gpu_sent, gpu_events = gpu_file.score(posts)
    assert (cpu_sent.argmax(1) == gpu_sent.argmax(1)).mean() >= AGREEMENT_FLOOR
    assert ((cpu_events >= bundle.thresholds) == (gpu_events >= bundle.thresholds)).mean() >= AGREEMENT_FLOOR
