"""The `marketpulse` entry point: deliberate errors end in one line, a missing extra is named."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_the_command_ends_a_deliberate_error_with_its_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from marketpulse.cli import main

    # `export` has no error handling of its own: the entry point turns its ModelError into one line.
    monkeypatch.setattr("sys.argv", ["marketpulse", "export", "--model", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read recipe") and "Traceback" not in err


def test_a_command_missing_the_train_extra_says_which_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import marketpulse.cli as cli

    def without_torch() -> None:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(cli, "app", without_torch)
    with pytest.raises(SystemExit):
        cli.main()
    assert "needs torch, from the train extra" in capsys.readouterr().err

    def without_something_else() -> None:  # a missing core dependency is a broken install: keep the traceback
        raise ModuleNotFoundError("No module named 'numpy'", name="numpy")

    monkeypatch.setattr(cli, "app", without_something_else)
    with pytest.raises(ModuleNotFoundError):
        cli.main()


def test_evaluate_refuses_a_folder_without_stored_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from marketpulse.cli import main

    monkeypatch.setattr("sys.argv", ["marketpulse", "evaluate", "--model", str(tmp_path), "--datasets", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'metrics.json'}") and "Traceback" not in err
