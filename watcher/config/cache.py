"""The validated config, kept between runs so a cron check of an unchanged file skips pydantic.

Validating the config (watcher.config.models) means importing pydantic and building its models:
about as long as the rest of a cron check of an unchanged page. Its outcome depends only on
the file's bytes and on the code that judges them, so ``load`` keeps it in a cache file,
``$XDG_CACHE_HOME/watcher/config-<path digest>.json`` (``~/.cache`` without that variable),
keyed by:

- the sha256 of the file's bytes;
- the code that validates: watcher's version, and the size and modification time of the
  modules the rules live in and of pydantic, pydantic-core and APScheduler (a cron
  expression is judged by the daemon's own trigger);
- the one environment variable validation reads, ``PYTHONTZPATH`` (where quiet hours' time
  zones are looked up). The variables the config names for secrets are read at send time,
  never here: no secret, and no variable's value, enters the cache.

A hit is rebuilt into plain frozen value objects carrying the same fields and, through the
mixins of watcher.config.mixins, the same behaviour as the models. A miss, a cache from other
code, or a file that is unreadable, corrupt (a digest guards its body), or not the user's own
is validated in full, every error message as watcher.config.models gives it, and written back. Both
ways the objects are built by ``rebuild`` from the same dump, so a command sees one kind of
object whatever the cache held (tests/config/test_cache.py holds the two field by field).
The file holds the database URL as the config gives it, so it is written for its owner only
(0600, in a 0700 directory), and a config whose URL carries a password is never cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from watcher import __version__
from watcher.config import ConfigError
from watcher.config.mixins import ConfigSettings, GuardSettings, RouteSettings, SourceSettings
from watcher.storage.dialect import redact_url

if TYPE_CHECKING:
    from watcher.config.models import Config

log = logging.getLogger(__name__)

FORMAT = 1  # of the cache file; a file of another format is a miss
PACKAGE = Path(__file__).resolve().parents[1]
# Where the rules the validation applies are written (their defaults, names and patterns).
RULES = (
    "config/__init__.py",
    "config/mixins.py",
    "config/models.py",
    "config/cache.py",
    "domain/known.py",
    "domain/keys.py",
    "domain/document.py",
    "domain/guard.py",
    "domain/digest.py",
    "domain/quiet.py",
    "storage/dialect.py",
)
LIBRARIES = ("pydantic", "pydantic_core", "apscheduler")
ENVIRONMENT = ("PYTHONTZPATH",)


class _Plain:
    """A frozen value object compared and hashed by its fields, which are its class's own
    annotations. What a frozen dataclass would be, without the code dataclass generates and
    compiles for each class: for the six here, about 5 ms of every command's start."""

    _fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls) -> None:
        cls._fields = tuple(inspect.get_annotations(cls))

    def __init__(self, **values: Any) -> None:
        if set(values) != set(self._fields):
            raise ValueError(f"{type(self).__name__}: the fields differ")
        for name in self._fields:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in self._fields))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({shown})"


class PlainDatabase(_Plain):
    url: str


class PlainGuard(GuardSettings, _Plain):
    max_entity_loss: float
    second_look_removed: int
    second_look_removed_share: float
    second_look_added: int
    max_unknown_increase: float
    confirmations: int


class PlainSource(SourceSettings, _Plain):
    name: str
    url: str
    format: str
    every: str | None
    cron: str | None
    timeout: float
    max_bytes: int
    attempts: int
    failing_after: int
    stale_after: str
    guard: PlainGuard


class PlainRoute(RouteSettings, _Plain):
    name: str
    channel: str
    entities: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[str, ...]
    kinds: tuple[str, ...]
    min_severity: str
    sources: tuple[str, ...]
    ops: bool
    webhook_url_env: str | None
    url_env: str | None
    secret_env: str | None
    token_env: str | None
    channel_id: str | None
    smtp_host: str | None
    smtp_port: int | None
    smtp_security: str
    smtp_username_env: str | None
    smtp_password_env: str | None
    from_: str | None
    to: tuple[str, ...]
    timeout: float
    repeat_every: str
    quiet_hours: str | None
    quiet_hours_bypass: str | None
    digest: str | None
    api_url: str


class PlainWeb(_Plain):
    enabled: bool
    host: str
    port: int
    token_env: str | None


class PlainConfig(ConfigSettings, _Plain):
    database: PlainDatabase
    sources: tuple[PlainSource, ...]  # type: ignore[assignment]
    routes: tuple[PlainRoute, ...]  # type: ignore[assignment]
    web: PlainWeb


def _plain(cls: type[Any], values: dict[str, Any], **nested: Any) -> Any:
    """``cls`` from a dumped model: exactly its fields (anything else is a miss), arrays as
    tuples."""
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**{**given, **nested})


def rebuild(dump: dict[str, Any]) -> Config:
    """The config's plain objects from ``Config.model_dump()`` (or its JSON)."""
    config = PlainConfig(
        database=_plain(PlainDatabase, dump["database"]),
        sources=tuple(
            _plain(PlainSource, s, guard=_plain(PlainGuard, s["guard"])) for s in dump["sources"]
        ),
        routes=tuple(_plain(PlainRoute, r) for r in dump["routes"]),
        web=_plain(PlainWeb, dump["web"]),
    )
    # The plain objects stand in for the models: the same fields (the test compares them
    # one by one) and the same methods (the mixins), without pydantic.
    return cast("Config", config)


def load(path: Path | None, *, cached: bool = True) -> Config:
    """The config at ``path`` (None: the built-in defaults), validated, from the cache when
    it holds this file as this code judged it; ``cached=False`` validates in full anyway."""
    data: bytes | None = None
    if path is not None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
    store = _store(path)
    key = _key(data)
    if cached and store is not None:
        dump = _read(store, key)
        if dump is not None:
            try:
                return rebuild(dump)
            except (KeyError, TypeError, ValueError):
                log.debug("config cache %s does not fit this code: validating", store)
    text = json.dumps(_validated(path, data).model_dump())
    dump = json.loads(text)
    url = dump["database"]["url"]
    # A password written into the file's database URL is not copied to a second place: such
    # a config is validated on every run (WATCHER_DATABASE_URL keeps it out of files).
    if store is not None and redact_url(url) == url:
        _write(store, key, text)
    elif store is not None:  # nor left there by an earlier release that did copy it
        with contextlib.suppress(OSError):
            store.unlink(missing_ok=True)
    return rebuild(dump)


def _validated(path: Path | None, data: bytes | None) -> Config:
    from watcher.config.models import default_config, parse_config

    if path is None or data is None:
        return default_config()
    return parse_config(path, data)


def _key(data: bytes | None) -> str:
    stamps: list[object] = [FORMAT, __version__]
    stamps.append(hashlib.sha256(data).hexdigest() if data is not None else "(built-in defaults)")
    for rel in RULES:
        stamps.append(_stamp(PACKAGE / rel))
    for name in LIBRARIES:
        spec = find_spec(name)
        stamps.append(_stamp(Path(spec.origin)) if spec and spec.origin else None)
    stamps.extend(os.environ.get(name) for name in ENVIRONMENT)
    return hashlib.sha256(json.dumps(stamps).encode()).hexdigest()


def _stamp(path: Path) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size)


def _store(path: Path | None) -> Path | None:
    """The cache file for the config at ``path``; None when there is no home for it."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative value is to be ignored
        home = os.environ.get("HOME")
        if not home:
            return None
        base = os.path.join(home, ".cache")
    where = os.path.abspath(path) if path is not None else "(built-in defaults)"
    name = hashlib.sha256(where.encode()).hexdigest()[:32]
    return Path(base) / "watcher" / f"config-{name}.json"


def _read(store: Path, key: str) -> dict[str, Any] | None:
    """The dump kept for ``key``, or None: absent, another key, corrupt, or not ours alone."""
    try:
        fd = os.open(store, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            log.debug("config cache %s is not the user's own: ignored", store)
            return None
        with os.fdopen(fd, "rb") as f:
            fd = -1
            head, _, body = f.read().partition(b"\n")
        meta = json.loads(head)
        if meta.get("format") != FORMAT or meta.get("key") != key:
            return None
        if meta.get("digest") != hashlib.sha256(body).hexdigest():
            log.debug("config cache %s is corrupt: validating", store)
            return None
        dump = json.loads(body)
        return dump if isinstance(dump, dict) else None
    except (OSError, ValueError, AttributeError):
        return None
    finally:
        if fd >= 0:
            os.close(fd)


def _write(store: Path, key: str, text: str) -> None:
    """Keep ``text`` for ``key``: written aside and renamed, so a reader sees all or nothing.
    A cache that cannot be written (a read-only home) only costs the next run a validation."""
    body = text.encode()
    head = json.dumps({"format": FORMAT, "key": key, "digest": hashlib.sha256(body).hexdigest()})
    tmp = store.with_name(f".{store.name}.{os.getpid()}.tmp")
    try:
        store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(head.encode() + b"\n" + body)
        os.replace(tmp, store)
    except OSError as exc:
        log.debug("config cache %s not written: %s", store, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
