"""A stand-in for learn.microsoft.com: a markdown page as the site publishes it.

The site renders the article's markdown, drops its H1 for one of its own at the top of
the main column, and wraps it all in a header with navigation, a left table of contents
and a footer with a small table and headings of its own. Inside the main column it adds
an "In this article" outline (an H2) before the article and an aside (an H3 and a
table) after it. The parser must read the article's tables and nothing else.

The article is rendered with the parser's own markdown front end (GFM, with its
delimiter-row repair): the site's renderer is lenient where GFM is strict, and these
tests are about the HTML path finding the same cells, not about GFM.
"""

from __future__ import annotations

import html

from watcher.parse.markdown import front_matter, normalize_tables, render

_HEADER = """<header class="header-holder">
<a class="skip-to-main-link" href="#main">Skip to main content</a>
<nav id="site-nav" aria-label="site">
<a href="/en-us/">Learn</a> <a href="/en-us/docs/">Documentation</a>
<a href="/en-us/training/">Training</a> <a href="/en-us/credentials/">Credentials</a>
<h2 class="visually-hidden">Search</h2>
<form role="search"><input type="search" placeholder="Search"></form>
</nav>
</header>"""

_LEFT_NAV = """<div id="left-nav" class="left-container">
<nav aria-label="Table of contents"><h2 class="visually-hidden">Table of contents</h2>
<ul><li><a href="overview">What are managed identities?</a></li>
<li><a href="managed-identities-status">Services that support managed identities</a></li>
<li><a href="how-to-view-managed-identity-activity">View activity</a></li></ul>
</nav></div>"""

_FOOTER = """<footer id="footer" class="footer-layout">
<h2>Additional resources</h2>
<table class="footer-links"><tr><th>Documentation</th><th>Training</th></tr>
<tr><td><a href="/en-us/entra/">Microsoft Entra</a></td><td>Available</td></tr></table>
<h3>Feedback</h3><p>Was this page helpful?</p>
<a href="/en-us/previous-versions/">Previous Versions</a> ·
<a href="https://aka.ms/yourcaliforniaprivacychoices">Your Privacy Choices</a> ·
© Microsoft 2025
</footer>"""


def published_html(markdown: bytes) -> bytes:
    """The page ``markdown`` as learn.microsoft.com would serve it."""
    text = markdown.decode("utf-8").replace("\r\n", "\n")
    meta = front_matter(text)
    body = text[meta.body :].split("\n")
    h1 = ""
    for i, line in enumerate(body):
        if line.startswith("# "):
            h1 = render(line[2:]).strip().removeprefix("<p>").removesuffix("</p>")
            del body[i]
            break
    article = render(normalize_tables("\n".join(body))[0])
    title = html.escape(meta.title or "", quote=True)
    service = html.escape(meta.service or "", quote=True)
    # The site publishes ms.date as the front matter has it (MM/DD/YYYY).
    ms_date = ""
    if meta.ms_date:
        year, month, day = meta.ms_date.split("-")
        ms_date = f"{month}/{day}/{year}"
    page = f"""<!DOCTYPE html>
<html class="hasSidebar" lang="en-us" dir="ltr">
<head>
<meta charset="utf-8">
<title>{title} - Microsoft Learn</title>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="title" content="{title}">
<meta name="ms.date" content="{ms_date}">
<meta name="ms.service" content="{service}">
<link rel="stylesheet" href="/static/site.css">
<script>window.msDocs = {{ data: {{ "table": "<table>" }} }};</script>
</head>
<body lang="en-us" dir="ltr">
{_HEADER}
<div class="mainContainer">
{_LEFT_NAV}
<main id="main" role="main" class="content" data-bi-name="content" lang="en-us" dir="ltr">
<div class="content"><h1 id="page-title">{h1}</h1>
<ul class="metadata page-metadata"><li>Article</li><li>{ms_date}</li></ul>
<nav id="center-doc-outline" aria-label="In this article">
<h2 id="ms--in-this-article">In this article</h2></nav>
</div>
<div class="content">
{article}
</div>
<aside id="ms--additional-resources"><h3>Additional resources</h3>
<table><tr><th>Service</th><th>Status</th></tr><tr><td>Training</td><td>Available</td></tr></table>
</aside>
</main>
</div>
{_FOOTER}
</body>
</html>
"""
    return page.encode("utf-8")
