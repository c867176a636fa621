"""The ablation recipes beside the shipped model change only what their names say.

They reproduce the model card's multi-task cost table with one command each, so each must stay
the shipped recipe with its own task's batches, selection and run list changed, and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from marketpulse.training.recipe import load_recipe

MODEL = Path(__file__).resolve().parents[2] / "models" / "marketpulse-minilm-mt"
# Fields every ablation sets: its own name, and two runs (data orders 13 and 19) on one thread.
COMMON = {"name", "version", "schedule.soup_seeds", "schedule.threads", "schedule.select_on"}


def _flat(tree: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = json.dumps(value, sort_keys=True)
    return out


@pytest.mark.parametrize(("name", "silent_task"), [("events-only", "sentiment"), ("sentiment-only", "events")])
def test_an_ablation_is_the_shipped_recipe_without_one_tasks_batches(name: str, silent_task: str) -> None:
    shipped = _flat(asdict(load_recipe(MODEL / "recipe.json")))
    ablation_recipe = load_recipe(MODEL / "ablations" / f"{name}.json")
    ablation = _flat(asdict(ablation_recipe))
    changed = {key for key in shipped.keys() | ablation.keys() if shipped.get(key) != ablation.get(key)}
    assert changed == COMMON | {f"{silent_task}.samples_per_epoch"}
    assert getattr(ablation_recipe, silent_task).samples_per_epoch == 0
    kept_task = "events" if silent_task == "sentiment" else "sentiment"
    assert all(score.startswith(kept_task) for score in ablation_recipe.schedule.select_on)  # its own dev only
    assert ablation_recipe.schedule.soup_seeds == [19]


def test_training_an_ablation_without_out_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from marketpulse.cli import app

    recipe = tmp_path / "events-only.json"
    recipe.write_text((MODEL / "ablations" / "events-only.json").read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "--recipe", str(recipe), "--datasets", str(tmp_path)])
    assert result.exit_code == 2
    assert "--out" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events-only.json"]
