"""Dev services without servers: rendered configs, pid files, stopping, readiness failures."""

from __future__ import annotations

import os
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from marketpulse.core.errors import ServiceError
from marketpulse.core.paths import repo_root
from marketpulse.core.settings import DevServicesSettings, KafkaSettings
from marketpulse.devservices import clickhouse, kafka, process
from marketpulse.devservices.config import state_dir


@pytest.fixture
def dev(tmp_path) -> DevServicesSettings:
    return DevServicesSettings(
        state_dir=tmp_path / "state",
        kafka_port=29092,
        kafka_controller_port=29093,
        clickhouse_port=29000,
        clickhouse_http_port=28123,
    )


def _properties(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_relative_state_dir_is_taken_from_the_checkout_not_the_cwd():
    assert state_dir(DevServicesSettings(state_dir=".mp")) == repo_root() / ".mp"


def test_kafka_listens_on_loopback_only_and_never_auto_creates_topics(dev):
    props = _properties(kafka.render_server_properties(dev, KafkaSettings(), kafka.layout(dev)))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == str(dev.state_dir / "kafka" / "data")
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_kafka_accepts_messages_above_our_own_limit(dev):
    settings = KafkaSettings(max_message_bytes=1_100_000)
    props = _properties(kafka.render_server_properties(dev, settings, kafka.layout(dev)))
    assert int(props["message.max.bytes"]) > settings.max_message_bytes
    assert int(props["replica.fetch.max.bytes"]) >= int(props["message.max.bytes"])


def test_kafka_jars_are_cached_per_version(dev):
    assert kafka.layout(dev).libs.name == "libs-3.9.1-2.13"
    assert kafka.layout(DevServicesSettings(state_dir=dev.state_dir, kafka_version="3.8.0")).libs.name == (
        "libs-3.8.0-2.13"
    )


def test_cluster_id_is_a_kafka_uuid_string():
    cluster_id = kafka.new_cluster_id()
    assert len(cluster_id) == 22 and "=" not in cluster_id and cluster_id != kafka.new_cluster_id()


def test_a_cluster_id_never_starts_with_a_dash_which_the_storage_tool_would_take_for_an_option():
    # 0xF8 puts 62 ("-" in url-safe base64) in the first six bits.
    draws = iter([b"\xf8" + bytes(15), b"\x04" + bytes(15)])
    assert kafka.new_cluster_id(lambda: next(draws)) == "BAAAAAAAAAAAAAAAAAAAAA"


def test_clickhouse_config_is_loopback_only_with_our_ports_and_paths(dev):
    lay = clickhouse.layout(dev)
    root = ET.fromstring(clickhouse.render_config(dev, lay))
    assert root.tag == "yandex"
    assert [e.text for e in root.findall("listen_host")] == ["127.0.0.1"]
    assert (root.findtext("tcp_port"), root.findtext("http_port")) == ("29000", "28123")
    assert root.findtext("path").startswith(str(dev.state_dir))
    assert root.findtext("logger/errorlog") == str(lay.err_log_file)
    assert root.findtext("users_config") == str(lay.users)


def test_clickhouse_default_user_is_local_and_low_cardinality_is_enabled():
    root = ET.fromstring(clickhouse.render_users())
    assert root.tag == "yandex"
    assert root.findtext("profiles/default/allow_experimental_low_cardinality_type") == "1"
    assert {e.text for e in root.findall("users/default/networks/ip")} == {"127.0.0.1", "::1"}
    assert not root.findtext("users/default/password")


def test_missing_or_garbage_pid_file_reads_as_none(tmp_path):
    assert process.read_pid(tmp_path / "nope.pid") is None
    (tmp_path / "bad.pid").write_text("not a pid\n")
    assert process.read_pid(tmp_path / "bad.pid") is None


def test_stale_pid_file_is_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    pid_file = tmp_path / "svc.pid"
    process.write_pid(pid_file, dead.pid)
    assert process.running_pid(pid_file, marker="true") is None
    assert not pid_file.exists()


def test_a_recycled_pid_of_another_program_does_not_count(tmp_path):
    pid_file = tmp_path / "svc.pid"
    process.write_pid(pid_file, os.getpid())  # alive, but it is not "kafka.Kafka"
    assert process.running_pid(pid_file, marker="kafka.Kafka") is None
    process.write_pid(pid_file, os.getpid())
    assert process.running_pid(pid_file, marker="python") == os.getpid()


def test_stop_pid_terminates_politely():
    proc = subprocess.Popen(["sleep", "30"])
    assert process.stop_pid(proc.pid, timeout_s=5) is False  # no SIGKILL needed
    assert not process.pid_alive(proc.pid)


def test_stop_pid_kills_a_process_that_ignores_sigterm():
    proc = subprocess.Popen(["sh", "-c", "trap '' TERM; exec sleep 30"])
    # Wait for the exec: before it, `sh` has not set the trap yet (its own cmdline already says "sleep").
    _wait_until(lambda: Path(f"/proc/{proc.pid}/comm").read_text().strip() == "sleep")
    assert process.stop_pid(proc.pid, timeout_s=0.3) is True
    assert not process.pid_alive(proc.pid)


def test_a_service_that_dies_while_starting_fails_with_its_log(tmp_path):
    log = tmp_path / "svc.log"
    log.write_text("starting\nERROR: address already in use\n")
    with pytest.raises(ServiceError, match="address already in use"):
        process.wait_ready("svc", probe=lambda: False, timeout_s=5, alive=lambda: False, log_file=log)


def test_a_service_that_never_answers_times_out_with_its_log(tmp_path):
    log = tmp_path / "svc.log"
    log.write_text("still loading\n")
    with pytest.raises(ServiceError, match="(?s)not ready after .*still loading"):
        process.wait_ready("svc", probe=lambda: False, timeout_s=0.2, alive=lambda: True, log_file=log)


def _wait_until(check, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.01)
