"""Where the repository's data folders are (schemas/, models/), found from the installed package."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


@cache
def repo_root() -> Path:
    """The checkout holding schemas/ and models/ (the package is installed editable from services/)."""
    override = os.environ.get("MARKETPULSE_HOME")
    if override:
        return Path(override).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "schemas").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    raise FileNotFoundError("cannot find the marketpulse checkout; set MARKETPULSE_HOME")


def schemas_dir() -> Path:
    return repo_root() / "schemas"


def models_dir() -> Path:
    return repo_root() / "models"


def shared_datasets_dir() -> Path:
    """../shared/datasets beside the checkout (data we may read but not ship)."""
    override = os.environ.get("MARKETPULSE_DATASETS")
    return Path(override) if override else repo_root().parent / "shared" / "datasets"
