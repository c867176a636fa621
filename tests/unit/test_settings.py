"""Every setting is documented and reachable through a MARKETPULSE_* variable."""

from __future__ import annotations

import pytest

from marketpulse.core.settings import KafkaSettings, WorkerSettings, all_settings, describe, to_env


@pytest.mark.parametrize("settings_cls", all_settings(), ids=lambda c: c.__name__)
def test_every_setting_has_a_description_and_a_prefixed_variable(settings_cls):
    for env, _value, doc in describe(settings_cls):
        assert env.startswith("MARKETPULSE_")
        assert doc, f"{env} has no description"


def test_environment_overrides_and_round_trips(monkeypatch):
    monkeypatch.setenv("MARKETPULSE_KAFKA_PARTITIONS", "8")
    monkeypatch.setenv("MARKETPULSE_WORKER_BATCH_MAX", "64")
    kafka, worker = KafkaSettings(), WorkerSettings()
    assert kafka.partitions == 8 and worker.batch_max == 64
    env = to_env(kafka, worker)
    assert env["MARKETPULSE_KAFKA_PARTITIONS"] == "8" and env["MARKETPULSE_WORKER_BATCH_MAX"] == "64"


def test_settings_are_frozen():
    with pytest.raises(ValueError):
        KafkaSettings().partitions = 3
