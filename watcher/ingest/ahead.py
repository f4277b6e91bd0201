"""Pages read ahead of their store: what a page comes to without the database (its
Document, its compressed body and record set), made for the next few files of an import in
a worker process while this one stores the file before them.

Why a process: an import of a page's history spends about 4.4 ms of each version's 11.5
on this pure work (parse 3.0, the record set's encoding and both compressions 1.4), and on
a machine with a second core it costs the storing process only the 0.5 ms of taking the
result back. A thread would not help: the work is Python, holding the interpreter's lock.

The worker is forked, which costs a few milliseconds and no imports, and only from a
process running no other thread (the console script; a fork of a threaded process may
inherit a lock some other thread held). Anywhere else, and on one core, or for a few
files, the pages are read inline, one after another: the same results, as the tests check.
Parsing never raises (watcher.parse), so a worker's result is the page's whatever it holds;
a worker that dies (killed, out of memory) leaves the rest of the files to be read inline.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from operator import attrgetter

from watcher.domain.document import Document, Record
from watcher.parse import Format, parse
from watcher.storage import store

# Fewer files go by faster than a worker starts and warms up.
AHEAD_FROM = 16
# Results waiting for the store at most: the worker is faster, so without a bound it would
# hold every page of a long import in memory.
DEPTH = 4

_FIELDS = attrgetter(*Record.__dataclass_fields__)


@dataclass(frozen=True)
class Read:
    """A page as read ahead: its Document and what its snapshot stores of it."""

    document: Document
    packed: store.Packed


def read(body: bytes, fmt: Format) -> Read:
    """One page read: the work a worker does, done here."""
    document = parse(body, fmt)
    return Read(document, store.pack(body, document))


def read_all(
    pages: Sequence[tuple[bytes, Format]], *, ahead: bool | None = None
) -> Generator[Read, None, None]:
    """Each page read, in order; in a worker process when ``ahead`` (by default when that
    pays: enough pages, a second core, a process that can fork safely)."""
    if ahead is None:
        ahead = len(pages) >= AHEAD_FROM and can_fork()
    if not ahead:
        yield from (read(body, fmt) for body, fmt in pages)
        return
    yield from _ahead(pages)


def can_fork() -> bool:
    """Whether a worker is worth forking here: Linux (where fork is the norm and cheap),
    a second core for it, and no other thread in this process."""
    return (
        sys.platform == "linux"
        and len(os.sched_getaffinity(0)) > 1
        and threading.active_count() == 1
    )


def _ahead(pages: Sequence[tuple[bytes, Format]]) -> Iterator[Read]:
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_bound_to,
        initargs=(os.getpid(),),
    )
    waiting: deque[Future[tuple[bytes, Document, store.Packed]]] = deque()
    try:
        for i in range(len(pages)):
            try:
                for queued in range(i + len(waiting), min(i + DEPTH, len(pages))):
                    waiting.append(pool.submit(_read_in_worker, *pages[queued]))
                result = waiting.popleft().result()
            except BrokenProcessPool:
                # The worker died: the rest are read here, this one first.
                yield from (read(body, fmt) for body, fmt in pages[i:])
                return
            yield _taken_back(result)
    finally:
        # Waited for (at most the page in hand): on Python 3.11 an exit right after a
        # shutdown that does not wait can race the pool's own thread and print an error.
        pool.shutdown(wait=True, cancel_futures=True)


def _bound_to(parent: int) -> None:
    """The worker's start: it lives no longer than the importing process."""
    # Ctrl-C is for the importing process, which stops the worker as it stops; the worker
    # taking it too would print its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent ended by SIGTERM or SIGKILL runs no `finally`: without this the worker would
    # wait for ever on the pipe it writes to, holding the caller's stdout and stderr open.
    import ctypes

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it ended before the line above took effect
        os._exit(1)


def _read_in_worker(body: bytes, fmt: Format) -> tuple[bytes, Document, store.Packed]:
    """In the worker: the page read, its records as marshal bytes and the Document without
    them. Unpickling 376 records as dataclasses took 1.0 ms; their fields' tuples as marshal
    data and the records built again, 0.5."""
    page = read(body, fmt)
    doc = page.document
    fields = marshal.dumps(tuple(_FIELDS(r) for r in doc.records))
    return fields, replace(doc, records=()), page.packed


def _taken_back(result: tuple[bytes, Document, store.Packed]) -> Read:
    fields, rest, packed = result
    records = tuple(Record(*v) for v in marshal.loads(fields))
    return Read(replace(rest, records=records), packed)
