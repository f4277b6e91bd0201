"""The one reading of a database URL and the one redactor (watcher.storage.dialect)."""

from __future__ import annotations

import pytest

from watcher.storage.dialect import (
    REDACTED,
    driver_target,
    redact,
    redact_url,
    register_secret,
    sqlalchemy_url,
    sqlite_path,
    url_problem,
)


@pytest.mark.parametrize(
    ("url", "wanted"),
    [
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///watcher.db", "sqlite:///watcher.db"),
    ],
)
def test_sqlalchemy_gets_the_psycopg_driver_we_ship(url: str, wanted: str) -> None:
    assert sqlalchemy_url(url) == wanted


@pytest.mark.parametrize(
    ("url", "wanted"),
    [
        ("postgres://u@h/db", ("postgresql", "postgresql://u@h/db")),
        ("postgresql+psycopg://u@h/db", ("postgresql", "postgresql://u@h/db")),
        ("sqlite:///data/w%20x.db", ("sqlite", "data/w x.db")),
        ("sqlite:////var/lib/watcher.db", ("sqlite", "/var/lib/watcher.db")),
        # Only SQLAlchemy can open these: one connection's memory, or its own options.
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///w.db?timeout=5", None),
    ],
)
def test_the_driver_opens_what_it_can_without_sqlalchemy(
    url: str, wanted: tuple[str, str] | None
) -> None:
    assert driver_target(url) == wanted


def test_a_sqlite_file_is_named_with_its_options_left_out() -> None:
    assert sqlite_path("sqlite:///w.db?timeout=5") == "w.db"
    assert sqlite_path("sqlite+pysqlite:///w.db") == "w.db"
    assert sqlite_path("postgresql://u@h/db") is None


def test_a_url_watcher_cannot_open_is_refused_without_its_password() -> None:
    assert url_problem("sqlite:///w.db") is None
    assert url_problem("postgres://u:pw@h/db") is None
    mysql = url_problem("mysql://u:hush-1234@h/db")
    assert mysql is not None and "'mysql'" in mysql and "hush" not in mysql
    bare = url_problem("u:hush-1234@h/db")
    assert bare is not None and "not a database URL" in bare and "hush" not in bare


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:////var/lib/watcher/w.db",
        "postgresql://",
        "postgresql:///w",
        "postgresql://db:5432/w",
        "postgresql://w:pa:ss?#@db:5432/w",  # ":", "?" and "#" in a password read the same
        "postgresql://w@[::1]:5433/w",
        "postgresql+psycopg://w:p%40ss%2Fw@db/w?application_name=me@box",
    ],
)
def test_a_well_formed_url_is_no_problem(url: str) -> None:
    assert url_problem(url) is None


def test_redact_removes_registered_secrets_slack_shapes_and_the_database_password() -> None:
    register_secret("registered-9f8e7d")
    register_secret("short")  # too short to scrub: it would scrub ordinary words
    text = (
        "registered-9f8e7d https://hooks.slack.com/services/T0/B0/xyz xoxb-123-abc "
        "short given-4321 postgresql://w:pg-secret-77@db/w failed"
    )
    clean = redact(text, ["given-4321"], url="postgresql://w:pg-secret-77@db/w")
    assert clean == (
        f"{REDACTED} {REDACTED} {REDACTED} short {REDACTED} postgresql://w:***@db/w failed"
    )


def test_a_password_libpq_cuts_differently_is_masked_piece_by_piece() -> None:
    url = "postgresql://w:pa55@w0rd-9f8e@127.0.0.1:1/w"
    said = 'could not translate host name "w0rd-9f8e@127.0.0.1" to address; user pa55'
    clean = redact(said, url=url)
    assert "pa55" not in clean and "w0rd-9f8e" not in clean
    assert redact("no url, no change", url=None) == "no url, no change"
    query = "postgresql://w@db/w?sslmode=require&password=zz9secret"
    assert "zz9secret" not in redact("auth failed for zz9secret", url=query)
    for query in (
        "postgresql://w@db/w?pass%77ord=zz9secret",
        "postgresql://db/w?sslpassword=zz9secret",
    ):
        assert "zz9secret" not in redact("auth failed for zz9secret", url=query)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://w:hush@db:5432/w", "postgresql://w:***@db:5432/w"),
        ("postgresql://w:pa55@w0rd@db/w", "postgresql://w:***@db/w"),
        ("postgresql://w@db/w", "postgresql://w@db/w"),
        ("w:hush@db/w", "w:***@db/w"),  # no scheme: still no password shown
        ("sqlite:///w.db", "sqlite:///w.db"),
        ("postgresql://w:s3cret/9f8e@db/w", "postgresql://w:***@db/w"),  # a raw "/" too
        (
            "postgresql://w:pw@db/w?application_name=me@box",
            "postgresql://w:***@db/w?application_name=me@box",
        ),
        ("postgresql://db:5432/w", "postgresql://db:5432/w"),
        # The drivers take a password in the query too.
        ("postgresql://w@db/w?password=zz9secret", "postgresql://w@db/w?password=***"),
        (
            "postgresql://w:pw@db/w?sslmode=require&PASSWORD=x&a=b",
            "postgresql://w:***@db/w?sslmode=require&PASSWORD=***&a=b",
        ),
        # libpq's password for the client key, and names the drivers decode to a password.
        ("postgresql://w@db/w?sslpassword=k3y", "postgresql://w@db/w?sslpassword=***"),
        ("postgresql://w@db/w?pass%77ord=zz9&x=1", "postgresql://w@db/w?pass%77ord=***&x=1"),
        ("postgresql://w@db/w?a=1&auth_token=t0k", "postgresql://w@db/w?a=1&auth_token=***"),
        ("postgresql://w@db/w?sslmode=require", "postgresql://w@db/w?sslmode=require"),
        ("postgresql://w@db/w?password=se#cret&a=1", "postgresql://w@db/w?password=***&a=1"),
        ("postgresql://w@db/w?passfile=/etc/pgpass", "postgresql://w@db/w?passfile=/etc/pgpass"),
    ],
)
def test_redact_url_shows_the_url_without_its_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_what_a_far_end_echoes_of_a_secret_url_is_scrubbed_but_not_its_words() -> None:
    url = (
        "https://prod-12.westeurope.logic.azure.com:443/workflows/0a1b2c3d/triggers/manual/"
        "paths/invoke?api-version=2016-06-01&sig=AbCdEfGhIjKlMnOpQrStUvWx"
    )
    register_secret(url)
    echoed = "404: no workflow 0a1b2c3d (sig AbCdEfGhIjKlMnOpQrStUvWx), see /triggers docs"
    assert redact(echoed) == ("404: no workflow [redacted] (sig [redacted]), see /triggers docs")
    assert redact("api-version 2016-06-01") == "api-version 2016-06-01"
