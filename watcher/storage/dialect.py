"""What differs between our two databases, and what may never be printed: plain string work.

The one reading of a configured database URL (``url_problem`` refuses one watcher cannot open,
``sqlalchemy_url`` and ``driver_target`` say what SQLAlchemy and the driver open for it), the
one setup every SQLite connection gets, the one way a write (and a read) transaction begins
on SQLite, and the one redactor: ``redact`` takes secrets and a database URL's password out of
any text, ``redact_url`` shows a URL without its password. Only the standard library is
imported here: the config, the journal, a cron ``watcher check`` and ``watcher --help`` all
use this module.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import unquote, unquote_plus

Dialect = Literal["sqlite", "postgresql"]

# The databases watcher ships drivers for: the standard library's sqlite3 and psycopg 3.
POSTGRES_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")
SQLITE_SCHEMES = ("sqlite://", "sqlite+pysqlite://")
DATABASE_SCHEMES = (*SQLITE_SCHEMES, *POSTGRES_SCHEMES)


# --- the URL ----------------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why ``url`` is no database watcher can open, in a phrase that never repeats what
    stands before an ``@`` (a password), or None when it may be one."""
    if "://" not in url:
        return (
            "not a database URL (a SQLite file is sqlite:///PATH, a server "
            "postgresql://USER@HOST/DBNAME)"
        )
    if not url.startswith(DATABASE_SCHEMES):
        scheme = url.split("://", 1)[0]
        return (
            f"{scheme!r} is not a database watcher speaks: use sqlite:///PATH or "
            "postgresql://USER@HOST/DBNAME"
        )
    rest = _postgres_rest(url)
    if rest is not None:
        return _server_problem(rest)
    if url.partition("://")[2][:1] not in ("", "/"):
        return (
            "a SQLite file is sqlite:///PATH: three slashes before a relative path, four "
            "before an absolute one"
        )
    return None


# A server URL after its scheme, read as SQLAlchemy reads it: a user part ends at its first
# "@" (a password holds no "@"), then a host (bracketed for IPv6) and a port up to "/" or "?".
_SERVER = re.compile(
    r"(?:[^:/]*(?::(?P<password>[^@]*))?@)?(?P<host>\[[^/?\]]*\]?|[^/:?]*)(?::(?P<port>[^/?]*))?"
)


def _server_problem(rest: str) -> str | None:
    """What is wrong with the user part, host or port of a server URL, quoting only what
    follows the user part (libpq reads the same places, or stops at a "/" in a password)."""
    found = _SERVER.match(rest)
    assert found is not None  # every part of the pattern may be empty
    password, host, port = found["password"], found["host"], found["port"]
    path = rest[found.end() :].partition("?")[0]
    if "@" in host + (port or "") + path:  # past a raw "@" in a password: never quoted
        return "the user name or password has an '@' in it: write it as %40"
    if password is not None and "/" in password:
        return "the password has a '/' in it: write it as %2F"
    if host.startswith("[") and "]" not in host:
        return f"the host {host!r} has no closing ']'"
    if port == "":
        return "no port follows the ':' after the host"
    if port is not None and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        return f"the port {port!r} is not a number from 1 to 65535"
    return None


def _postgres_rest(url: str) -> str | None:
    """What follows the scheme of a PostgreSQL URL, however it was spelt; None for another."""
    for prefix in POSTGRES_SCHEMES:
        if url.startswith(prefix):
            return url.removeprefix(prefix)
    return None


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy opens: postgresql:// and postgres:// get the psycopg 3 driver we
    ship; anything else as given."""
    rest = _postgres_rest(url)
    return url if rest is None else "postgresql+psycopg://" + rest


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (None for another database, or an in-memory one)."""
    if not url.startswith(SQLITE_SCHEMES):
        return None
    path = unquote(url.partition(":///")[2].partition("?")[0])
    return path if path and path != ":memory:" else None


def driver_target(url: str) -> tuple[Dialect, str] | None:
    """What the driver opens for ``url`` without SQLAlchemy: libpq's URL or SQLite's file;
    None when only SQLAlchemy can open it (an in-memory SQLite database lives in one
    connection, which only the engine's pool can share; options after ``?`` are SQLAlchemy's)."""
    rest = _postgres_rest(url)
    if rest is not None:
        return "postgresql", "postgresql://" + rest
    path = sqlite_path(url)
    if path is not None and "?" not in url:
        return "sqlite", path
    return None


# --- SQLite connections -----------------------------------------------------------------


def sqlite_pragmas(dbapi_conn: Any) -> None:
    """What every SQLite connection of ours needs, whoever opened it."""
    # Transactions begin when we say (begin_write), not when the sqlite3 module guesses.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # In-memory databases refuse WAL; that is fine.
    with contextlib.suppress(Exception):
        cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


# How a SQLite write transaction begins, on the engine's connections and the driver's alike:
# the write lock is taken up front, so two processes never deadlock upgrading a read lock.
BEGIN_WRITE = "BEGIN IMMEDIATE"
# How a transaction that only reads begins: deferred, it takes no lock until its first read,
# and then only a snapshot of the WAL, so it neither waits for a busy writer nor holds one up.
BEGIN_READ = "BEGIN DEFERRED"


def begin_write(sqlite_conn: Any) -> None:
    """Begin a SQLite write transaction on a driver connection."""
    sqlite_conn.execute(BEGIN_WRITE)


# --- redaction --------------------------------------------------------------------------

REDACTED = "[redacted]"
# Values read from the environment in this process: scrubbed from every error and log line.
_KNOWN_SECRETS: set[str] = set()
# Shapes of Slack secrets, scrubbed even when the value was never registered here.
_SECRET_SHAPES = (
    r"https?://hooks\.slack(?:-gov)?\.com/[^\s\"'<>]+|xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+"
)


def register_secret(value: str) -> None:
    """Scrub ``value`` from everything ``redact`` cleans from now on; for a URL, also what a
    far end may echo of it without its host (an error body saying "Cannot POST
    /services/T…/B…/…"): its path and query, and each part of them that is an id or a token."""
    # Very short values would scrub ordinary words out of messages; they are not secrets
    # worth the name, but they are still never printed by the channels.
    for part in (value, *_url_parts(value)):
        if len(part) >= 6:
            _KNOWN_SECRETS.add(part)


# An API version in a query (api-version=2016-06-01) is no secret, and dates fill messages.
_API_DATE = re.compile(r"\d{4}-\d\d-\d\d$")


def _url_parts(value: str) -> list[str]:
    """A URL's path with its query, and each segment and query value of it that holds a
    digit or is 16 characters or more: ids and tokens, not words like ``services``."""
    _, sep, rest = value.partition("://")
    if not sep:
        return []
    tail = rest.partition("/")[2]
    if not tail:
        return []
    pieces = re.split(r"[/?&=#]", tail)
    found = [f"/{tail}", tail.partition("?")[0]]
    found += [
        p
        for p in pieces
        if (any(c.isdigit() for c in p) or len(p) >= 16) and not _API_DATE.match(p)
    ]
    return [unquote(p) for p in found] + found


def redact(text: str, secrets: Iterable[str] = (), *, url: str | None = None) -> str:
    """``text`` with every known secret (registered, or in ``secrets``) and anything shaped
    like a Slack secret replaced by ``[redacted]``, and the password of the database ``url``
    by ``***``."""
    for value in sorted({*_KNOWN_SECRETS, *secrets}, key=len, reverse=True):
        if value:
            text = text.replace(value, REDACTED)
    # Compiled on first use (re caches it), not at import: `watcher --help` imports this.
    text = re.sub(_SECRET_SHAPES, REDACTED, text)
    return _without_password(text, url) if url else text


def _without_password(text: str, url: str) -> str:
    """``text`` with the password of ``url`` masked, however the URL is malformed.

    Plain string work, no URL parser that could raise: the password is everything between
    the first ``:`` of the user part and its last ``@``. A password with an unescaped ``@``
    or ``:`` is cut differently by libpq, so each longer piece of it is masked on its own
    too (short pieces would mask ordinary words).
    """
    authority = url.partition("://")[2].partition("/")[0]
    userinfo, at, _ = authority.rpartition("@")
    _, colon, password = userinfo.partition(":")
    pieces: set[str] = set()
    if at and colon and password:
        pieces = {password, unquote(password)}
        pieces |= {p for p in re.split(r"[@:]", password) if len(p) >= 4}
    # A password given in the query (``?password=…``), which the drivers take as well.
    for value in _query_secrets(url):
        pieces |= {value, unquote(value)} - {""}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def redact_url(url: str) -> str:
    """The URL as the user gave it, with a password hidden (also when it is malformed): what
    follows the user name's ``:`` up to the last ``@`` before the query, so a raw ``@`` or
    ``/`` in the password hides with the rest of it; and in the query the value of a
    ``password=`` (the drivers take one there too), ``sslpassword=`` or any other parameter
    named as a secret, however its name is percent-encoded."""
    return _QUERY_PARAMETER.sub(_hide_secret_value, _redact_userinfo(url))


# One name=value of a query string, up to the next parameter: a "#" is part of the value,
# as SQLAlchemy reads a database URL's query (a password may hold one).
_QUERY_PARAMETER = re.compile(r"([?&])([^=&]*)=([^&]*)")
# What a query parameter whose value is a secret is called: libpq's password and
# sslpassword, and the other names a driver or a proxy in front of it may take one under
# (a client_secret, an auth_token); not libpq's passfile, which names a file.
_SECRET_NAME = re.compile(r"(pass(word|wd)?|pwd|secret|token)$", re.IGNORECASE)


def _is_secret_name(name: str) -> bool:
    """Whether a query parameter's name says its value is a secret, however it is spelled:
    the drivers decode the name (``pass%77ord`` is ``password`` to them)."""
    return _SECRET_NAME.search(unquote_plus(name)) is not None


def _hide_secret_value(found: re.Match[str]) -> str:
    mark, name, _ = found.groups()
    return f"{mark}{name}=***" if _is_secret_name(name) else found.group(0)


def _query_secrets(url: str) -> list[str]:
    """The values of the query parameters of ``url`` that are secrets."""
    return [v for _, name, v in _QUERY_PARAMETER.findall(url) if _is_secret_name(name)]


def _redact_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url  # "user:secret@host/db" without a scheme hides its password too
    user = re.split(r"[:/@]", rest, maxsplit=1)[0]
    after = rest[len(user) :]
    if not after.startswith(":") or "@" not in after:
        return url
    query = after.find("?", after.index("@"))
    end = after.rindex("@", 0, query if query != -1 else len(after))
    return f"{scheme}{sep}{user}:***{after[end:]}"
