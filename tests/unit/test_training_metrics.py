"""Training metrics in numpy: macro-F1, per-type thresholds, and the cross-validated event estimate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marketpulse.core.errors import ModelError
from marketpulse.training import data as D
from marketpulse.training import evaluate as E


def test_macro_f1_averages_each_class_f1() -> None:
    y = np.array([0, 0, 1, 2])
    pred = np.array([0, 1, 1, 2])
    # class 0: tp 1, fn 1 -> 2/3; class 1: tp 1, fp 1 -> 2/3; class 2: 1.0
    assert E.macro_f1(y, pred) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_a_rare_types_threshold_is_pulled_towards_the_shared_one() -> None:
    # Type 0: 60 positives at 0.8, 60 negatives at 0.2. Type 1: 6 positives at 0.95, 6 negatives at 0.85.
    labels = np.zeros((132, 2), dtype=bool)
    probs = np.zeros((132, 2))
    labels[:60, 0], probs[:60, 0], probs[60:120, 0] = True, 0.8, 0.2
    labels[120:126, 1], probs[120:126, 1], probs[126:, 1] = True, 0.95, 0.85
    thresholds = E.tune_thresholds(labels, probs)
    # The shared threshold suits type 0 (0.225, the first that separates it); type 1's own best is
    # 0.875, trusted 6/60.
    assert thresholds[0] == pytest.approx(0.225)
    assert thresholds[1] == pytest.approx(0.1 * 0.875 + 0.9 * 0.225)


def test_cross_validated_event_f1_tunes_on_one_half_of_the_documents_and_scores_the_other() -> None:
    # Document a wants a threshold in (0.1, 0.3], document b one in (0.5, 0.9]: each one's threshold
    # misjudges the other, which tuning and scoring on all rows together would hide.
    labels = np.array([[1], [0], [1], [0]], dtype=bool)
    probs = np.array([[0.3], [0.1], [0.9], [0.5]])
    docs = ["a", "a", "b", "b"]
    in_sample = E.multilabel_macro_f1(labels, probs, E.tune_thresholds(labels, probs))
    # Tuned on a (0.125), b scores 2/3; tuned on b (0.525), a scores 0.
    assert E.cross_validated_event_f1(labels, probs, docs) == pytest.approx(1 / 3)
    assert in_sample == pytest.approx(0.8)
    with pytest.raises(ValueError, match="two documents"):
        E.cross_validated_event_f1(labels, probs, ["a"] * 4)


def test_the_document_bootstrap_resamples_whole_documents() -> None:
    # Document a is all right, b all wrong (one miss, one false alarm). Drawing two documents gives
    # a+a (F1 1), b+b (0) or a+b (0.5) with chances 1/4, 1/4, 1/2: mean 0.5, sd sqrt(1/8).
    labels = np.array([[1], [0], [1], [0]], dtype=bool)
    predicted = np.array([[1], [0], [0], [1]], dtype=bool)
    docs = ["a", "a", "b", "b"]
    spread = E.document_bootstrap_event_f1(labels, predicted, docs, replicates=4000)
    assert spread["documents"] == 2 and spread["replicates"] == 4000
    assert spread["sd"] == pytest.approx(np.sqrt(1 / 8), abs=0.01)
    assert spread["interval_95"] == [0.0, 1.0]
    assert E.document_bootstrap_event_f1(labels, predicted, docs, replicates=4000) == spread  # seeded
    # Right decisions everywhere leave nothing to vary.
    assert E.document_bootstrap_event_f1(labels, labels, docs)["sd"] == 0.0
    with pytest.raises(ValueError, match="two documents"):
        E.document_bootstrap_event_f1(labels, predicted, ["a"] * 4)


def test_metrics_keep_each_soup_runs_history_and_which_model_was_kept() -> None:
    from marketpulse.training.report import _training_summary

    epoch = {"epoch": 1, "select": 0.7}
    assert _training_summary({"history": [epoch]}) == {"history": [epoch]}
    soup_log = {"kept": "soup", "soup": {"select": 0.74, "thresholds": [0.5] * 18},
                "runs": [{"order_seed": 13, "history": [epoch], "best_select": 0.7},
                         {"order_seed": 19, "history": [], "best_select": 0.0}]}
    assert _training_summary(soup_log) == {
        "kept": "soup", "soup": {"select": 0.74},
        "runs": [{"order_seed": 13, "history": [epoch]}, {"order_seed": 19, "history": []}],
    }
    # A cross-fitted run names the dev fold it scored.
    soup_log["runs"][0]["fold"] = 0
    assert _training_summary(soup_log)["runs"][0] == {"order_seed": 13, "dev_fold": 0, "history": [epoch]}


def test_document_folds_cut_every_document_into_exactly_one_fold_the_same_way_each_time() -> None:
    examples = [D.EventExample(f"sentence {i}", (0,) * 18, f"doc{i % 7}") for i in range(30)]
    folds = D.document_folds(examples, 3, seed=13)
    assert sorted(len(f) for f in folds) == [2, 2, 3]
    assert set().union(*folds) == {f"doc{i}" for i in range(7)}
    assert sum(len(f) for f in folds) == 7  # disjoint
    assert D.document_folds(examples, 3, seed=13) == folds
    assert D.document_folds(examples, 3, seed=14) != folds
    with pytest.raises(ModelError, match="8 folds"):
        D.document_folds(examples, 8, seed=13)


def _gold_file(root, rows) -> None:
    path = root / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_the_external_gold_set_keeps_three_labels_and_leaves_out_none_and_training_text(tmp_path) -> None:
    _gold_file(tmp_path, [
        {"headline": "gold climbs to a six-week high", "price_sentiment": "positive"},
        {"headline": "gold slips as the dollar firms", "price_sentiment": "negative"},
        {"headline": "gold steady ahead of the Fed", "price_sentiment": "neutral"},
        {"headline": "jewellers brace for a duty hike", "price_sentiment": "none"},
        {"headline": "Gold prices settle higher!", "price_sentiment": "positive"},
    ])
    banned = {D.normalise("gold prices settle higher")}
    examples = D.read_gold_news(tmp_path, "gold.jsonl", banned)
    assert [(e.text, e.label) for e in examples] == [
        ("gold climbs to a six-week high", 2),
        ("gold slips as the dollar firms", 0),
        ("gold steady ahead of the Fed", 1),
    ]


def test_an_unknown_gold_label_names_its_line(tmp_path) -> None:
    _gold_file(tmp_path, [{"headline": "gold up", "price_sentiment": "positive"},
                          {"headline": "gold down", "price_sentiment": "bearish"}])
    with pytest.raises(ModelError, match="line 2"):
        D.read_gold_news(tmp_path, "gold.jsonl", set())


def test_storing_one_precisions_figures_replaces_that_section_only(tmp_path) -> None:
    from marketpulse.training.report import rescore, store

    stored = {"int8": {"test": {"old": 1}}, "fp32": {"test": {"x": 2}}, "bench": {"speedup": 6.1}}
    store(tmp_path, stored, "int8", {"test": {"new": 3}, "external": {}, "dev": {}})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {
        "int8": {"test": {"new": 3}, "external": {}, "dev": {}}, "fp32": {"test": {"x": 2}}, "bench": {"speedup": 6.1},
    }
    store(tmp_path, json.loads((tmp_path / "metrics.json").read_text()), "fp16", {"test": {"gpu": 4}})
    assert json.loads((tmp_path / "metrics.json").read_text())["fp16"] == {"test": {"gpu": 4}}
    assert json.loads((tmp_path / "metrics.json").read_text())["int8"]["test"] == {"new": 3}
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ModelError, match="metrics.json"):
        rescore(tmp_path, tmp_path)


def test_only_the_shipped_precisions_can_be_scored() -> None:
    from marketpulse.inference.bundle import ModelBundle, default_model_dir
    from marketpulse.training.report import shipped_classifier

    if not (default_model_dir() / "labels.json").is_file():
        pytest.skip("shipped model not present")
    with pytest.raises(ModelError, match="precision must be one of int8, fp16, not 'fp32'"):
        shipped_classifier(ModelBundle.load(default_model_dir()), "fp32")


def test_tagged_posts_keep_one_row_per_message_unescaped_and_skip_untagged_ones(tmp_path) -> None:
    (tmp_path / "posts.csv").write_text(
        "message_id,tag,body\n"
        "1,Bullish,$ETH.X to the moon &amp; beyond\n"
        "1,Bullish,$ETH.X to the moon &amp; beyond\n"
        "2,Bearish,dumping everything\n"
        "3,NULL,just watching\n"
        "4,Bearish,copied from training\n"
    )
    examples = D.read_tagged_posts(tmp_path, "posts.csv", banned={D.normalise("copied from training")})
    assert [(e.text, e.label) for e in examples] == [("$ETH.X to the moon & beyond", 2), ("dumping everything", 0)]
    (tmp_path / "bad.csv").write_text("id,text\n1,hello\n")
    with pytest.raises(ModelError, match="message_id, tag and body"):
        D.read_tagged_posts(tmp_path, "bad.csv", set())


def test_the_polar_report_counts_neutral_calls_apart_from_wrong_sides() -> None:
    examples = [D.SentimentExample(t, label, "s") for t, label in (("a", 2), ("b", 2), ("c", 0), ("d", 0))]
    calls = {"a": 2, "b": 1, "c": 2, "d": 0}  # right, neutral, wrong side, right

    def scorer(texts):
        return np.eye(3)[[calls[t] for t in texts]], np.zeros((len(texts), 18))

    report = E.polar_sentiment_report(scorer, examples)
    assert report["neutral_rate"] == pytest.approx(0.25)
    assert report["polar_accuracy"] == pytest.approx(2 / 3)
    assert report["accuracy"] == pytest.approx(0.5)
