"""A change notification carries the ids of its change rows: written so by a check, converted
so by migration 0007 (and back), followed by `watcher reparse`, and sent whole or not at all.
On SQLite and PostgreSQL, against the real pages of the corpus."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    LargeBinary,
    column,
    delete,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, SOURCE, config, route, seed
from watcher.config import Config
from watcher.delivery.mend import revive, revive_now
from watcher.delivery.outbox import dispatch
from watcher.domain import routes as routing
from watcher.ingest.reparse import NO_ROUTE, WITHDRAWN, reparse
from watcher.storage import store
from watcher.storage.engine import make_engine, session_factory
from watcher.storage.migrations.runner import alembic_config
from watcher.storage.models import ChangeRow, Notification, Snapshot, Source

NOW = datetime(2026, 12, 2, tzinfo=UTC)
# The Azure Government column of two services on the 2021-11-09 page: AKS gains
# user-assigned there (a real change), and a change the page never had.
AKS = route("aks", "stdout", entities=["Azure Kubernetes Service*"], columns=["usgov"])
GHOST = route("ghost", "stdout", entities=["Azure Imaginary Service"])
OPS = route("ops", "stdout", ops=True)


def payloads(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    with sessions() as session:
        rows = session.scalars(select(Notification).where(Notification.kind == "changes"))
        return {n.route: n.payload for n in rows}


def notification(sessions: sessionmaker[Session], route_name: str) -> Notification:
    with sessions() as session:
        q = select(Notification).where(Notification.route == route_name)
        return session.scalars(q).one()


def sent_text(sessions: sessionmaker[Session], cfg: Config) -> str:
    out = io.StringIO()
    dispatch(sessions, cfg, policy=FAST, stdout=out, environ={})
    return out.getvalue()


def add_ghost(sessions: sessionmaker[Session]) -> None:
    """A change an older parser made up, stored in the pair's set with a notification
    about it waiting for the ghost route."""
    with sessions.begin() as session:
        snapshot = session.scalars(select(Snapshot).order_by(Snapshot.id.desc())).first()
        assert snapshot is not None
        last = session.scalars(
            select(ChangeRow)
            .where(ChangeRow.to_snapshot_id == snapshot.id)
            .order_by(ChangeRow.position.desc())
        ).first()
        assert last is not None
        ghost = ChangeRow(
            source_id=snapshot.source_id,
            from_snapshot_id=last.from_snapshot_id,
            to_snapshot_id=snapshot.id,
            detected_at=snapshot.taken_at,
            position=last.position + 1,
            kind="status_changed",
            severity="notice",
            section=last.section,
            entity="Azure Imaginary Service",
            entity_key="azureimaginaryservice",
            row="system_assigned",
            column="global",
            row_label="System assigned",
            column_label="Global",
            old_status="preview",
            new_status="available",
            old_raw="Preview",
            new_raw="Available",
        )
        session.add(ghost)
        session.flush()
        session.add(
            Notification(
                idempotency_key=f"changes:ghost:{last.from_snapshot_id}:{snapshot.id}",
                route="ghost",
                channel="stdout",
                kind="changes",
                source_id=snapshot.source_id,
                from_snapshot_id=last.from_snapshot_id,
                to_snapshot_id=snapshot.id,
                payload={"changes": [ghost.id]},
            )
        )


# --- written by a check ---------------------------------------------------------------


def test_a_queued_notification_names_the_ids_of_the_changes_its_route_wants(
    sessions: sessionmaker[Session], corpus: Path
) -> None:
    cfg = config(AKS, route("team", "stdout"))
    seed(sessions, cfg, corpus)
    queued = payloads(sessions)
    with sessions() as session:
        rows = session.scalars(select(ChangeRow).order_by(ChangeRow.position)).all()
        changes = [store.to_change(r) for r in rows]
    for r in cfg.routes:
        picked = routing.select(r, SOURCE, changes)
        # The worst severity of them too: what quiet_hours_bypass is decided on.
        worst = "warning" if any(changes[i].severity == "warning" for i in picked) else "notice"
        assert queued[r.name] == {"changes": [rows[i].id for i in picked], "severity": worst}
    assert len(queued["aks"]["changes"]) == 1
    text = sent_text(sessions, cfg)
    assert "▲ User assigned · Azure Government: Not available → Available" in text


def test_a_notification_whose_change_is_gone_is_dead_and_told_not_sent_in_part(
    sessions: sessionmaker[Session], corpus: Path
) -> None:
    cfg = config(route("team", "stdout"), OPS)
    seed(sessions, cfg, corpus)
    ids = payloads(sessions)["team"]["changes"]
    with sessions.begin() as session:
        session.execute(delete(ChangeRow).where(ChangeRow.id == ids[0]))
    text = sent_text(sessions, cfg)
    team = notification(sessions, "team")
    assert team.state == "dead"
    assert team.last_error == f"1 of its {len(ids)} changes of snapshot 2 are gone"
    assert "changes (" not in text  # no part of it was sent
    assert "could not be delivered: 1 of its" in text  # the ops route heard


# --- followed by reparse --------------------------------------------------------------


def test_reparse_points_waiting_notifications_at_the_new_rows_and_withdraws_the_wrong(
    sessions: sessionmaker[Session], corpus: Path
) -> None:
    cfg = config(AKS, GHOST)
    seed(sessions, cfg, corpus)
    add_ghost(sessions)
    before = payloads(sessions)
    with sessions.begin() as session:
        dry = reparse(session, routes=cfg.routes, dry_run=True)
    assert [(p.repointed, p.withdrawn) for p in dry.pairs] == [(1, 1)]
    assert payloads(sessions) == before  # a dry run changes nothing
    [p] = dry.pairs
    assert p.gone == (
        "Azure Imaginary Service · System assigned · Global Azure: Preview → Available",
    )

    with sessions.begin() as session:
        report = reparse(session, routes=cfg.routes)
    assert [(p.repointed, p.withdrawn) for p in report.pairs] == [(1, 1)]
    # The rows were replaced (SQLite may give the new rows the ids of the old ones): the
    # notification names the new row of the AKS change.
    after = payloads(sessions)
    with sessions() as session:
        [aks] = session.scalars(select(ChangeRow).where(ChangeRow.id.in_(after["aks"]["changes"])))
        assert (aks.entity, aks.row, aks.column) == (
            "Azure Kubernetes Service (AKS)",
            "user_assigned",
            "usgov",
        )
    ghost = notification(sessions, "ghost")
    assert (ghost.state, ghost.last_error, ghost.next_attempt_at) == ("withdrawn", WITHDRAWN, None)
    assert ghost.payload == {"changes": []}

    text = sent_text(sessions, cfg)
    assert "▲ User assigned · Azure Government: Not available → Available" in text
    assert "Imaginary" not in text
    assert notification(sessions, "aks").state == "sent"
    assert notification(sessions, "ghost").state == "withdrawn"
    # Final: retrying every dead notification leaves it alone, and it is no dead delivery.
    assert revive_now(sessions, None) == []
    assert notification(sessions, "ghost").state == "withdrawn"


def test_a_dead_notification_follows_a_reparse_and_a_retry_sends_it_right(
    sessions: sessionmaker[Session], corpus: Path
) -> None:
    cfg = config(AKS)
    seed(sessions, cfg, corpus)
    with sessions.begin() as session:
        session.execute(update(Notification).values(state="dead", last_error="webhook down"))
        # The older parser also made up a change that the AKS route took.
    add_ghost(sessions)
    with sessions.begin() as session:
        ghost_id = session.scalars(
            select(ChangeRow.id).where(ChangeRow.entity == "Azure Imaginary Service")
        ).one()
        n = session.scalars(select(Notification).where(Notification.route == "aks")).one()
        n.payload = {"changes": [*n.payload["changes"], ghost_id]}
    with sessions.begin() as session:
        [p] = reparse(session, routes=cfg.routes).pairs
    # The ghost route's notification is withdrawn too: its route is not in this config.
    assert (p.repointed, p.withdrawn) == (1, 1)
    assert notification(sessions, "ghost").last_error == NO_ROUTE
    with sessions.begin() as session:
        revive(session, [notification(sessions, "aks").id], NOW)
    text = sent_text(sessions, cfg)
    assert "azure-managed-identities: 1 change (1 promotion)" in text
    assert "Imaginary" not in text


def test_a_sent_notification_keeps_the_ids_it_was_sent_with(
    sessions: sessionmaker[Session], corpus: Path
) -> None:
    cfg = config(AKS)
    seed(sessions, cfg, corpus)
    sent_text(sessions, cfg)
    add_ghost(sessions)
    with sessions.begin() as session:
        session.execute(delete(Notification).where(Notification.route == "ghost"))
    before = payloads(sessions)
    with sessions.begin() as session:
        [p] = reparse(session, routes=cfg.routes).pairs
    assert (p.repointed, p.withdrawn) == (0, 0)
    assert payloads(sessions) == before


# --- converted by migration 0007 ------------------------------------------------------


SNAPSHOTS_0006 = table(
    "snapshots",
    column("id", Integer),
    *(column(name) for name in ("source_id", "sha256", "parser_version", "format", "origin")),
    *(column(name) for name in ("state", "confirmations", "record_count")),
    column("taken_at", DateTime),
    column("created_at", DateTime),
    column("body", LargeBinary),
    column("warnings", JSON),
)


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as conn:
        cfg = alembic_config(conn)
        (command.downgrade if down else command.upgrade)(cfg, revision)


def stored_payloads(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    with sessions() as session:
        q = select(Notification.idempotency_key, Notification.payload)
        return {key: payload for key, payload in session.execute(q)}


def test_migration_0007_turns_positions_into_ids_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0006")
        sessions = session_factory(engine)
        with sessions.begin() as session:
            source = Source(name="s", url="https://example.com/page.md", format="markdown")
            session.add(source)
            session.flush()
            snaps = []
            for day in (1, 2, 3):
                # Only the columns of revision 0006: its snapshots had their body inline.
                values = {
                    "source_id": source.id,
                    "taken_at": datetime(2021, 1, day),
                    "created_at": datetime(2021, 1, day),
                    "sha256": str(day) * 64,
                    "body": b"",
                    "parser_version": "x",
                    "format": "markdown",
                    "origin": "import",
                    "state": "accepted",
                    "confirmations": 0,
                    "record_count": 0,
                    "warnings": [],
                }
                snap_id = session.scalar(
                    insert(SNAPSHOTS_0006).values(values).returning(SNAPSHOTS_0006.c.id)
                )
                assert snap_id is not None
                snaps.append(snap_id)
            ids: dict[tuple[int, int], int] = {}
            for to, count in ((snaps[1], 3), (snaps[2], 2)):
                for position in range(count):
                    change = ChangeRow(
                        source_id=source.id,
                        from_snapshot_id=to - 1,
                        to_snapshot_id=to,
                        detected_at=NOW,
                        position=position,
                        kind="status_changed",
                        severity="notice",
                        section="S",
                        entity=f"E{position}",
                        row="r",
                        column="c",
                    )
                    session.add(change)
                    session.flush()
                    ids[(to, position)] = change.id
            rows: list[tuple[str, str, int | None, dict[str, Any]]] = [
                ("pending", "changes", snaps[1], {"positions": [0, 2]}),
                ("dead", "changes", snaps[1], {"positions": [1]}),
                ("sent", "changes", snaps[2], {"positions": [0, 1]}),
                # A position with no row left, and a snapshot that is gone.
                ("pending", "changes", snaps[2], {"positions": [1, 7]}),
                ("dead", "changes", None, {"positions": [0]}),
                ("sent", "ops", None, {"event": "failing", "text": "t", "source": "s"}),
            ]
            for i, (state, kind, to, payload) in enumerate(rows):
                # Only the columns of revision 0006: the model has more since.
                session.execute(
                    insert(Notification).values(
                        idempotency_key=f"k{i}",
                        route="team",
                        channel="stdout",
                        kind=kind,
                        state=state,
                        source_id=source.id,
                        to_snapshot_id=to,
                        payload=payload,
                    )
                )
        migrate(engine, "0007")
        a, b = snaps[1], snaps[2]
        assert stored_payloads(sessions) == {
            "k0": {"changes": [ids[(a, 0)], ids[(a, 2)]]},
            "k1": {"changes": [ids[(a, 1)]]},
            "k2": {"changes": [ids[(b, 0)], ids[(b, 1)]]},
            "k3": {"changes": [ids[(b, 1)]]},
            "k4": {"changes": []},
            "k5": {"event": "failing", "text": "t", "source": "s"},
        }
        migrate(engine, "0006", down=True)
        assert stored_payloads(sessions) == {
            "k0": {"positions": [0, 2]},
            "k1": {"positions": [1]},
            "k2": {"positions": [0, 1]},
            "k3": {"positions": [1]},
            "k4": {"positions": []},
            "k5": {"event": "failing", "text": "t", "source": "s"},
        }
        migrate(engine, "head")
        assert stored_payloads(sessions)["k0"] == {"changes": [ids[(a, 0)], ids[(a, 2)]]}
    finally:
        engine.dispose()
