"""A model folder on disk: labels.json, tokenizer.json and the ONNX files it names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marketpulse.core.errors import ModelError
from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS

SHIPPED_MODEL = "marketpulse-minilm-mt"


@dataclass(frozen=True)
class ModelBundle:
    root: Path
    name: str
    version: str
    window: int
    thresholds: np.ndarray  # per EVENT_TYPES, in that order
    cpu_file: Path
    gpu_file: Path
    tokenizer_file: Path

    @classmethod
    def load(cls, root: Path) -> ModelBundle:
        try:
            meta = json.loads((root / "labels.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{root} is not a model folder (labels.json: {exc})") from exc
        # The stream and the store key on these names: a model trained on other labels must not load.
        if tuple(meta.get("sentiment_labels", ())) != SENTIMENT_LABELS:
            raise ModelError(f"{root}: sentiment labels {meta.get('sentiment_labels')} != {SENTIMENT_LABELS}")
        if tuple(meta.get("event_types", ())) != EVENT_TYPES:
            raise ModelError(f"{root}: event types differ from marketpulse's EVENT_TYPES")
        bundle = cls(
            root=root,
            name=meta["name"],
            version=meta["version"],
            window=int(meta["window"]),
            thresholds=np.array([meta["event_thresholds"][t] for t in EVENT_TYPES], dtype=np.float32),
            cpu_file=root / meta["files"]["cpu"],
            gpu_file=root / meta["files"]["gpu"],
            tokenizer_file=root / "tokenizer.json",
        )
        for path in (bundle.cpu_file, bundle.tokenizer_file):
            if not path.is_file():
                raise ModelError(f"model file missing: {path}")
        return bundle


def default_model_dir() -> Path:
    from marketpulse.core.paths import models_dir

    return models_dir() / SHIPPED_MODEL
