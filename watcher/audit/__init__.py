"""Audit: the questions asked of the stored history, as rows the command line prints.

Holds the change log and its export, the snapshots and their bodies, the whole table as it
stood at a date, the timeline of every cell of one entity, and ad-hoc diffs of two stored
snapshots. Read-only: nothing here writes.

May import: ``watcher.config``, ``watcher.storage``, ``watcher.parse``, ``watcher.domain``.
Not ingest, delivery or the command line.
"""
