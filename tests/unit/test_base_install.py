"""A plain `pip install -e .` (the README's demo command) must run the product without the extras.

CI installs `.[dev,train]`, so an engine that quietly needs a `train` package passes CI and fails
for the user (bb30620: the int8 probe needed `onnx`, then only in `train`). Instead of a second
virtual environment, a child process makes every module of the extras (`train`, `dev`) unimportable
and then imports the whole package and classifies with the shipped model.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from marketpulse.inference.bundle import default_model_dir

ROOT = Path(__file__).resolve().parents[2]

# Run in the child: argv[1] is the JSON list of modules to block, argv[2:] the CLI arguments.
_CHILD = """
import importlib, json, pkgutil, sys
for name in json.loads(sys.argv[1]):
    sys.modules[name] = None  # any import of it now raises ModuleNotFoundError
import marketpulse
for info in pkgutil.walk_packages(marketpulse.__path__, "marketpulse."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
from marketpulse.cli import main
sys.argv = ["marketpulse", *sys.argv[2:]]
main()
"""


def extra_modules(extra: str) -> list[str]:
    """Top-level modules installed by the distributions that `extra` names in pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {canonicalize_name(Requirement(req).name) for req in project["optional-dependencies"][extra]}
    return sorted(module for module, dists in md.packages_distributions().items()
                  if not module.startswith("_") and any(canonicalize_name(d) in wanted for d in dists))


def test_the_train_extra_maps_to_the_modules_it_installs() -> None:
    # Guards the guard: were the name mapping wrong, the test below would block nothing.
    pytest.importorskip("torch", reason="the train extra is not installed, so there is nothing to block")
    assert {"torch", "transformers", "sklearn"} <= set(extra_modules("train"))


@pytest.mark.skipif(not (default_model_dir() / "labels.json").is_file(), reason="shipped model not present")
def test_the_product_imports_and_classifies_without_the_extras(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"id": "1", "text": "Tesla shares plunge after a recall"}) + "\n", encoding="utf-8")
    blocked = extra_modules("train") + extra_modules("dev")
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(blocked), "classify", str(src), "-o", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert row["id"] == "1" and row["sentiment"] in {"negative", "neutral", "positive"}
