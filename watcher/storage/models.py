"""SQLAlchemy 2.0 typed models: sources, fetches, snapshots, bodies, record sets, changes,
notifications.

One naming convention for constraints so that Alembic migrations name them the same way on
SQLite and PostgreSQL. Times are stored as UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from watcher.domain.times import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as aware UTC, the same on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16), default="auto")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="ok")
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    last_check_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_change_at: Mapped[datetime | None]

    snapshots: Mapped[list[Snapshot]] = relationship(back_populates="source")


class Fetch(Base):
    """One HTTP request a check made for its page (a redirect is a request of its own),
    successful or not: the fetch log, written by watcher.storage.checks and read back by
    `watcher fetches`."""

    __tablename__ = "fetches"
    __table_args__ = (Index(None, "source_id", "started_at"), Index(None, "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    url: Mapped[str] = mapped_column(Text)
    # The try of the check the request belongs to: 1, then one more per retry; the hops of
    # one try's redirects share its number.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status_code: Mapped[int | None]
    bytes: Mapped[int | None]
    duration_ms: Mapped[int | None]
    # ok | redirect | failed (watcher.ingest.fetch.Attempt.outcome)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    # On the request that brought the page: the snapshot it came to, stored or found again.
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id", ondelete="SET NULL"))


LISTING_COLUMNS = (
    "source_id",
    "taken_at",
    "id",
    "sha256",
    "state",
    "origin",
    "origin_ref",
    "doc_date",
    "record_count",
    "reason",
)

# The held snapshots, as SQL written out: with the state a bound parameter, PostgreSQL's
# generic plan (a statement prepared after five runs) does not know how few rows it names,
# and reads the whole table rather than the index on (source_id, state, taken_at, id).
HELD = "state = 'quarantined'"


class Body(Base):
    """A page body, stored once however many snapshots have it (a page that flips between two
    versions stores two bodies): addressed by the sha256 of its bytes, kept zlib-compressed
    (watcher.storage.bodies)."""

    __tablename__ = "bodies"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)  # bytes before compression
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RecordSet(Base):
    """The records of a page (every table cell, in page order), stored once however many
    snapshots read the same: one zlib-compressed blob, addressed by the sha256 of its
    encoding (watcher.storage.records)."""

    __tablename__ = "record_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RecordKey(Base):
    """Which record sets hold records of an entity: what the history's walk asks the
    database (an entity's last appearance) without opening every set."""

    __tablename__ = "record_keys"
    # One b-tree, the primary key's: the rows are nothing but the key.
    __table_args__ = ({"sqlite_with_rowid": False},)

    entity_key: Mapped[str] = mapped_column(Text, primary_key=True)
    set_id: Mapped[int] = mapped_column(
        ForeignKey("record_sets.id", ondelete="CASCADE"), primary_key=True
    )


class Snapshot(Base):
    """One stored version of a page: which body and which records, and how it was obtained."""

    __tablename__ = "snapshots"
    __table_args__ = (
        Index(None, "source_id", "taken_at"),
        Index(None, "source_id", "sha256"),
        # Covers `watcher snapshots`, read from the index without the table's rows.
        Index("ix_snapshots_listing", *LISTING_COLUMNS),
        # The snapshots that read a record set, without their rows: an entity's last
        # appearance (watcher.audit.timeline), and the sets no snapshot reads any more.
        Index(None, "records_id", "source_id", "state"),
        # A source's snapshots in one state, by time: the held ones, which every accepted
        # version supersedes, had been found by reading every snapshot of the source. Not a
        # partial index: its dialect options import SQLAlchemy's PostgreSQL dialect with
        # these models, 25 ms of every command's start on SQLite too.
        Index(None, "source_id", "state", "taken_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    # The time the snapshot stands for: fetch time, --at / ms.date for imports, commit time.
    taken_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The page body's: its bytes are the bodies row with this sha256.
    sha256: Mapped[str] = mapped_column(String(64))
    # Its records (a record_sets id); NULL for a page with none. Like sha256, no foreign
    # key: SQLite cannot drop a column that has one, which the migration's downgrade does,
    # and only watcher.storage.records deletes sets, those no snapshot names.
    records_id: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    parser_version: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    doc_date: Mapped[str | None] = mapped_column(String(10))
    # fetch | import | backfill
    origin: Mapped[str] = mapped_column(String(16))
    origin_ref: Mapped[str | None] = mapped_column(Text)
    # accepted | quarantined
    state: Mapped[str] = mapped_column(String(16), default="accepted")
    # How many later checks saw this same quarantined body again (see watcher.domain.guard).
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    # Why the guard quarantined it, for operators.
    reason: Mapped[str | None] = mapped_column(Text)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[Any]] = mapped_column(default=list)

    source: Mapped[Source] = relationship(back_populates="snapshots")


_LOG_ORDER = ("detected_at", "to_snapshot_id", "position")
_LOG_FILTERS = (("entity",), ("column",), ("kind",), ("severity",))


class ChangeRow(Base):
    """One typed change between two accepted snapshots of a source."""

    __tablename__ = "changes"
    __table_args__ = (
        Index(None, "source_id", "detected_at"),
        Index(None, "to_snapshot_id", "position"),
        Index(None, "entity_key", "detected_at"),
        # A cell's changes in order: `watcher state` and `history` walk these.
        Index(None, "source_id", "entity_key", "row", "column", "detected_at"),
        # `watcher changes` in the log's order, whole or from a cursor or a date, and by
        # each of its filters (migration 0009); an --entity glob is matched on the
        # distinct names of entity and old_entity, one seek each.
        *(Index(None, *lead, *_LOG_ORDER) for lead in ((), *_LOG_FILTERS)),
        Index(None, "old_entity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    from_snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("snapshots.id", ondelete="CASCADE")
    )
    to_snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    detected_at: Mapped[datetime]
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    section: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    entity_key: Mapped[str] = mapped_column(Text, default="")
    old_entity: Mapped[str | None] = mapped_column(Text)
    old_section: Mapped[str | None] = mapped_column(Text)
    row: Mapped[str] = mapped_column(Text)
    column: Mapped[str] = mapped_column(Text)
    row_label: Mapped[str] = mapped_column(Text, default="")
    column_label: Mapped[str] = mapped_column(Text, default="")
    old_raw: Mapped[str | None] = mapped_column(Text)
    new_raw: Mapped[str | None] = mapped_column(Text)
    old_status: Mapped[str | None] = mapped_column(String(16))
    new_status: Mapped[str | None] = mapped_column(String(16))
    # A cell whose links point elsewhere: its link targets before and after (normal forms);
    # NULL when the change retargeted nothing.
    old_links: Mapped[list[Any] | None]
    new_links: Mapped[list[Any] | None]


class Notification(Base):
    """The outbox: one message to send on one route, written with the snapshot it reports."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index(None, "state", "next_attempt_at"),
        Index(None, "route", "topic", "created_at"),
        # In-order delivery asks for older unsettled rows of one route and source.
        Index(None, "route", "source_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300))
    route: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    # changes | ops | test
    kind: Mapped[str] = mapped_column(String(16), default="changes")
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    from_snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("snapshots.id", ondelete="SET NULL")
    )
    to_snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("snapshots.id", ondelete="SET NULL")
    )
    # pending | sending | sent | dead (see watcher.delivery.outbox for the state machine)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # pending: not before this time; sending: the claim's lease ends at this time.
    next_attempt_at: Mapped[datetime | None]
    # The last claim: its process (watcher.storage.lease.Holder, so a claim whose process is
    # gone is taken over at once) and when it was made.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Ops notices: the problem a notice is about ("<source>:checks"), so that repeats of one
    # problem are spaced out by the route's repeat_every (watcher.delivery.ops).
    topic: Mapped[str | None] = mapped_column(String(300))
    # What the channel said per delivery unit (an email recipient, one part of a split Slack
    # message), so that a retry resends only what was not confirmed.
    deliveries: Mapped[dict[str, Any] | None]


class Lease(Base):
    """Who is checking a source right now, and until when (SQLite's stand-in for an
    advisory lock; see watcher.storage.lease)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    since: Mapped[datetime | None]
