"""Sqitch, run inside the ci-db image (the host needs no Perl) against the stack or any target.

The working tree's sqitch/ directory is mounted into a throwaway container, so a change being
written is deployed from disk, not from the image that happens to run. Passwords travel in the
environment (`-e PGPASSWORD` copies it from ours), never in argv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plumbum import local
from plumbum.commands.base import BaseCommand

from cidb.compose import compose, project_dir
from cidb.names import db_image
from cidb.settings import Settings

MOUNT = "/sqitch"
LOCK_TIMEOUT_MARKERS = ("lock timeout", "55P03")
# PostgreSQL's own lock_timeout for every script this wrapper runs; scripts may set shorter.
DEFAULT_LOCK_TIMEOUT = "5s"


class SqitchError(RuntimeError):
    """Sqitch failed; the message carries its output."""


@dataclass(frozen=True)
class Target:
    """Where Sqitch connects: the compose stack's db (default) or an explicit URI."""

    uri: str
    network: str
    password: str

    @classmethod
    def stack(cls, settings: Settings) -> Target:
        db_id = compose("ps", "-q", "db")().strip()
        if not db_id:
            raise SqitchError("the compose stack's db service is not running: run `cidb up` first")
        # Sharing db's network namespace makes 127.0.0.1:5432 the database, whatever the host.
        return cls(
            uri=f"db:pg://ci_migrator@127.0.0.1:5432/{settings.database}",
            network=f"container:{db_id}",
            password=settings.password("ci_migrator"),
        )

    @classmethod
    def explicit(cls, uri: str, password: str) -> Target:
        if uri.startswith(("postgres://", "postgresql://")):
            uri = "db:pg:" + uri.split(":", 1)[1]
        if not uri.startswith("db:pg:"):
            raise SqitchError(f"target {uri!r} is not a db:pg: or postgresql:// URI")
        return cls(uri=uri, network="host", password=password)


@dataclass
class Sqitch:
    """One Sqitch project directory and one target."""

    target: Target
    sqitch_dir: Path = field(default_factory=lambda: project_dir() / "sqitch")
    image: str = field(default_factory=db_image)

    def command(self, *args: str, writable: bool = False) -> BaseCommand:
        mode = "rw" if writable else "ro"
        docker_args = [
            "run",
            "--rm",
            "-i",
            "--network",
            self.target.network,
            "-v",
            f"{self.sqitch_dir.resolve()}:{MOUNT}:{mode}",
            "-w",
            MOUNT,
            "-e",
            "PGPASSWORD",
            "-e",
            "PGOPTIONS",
            "-e",
            "SQITCH_FULLNAME",
            "-e",
            "SQITCH_EMAIL",
        ]
        if writable:
            docker_args += ["--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp"]
        return local["docker"][(*docker_args, self.image, "sqitch", *args)].with_env(
            PGPASSWORD=self.target.password,
            PGOPTIONS=f"-c lock_timeout={DEFAULT_LOCK_TIMEOUT}",
            SQITCH_FULLNAME=os.environ.get("SQITCH_FULLNAME", "cidb"),
            SQITCH_EMAIL=os.environ.get("SQITCH_EMAIL", "cidb@localhost"),
        )

    def run(self, *args: str, writable: bool = False, echo: bool = False) -> tuple[int, str]:
        """Exit code and combined output; with ECHO, each line also goes to stderr as Sqitch
        prints it (a long deploy shows its progress instead of minutes of silence)."""
        command = self.command(*args, writable=writable)
        if not echo:
            code, out, err = command.run(retcode=None)
            return int(code), out + err
        lines: list[str] = []
        process = command.popen(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", file=sys.stderr, flush=True)
            lines.append(line)
        return int(process.wait()), "".join(lines)

    def run_with_target(self, verb: str, *args: str, echo: bool = False) -> tuple[int, str]:
        return self.run(verb, *args, self.target.uri, echo=echo)


def is_lock_timeout(output: str) -> bool:
    return any(marker in output for marker in LOCK_TIMEOUT_MARKERS)


def deploy(
    sqitch: Sqitch,
    *,
    tries: int = 5,
    backoff_s: float = 1.0,
    to: str | None = None,
    echo: bool = False,
) -> str:
    """`sqitch deploy --verify`, retrying lock-timeout failures with exponential backoff.

    `--mode change` keeps the changes that did deploy, so a retry resumes at the blocked one.
    """
    args = ["--verify", "--mode", "change", *(["--to", to] if to else [])]
    output = ""
    for attempt in range(1, tries + 1):
        code, output = sqitch.run_with_target("deploy", *args, echo=echo)
        if code == 0:
            return output
        if not is_lock_timeout(output):
            raise SqitchError(f"deploy failed:\n{output}")
        if attempt < tries:
            delay = backoff_s * 2 ** (attempt - 1)
            print(
                f"cidb: lock timeout on attempt {attempt}/{tries}; retrying in {delay:g}s",
                file=sys.stderr,
            )
            time.sleep(delay)
    raise SqitchError(
        f"deploy gave up after {tries} tries: a lock stayed held longer than lock_timeout "
        f"each time (another session holds a conflicting lock; look at pg_locks).\n{output}"
    )


def checked(result: tuple[int, str], verb: str, ok_codes: Sequence[int] = (0,)) -> str:
    code, output = result
    if code not in ok_codes:
        raise SqitchError(f"{verb} failed (exit {code}):\n{output}")
    return output
