"""Backup and restore drills for tests: a database archiving to a repository, rows written and
fingerprinted, a restore started as a server of its own (cidb.backup does the restoring)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from cidb import backup
from support.docker import Container, create_volume, remove_volume, run_container, wait_until

# A short archive_timeout keeps drills quick; the tests still force every switch they rely on.
ARCHIVE_TIMEOUT = "5s"
CIPHER_PASS = "test-cipher-pass-" + uuid.uuid4().hex[:8]


def posix_repo_env(*, cipher: bool = True) -> dict[str, str]:
    """A filesystem repository at the image's /var/lib/pgbackrest (mount a volume there)."""
    env = {"PGBACKREST_REPO1_TYPE": "posix", "CI_DB_ARCHIVE_TIMEOUT": ARCHIVE_TIMEOUT}
    if cipher:
        env["PGBACKREST_REPO1_CIPHER_PASS"] = CIPHER_PASS
    return env


def db_env(**extra: str) -> dict[str, str]:
    return {
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "CI_ADMIN_PASSWORD": uuid.uuid4().hex,
        "CI_MIGRATOR_PASSWORD": uuid.uuid4().hex,
        **extra,
    }


# Application tables and the probe table; sqitch's registry moves with every deploy, so it is
# left out of the fingerprint.
_TABLES_SQL = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname IN ('public', 'drill')
ORDER BY 1
"""


def table_digests(db: Container) -> dict[str, str]:
    """md5 of each table's full contents (every column, rows in a stable order)."""
    digests = {}
    for table in db.psql(_TABLES_SQL).splitlines():
        digests[table] = db.psql(
            "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), 'empty') "
            f"FROM {table} t"
        )
    return digests


def create_probe(db: Container) -> None:
    """drill.events: one row per acknowledged commit, with the server's commit-time clock."""
    db.psql(
        "CREATE SCHEMA IF NOT EXISTS drill; "
        "CREATE TABLE IF NOT EXISTS drill.events (id bigint PRIMARY KEY, "
        "at timestamptz NOT NULL DEFAULT clock_timestamp(), payload text NOT NULL)"
    )


def insert_events(db: Container, first: int, count: int) -> None:
    db.psql(
        f"INSERT INTO drill.events (id, payload) SELECT g, md5(g::text) "
        f"FROM generate_series({first}, {first + count - 1}) g"
    )


def switch_wal_and_wait(db: Container, timeout: float = 60) -> str:
    """Close the current WAL segment and wait until the server has archived it."""
    # With no WAL since the last switch (archive_timeout's may come just before ours),
    # pg_switch_wal() does nothing and returns the open segment's first byte, which
    # pg_walfile_name (PostgreSQL 17) names as that open segment, never archived while the
    # server idles. The byte before is in the segment that holds everything written.
    segment = db.psql("SELECT pg_walfile_name(pg_switch_wal() - 1)")

    def archived() -> bool:
        last = db.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        return last >= segment

    wait_until(
        archived,
        timeout=timeout,
        failure=lambda: f"WAL segment {segment} was not archived:\n{db.logs(tail=40)}",
    )
    return segment


@dataclass
class Writer:
    """Commits one drill.events row at a time in a thread, recording each acknowledged id."""

    db: Container
    start_id: int = 1_000_000
    acknowledged: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    error: BaseException | None = None

    def _run(self) -> None:
        next_id = self.start_id
        try:
            while not self._stop.is_set():
                insert_events(self.db, next_id, 1)
                self.acknowledged.append(next_id)
                next_id += 1
        except BaseException as error:  # reported by stop()
            self.error = error

    def __enter__(self) -> Writer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        wait_until(
            lambda: len(self.acknowledged) >= 3 or self.error is not None,
            timeout=60,
            failure=lambda: f"the writer committed {len(self.acknowledged)} rows in 60 s",
        )
        if self.error is not None:
            raise AssertionError(f"the writer failed: {self.error}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=60)
        if self.error is not None:
            raise AssertionError(f"the writer failed: {self.error}")


@contextmanager
def restored_server(
    source: Container,
    *,
    target: backup.Target | None = None,
    env: Mapping[str, str] | None = None,
    volumes: tuple[str, ...] = (),
    archive: bool = False,
    repo: int | None = None,
) -> Iterator[tuple[Container, backup.RestoreResult]]:
    """SOURCE's backup restored (to TARGET) into a new volume, then served by a new container."""
    volume = create_volume("cidb-restore")
    try:
        result = backup.restore(
            source.name, volume, target=target or backup.Target(), archive=archive, repo=repo
        )
        server = run_container(
            source.inspect()["Config"]["Image"],
            env=env or db_env(),
            volumes=[f"{volume}:/var/lib/postgresql/data", *volumes],
        )
        try:
            server.wait_healthy()
            yield server, result
        finally:
            server.remove()
    finally:
        remove_volume(volume)
