"""Backups and point-in-time recovery on an S3 repository (moto over verified TLS, tests/s3),
alone and beside a filesystem one, and WAL kept safe while the S3 server does not answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures_db import FreshDb
from support.backups import (
    ARCHIVE_TIMEOUT,
    Writer,
    amcheck_clean,
    create_probe,
    db_env,
    insert_events,
    next_event_id,
    posix_repo_env,
    restored_server,
    switch_wal_and_wait,
    table_digests,
)
from support.docker import Container, wait_until
from support.s3 import S3Server, s3_server

from cidb import backup

# Where pgBackRest keeps the stanza in a bucket (repo-path /ci-db, stanza ci-db).
BACKUP_PREFIX = "ci-db/backup/ci-db/"


@dataclass(frozen=True)
class S3Db:
    db: Container
    bucket: str


@pytest.fixture(scope="module")
def s3_db(module_fresh_db: FreshDb, s3: S3Server) -> S3Db:
    """A database archiving to a bucket of its own (keys as _FILE), with one full backup."""
    bucket = s3.create_bucket()
    env = db_env(**s3.repo_env(1, bucket, files=True), CI_DB_ARCHIVE_TIMEOUT=ARCHIVE_TIMEOUT)
    db = module_fresh_db(env, **s3.db_options())
    create_probe(db)
    backup.take_backup(db.name, "full")
    return S3Db(db, bucket)


def test_full_diff_and_incremental_backups_land_in_the_bucket_and_verify_clean(
    s3_db: S3Db, s3: S3Server
) -> None:
    """Each kind of backup is listed on repo 1 and stored in the bucket; pgbackrest verify passes;
    the incremental one restores and passes the drill (amcheck, sqitch verify)."""
    db = s3_db.db
    base = next_event_id(db)
    insert_events(db, base, 20)
    backup.take_backup(db.name, "diff")
    insert_events(db, base + 20, 20)
    backup.take_backup(db.name, "incr")

    sets = backup.list_backups(db.name)
    assert [s.kind for s in sets][-3:] == ["full", "diff", "incr"]
    assert {s.repo for s in sets} == {1}
    keys = s3.keys(s3_db.bucket, BACKUP_PREFIX)
    for backup_set in sets:
        assert f"{BACKUP_PREFIX}{backup_set.label}/backup.manifest" in keys

    verified = db.exec("ci-db-backup", "verify")
    assert "verify command end: completed successfully" in verified
    drill = backup.restore_drill(db.name)
    assert "amcheck: clean" in drill and "drill passed" in drill


def _mark_target(db: Container, kind: str) -> str:
    """A recovery target of KIND at this moment: after every commit so far, before any later."""
    if kind == "time":
        return db.psql(
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')"
        )
    if kind == "lsn":
        return db.psql("SELECT pg_current_wal_insert_lsn()")
    name = f"before-batch-{uuid.uuid4().hex[:8]}"
    db.psql(f"SELECT pg_create_restore_point('{name}')")
    return name


@pytest.mark.parametrize("kind", ["time", "lsn", "name"])
def test_pitr_from_s3_restores_exactly_the_rows_committed_before_the_target(
    s3_db: S3Db, kind: str
) -> None:
    """To a time, an LSN or a named restore point: the first batch is there, the second is not,
    and amcheck finds nothing wrong."""
    db = s3_db.db
    base = next_event_id(db)
    insert_events(db, base, 30)
    expected = table_digests(db)
    target = _mark_target(db, kind)
    insert_events(db, base + 30, 30)
    if kind == "time":
        later = db.psql(f"SELECT min(at) > '{target}' FROM drill.events WHERE id >= {base + 30}")
        assert later == "t"
    assert table_digests(db) != expected
    switch_wal_and_wait(db)

    with restored_server(db, target=backup.Target(kind, target)) as (restored, result):
        assert "repo1: restore backup set" in result.output
        assert table_digests(restored) == expected
        assert restored.psql("SELECT max(id) FROM drill.events") == str(base + 29)
        amcheck_clean(restored)


@pytest.fixture(scope="module")
def two_repo_db(module_fresh_db: FreshDb, s3: S3Server, module_volume: str) -> S3Db:
    """repo1 on a volume, repo2 in a bucket, each encrypted with its own pass (repo2's as
    _FILE); a full backup in each."""
    bucket = s3.create_bucket()
    env = db_env(**posix_repo_env(), **s3.repo_env(2, bucket), **s3.cipher_pass_file_env(2))
    options = s3.db_options()
    db = module_fresh_db(
        env,
        volumes=[f"{module_volume}:/var/lib/pgbackrest", *options["volumes"]],
        extra=options["extra"],
    )
    create_probe(db)
    backup.take_backup(db.name, "full", repo=1)
    backup.take_backup(db.name, "full", repo=2)
    return S3Db(db, bucket)


def test_each_repository_gets_its_backup_and_the_bucket_holds_only_ciphertext(
    two_repo_db: S3Db, s3: S3Server
) -> None:
    """pgbackrest info lists a full backup in repo 1 and in repo 2; in the bucket the backup's
    manifest and the info files are encrypted (OpenSSL's salted format, no plain text)."""
    sets = backup.list_backups(two_repo_db.db.name)
    assert {(s.repo, s.kind) for s in sets} == {(1, "full"), (2, "full")}
    in_s3 = next(s for s in sets if s.repo == 2)
    for key in (
        f"{BACKUP_PREFIX}backup.info",
        f"{BACKUP_PREFIX}{in_s3.label}/backup.manifest",
        "ci-db/archive/ci-db/archive.info",
    ):
        stored = s3.get(two_repo_db.bucket, key)
        assert stored.startswith(b"Salted__"), key
        assert b"[backrest]" not in stored and b"ci-db" not in stored


@pytest.mark.parametrize("repo", [1, 2])
def test_a_restore_from_either_repository_alone_gives_the_same_rows(
    two_repo_db: S3Db, repo: int
) -> None:
    """WAL reaches both repositories: restored from repo N only (backup and archive-get), the
    database holds every row committed before the last WAL switch."""
    db = two_repo_db.db
    insert_events(db, next_event_id(db), 25)
    expected = table_digests(db)
    switch_wal_and_wait(db)

    with restored_server(db, repo=repo) as (restored, result):
        assert f"repo{repo}: restore backup set" in result.output
        assert table_digests(restored) == expected
        restore_command = restored.psql("SHOW restore_command")
        assert f"--repo={repo}" in restore_command


# An S3 outage shows within seconds, not after pgBackRest's defaults (io-timeout 30 s, the
# archive-push wait 60 s, the check's wait 30 s).
OUTAGE_TIMEOUTS = {
    "PGBACKREST_IO_TIMEOUT": "5",
    "PGBACKREST_ARCHIVE_TIMEOUT": "10",
    "CI_DB_BACKUP_CHECK_TIMEOUT": "10",
}


def _archiver(db: Container) -> tuple[int, str]:
    """pg_stat_archiver's failed_count and last_archived_wal."""
    failed, last = db.psql(
        "SELECT failed_count, coalesce(last_archived_wal, '') FROM pg_stat_archiver"
    ).split("|")
    return int(failed), last


def _async_pushers(db: Container) -> set[str]:
    """PIDs of pgBackRest's archive-push daemons (archive-async) running in the container."""
    # [:] keeps grep's own command line from matching.
    found = db.exec("sh", "-c", "grep -ls 'archive-push[:]async' /proc/[0-9]*/cmdline || true")
    return {path.split("/")[2] for path in found.split()}


def _ready_segments(db: Container) -> list[str]:
    """WAL segments waiting for archive_command (their .ready files in pg_wal/archive_status)."""
    return db.psql(
        "SELECT left(name, 24) FROM pg_ls_archive_statusdir() "
        "WHERE name ~ '^[0-9A-F]{24}\\.ready$' ORDER BY 1"
    ).split()


@pytest.fixture
def outage_s3(s3_image: str, tmp_path: Path) -> Iterator[S3Server]:
    """An S3 server of this test's own: pausing it leaves the session's databases alone."""
    with s3_server(s3_image, tmp_path) as server:
        yield server


@pytest.fixture
def outage_db(outage_s3: S3Server, fresh_db: FreshDb) -> S3Db:
    bucket = outage_s3.create_bucket()
    env = db_env(
        **outage_s3.repo_env(1, bucket), **OUTAGE_TIMEOUTS, CI_DB_ARCHIVE_TIMEOUT=ARCHIVE_TIMEOUT
    )
    db = fresh_db(env, **outage_s3.db_options())
    create_probe(db)
    backup.take_backup(db.name, "full")
    return S3Db(db, bucket)


def test_while_s3_does_not_answer_wal_waits_in_pg_wal_and_no_commit_is_lost(
    outage_db: S3Db, outage_s3: S3Server
) -> None:
    """With the S3 server frozen (docker pause) under a steady stream of commits: archiving
    fails (pg_stat_archiver, the server log, `backup-check`), each unarchived segment stays in
    pg_wal, and the server keeps serving, also once pgBackRest's archive-push daemon gives up
    (a failing orphan of archive_command once restarted the server); unfrozen, the archive
    catches up and a restore to its end holds every acknowledged row."""
    db = outage_db.db
    with Writer(db) as writer, ThreadPoolExecutor(max_workers=1) as pool:
        failed_before, _ = _archiver(db)
        with outage_s3.paused():
            # pgBackRest retries a repository for about 90 s whatever io-timeout says: the
            # check runs while the rest is observed.
            checking = pool.submit(backup.check, db.name)
            wait_until(
                lambda: _archiver(db)[0] > failed_before,
                timeout=120,
                failure=lambda: f"no archive failure reported:\n{db.logs(tail=40)}",
            )
            assert "archive command failed" in db.logs()
            wait_until(
                lambda: len(_ready_segments(db)) >= 2,
                timeout=120,
                failure=lambda: f"no WAL waiting for the archive:\n{db.logs(tail=40)}",
            )
            kept = _ready_segments(db)
            assert set(kept) <= set(db.psql("SELECT name FROM pg_ls_waldir()").split())

            pushers = _async_pushers(db)
            assert pushers, "no archive-push daemon while WAL waits"
            wait_until(
                lambda: not pushers & _async_pushers(db),
                timeout=240,
                failure=lambda: f"archive-push daemons {pushers} still waiting for S3",
            )
            committed = len(writer.acknowledged)
            wait_until(
                lambda: len(writer.acknowledged) >= committed + 10 or writer.error is not None,
                timeout=60,
                failure=lambda: "the writer stalled once the archive-push daemon gave up",
            )
            assert writer.error is None, f"the server dropped the writer: {writer.error}"
            assert "terminating any other active server processes" not in db.logs()
            with pytest.raises(backup.BackupError, match="archiving is NOT working"):
                checking.result(timeout=300)
        wait_until(
            lambda: _archiver(db)[1] >= kept[-1],
            timeout=180,
            failure=lambda: f"the archive did not catch up past {kept[-1]}:\n{db.logs(tail=40)}",
        )
    switch_wal_and_wait(db)
    expected = table_digests(db)

    with restored_server(db) as (restored, _):
        assert table_digests(restored) == expected
        restored_ids = restored.psql(
            f"SELECT id FROM drill.events WHERE id >= {writer.start_id} ORDER BY id"
        ).split()
        assert [int(i) for i in restored_ids] == writer.acknowledged
