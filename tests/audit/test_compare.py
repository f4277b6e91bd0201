"""`watcher diff A B` and route noise control."""

from __future__ import annotations

from itertools import pairwise

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN
from watcher.config import RouteConfig
from watcher.domain.document import Change
from watcher.domain.routes import select

IGNORED = {"id"}


def test_diff_of_consecutive_snapshots_equals_the_stored_change_log(db_url: str) -> None:
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    snaps = [s["id"] for s in run_json("snapshots", db=db_url)]
    stored = run_json("changes", db=db_url)
    for old, new in pairwise(snaps):
        adhoc = run_json("diff", str(old), str(new), db=db_url)
        expected = [r for r in stored if r["to_snapshot"] == new]
        assert adhoc, "consecutive en versions differ"
        assert [{k: v for k, v in r.items() if k not in IGNORED} for r in adhoc] == [
            {k: v for k, v in r.items() if k not in IGNORED} for r in expected
        ]
    # Any two snapshots, not only neighbours; and nothing between a snapshot and itself.
    assert run_json("diff", str(snaps[0]), str(snaps[2]), db=db_url)
    assert run_json("diff", str(snaps[1]), str(snaps[1]), db=db_url) == []
    assert "no snapshot 999" in run("diff", "1", "999", db=db_url, code=2).stderr


def _change(
    kind: str, severity: str, column: str = "usgov", entity: str = "Azure Functions"
) -> Change:
    return Change(kind=kind, severity=severity, section="S", entity=entity, column=column)  # type: ignore[arg-type]


def test_value_changes_are_logged_but_only_notified_when_a_route_asks() -> None:
    changes = [
        _change("value_changed", "info"),
        _change("status_changed", "notice"),
        _change("status_changed", "warning", column="china"),
        _change("entity_added", "notice", column="", entity="Azure Kubernetes Service (AKS)"),
    ]
    plain = RouteConfig(name="r", channel="stdout", min_severity="info")
    assert select(plain, "src", changes) == [1, 2, 3]
    wordy = RouteConfig(name="r", channel="stdout", kinds=("value_changed",), min_severity="info")
    assert select(wordy, "src", changes) == [0]
    usgov = RouteConfig(name="r", channel="stdout", columns=("usgov",), entities=("azure func*",))
    assert select(usgov, "src", changes) == [1]
    aks = RouteConfig(name="r", channel="stdout", entities=("Azure Kubernetes Service*",))
    assert select(aks, "src", changes) == [3]
    warnings = RouteConfig(name="r", channel="stdout", min_severity="warning")
    assert select(warnings, "src", changes) == [2]
    other = RouteConfig(name="r", channel="stdout", sources=("elsewhere",))
    assert select(other, "src", changes) == []
