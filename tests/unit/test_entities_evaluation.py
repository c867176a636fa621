"""Acceptance: linking the filed ticker on real ticker-tagged headlines (see `marketpulse entities
evaluate --help` for the definitions of precision and recall)."""

from __future__ import annotations

import pytest

from marketpulse.core.paths import shared_datasets_dir
from marketpulse.entities import EntityLinker
from marketpulse.entities.evaluate import DATASETS, evaluate


@pytest.fixture(scope="module")
def linker() -> EntityLinker:
    return EntityLinker()


@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_precision_and_recall_on_filed_tickers(dataset, linker):
    if not (shared_datasets_dir() / DATASETS[dataset][0]).is_file():
        pytest.skip(f"{dataset} headlines not in the shared datasets")
    scores = evaluate(dataset, linker)
    assert scores.precision >= 0.95, scores
    assert scores.recall >= 0.90, scores
    assert scores.judged_headlines > 4000 and scores.named_pairs > 4000  # measured on most of the set
