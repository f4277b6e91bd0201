"""Delivery: the outbox and the channels that send what changed.

Holds the outbox state machine (claims, sends, retries with backoff, dead letters), making
dead notifications pending again, the channels behind one Protocol (Slack, email, stdout)
and the rendering of a change set into each channel's message; its email templates live in
``templates/``.

May import: ``watcher.config``, ``watcher.journal``, ``watcher.storage``, ``watcher.domain``.
Not ingest, audit or the command line.
"""
