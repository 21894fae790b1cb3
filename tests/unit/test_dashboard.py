"""The sample Grafana dashboard in docs/ asks only for series the app exports, and shows every metric it has."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from prometheus_client import REGISTRY

from chatroom import metrics

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
SERIES = re.compile(r"\bchatroom_[a-z_]+")


def queries() -> list[str]:
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def exported() -> set[str]:
    """Each metric's series, and its own name (a labelled one has no series until a label is first used)."""
    names = set()
    for family in REGISTRY.collect():
        names |= {family.name} | {sample.name for sample in family.samples}
    return {name for name in names if name.startswith("chatroom_")}


def test_every_series_the_dashboard_asks_for_is_exported() -> None:
    asked = {name for query in queries() for name in SERIES.findall(query)}
    assert asked, "the dashboard has queries"
    assert sorted(asked - exported()) == []


def test_every_metric_is_on_the_dashboard() -> None:
    asked = " ".join(queries())
    names = {family.name for family in REGISTRY.collect() if family.name.startswith("chatroom_")}
    assert metrics.MESSAGES_STORED._name in names  # the registry is the app's
    assert sorted(name for name in names if name not in asked) == []
