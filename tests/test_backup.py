"""Backups and point-in-time recovery on a filesystem repository (docs/backup.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures_db import FreshDb
from support.backups import (
    create_probe,
    db_env,
    insert_events,
    posix_repo_env,
    restored_server,
    switch_wal_and_wait,
    table_digests,
)
from support.docker import Container, create_volume, remove_volume

from cidb import backup


@pytest.fixture(scope="module")
def repo_volume(images: dict[str, str]) -> Iterator[str]:
    name = create_volume("cidb-repo")
    yield name
    remove_volume(name)


@pytest.fixture(scope="module")
def archiving_db(module_fresh_db: FreshDb, repo_volume: str) -> Container:
    """A database archiving to an encrypted posix repository, with one full backup."""
    db = module_fresh_db(db_env(**posix_repo_env()), volumes=[f"{repo_volume}:/var/lib/pgbackrest"])
    create_probe(db)
    backup.take_backup(db.name, "full")
    return db


def test_pitr_to_a_time_restores_exactly_the_rows_committed_before_it(
    archiving_db: Container,
) -> None:
    db = archiving_db
    base = int(db.psql("SELECT coalesce(max(id), 0) FROM drill.events")) + 1
    insert_events(db, base, 50)
    expected = table_digests(db)
    # The target lies between two commits: taken from the server's clock after the first.
    target = db.psql("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US+00')")
    insert_events(db, base + 50, 50)
    # Each later row was written (and so committed) after the target on the server's clock.
    later = db.psql(f"SELECT min(at) > '{target}' FROM drill.events WHERE id >= {base + 50}")
    assert later == "t"
    assert table_digests(db) != expected
    switch_wal_and_wait(db)

    with restored_server(db, target=backup.Target("time", target)) as (restored, result):
        assert table_digests(restored) == expected
        assert restored.psql("SELECT max(id) FROM drill.events") == str(base + 49)
        assert result.recovery_point["timeline"] != "1"
