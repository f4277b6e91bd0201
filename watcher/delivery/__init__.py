"""Delivery: the outbox that sends each queued notification on its route's channel.

- ``outbox``: one dispatch run, over the stages ``claim`` (which rows are due; the claim),
  ``load`` (a notification's message from the database), ``send`` (one channel call) and
  ``settle`` (sent, retried after the backoff of ``policy``, or dead: ``dead``); ``log`` is
  the run's report and the delivery log; ``states`` names a row's states; ``mend`` revives
  dead rows
- ``render``: pure; a notification's words for Slack, email and stdout
- ``channels``: slack, email, stdout behind one Protocol

May import config, journal, storage, parse and domain; not the command line. Two sibling
imports remain: a dead letter is told through ``watcher.ingest.ops`` (the ops notices), and
the delivery log writes times with ``watcher.audit.queries.iso``.
"""
