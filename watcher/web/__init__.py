"""The read-only web view: ``watcher serve`` (and ``watcher run`` with ``[web] enabled``).

Server-rendered pages (``pages``: the matrix now and as of a date, cell and entity
timelines, the change log, the diff of two snapshots, a snapshot, the status), a JSON API
(``api``, described by ``openapi``) whose rows are the command line's JSON rows, and Atom
feeds of the change log (``feeds``). ``app`` puts them together behind the security headers
and the optional bearer token; ``params`` reads query parameters as the command line reads
its options; ``matrix`` lays the state of a page out as tables; ``serve`` runs it on uvicorn.
Every answer comes from watcher.audit's queries: nothing here writes, and nothing queries the
database on its own. Templates are autoescaped; no page needs JavaScript.

May import: ``watcher.audit``, ``watcher.config``, ``watcher.storage``, ``watcher.parse``,
``watcher.domain``. Not ingest, delivery or the command line (which imports this).
"""
