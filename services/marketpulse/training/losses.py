"""Event losses. Plain BCE with a per-type positive weight, or an asymmetric variant of it.

The asymmetric loss keeps the positive term and reshapes the negative one (after Ridnik et al.,
"Asymmetric Loss for Multi-Label Classification", 2021): a negative whose probability is below
`clip` costs nothing, and the rest are weighted by p^gamma_neg, so the ~95% of (text, type)
pairs that are easy negatives stop dominating the gradient. SENTiVENT's silver labels miss
implicit mentions, so some "negatives" are unlabelled positives; clipping also shrinks their pull.
"""

from __future__ import annotations

from typing import Any


def weighted_bce(logits: Any, targets: Any, pos_weight: Any) -> Any:
    import torch

    return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight)


def asymmetric_bce(logits: Any, targets: Any, pos_weight: Any, gamma_neg: float, clip: float) -> Any:
    """Mean over elements, like weighted_bce: the positive term is the same, negatives are
    clipped and focused."""
    import torch

    positive = pos_weight * targets * torch.nn.functional.logsigmoid(logits)
    shifted = (torch.sigmoid(logits) - clip).clamp(min=0.0)
    # log(1 - shifted), kept finite when shifted is ~1
    negative = (1 - targets) * shifted.pow(gamma_neg) * torch.log((1 - shifted).clamp(min=1e-8))
    return -(positive + negative).mean()


def dropout_consistency(a: Any, b: Any) -> Any:
    """Mean over elements of the symmetric KL between the Bernoulli distributions of two logit
    tensors, halved as in R-Drop (Liang et al., 2021): KL(p||q) + KL(q||p) = (p - q)(a - b)."""
    import torch

    return 0.5 * ((torch.sigmoid(a) - torch.sigmoid(b)) * (a - b)).mean()
