"""metrics.json: the exported model scored by the runtime engine (what users run), int8 and fp32.

Tests are the TFNS valid split (never trained or selected on) and the held-out SENTiVENT
document split; dev figures are kept beside them so a reader sees how far dev and test are apart.
`external` holds labelled sets from sources no recipe trains on: how the model carries
off its own sources. `fp16` scores the GPU file: on CUDA where it works, else on the CPU, where
ONNX Runtime runs it too; each section names the provider that produced it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from marketpulse.core.errors import ModelError
from marketpulse.inference.bundle import ModelBundle
from marketpulse.inference.engine import OnnxClassifier
from marketpulse.training import data as D
from marketpulse.training import evaluate as E
from marketpulse.training.recipe import Recipe, load_recipe

TFNS_VALID = "twitter_financial_news_sentiment/clean/valid.jsonl"
GOLD_NEWS = "gold_commodity_news/clean/gold_headlines.jsonl"
TAGGED_POSTS = "stocktwits_crypto_stream_2022/message.csv"
PRECISIONS = ("int8", "fp16")  # the shipped files: CPU and GPU


def _recipe_texts(sent: D.SentimentSplits, events: D.EventSplits) -> set[str]:
    """Every text of the recipe's sources, normalised: an external set keeps none of them."""
    examples = [*(e for split in (sent.train, sent.dev) for exs in split.values() for e in exs),
                *events.train, *events.dev, *events.test]
    return {D.normalise(e.text) for e in examples}


def _score_model(clf: OnnxClassifier, recipe: Recipe, datasets: Path) -> dict:
    sent = D.load_sentiment(datasets, recipe.sentiment, recipe.seed)
    events = D.load_events(datasets, recipe.events, recipe.seed)
    thresholds = clf.bundle.thresholds.astype(np.float64)
    out: dict = {"provider": clf.placement.provider, "test": {}, "external": {}, "dev": {}}
    out["test"]["tfns_valid"] = E.sentiment_report(clf.score, D.read_tfns_valid(datasets, TFNS_VALID))
    labels, probs = E.event_arrays(clf.score, events.test)
    test_events = E.event_report(labels, probs, thresholds)
    documents = [e.document_id for e in events.test]
    if len(set(documents)) > 1:
        test_events["document_bootstrap"] = E.document_bootstrap_event_f1(labels, probs >= thresholds, documents)
    out["test"]["sentivent_doc_split"] = test_events
    banned = _recipe_texts(sent, events)
    gold = D.read_gold_news(datasets, GOLD_NEWS, banned)
    out["external"]["gold_news_price_sentiment"] = E.sentiment_report(clf.score, gold)
    posts = D.read_tagged_posts(datasets, TAGGED_POSTS, banned)
    out["external"]["stocktwits_crypto_user_tags"] = E.polar_sentiment_report(clf.score, posts)
    for name, exs in sent.dev.items():
        out["dev"][f"sentiment_{name}"] = E.sentiment_report(clf.score, exs)
    labels, probs = E.event_arrays(clf.score, events.dev)
    dev_events = E.event_report(labels, probs, thresholds)
    documents = [e.document_id for e in events.dev]
    if len(set(documents)) > 1:
        dev_events["macro_f1_cross_validated"] = E.cross_validated_event_f1(labels, probs, documents)
    # A cross-fitted model trained on SENTiVENT dev: its dev figure there is in-sample, and says so.
    key = "sentivent_events_in_sample" if recipe.schedule.cross_fit else "sentivent_events"
    out["dev"][key] = {k: v for k, v in dev_events.items() if k != "per_type_f1"}
    return out


def _training_summary(train_log: dict) -> dict:
    """Every epoch's dev figures. A soup has no history of its own: it keeps each run's, the soup's
    dev figures and which of them training kept."""
    if "runs" not in train_log:
        return {"history": train_log.get("history", [])}
    return {
        "kept": train_log["kept"],
        "soup": {k: v for k, v in train_log["soup"].items() if k != "thresholds"},
        "runs": [{"order_seed": r["order_seed"], **({"dev_fold": r["fold"]} if r.get("fold") is not None else {}),
                  "history": r["history"]} for r in train_log["runs"]],
    }


def shipped_classifier(bundle: ModelBundle, precision: str) -> OnnxClassifier:
    """The engine over one shipped file: int8 on the CPU; fp16 on CUDA where it works, else on the
    CPU, so the GPU file is scored (and a broken one caught) on any machine."""
    if precision == "int8":
        return OnnxClassifier(bundle, provider="cpu")
    if precision == "fp16":
        try:
            return OnnxClassifier(bundle, provider="cuda")
        except ModelError:
            return OnnxClassifier(bundle, provider="cpu", onnx_file=bundle.gpu_file)
    raise ModelError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


def build_metrics(recipe: Recipe, model_dir: Path, build: Path, datasets: Path) -> dict:
    bundle = ModelBundle.load(model_dir)
    t0 = time.monotonic()
    int8 = _score_model(shipped_classifier(bundle, "int8"), recipe, datasets)
    fp16 = _score_model(shipped_classifier(bundle, "fp16"), recipe, datasets)
    fp32 = _score_model(OnnxClassifier(bundle, provider="cpu", onnx_file=build / "model.fp32.onnx"), recipe, datasets)
    drop = {
        "tfns_valid_macro_f1_pt": round(100 * (fp32["test"]["tfns_valid"]["macro_f1"]
                                               - int8["test"]["tfns_valid"]["macro_f1"]), 2),
        "sentivent_macro_f1_pt": round(100 * (fp32["test"]["sentivent_doc_split"]["macro_f1"]
                                              - int8["test"]["sentivent_doc_split"]["macro_f1"]), 2),
    }
    parity = json.loads((build / "parity.json").read_text())["parity"] if (build / "parity.json").is_file() else {}
    train_log = json.loads((build / "train_log.json").read_text()) if (build / "train_log.json").is_file() else {}
    return {
        "model": {"name": bundle.name, "version": bundle.version},
        "int8": int8,
        "fp16": fp16,
        "fp32": fp32,
        "int8_drop_vs_fp32": drop,
        "parity": parity,
        "training": _training_summary(train_log),
        "scoring_seconds": round(time.monotonic() - t0, 1),
    }


def rescore(model_dir: Path, datasets: Path, precision: str = "int8") -> tuple[dict, dict]:
    """(stored, measured): one shipped file scored again through the engine from the model folder
    alone (export needs the build/ checkpoint; this does not), beside what metrics.json holds."""
    metrics_file = model_dir / "metrics.json"
    try:
        stored = json.loads(metrics_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{metrics_file}: {exc}") from exc
    clf = shipped_classifier(ModelBundle.load(model_dir), precision)
    return stored, _score_model(clf, load_recipe(model_dir / "recipe.json"), datasets)


def store(model_dir: Path, stored: dict, precision: str, measured: dict) -> None:
    """Replace metrics.json's section for `precision`; every other section is left as it is."""
    (model_dir / "metrics.json").write_text(json.dumps({**stored, precision: measured}, indent=1) + "\n")


def write_metrics(recipe: Recipe, model_dir: Path, datasets: Path) -> dict:
    metrics = build_metrics(recipe, model_dir, model_dir / "build", datasets)
    old = model_dir / "metrics.json"
    if old.is_file():  # speed figures come from `marketpulse bench model`, not from export: keep them
        bench = json.loads(old.read_text()).get("bench")
        if bench:
            metrics["bench"] = bench
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics
