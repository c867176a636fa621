"""The Prometheus rule examples in deploy/ parse and only use metrics that marketpulse exports."""

from __future__ import annotations

import re

import yaml
from prometheus_client import REGISTRY

import marketpulse.alerts.metrics  # noqa: F401 - registers the alert metrics
import marketpulse.core.metrics  # noqa: F401
from marketpulse.core.paths import repo_root

RULES = repo_root() / "deploy/prometheus/marketpulse-alerts.rules.yml"


def exported() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        if family.type == "counter":  # a labelled counter has no samples until first used
            names.add(family.name + "_total")
        names.update(s.name for s in family.samples)
    return names


def test_rules_reference_exported_metrics_with_bounded_labels():
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert rules and all({"alert", "expr", "labels", "annotations"} <= set(r) for r in rules)
    known = exported()
    for rule in rules:
        for metric in re.findall(r"\b(marketpulse_[a-z_]+)", rule["expr"]):
            assert metric in known, f"{rule['alert']} uses unknown metric {metric}"
        assert "ticker" not in rule["expr"] and "entity=" not in rule["expr"]
