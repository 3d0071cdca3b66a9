"""Backups on the host side: `cidb backup`, `backups`, `backup-check`, `restore`, `restore-drill`.

Thin over the image's own `ci-db-backup` (docker/ci-db-backup), which runs pgBackRest with the
settings the server was started with. Backups and checks run in the database's container; a
restore runs in a new container of the same image that borrows the source container's
repository settings (its PGBACKREST_* environment, its volumes, its network) and writes into a
volume of its own, so the source is never touched (docs/backup.md).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plumbum import TEE, local
from plumbum.commands.processes import ProcessExecutionError

DOCKER = local["docker"]
COMMAND = "ci-db-backup"
# Where a restore container mounts the volume it restores into: not the image's PGDATA path,
# because --volumes-from brings the source's data volume there.
RESTORE_PGDATA = "/var/lib/postgresql/restore"
# The source container's variables a restore needs: the repository settings and the names.
_BORROWED_ENV = re.compile(r"^(PGBACKREST_\w+|POSTGRES_USER|POSTGRES_DB|CI_DB_ARCHIVE_TIMEOUT)=")
KINDS = ("full", "diff", "incr")


class BackupError(RuntimeError):
    """A backup command failed; the message says what to fix."""


@dataclass(frozen=True)
class BackupSet:
    """One backup as `pgbackrest info` reports it."""

    label: str
    kind: str
    start: datetime
    stop: datetime
    size: int  # bytes this backup added to the repository (compressed)
    database_size: int
    wal_start: str
    wal_stop: str
    repo: int


@dataclass(frozen=True)
class Target:
    """A recovery target: one of time (ISO 8601 with zone), lsn or name; none = end of WAL."""

    kind: str = ""
    value: str = ""

    def args(self) -> list[str]:
        if not self.kind:
            return []
        if self.kind not in ("time", "lsn", "name"):
            raise BackupError(f"unknown recovery target {self.kind!r}: use time, lsn or name")
        if not self.value:
            raise BackupError(f"--to-{self.kind} needs a value")
        return [f"--to-{self.kind}", self.value]


# Set by the CLI: long commands stream pgBackRest's progress to the terminal as they run.
STREAM = False


def _run(*args: str, timeout: float = 3600) -> str:
    if STREAM:
        code, out, err = DOCKER[args] & TEE(retcode=None, timeout=timeout)
        if code != 0:
            raise BackupError(_last_error(str(err)) or f"docker {args[0]} exited with {code}")
        return str(out)
    try:
        return str(DOCKER[args](timeout=timeout))
    except ProcessExecutionError as error:
        raise BackupError(_last_error(str(error.stderr)) or str(error)) from error


def _last_error(stderr: str) -> str:
    """ci-db-backup ends a failure with one `ci-db: error: ...` line that names the fix."""
    errors = [line for line in stderr.splitlines() if line.startswith("ci-db: error:")]
    return errors[-1].removeprefix("ci-db: error: ") if errors else stderr.strip()


def exec_command(container: str, *args: str) -> list[str]:
    """The docker argv that runs ci-db-backup ARGS in CONTAINER."""
    return ["exec", container, COMMAND, *args]


def take_backup(container: str, kind: str = "incr", repo: int | None = None) -> str:
    """A backup of CONTAINER's cluster; its output (pgBackRest's log) is returned."""
    if kind not in KINDS:
        raise BackupError(f"--type {kind!r} must be one of {', '.join(KINDS)}")
    repo_args = [f"--repo={repo}"] if repo else []
    return _run(*exec_command(container, "backup", f"--type={kind}", *repo_args))


def info_json(container: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        ["docker", *exec_command(container, "info", "--json")], capture_output=True, timeout=600
    )
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace")
        raise BackupError(_last_error(stderr) or "pgbackrest info failed")
    # A status message can quote undecryptable bytes: not UTF-8, and raw control characters.
    parsed: list[dict[str, Any]] = json.loads(done.stdout.decode(errors="replace"), strict=False)
    return parsed


def parse_backups(info: Sequence[dict[str, Any]]) -> list[BackupSet]:
    sets = []
    for stanza in info:
        for item in stanza.get("backup", []):
            sets.append(
                BackupSet(
                    label=item["label"],
                    kind=item["type"],
                    start=datetime.fromtimestamp(item["timestamp"]["start"], UTC),
                    stop=datetime.fromtimestamp(item["timestamp"]["stop"], UTC),
                    size=int(item["info"]["repository"]["delta"]),
                    database_size=int(item["info"]["size"]),
                    wal_start=item["archive"]["start"] or "",
                    wal_stop=item["archive"]["stop"] or "",
                    repo=int(item["database"]["repo-key"]),
                )
            )
    return sorted(sets, key=lambda s: (s.stop, s.repo))


def list_backups(container: str) -> list[BackupSet]:
    return parse_backups(info_json(container))


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    raise AssertionError("unreachable")


def format_backups(sets: Sequence[BackupSet]) -> str:
    if not sets:
        return "no backups yet: take one with `cidb backup --type full`"
    header = ("repo", "type", "label", "start (UTC)", "stop (UTC)", "size", "db size", "WAL range")
    rows = [
        (
            str(s.repo),
            s.kind,
            s.label,
            s.start.strftime("%Y-%m-%d %H:%M:%S"),
            s.stop.strftime("%Y-%m-%d %H:%M:%S"),
            _size(s.size),
            _size(s.database_size),
            f"{s.wal_start} .. {s.wal_stop}",
        )
        for s in sets
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def check(container: str) -> str:
    """Archiving end to end (a WAL switch reaches every repository); raises when it does not."""
    return _run(*exec_command(container, "check"), timeout=300)


def _inspect(container: str) -> dict[str, Any]:
    try:
        found: list[dict[str, Any]] = json.loads(_run("inspect", container, timeout=60))
    except BackupError as error:
        raise BackupError(f"no container {container!r} to take the backup settings from") from error
    return found[0]


@contextmanager
def _borrowed_env_file(source: dict[str, Any]) -> Iterator[str]:
    """The source's repository settings, in a file only we can read (never on a command line)."""
    lines = [e for e in source["Config"]["Env"] if _BORROWED_ENV.match(e)]
    if not any(line.startswith("PGBACKREST_REPO") for line in lines):
        raise BackupError(
            f"container {source['Name'].lstrip('/')} has no backup repository configured "
            "(no PGBACKREST_REPO* variable): nothing to restore from"
        )
    fd, path = tempfile.mkstemp(prefix="cidb-restore-", suffix=".env")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        yield path
    finally:
        Path(path).unlink(missing_ok=True)


def _source_pgdata(source: dict[str, Any]) -> str:
    for entry in source["Config"]["Env"]:
        if entry.startswith("PGDATA="):
            return str(entry.split("=", 1)[1])
    return "/var/lib/postgresql/data"


def borrowed_mounts(source: dict[str, Any], *, read_only: bool) -> list[str]:
    """`-v` options for the source's mounts a restore needs: its repository volume, secret
    files, CA files. Never its data directory, nor a shared socket directory, where the restore's
    own server would replace the live server's socket."""
    skip = {_source_pgdata(source), "/var/run/postgresql"}
    args = []
    for mount in source.get("Mounts", []):
        if mount["Destination"] in skip or mount["Type"] not in ("volume", "bind"):
            continue
        origin = mount["Name"] if mount["Type"] == "volume" else mount["Source"]
        mode = ":ro" if read_only or not mount.get("RW", True) else ""
        args += ["-v", f"{origin}:{mount['Destination']}{mode}"]
    return args


def restore_argv(
    source: dict[str, Any], env_file: str, volume: str, image: str, *, read_only: bool
) -> list[str]:
    """`docker run` for a restore container: the source's settings and network, our volume."""
    networks = list(source["NetworkSettings"]["Networks"])
    argv = ["run", "--rm", "--env-file", env_file, "-e", f"PGDATA={RESTORE_PGDATA}"]
    argv += [*borrowed_mounts(source, read_only=read_only), "-v", f"{volume}:{RESTORE_PGDATA}"]
    if networks:
        argv += ["--network", networks[0]]
    return [*argv, image]


@dataclass(frozen=True)
class RestoreResult:
    volume: str
    output: str

    @property
    def recovery_point(self) -> dict[str, str]:
        """time, lsn and timeline of the last transaction replayed (ci-db-backup prints them)."""
        match = re.search(r"recovery point reached: (.*)", self.output)
        if not match:
            return {}
        return dict(pair.split("=", 1) for pair in match.group(1).split())


def restore(
    source_container: str,
    volume: str,
    *,
    target: Target = Target(),
    repo: int | None = None,
    force: bool = False,
    archive: bool = True,
    image: str | None = None,
    extra: Sequence[str] = (),
) -> RestoreResult:
    """Restore SOURCE_CONTAINER's latest backup (to TARGET) into VOLUME, recovered and promoted.

    VOLUME is created when missing; one that holds data is refused unless FORCE. With ARCHIVE
    the restored server archives its new timeline into the same repositories (a real restore);
    without, it leaves them alone (a drill, an experiment).
    """
    source = _inspect(source_container)
    argv_args = [*target.args(), *([f"--repo={repo}"] if repo else []), *extra]
    argv_args += [*(["--force"] if force else []), *([] if archive else ["--no-archive"])]
    with _borrowed_env_file(source) as env_file:
        argv = restore_argv(
            source, env_file, volume, image or source["Config"]["Image"], read_only=not archive
        )
        output = _run(*argv, COMMAND, "restore", *argv_args)
    return RestoreResult(volume=volume, output=output)


def new_volume(prefix: str) -> str:
    """A new volume named PREFIX-<UTC time>, labelled so it can be found again."""
    name = f"{prefix}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    _run("volume", "create", "--label", "cidb-restore=1", name, timeout=60)
    return name


def restore_drill(
    source_container: str, *, repo: int | None = None, image: str | None = None
) -> str:
    """Restore the latest backup into a throwaway volume and check it (ci-db-backup drill)."""
    source = _inspect(source_container)
    volume = _run("volume", "create", "--label", "cidb-restore-drill=1", timeout=60).strip()
    try:
        with _borrowed_env_file(source) as env_file:
            argv = restore_argv(
                source, env_file, volume, image or source["Config"]["Image"], read_only=True
            )
            return _run(*argv, COMMAND, "drill", *([f"--repo={repo}"] if repo else []))
    finally:
        _run("volume", "rm", "-f", volume, timeout=120)
