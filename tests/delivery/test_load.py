"""Reading a change notification from the database: each added or removed entity and section
carries its cells, read with one query per snapshot however many changes there are (a query
per change made a mass addition quadratic: issue 16, item 6). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import config, record, route, seed_documents
from watcher.delivery.load import read, render
from watcher.delivery.render import ChangeSet
from watcher.storage.models import Notification

CFG = config(route("team", "slack", webhook_url_env="TEAM_URL", min_severity="info"))
KEPT = [record(f"Azure Kept {i}", "available") for i in range(20)]
ADDED = [f"Contoso Widget {i}" for i in range(30)]
OLD = [
    *KEPT,
    record("Old Gadget", "preview", row="User assigned"),
    *(record(f"Retired {i}", "available", section="Retired") for i in range(2)),
]
NEW = [
    *KEPT,
    *(record(name, "available", column=c) for name in ADDED for c in ("Azure Global", "China")),
    *(record(f"Extra {i}", "preview", section="Extras") for i in range(2)),
]


@contextmanager
def records_queries(engine: Engine) -> Iterator[list[str]]:
    """The statements that read record sets while the block runs."""
    seen: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "record_sets" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", spy)


def test_every_added_and_removed_change_carries_its_cells_read_in_one_query_per_snapshot(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    [nid] = seed_documents(sessions, CFG, OLD, NEW)
    with sessions() as session, records_queries(engine) as queries:
        contents = read(session, CFG, session.get_one(Notification, nid))
    assert isinstance(contents, ChangeSet)
    # The new snapshot's records (the added ones), the previous one's (the removed ones).
    assert len(queries) == 2
    cells = {(c.kind, c.entity or c.section): c.cells for c in contents.changes}
    assert len(cells) == len(ADDED) + 3
    for name in ADDED:
        got = cells[("entity_added", name)]
        assert [(r.entity, r.column, r.raw) for r in got] == [
            (name, "Azure Global", "Available"),
            (name, "China", "Available"),
        ]
    [gone] = cells[("entity_removed", "Old Gadget")]
    assert (gone.row, gone.raw) == ("User assigned", "Preview")
    assert [r.entity for r in cells[("section_added", "Extras")]] == ["Extra 0", "Extra 1"]
    assert [r.entity for r in cells[("section_removed", "Retired")]] == ["Retired 0", "Retired 1"]
    # And the message says so: the cells of an added entity, the entities of a section.
    text = render(contents, "key").text
    assert "Contoso Widget 29" in text and "China: Available" in text
    assert "Retired 0" in text and "Extra 1" in text
