"""Databases of the backup benchmark's own: a ci-db archiving to a posix repository volume,
filled with documents, and restores of it into fresh volumes (cidb.backup does the restoring)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from cidb import backup
from cidb.containers import Container, create_volume, docker, remove_volume, run_container

LABEL = "cidb-bench=1"
PREFIX = "cidb-bench"
REPO_MOUNT = "/var/lib/pgbackrest"
PGDATA = "/var/lib/postgresql/data"
SCHEMA = "bench_backup"
# Words for the documents' text: it compresses about as well as prose does.
WORDS = (
    "invoice", "tenant", "replica", "backup", "latency", "query", "vector", "index", "token",
    "refund", "schema", "policy", "cluster", "release", "archive", "restore",
)  # fmt: skip


def fill_sql(first: int, last: int) -> str:
    """Documents FIRST..LAST: ~1 KiB of text and a 1024-dim embedding of random floats (4 KiB
    that no compressor shrinks), about 6.5 KiB a row on disk with TOAST and index. The `g * 0`
    ties each subquery to its row, so every row gets values of its own."""
    words = ", ".join(f"'{w}'" for w in WORDS)
    return f"""
    INSERT INTO {SCHEMA}.documents (id, body, embedding)
    SELECT g,
        (SELECT string_agg((ARRAY[{words}])[1 + floor(random() * {len(WORDS)})::int], ' ')
         FROM generate_series(1, 150 + g * 0)),
        (SELECT array_agg(random()::real) FROM generate_series(1, 1024 + g * 0))
            ::extensions.vector
    FROM generate_series({int(first)}, {int(last)}) AS g
    """


@dataclass
class Primary:
    """A ci-db with a repository volume of its own (and any extra volumes we made for it)."""

    image: str
    env: dict[str, str]
    repo: str
    db: Container
    volumes: dict[str, str] = field(default_factory=dict)  # more volumes: name -> mount path

    @property
    def mounts(self) -> list[str]:
        return [f"{name}:{path}" for name, path in {self.repo: REPO_MOUNT, **self.volumes}.items()]

    def remove(self) -> None:
        self.db.remove()
        for volume in [self.repo, *self.volumes]:
            remove_volume(volume)


def primary_env(archive_timeout: str) -> dict[str, str]:
    """The image's backup defaults (zst 1, bundles, block incremental, async) on posix."""
    return {
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "CI_MIGRATOR_PASSWORD": uuid.uuid4().hex,
        "PGBACKREST_REPO1_TYPE": "posix",
        "CI_DB_ARCHIVE_TIMEOUT": archive_timeout,
    }


def start_primary(
    image: str, archive_timeout: str = "60s", *, extra_mounts: Sequence[str] = ()
) -> Primary:
    """A ci-db archiving to a new repository volume, and a new volume at each of EXTRA_MOUNTS
    (paths); not waited on (Primary.db.wait_ready). Primary.remove() removes them all."""
    repo = create_volume(f"{PREFIX}-repo", label=LABEL)
    volumes = {create_volume(PREFIX, label=LABEL): path for path in extra_mounts}
    env = primary_env(archive_timeout)
    mounts = [f"{name}:{path}" for name, path in {repo: REPO_MOUNT, **volumes}.items()]
    try:
        db = run_container(
            image, env=env, prefix=PREFIX, label=LABEL, volumes=mounts, extra=["--shm-size", "1g"]
        )
    except Exception:
        for volume in [repo, *volumes]:
            remove_volume(volume)
        raise
    return Primary(image=image, env=env, repo=repo, db=db, volumes=volumes)


def create_documents(db: Container) -> None:
    db.psql(
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}; CREATE TABLE IF NOT EXISTS {SCHEMA}.documents"
        " (id bigint PRIMARY KEY, body text NOT NULL, embedding extensions.vector(1024) NOT NULL)"
    )


def fill(db: Container, first: int, last: int) -> None:
    """Documents FIRST..LAST, then VACUUM and CHECKPOINT: nothing left for autovacuum to do
    while backups are timed."""
    db.psql(fill_sql(first, last))
    db.psql(f"VACUUM (ANALYZE) {SCHEMA}.documents")
    db.psql("CHECKPOINT")


def cluster_mib(db: Container) -> float:
    """The cluster's size as the latest backup counted it (its files, without WAL)."""
    return backup.list_backups(db.name)[-1].database_size / 2**20


def largest_file_mib(db: Container) -> float:
    """The biggest relation file (segments stop at 1 GiB): pgBackRest shares work out by file,
    so one process copies and compresses it alone."""
    size = db.psql("SELECT least(max(pg_relation_size(oid)), 2^30) FROM pg_catalog.pg_class")
    return float(size) / 2**20


def pgbackrest_seconds(output: str, command: str) -> float:
    """The time pgBackRest's own log gives COMMAND (`restore command end: ... (2059ms)`)."""
    match = re.search(rf"{command} command end: completed successfully \((\d+)ms\)", output)
    return int(match.group(1)) / 1000 if match else float("nan")


def timed_restore(primary: Primary) -> tuple[float, backup.RestoreResult]:
    """Seconds to restore the latest backup into a fresh volume and recover to the end of the
    archive (a container of the image: pgBackRest restore, recovery, promotion, clean stop)."""
    volume = create_volume(f"{PREFIX}-restore", label=LABEL)
    try:
        start = time.perf_counter()
        result = backup.restore(primary.db.name, volume, archive=False)
        return time.perf_counter() - start, result
    finally:
        remove_volume(volume)


def stand_in(primary: Primary) -> Container:
    """A container of the lost primary's image and settings, created, never started: what a
    new host has after losing the old one (the repository and the configuration, no data)."""
    name = f"{primary.db.name}-stand-in"
    args = ["create", "--name", name, "--label", LABEL]
    for key in primary.env:
        args += ["-e", key]
    for mount in primary.mounts:
        args += ["-v", mount]
    docker(*args, primary.image, env=primary.env)
    return Container(name)
