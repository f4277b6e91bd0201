"""Delivery: the outbox that sends each queued notification on its route's channel.

- ``outbox``: one dispatch run, over the stages ``claim`` (which rows are due; the claim),
  ``load`` (a notification's message from the database), ``send`` (one channel call) and
  ``settle`` (sent, retried after the backoff of ``policy``, or dead: ``dead``); ``log`` is
  the run's report and the delivery log; ``states`` names a row's states; ``mend`` revives
  dead rows; ``ops`` queues the notices about watcher's own problems (from ingest too)
- ``render``: pure; a notification's words for Slack, email and stdout; the email templates
  live in ``templates/``
- ``channels``: slack, email, stdout behind one Protocol

May import: ``watcher.config``, ``watcher.journal``, ``watcher.storage``, ``watcher.parse``,
``watcher.domain``. Not ingest, audit or the command line.
"""
