"""The domain: what a page says and what a change is, as pure functions and frozen data.

Holds the records of a page (``document``), the typed changes between two of them
(``diff``, over ``pairing``, ``emitting`` and ``changes``; ``apply`` replays them), a change
in words (``describe``), whether a new page is believable next to the last one (``guard``),
which changes a route wants (``routes``), the vocabulary of row and column keys, kinds and
severities (``keys``, ``known``), the one retry backoff (``retry``), time in one convention
(``times``), when a source is stale (``health``) and what one check came to (``outcome``).

May import: the standard library only. No I/O, no clock reads hidden in defaults, no
SQLAlchemy, no HTTP: every other folder builds on this one.
"""
