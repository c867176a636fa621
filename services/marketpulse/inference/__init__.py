"""Inference: the Classifier seam, the ONNX engine behind it, and an in-memory fake for tests."""

from marketpulse.inference.base import Classifier, Prediction

__all__ = ["Classifier", "Prediction"]
