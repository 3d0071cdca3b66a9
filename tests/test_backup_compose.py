"""compose.yaml's `backup` profile: scheduled backups of db into the pgbackrest volume."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from fixtures_stack import Stack, running_stack
from support.cli import cidb
from support.docker import wait_until

from cidb import backup


@pytest.fixture(scope="module")
def backup_stack(images: dict[str, str]) -> Iterator[Stack]:
    """The stack with a posix repository and the backup service, an incr due every 5 s."""
    env = {
        "COMPOSE_PROFILES": "backup",
        "PGBACKREST_REPO1_TYPE": "posix",
        "PGBACKREST_REPO1_CIPHER_PASS": f"compose-{uuid.uuid4().hex}",
        "CI_DB_ARCHIVE_TIMEOUT": "5s",
        "CI_DB_BACKUP_INCR_EVERY": "5s",
    }
    with running_stack(f"cidbbk{uuid.uuid4().hex[:8]}", env) as stack:
        yield stack


def test_the_backup_service_is_healthy_after_a_first_full_backup(backup_stack: Stack) -> None:
    """`up --wait` with the profile returns with db, pgbouncer and backup healthy, and the
    repository already holds the full backup the schedule starts with."""
    states = [
        json.loads(line) for line in backup_stack.compose("ps", "--format", "json").splitlines()
    ]
    assert {s["Service"]: s["Health"] for s in states} == {
        "db": "healthy",
        "pgbouncer": "healthy",
        "backup": "healthy",
    }
    db = backup_stack.container("db")
    assert [s.kind for s in backup.list_backups(db.name)][:1] == ["full"]
    assert db.show("archive_mode") == "on"


def test_the_schedule_takes_incrementals_after_the_full(backup_stack: Stack) -> None:
    """On CI_DB_BACKUP_INCR_EVERY=5s the service adds incremental backups to the full."""
    db = backup_stack.container("db")
    db.psql("CREATE TABLE IF NOT EXISTS public.compose_probe (id int PRIMARY KEY)")
    db.psql("INSERT INTO public.compose_probe SELECT generate_series(1, 100)")

    def incrementals() -> list[backup.BackupSet]:
        return [s for s in backup.list_backups(db.name) if s.kind == "incr"]

    wait_until(
        lambda: len(incrementals()) >= 2,
        timeout=90,
        failure=lambda: (
            "no incremental backups:\n"
            + backup_stack.compose("logs", "--no-color", "--tail", "40", "backup")
        ),
    )
    sets = backup.list_backups(db.name)
    full = sets[0]
    assert full.kind == "full"
    assert all(s.start >= full.stop for s in incrementals())
    assert "schedule: incr backup done" in backup_stack.compose("logs", "--no-color", "backup")


def test_cidb_restore_drill_passes_on_the_scheduled_backups(backup_stack: Stack) -> None:
    """`cidb restore-drill --container <db>` restores the latest backup and checks it."""
    db = backup_stack.container("db")
    code, out, err = cidb()["restore-drill", "--container", db.name].run(retcode=None, timeout=600)
    assert code == 0, out + err
    assert "amcheck: clean" in out
    assert "sqitch verify: ok" in out
    assert "drill passed: recovery point time=" in out


def test_the_backup_service_stops_on_the_stop_signal(backup_stack: Stack) -> None:
    """`compose stop` ends the scheduler (PID 1) on the image's stop signal with exit 0, not
    by the kill at the end of its grace period."""
    backup_stack.compose("stop", "backup")
    service = backup_stack.container("backup")
    assert service.inspect()["State"]["ExitCode"] == 0
    assert "schedule: stopping on SIGINT" in service.logs()
