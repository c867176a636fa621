"""Inference: the Classifier seam, the ONNX engine behind it, and an in-memory fake for tests.

`load_classifier()` returns the shipped model's engine; it is imported lazily so that importing
this package (as the stream code does for `Prediction`) does not load ONNX Runtime.
"""

from __future__ import annotations

from typing import Any

from marketpulse.inference.base import Classifier, Prediction

__all__ = ["Classifier", "OnnxClassifier", "Prediction", "load_classifier"]


def __getattr__(name: str) -> Any:
    if name in ("OnnxClassifier", "load_classifier"):
        from marketpulse.inference import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'marketpulse.inference' has no attribute {name!r}")
