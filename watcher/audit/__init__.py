"""Audit: the read side the command line shares, every answer as flat rows.

The change log and its export (changes, export), stored snapshots (snapshots), the table at
a date (state), each cell's history (history, with the intervals in timeline), the diff of
two stored snapshots (compare), each source's status (status) and the fetch log (fetches);
sources says which stored sources and entities a query names. Read-only: nothing here writes.

May import: ``watcher.config``, ``watcher.storage``, ``watcher.parse``, ``watcher.domain``.
Not ingest, delivery or the command line.
"""
