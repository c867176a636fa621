"""Where the dev services keep their state, and the config files rendered from deploy/dev/ templates."""

from __future__ import annotations

from pathlib import Path
from string import Template

from marketpulse.core.paths import repo_root
from marketpulse.core.settings import DevServicesSettings


def state_dir(settings: DevServicesSettings) -> Path:
    """The state directory; a relative setting is taken from the checkout, not the working directory,
    so `up` from any folder finds the same jars, data and pid files."""
    path = settings.state_dir
    return path if path.is_absolute() else repo_root() / path


def templates_dir() -> Path:
    return repo_root() / "deploy" / "dev"


def render(template: str, **values: object) -> str:
    """Fill a `$name` template; a missing value raises (a half-written config is worse than none)."""
    text = (templates_dir() / template).read_text()
    return Template(text).substitute({k: str(v) for k, v in values.items()})


def write_text_if_changed(path: Path, text: str) -> bool:
    """Write only on change, so a running service's config file keeps its mtime. True if written."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
