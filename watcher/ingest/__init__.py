"""Ingest: how pages come in and become history.

Holds the fetch over HTTP, one check of a source (lease, fetch, the unchanged fast path and
the full path: parse, guard, store, diff, queue notifications), the guard's holds and the
operator's accept and reject, ``watcher import`` and ``backfill``, re-reading stored pages
after a parser upgrade, and each source's health as checks run.

May import: ``watcher.delivery`` (to hand its notices to the outbox, which sends them),
``watcher.config``, ``watcher.journal``, ``watcher.storage``, ``watcher.parse``,
``watcher.domain``. Not audit or the command line.
"""
