"""Export's precision checks: which nodes it keeps in fp32 (the greedy choice, against a fake that
says how many dev labels each node's int8 rounding flips; the real measurement quantises and runs
ONNX Runtime), and how it measures a reduced-precision graph's logits against fp32."""

from __future__ import annotations

import numpy as np
import pytest

from marketpulse.training.export import _max_abs_diff, greedy_fp32_nodes

_N_DEV = 1000


def _fake_agreement(flips: dict[str, int], calls: list[list[str]]):
    def agreement(excluded: list[str]) -> float:
        calls.append(list(excluded))
        return 1 - sum(n for node, n in flips.items() if node not in excluded) / _N_DEV

    return agreement


def test_nothing_stays_fp32_when_int8_already_agrees() -> None:
    calls: list[list[str]] = []
    assert greedy_fp32_nodes(["a", "b"], _fake_agreement({"a": 3, "b": 4}, calls), 0.99) == []
    assert calls == [[]]  # no sensitivity scan was needed


def test_the_most_sensitive_nodes_stay_fp32_until_the_target_holds() -> None:
    flips = {"q0": 2, "ffn3": 9, "ffn5": 14, "attn1": 1, "head": 0}
    calls: list[list[str]] = []
    chosen = greedy_fp32_nodes(list(flips), _fake_agreement(flips, calls), 0.99)
    # 26 flips in all; keeping ffn5 (14) leaves 12 > 10; adding ffn3 leaves 3 <= 10.
    assert chosen == ["ffn5", "ffn3"]
    assert calls[-1] == chosen  # the last file written is the chosen one


def test_all_int8_when_the_budget_cannot_reach_the_target() -> None:
    flips = {f"n{i}": 5 for i in range(10)}
    calls: list[list[str]] = []
    assert greedy_fp32_nodes(list(flips), _fake_agreement(flips, calls), 0.999, max_nodes=3) == []
    assert calls[-1] == []  # the file left behind is the all-int8 one
    assert max(len(c) for c in calls) == 3  # it never tried more than the budget


def test_a_non_finite_logit_makes_the_difference_infinite_so_export_refuses_it() -> None:
    ref = (np.zeros((2, 3)), np.zeros((2, 18)))
    close = (np.full((2, 3), 1e-3), np.zeros((2, 18)))
    assert _max_abs_diff(ref, close) == pytest.approx(1e-3)
    overflowed = (np.array([[0.0, np.nan, 0.0], [0.0, 0.0, 0.0]]), np.zeros((2, 18)))
    assert _max_abs_diff(ref, overflowed) == float("inf")
    assert _max_abs_diff(ref, (np.zeros((2, 3)), np.full((2, 18), -np.inf))) == float("inf")
