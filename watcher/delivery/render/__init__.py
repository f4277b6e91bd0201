"""Pure rendering: a change set (or an ops notice) becomes the words every channel sends.

One ``Message`` carries all the renderings of one notification: Slack Block Kit payloads
(already split to fit Slack's limits), an email subject, a plain-text body and an HTML body
(jinja2, autoescaped). Nothing here does I/O, reads the clock or the environment: the same
inputs always give the same message, which is what lets a retry resend exactly the parts a
channel did not confirm.

- ``message``: the Message, the ChangeSet, changes grouped by entity and counted
- ``slack``: Block Kit blocks and their packing into messages within Slack's limits
- ``email``: the HTML (templates in ``watcher/delivery/templates``) and plain-text bodies
- ``neutral``: page text made inert for Slack mrkdwn and a card's Markdown
- ``compose``: the three kinds of message (changes, ops notice, test) built from those
- ``digest``: a route's digest, the change sets it gathered as one message, from the same
  pieces

A change's words come from ``watcher.domain.describe``, shared with the terminal. Page text is
untrusted: it is ``clean``-ed there and escaped for each markup by ``neutral``.
"""

from __future__ import annotations

from watcher.delivery.render.compose import render_changes, render_ops, render_test
from watcher.delivery.render.digest import DigestSet, render_digest
from watcher.delivery.render.message import ChangeSet, Message

__all__ = [
    "ChangeSet",
    "DigestSet",
    "Message",
    "render_changes",
    "render_digest",
    "render_ops",
    "render_test",
]
