"""The cache of validated configs (watcher.config.cache): what it rebuilds is what validation
gives, field by field, for every example config of the repository; anything it cannot trust
is validated again, with the same error; and a hit does not import pydantic."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tests.cliutil import run
from tests.conftest import ROOT
from tests.docexamples import read_blocks
from watcher.config import ConfigError, cache, load_config


def _examples() -> dict[str, str]:
    """Every config the repository shows: the shipped file, its commented route examples
    (one of each channel) uncommented, and the files README.md and docs/ have readers write."""
    shipped = (ROOT / "config" / "watcher.toml").read_text(encoding="utf-8")
    commented = shipped[shipped.index("# [[routes]]") :]
    routes = "\n".join(line.removeprefix("#").removeprefix(" ") for line in commented.splitlines())
    found = {"config/watcher.toml": shipped, "config/watcher.toml routes": routes}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in read_blocks(page.read_text(encoding="utf-8").splitlines()):
            if block.file_name:
                found[f"{page.name}: {block.file_name}"] = block.file_text
    return found


EXAMPLES = _examples()


def _same(model: BaseModel, plain: Any, where: str) -> int:
    """Assert ``plain`` holds every field of ``model`` with an equal value of the same type;
    the number of fields compared."""
    names = set(type(model).model_fields)
    assert set(vars(plain)) == names, where
    compared = 0
    for name in sorted(names):
        mine, theirs = getattr(model, name), getattr(plain, name)
        if isinstance(mine, BaseModel):
            compared += _same(mine, theirs, f"{where}.{name}")
        elif isinstance(mine, tuple) and mine and isinstance(mine[0], BaseModel):
            assert len(mine) == len(theirs), f"{where}.{name}"
            for i, (m, t) in enumerate(zip(mine, theirs, strict=True)):
                compared += _same(m, t, f"{where}.{name}[{i}]")
        else:
            assert type(theirs) is type(mine) and theirs == mine, f"{where}.{name}"
            compared += 1
    return compared


def test_the_examples_cover_every_channel() -> None:
    channels = {
        route["channel"]
        for text in EXAMPLES.values()
        for route in tomllib.loads(text).get("routes", [])
    }
    assert channels == {"slack", "teams", "webhook", "apprise", "email", "stdout"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_cached_config_equals_the_validated_one_field_by_field(
    name: str, tmp_path: Path, config_cache: Path
) -> None:
    path = tmp_path / "w.toml"
    path.write_text(EXAMPLES[name], encoding="utf-8")
    try:
        validated = load_config(path)
    except ConfigError as exc:  # README's bad.toml: the same message, never cached
        for _ in range(2):
            with pytest.raises(ConfigError) as again:
                cache.load(path)
            assert str(again.value) == str(exc)
        assert not list(config_cache.glob("watcher/config-*.json"))
        return
    missed = cache.load(path)  # validates and writes the cache
    assert list(config_cache.glob("watcher/config-*.json"))
    hit = cache.load(path)
    assert isinstance(hit, cache.PlainConfig) and isinstance(missed, cache.PlainConfig)
    assert hit == missed
    assert _same(validated, hit, name) > 5
    # What the objects do is the mixins', the same on both.
    for mine, theirs in zip(validated.sources, hit.sources, strict=True):
        assert theirs.interval_seconds == mine.interval_seconds
        assert theirs.guard.policy() == mine.guard.policy()
    for r, p in zip(validated.routes, hit.routes, strict=True):
        assert (p.quiet, p.repeat_seconds, p.secret_envs()) == (
            r.quiet,
            r.repeat_seconds,
            r.secret_envs(),
        )
    for s in validated.sources:
        assert hit.source(s.name) == cache.load(path).source(s.name)


def test_built_in_defaults_are_cached_too(config_cache: Path) -> None:
    from watcher.config.models import default_config

    validated = default_config()
    assert _same(validated, cache.load(None), "defaults") > 5
    assert _same(validated, cache.load(None), "defaults") > 5


def test_an_edited_file_is_validated_again(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text('[[sources]]\nname = "a"\nurl = "https://x"\n')
    assert cache.load(path).sources[0].name == "a"
    path.write_text('[[sources]]\nname = "a"\nurl = "https://x"\nevery = "soon"\n')
    with pytest.raises(ConfigError, match=r"sources\[0\]\.every: 'soon' is not a duration"):
        cache.load(path)


def test_a_password_in_the_database_url_is_never_copied_into_the_cache(
    tmp_path: Path, config_cache: Path
) -> None:
    path = tmp_path / "w.toml"
    path.write_text('[database]\nurl = "postgresql://watcher@db.example/watcher"\n')
    cache.load(path)
    assert b"watcher@db.example" in _store(config_cache).read_bytes()
    # The same file given a password: not cached, and the cache file of this path (as an
    # earlier release, which did copy passwords, may have left it) is removed.
    path.write_text('[database]\nurl = "postgresql://watcher:s3cr3t@db.example/watcher"\n')
    assert cache.load(path).database.url.endswith(":s3cr3t@db.example/watcher")
    assert not list(config_cache.glob("watcher/config-*.json"))


def _store(config_cache: Path) -> Path:
    (store,) = config_cache.glob("watcher/config-*.json")
    return store


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # cut short
        lambda b: b.replace(b'"https://x"', b'"https://y"'),  # a body its digest does not fit
        lambda b: b"not json\n{}",
        lambda b: b"",
        lambda b: b.replace(b'"format": 1', b'"format": 0'),  # another cache format
    ],
)
def test_a_damaged_cache_is_validated_again(
    damage: Any, tmp_path: Path, config_cache: Path
) -> None:
    path = tmp_path / "w.toml"
    path.write_text('[[sources]]\nname = "a"\nurl = "https://x"\n')
    cache.load(path)
    store = _store(config_cache)
    store.write_bytes(damage(store.read_bytes()))
    assert cache.load(path).sources[0].url == "https://x"
    assert cache.load(path) == cache.load(path)


def test_a_cache_others_may_write_is_not_trusted(tmp_path: Path, config_cache: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text('[[sources]]\nname = "a"\nurl = "https://x"\n')
    cache.load(path)
    store = _store(config_cache)
    # Forged with a fitting digest: only its mode gives it away.
    forged = store.read_bytes().replace(b"https://x", b"https://z")
    head, _, body = forged.partition(b"\n")
    meta = json.loads(head)
    meta["digest"] = hashlib.sha256(body).hexdigest()
    store.write_bytes(json.dumps(meta).encode() + b"\n" + body)
    assert cache.load(path).sources[0].url == "https://z"  # the owner's own edit is trusted
    store.write_bytes(json.dumps(meta).encode() + b"\n" + body)
    os.chmod(store, 0o666)
    assert cache.load(path).sources[0].url == "https://x"
    assert store.stat().st_mode & 0o777 == 0o600  # written back for its owner only


def test_a_cache_that_cannot_be_written_costs_only_a_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    path = tmp_path / "w.toml"
    path.write_text('[[sources]]\nname = "a"\nurl = "https://x"\n')
    assert cache.load(path).sources[0].name == "a"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv("HOME")
    assert cache.load(path).sources[0].name == "a"


def test_config_check_validates_in_full_whatever_the_cache_says(
    tmp_path: Path, config_cache: Path
) -> None:
    path = tmp_path / "w.toml"
    path.write_text('[[sources]]\nname = "a"\nurl = "https://x"\n')
    db = f"sqlite:///{tmp_path}/w.db"
    run("status", config=str(path), db=db)
    store = _store(config_cache)
    store.write_bytes(b"")  # a cache file that would hide nothing, but says nothing either
    assert run("config", "check", config=str(path)).stdout.rstrip().endswith("ok")
    assert store.read_bytes()  # written again by the full validation


def test_a_hit_imports_no_pydantic(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text('[[sources]]\nname = "a"\nurl = "https://x"\nevery = "5m"\n')
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from watcher.config import resolve\n"
        f"s = resolve({str(path)!r}, None)\n"
        "print(s.config.sources[0].interval_seconds, 'pydantic' in sys.modules)\n"
    )
    env = os.environ.copy()
    first = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert first.stdout.split() == ["300", "True"], first.stderr  # a miss validates
    again = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert again.stdout.split() == ["300", "False"], again.stderr
