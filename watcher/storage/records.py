"""A page's records, stored once per distinct set: one zlib-compressed blob of every record
in page order, addressed by the sha256 of its encoding, that every snapshot reading the
same records points at (``snapshots.records_id``).

Why one blob and not a row per record: a page's few hundred records took about 280 bytes
each as rows (with their two indexes), some 100 KB per version, where the set compresses
to 2-7 KB, and no audit query needs them as rows. A snapshot's records are read whole
(the diff, `watcher state`, a message's cells); the history reads the sets of a few
snapshots of the entity it walks and asks only one question of all of them, where an
entity was last seen, which ``record_keys`` (each set's entity keys) answers in SQL.

Sets are compressed with zlib as bodies are (watcher.storage.bodies says why zlib). They
are decoded once per process and kept by sha256 (``_DECODED``): a sha names its records for
ever, so an entry is never stale, whatever database it was read from.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from watcher.domain.document import Record, Status
from watcher.storage import bodies
from watcher.storage.models import Base, Body, RecordSet, Snapshot

# Decoding a set is cheap (about 1 ms for 370 records) but the web view and the history ask
# for the same few sets again and again; a set of 376 records holds about 320 KiB, and the
# daemon keeps this for as long as it runs.
_DECODED: OrderedDict[str, tuple[Record, ...]] = OrderedDict()
_DECODED_SIZE = 8
_LOCK = threading.Lock()
# Level 6, not the bodies' 9: a set's JSON is so repetitive that 9 takes 1.35 ms for 0.6%
# less than 6's 0.5 ms (a 376-record set: 4,452 bytes at 6, 4,425 at 9).
_LEVEL = 6
_SETS = Base.metadata.tables["record_sets"]
_KEYS = Base.metadata.tables["record_keys"]
_KEYS_FROM_ARRAY = text(
    "INSERT INTO record_keys (entity_key, set_id) SELECT unnest(CAST(:keys AS VARCHAR[])), :set_id"
)
_MaybeStatus = Status | None  # spelled once: a Union built per record costs time


# A record's fields in the set's order (Record's own): JSON writes the tuples, and the
# parts' pairs within them, as arrays.
_FIELDS = attrgetter(*Record.__dataclass_fields__)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode(records: Sequence[Record]) -> bytes:
    """The set's canonical bytes (before compression): what its sha256 is taken of."""
    return _ENCODER.encode([_FIELDS(r) for r in records]).encode()


def decode(encoded: bytes) -> tuple[Record, ...]:
    """The records ``encode`` wrote, equal to those it was given."""
    return tuple(
        Record(
            section=v[0],
            entity=v[1],
            row=v[2],
            column=v[3],
            raw=v[4],
            status=cast(_MaybeStatus, v[5]),
            section_key=v[6],
            entity_key=v[7],
            row_key=v[8],
            column_key=v[9],
            parts=tuple((str(p[0]), str(p[1])) for p in v[10]),
            links=tuple(str(link) for link in v[11]),
        )
        for v in json.loads(encoded)
    )


@dataclass(frozen=True)
class Packed:
    """A set as its row stores it: the sha256 of its encoding and the compressed encoding.
    Made without the database (``pack``), so a worker process can make it ahead of the
    write (watcher.ingest.ahead)."""

    sha256: str
    data: bytes


def pack(records: Sequence[Record]) -> Packed:
    encoded = encode(records)
    return Packed(hashlib.sha256(encoded).hexdigest(), bodies.compress(encoded, _LEVEL))


def store(session: Session, records: Sequence[Record], packed: Packed | None = None) -> int | None:
    """The id of the set holding exactly these records, stored now unless it was already;
    None for no records. ``packed`` is ``pack(records)`` when the caller made it already."""
    if not records:
        return None
    packed = packed if packed is not None else pack(records)
    sha = packed.sha256
    _keep(sha, tuple(records))
    # Inserted first, asked after: a new set is the common case (a known one is a flip).
    row = {"sha256": sha, "count": len(records), "data": packed.data}
    conn = session.connection()
    inserted = conn.scalar(bodies.insert_new(conn, _SETS, row).returning(_SETS.c.id))
    if inserted is None:  # stored before, and its keys with it
        known = session.scalar(select(RecordSet.id).where(RecordSet.sha256 == sha))
        assert known is not None
        return known
    set_id = int(inserted)
    keys = sorted({r.entity_key for r in records})
    if conn.dialect.name == "postgresql":
        # The keys as one array in one statement: psycopg's executemany of a set's ~50
        # rows took 1.7 ms, the largest cost of a replayed version on PostgreSQL.
        conn.execute(_KEYS_FROM_ARRAY, {"keys": keys, "set_id": set_id})
    else:  # sqlite3's executemany stays in process: nothing to save
        conn.execute(insert(_KEYS), [{"entity_key": k, "set_id": set_id} for k in keys])
    return set_id


def _keep(sha: str, records: tuple[Record, ...]) -> None:
    with _LOCK:  # checks run on several threads (check --jobs, the daemon's pool)
        _DECODED[sha] = records
        _DECODED.move_to_end(sha)
        while len(_DECODED) > _DECODED_SIZE:
            _DECODED.popitem(last=False)


def _cached(sha: str) -> tuple[Record, ...] | None:
    with _LOCK:
        hit = _DECODED.get(sha)
        if hit is not None:
            _DECODED.move_to_end(sha)
        return hit


def _decoded(sha: str, data: bytes) -> tuple[Record, ...]:
    hit = _cached(sha)
    if hit is None:
        hit = decode(bodies.decompress(data))
        _keep(sha, hit)
    return hit


def of_snapshot(session: Session, snapshot_id: int) -> tuple[Record, ...]:
    """A snapshot's records in page order."""
    q = (
        select(Snapshot.records_id, RecordSet.sha256, RecordSet.data)
        .outerjoin(RecordSet, Snapshot.records_id == RecordSet.id)
        .where(Snapshot.id == snapshot_id)
    )
    row = session.execute(q).first()
    if row is None or row[0] is None:
        return ()
    if row[1] is None:  # no foreign key guards the pointer: a lost set is an error, not "none"
        raise LookupError(f"snapshot {snapshot_id}: its record set {row[0]} is missing")
    return _decoded(row[1], bytes(row[2]))


def of_snapshots(session: Session, snapshot_ids: Iterable[int]) -> dict[int, tuple[Record, ...]]:
    """Each snapshot's records in page order, by snapshot id (a snapshot with none is not
    a key); each distinct set is read and decoded once."""
    wanted = sorted(set(snapshot_ids))
    sets: dict[int, list[int]] = {}
    shas: dict[int, str] = {}
    for i in range(0, len(wanted), 500):  # bounded IN lists
        q = (
            select(Snapshot.id, Snapshot.records_id, RecordSet.sha256)
            .outerjoin(RecordSet, RecordSet.id == Snapshot.records_id)
            .where(Snapshot.id.in_(wanted[i : i + 500]), Snapshot.records_id.is_not(None))
        )
        for snapshot_id, set_id, sha in session.execute(q):
            if (
                set_id is None or sha is None
            ):  # no foreign key guards the pointer: a lost set is an error
                raise LookupError(f"snapshot {snapshot_id}: its record set {set_id} is missing")
            sets.setdefault(set_id, []).append(snapshot_id)
            shas[set_id] = sha
    decoded = {set_id: _cached(sha) for set_id, sha in shas.items()}
    missing = sorted(set_id for set_id, hit in decoded.items() if hit is None)
    for i in range(0, len(missing), 100):
        q2 = select(RecordSet.id, RecordSet.data).where(RecordSet.id.in_(missing[i : i + 100]))
        for set_id, data in session.execute(q2):
            decoded[set_id] = _decoded(shas[set_id], bytes(data))
    return {
        snapshot_id: cast(tuple[Record, ...], decoded[set_id])
        for set_id, snapshots in sets.items()
        for snapshot_id in snapshots
    }


def collect_garbage(session: Session) -> tuple[int, int]:
    """Delete the record sets and bodies no snapshot points at any more (after a reparse
    gave snapshots other records); how many of each were deleted. Run it as the first
    statement of a transaction of its own (see below)."""
    if session.get_bind().dialect.name == "postgresql":
        # A check running meanwhile may be taking a stored set (or body) for its new
        # snapshot: its INSERT ... ON CONFLICT DO NOTHING found the row, and the snapshot
        # naming it is not committed, so the DELETE below would not see that it is in use.
        # This lock waits for every such writer to commit and holds new ones until this
        # transaction ends. Taken first, holding nothing else: a transaction that had
        # written sets or snapshots would hold what such a writer may be waiting for, and
        # the two would wait on each other. (SQLite has one writer at a time: nothing can
        # be in flight there.)
        session.execute(text("LOCK TABLE bodies, record_sets IN SHARE ROW EXCLUSIVE MODE"))
    used_sets = select(Snapshot.records_id).where(Snapshot.records_id.is_not(None))
    sets: Any = session.execute(delete(RecordSet).where(RecordSet.id.not_in(used_sets)))
    bodies: Any = session.execute(delete(Body).where(Body.sha256.not_in(select(Snapshot.sha256))))
    return int(sets.rowcount or 0), int(bodies.rowcount or 0)
