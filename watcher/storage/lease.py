"""One check of a source at a time, across processes: daemons, cron runs, or both; and who
holds a claim (``Holder``), so that a dead holder's claim is taken over at once.

PostgreSQL: a session-level advisory lock on a connection held for the whole check. Session-
rather than transaction-scoped because a check spans several transactions (the fetch runs
outside any transaction so no lock is held across the network wait, then the writes commit
in their own); and if the process dies, PostgreSQL drops the lock with its connection. The
holder also writes its name into ``leases``, only so that a skipped check can say who holds it.

SQLite has no advisory locks: a row in ``leases`` is claimed under ``BEGIN IMMEDIATE`` (the
write lock makes the read-then-claim atomic) and carries an expiry. The row names its holder
(host, pid and the process's start time), so a holder that is gone — killed, or its pid now
another process's — is taken over at once instead of when the lease runs out. No heartbeat is
needed for that: SQLite in WAL mode only works for processes on one host (they share the
``-shm`` memory map), so every holder is one whose process can be looked at. A holder this
process cannot look at (another container, another pid namespace) keeps its lease until it
expires: never taken over while it may be alive.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from watcher.storage.connections import Conn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    """A process that holds a claim, as stored: ``host:pid:start:space``.

    ``start`` is the process's start time (in clock ticks since boot, from /proc), so a pid
    reused by another process is not mistaken for the holder; ``space`` names the machine's
    boot and the pid namespace (``_space``), so two hosts or containers that share a host name
    do not judge each other's pids.
    """

    host: str
    pid: int
    start: str = ""
    space: str = ""

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.start}:{self.space}"

    @classmethod
    def parse(cls, text: str | None) -> Holder | None:
        """The holder a stored name gives (a lease's id may carry a suffix), or None."""
        parts = (text or "").split(":")
        if len(parts) < 2 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), *[*parts[2:4], "", ""][:2])

    def alive(self) -> bool | None:
        """False if this holder is known to be gone, True if it runs, None if this process
        cannot tell (another host or pid namespace)."""
        here = this_process()
        if (self.host, self.space) != (here.host, here.space):
            return None
        if self.pid == here.pid:
            return self.start == here.start
        start = _start_time(self.pid)
        if start is None:
            return _pid_exists(self.pid)
        return start == self.start or not self.start

    @classmethod
    def of(cls, pid: int) -> Holder:
        """The process ``pid`` on this host, as it would name itself."""
        # The host name is cut to a DNS label's 63 characters, so a holder fits its column.
        return cls(socket.gethostname()[:63], pid, _start_time(pid) or "", _space())

    def describe(self) -> str:
        """For people: ``pid 1234 on host h``."""
        return f"pid {self.pid} on host {self.host}"


@functools.cache
def this_process() -> Holder:
    # Cached: a fork would need a new one, and watcher does not fork.
    return Holder.of(os.getpid())


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat, or None where there is no /proc or no such process; a
    zombie (killed, not yet reaped by its parent) is no process any more: "gone"."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields and fields[0] in ("Z", "X"):
        return "gone"
    return fields[19] if len(fields) > 19 else None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _space() -> str:
    """This boot of this machine and its pid namespace: pids are compared only within it.
    The namespace's number alone repeats across hosts (every host's first namespace has the
    same one), and two hosts may share a name (cloned machines, a container's hostname), so
    the kernel's boot id comes first; it also tells a pid reused after a reboot."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip().replace("-", "")
    except OSError:
        boot = ""
    try:
        link = os.readlink("/proc/self/ns/pid")
    except OSError:
        return boot
    return boot + "-" + "".join(ch for ch in link if ch.isdigit())


def new_holder() -> str:
    """A holder id unique to one check: this process (``Holder``), and a nonce so that two
    checks in one process (a catch-up and a tick) exclude each other too."""
    return f"{this_process()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Skip:
    """Why a lease was not had: who holds it, since when (as far as is known)."""

    holder: Holder | None
    since: datetime | None

    def __str__(self) -> str:
        who = self.holder.describe() if self.holder else "another process"
        when = f", since {self.since.isoformat(timespec='seconds')}" if self.since else ""
        return f"{who} is checking it now{when}"


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per source name, the type pg_advisory_lock takes.
    return int.from_bytes(
        hashlib.sha256(f"watcher:{name}".encode()).digest()[:8], "big", signed=True
    )


@contextmanager
def lease(conn: Conn, name: str, ttl: timedelta, holder: str | None = None) -> Iterator[bool]:
    """Yield True if this check holds the lease on ``name`` for the block, else False (then
    ``holder_of`` says who has it).

    ``conn`` must stay open for the block: on PostgreSQL it is the lock's session.
    """
    holder = holder or new_holder()
    if conn.dialect == "postgresql":
        with _advisory(conn, name, ttl, holder) as held:
            yield held
    else:
        with _lease_row(conn, name, ttl, holder) as held:
            yield held


def holder_of(conn: Conn, name: str) -> Skip:
    """Who holds the lease on ``name``, for the line that says a check was skipped: a holder
    known to be gone is not named (on PostgreSQL its row may outlive it; the lock does not)."""
    try:
        row = conn.one("SELECT holder, since FROM leases WHERE name = ?", (name,))
    finally:
        conn.end_read()
    holder = Holder.parse(row[0]) if row else None
    if row is None or holder is None or holder.alive() is False:
        return Skip(None, None)
    return Skip(holder, Conn.time(row[1]))


# A host that vanishes (power cut, network gone) leaves its PostgreSQL session, and with it the
# advisory lock, until the server's TCP keepalive gives up: two hours by the kernel's default.
# These bound it to about a minute on the lock's session (Unix sockets ignore them).
_KEEPALIVES = (("tcp_keepalives_idle", "30"), ("tcp_keepalives_interval", "10"))


@contextmanager
def _advisory(conn: Conn, name: str, ttl: timedelta, holder: str) -> Iterator[bool]:
    key = _lock_key(name)
    row = conn.one("SELECT pg_try_advisory_lock(?)", (key,))
    conn.end_read()
    held = bool(row and row[0])
    try:
        if held:
            with conn.transaction():
                for setting, value in _KEEPALIVES:
                    conn.one("SELECT set_config(?, ?, false)", (setting, value))
                _write_row(conn, name, ttl, holder)
        yield held
    finally:
        if held:
            # Closing the connection frees the lock anyway; never fail a finished check.
            try:
                with conn.transaction():
                    _delete_row(conn, name, holder)
                conn.one("SELECT pg_advisory_unlock(?)", (key,))
                conn.end_read()
            except Exception:
                log.exception("could not release the advisory lock on %s", name)


@contextmanager
def _lease_row(conn: Conn, name: str, ttl: timedelta, holder: str) -> Iterator[bool]:
    now = datetime.now(UTC)
    with conn.transaction():
        row = conn.one("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
        held = row is None or row[0] == holder or (Conn.time(row[1]) or now) <= now
        if not held and row is not None:
            other = Holder.parse(row[0])
            if other is not None and other.alive() is False:
                log.info("lease on %s: taking over from %s, which is gone", name, other.describe())
                held = True
        if held:
            _write_row(conn, name, ttl, holder)
    try:
        yield held
    finally:
        if held:
            # The lease expires anyway; never fail a finished check over releasing it.
            try:
                with conn.transaction():
                    _delete_row(conn, name, holder)
            except Exception:
                log.exception("could not release the lease on %s", name)


def _write_row(conn: Conn, name: str, ttl: timedelta, holder: str) -> None:
    now = datetime.now(UTC)
    conn.execute(
        "INSERT INTO leases (name, holder, expires_at, since) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at, since = excluded.since",
        (name, holder, conn.stamp(now + ttl), conn.stamp(now)),
    ).close()


def _delete_row(conn: Conn, name: str, holder: str) -> None:
    conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)).close()


def claim_over(claimed_by: str | None, lease_end: datetime | None, now: datetime) -> bool:
    """True when a claim (a ``sending`` notification's) no longer protects its row: its lease
    is over, or the process that made it is gone. Such a row is stuck until taken over."""
    if lease_end is None or lease_end <= now:
        return True
    holder = Holder.parse(claimed_by)
    return holder is not None and holder.alive() is False
