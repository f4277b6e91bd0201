"""Benchmark 8: crash trials — kill at a random point, run again, count deliveries.

    .venv/bin/python bench/crash.py [--trials N (10)] [--seed S] [--postgres] [-v] [--keep DIR]

Each trial starts from a fresh SQLite database (with --postgres, the scratch PostgreSQL
database in WATCHER_BENCH_POSTGRES_URL, else WATCHER_TEST_POSTGRES_URL: ITS PUBLIC SCHEMA IS
DROPPED). A real local origin serves two sources, each through three real versions of its page
from the corpus (the EN page of 2019 → 2021-01 → 2021-11, whose first change set of 66 changes
splits into two Slack parts; and the status page of 2021-12 → 2023-05 → 2025-05), to a
Slack-like webhook server (answering in 300 ms, as a far-away one does) and an SMTP server
(tests/delivery/servers.py). Each step serves the next versions and runs `watcher check`
(which checks, then dispatches) as a subprocess; one step of each trial, chosen at random, is
killed with SIGKILL after a random delay (up to the step's length in a run without kills),
then run again at once; a last `watcher dispatch` runs to its end. A first run without kills
gives what must arrive: every Slack part and every mail, once.

Per trial each expected message is ``lost`` (never arrived) or arrived more than once
(``duplicates``, counted per Slack part and per mail). Prints
``trials N, lost L, duplicates D (max per trial M)`` beside the target: nothing lost, at most
one duplicate per kill (the README's promise). Exit 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from common import BIN, Origin, corpus, serve, verdict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test servers: a Slack-like webhook and SMTP

from tests.delivery.servers import SlackServer, SmtpServer  # noqa: E402

CHAINS = {
    "en": [
        "en/2019-06-19__MicrosoftDocs__a4b043d.md",
        "en/2021-01-28__MicrosoftDocs.md",
        "en/2021-11-09__MicrosoftDocs__03436ea.md",
    ],
    "status": [
        "status-page/2021-12-08__MicrosoftDocs__00605c9.md",
        "status-page/2023-05-25__MicrosoftDocs__6f6728e.md",
        "status-page/2025-05-09__MicrosoftDocs-entra-docs__41d266e.md",
    ],
}
STEP_TIMEOUT = 180.0
SLACK_MS = 300


@dataclass
class Trial:
    lost: int = 0
    duplicates: int = 0
    unexpected: int = 0
    killed_step: int = -1
    delay: float = 0.0
    landed: bool = False  # the process was still running when the kill came
    skipped: bool = False  # the run after the kill was turned away by the lease
    notes: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # what each run printed, in order


class Bed:
    """One trial's world: the origin, the servers, a config, a database."""

    def __init__(self, work: Path, origin: Origin, db_url: str) -> None:
        self.slack = SlackServer().start()
        self.smtp = SmtpServer().start()
        self.origin = origin
        self.db_url = db_url
        self.config = work / "watcher.toml"
        self.config.write_text(
            "".join(
                f'[[sources]]\nname = "{name}"\nurl = "{origin.page_url(f"/{name}.md")}"\n'
                'format = "markdown"\nattempts = 1\n\n'
                for name in CHAINS
            )
            + '[[routes]]\nname = "team"\nchannel = "slack"\nwebhook_url_env = "CRASH_SLACK"\n\n'
            + '[[routes]]\nname = "mail"\nchannel = "email"\nsmtp_host = "127.0.0.1"\n'
            f'smtp_port = {self.smtp.port}\nsmtp_security = "none"\n'
            'from = "watcher@example.com"\nto = ["team@example.com"]\n'
        )
        clean = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
        self.env = {
            **clean,
            "WATCHER_DATABASE_URL": db_url,
            "WATCHER_CONFIG": str(self.config),
            # Slack answers in a few hundred milliseconds: a kill lands inside a send often.
            "CRASH_SLACK": self.slack.webhook(f"slow-{SLACK_MS}"),
        }
        self.work = work

    def close(self) -> None:
        self.slack.stop()
        self.smtp.stop()

    def serve_version(self, step: int) -> None:
        for name, chain in CHAINS.items():
            self.origin.pages[f"/{name}.md"] = (corpus() / chain[step]).read_bytes()

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(BIN / "watcher"), *args],
            cwd=self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def run(self, *args: str) -> str:
        proc = self.start(*args)
        out, _ = proc.communicate(timeout=STEP_TIMEOUT)
        return out.decode(errors="replace")

    def received(self) -> Counter[str]:
        """What arrived, one key per Slack part (its first line) and per mail (its subject)."""
        got: Counter[str] = Counter()
        for r in self.slack.received():
            got["slack: " + str(r.body["blocks"][0]["text"]["text"])] += 1
        for mail in self.smtp.mails:
            got["mail: " + str(mail.message["Subject"])] += 1
        return got


def fresh_database(work: Path, postgres: str | None) -> str:
    if postgres is None:
        return f"sqlite:///{work / 'watcher.db'}"
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return postgres


def reference(origin: Origin, postgres: str | None) -> tuple[Counter[str], list[float]]:
    """A run without kills: what must arrive, and how long each step takes."""
    with tempfile.TemporaryDirectory() as tmp:
        bed = Bed(Path(tmp), origin, fresh_database(Path(tmp), postgres))
        try:
            bed.run("db", "upgrade")
            lengths = []
            for step in range(3):
                bed.serve_version(step)
                start = time.perf_counter()
                bed.run("check")
                lengths.append(time.perf_counter() - start)
            bed.run("dispatch")
            return bed.received(), lengths
        finally:
            bed.close()


def trial(
    origin: Origin,
    postgres: str | None,
    expected: Counter[str],
    lengths: list[float],
    rng: random.Random,
) -> Trial:
    result = Trial(killed_step=rng.randrange(3))
    result.delay = rng.uniform(0, lengths[result.killed_step])
    with tempfile.TemporaryDirectory() as tmp:
        bed = Bed(Path(tmp), origin, fresh_database(Path(tmp), postgres))
        try:
            bed.run("db", "upgrade")
            for step in range(3):
                bed.serve_version(step)
                if step == result.killed_step:
                    proc = bed.start("check")
                    time.sleep(result.delay)
                    result.landed = proc.poll() is None
                    proc.send_signal(signal.SIGKILL)
                    killed = proc.communicate(timeout=STEP_TIMEOUT)[0].decode(errors="replace")
                    result.outputs.append(f"$ watcher check (killed)\n{killed}")
                out = bed.run("check")  # the next run, at once
                result.outputs.append(f"$ watcher check\n{out}")
                if "skipped" in out:
                    result.skipped = True
                    result.notes.append(f"step {step + 1} re-run skipped: {out.strip()}")
            result.outputs.append(f"$ watcher dispatch\n{bed.run('dispatch')}")
            got = bed.received()
        finally:
            bed.close()
    for key in expected | got:
        result.lost += max(0, expected[key] - got[key])
        if key in expected:
            result.duplicates += max(0, got[key] - expected[key])
        else:
            result.unexpected += got[key]
        if got[key] != expected[key]:
            result.notes.append(f"{key}: {got[key]} arrived, {expected[key]} expected")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per trial")
    parser.add_argument(
        "--keep", type=Path, help="folder for the runs' output of each trial that misses"
    )
    args = parser.parse_args()
    postgres = None
    if args.postgres:
        postgres = os.environ.get("WATCHER_BENCH_POSTGRES_URL") or os.environ.get(
            "WATCHER_TEST_POSTGRES_URL"
        )
        if not postgres:
            print("crash trials on PostgreSQL: skipped (set WATCHER_BENCH_POSTGRES_URL)")
            return 0
    rng = random.Random(args.seed)
    with serve(Origin()) as origin:
        expected, lengths = reference(origin, postgres)
        parts = sum(expected.values())
        steps = ", ".join(f"{s:.1f}" for s in lengths)
        print(f"{'PostgreSQL' if postgres else 'SQLite'}: {parts} messages expected per trial")
        print(f"(step lengths without kills: {steps} s)")
        trials = []
        for n in range(args.trials):
            t = trial(origin, postgres, expected, lengths, rng)
            trials.append(t)
            if args.verbose or t.lost or t.duplicates > 1 or t.unexpected:
                print(
                    f"trial {n + 1}: kill in step {t.killed_step + 1} after {t.delay:.2f} s: "
                    f"lost {t.lost}, duplicates {t.duplicates}, unexpected {t.unexpected}"
                    + "".join(f"\n  {note}" for note in t.notes)
                )
            if args.keep and (t.lost or t.duplicates > 1 or t.unexpected):
                args.keep.mkdir(parents=True, exist_ok=True)
                kept = args.keep / f"trial-{n + 1}.log"
                kept.write_text("\n".join(t.outputs))
                print(f"  the runs' output: {kept}")
    lost = sum(t.lost for t in trials)
    duplicates = sum(t.duplicates for t in trials)
    worst = max((t.duplicates for t in trials), default=0)
    with_dups = sum(t.duplicates > 0 for t in trials)
    skipped = sum(t.skipped for t in trials)
    landed = sum(t.landed for t in trials)
    print(
        f"trials {len(trials)}, lost {lost}, duplicates {duplicates} (max per trial {worst}); "
        f"{landed} kill(s) landed before the run ended, {with_dups} trial(s) with a "
        f"duplicate, {skipped} with a re-run skipped"
    )
    ok = lost == 0 and worst <= 1
    print(f"target: lost 0, at most one duplicate per kill: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
