"""Backups and point-in-time recovery on a filesystem repository (docs/backup.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import testinfra
from fixtures_db import FreshDb
from support.backups import (
    CIPHER_PASS,
    Writer,
    amcheck_clean,
    create_probe,
    db_env,
    event_ids,
    in_volume,
    insert_events,
    next_event_id,
    posix_repo_env,
    restored_server,
    run_image,
    served,
    switch_wal_and_wait,
    table_digests,
    tmpfs_volume,
    volume_fingerprint,
)
from support.cli import cidb
from support.docker import (
    SESSION_LABEL,
    Container,
    create_volume,
    docker,
    remove_volume,
    unique_name,
    wait_until,
)

from cidb import backup

REPO_PATH = "/var/lib/pgbackrest"


@pytest.fixture(scope="module")
def archiving_db(module_fresh_db: FreshDb, module_volume: str) -> Container:
    """A database archiving to an encrypted posix repository, with one full backup."""
    db = module_fresh_db(db_env(**posix_repo_env()), volumes=[f"{module_volume}:{REPO_PATH}"])
    create_probe(db)
    backup.take_backup(db.name, "full")
    return db


def image_of(db: Container) -> str:
    return str(db.inspect()["Config"]["Image"])


def verify_repository(db: Container) -> str:
    """`ci-db-backup verify` in DB: every file of every backup and WAL segment checked."""
    return db.exec("ci-db-backup", "verify")


# --- backups --------------------------------------------------------------------------------------


def test_full_diff_and_incr_backups_are_listed_with_their_type(archiving_db: Container) -> None:
    """A diff and an incr after the full show in list_backups and in `cidb backups`' table."""
    db = archiving_db
    before = {s.label for s in backup.list_backups(db.name)}
    insert_events(db, next_event_id(db), 10)
    backup.take_backup(db.name, "diff")
    insert_events(db, next_event_id(db), 10)
    backup.take_backup(db.name, "incr")

    sets = backup.list_backups(db.name)
    assert sets[0].kind == "full"
    new = [s for s in sets if s.label not in before]
    assert [s.kind for s in new] == ["diff", "incr"]
    # pgBackRest's labels end in F, D or I; a diff and an incr name the full they build on.
    assert new[0].label.startswith(sets[0].label) and new[0].label.endswith("D")
    assert new[1].label.endswith("I")
    assert all(s.repo == 1 and s.wal_start and s.wal_stop for s in sets)

    table = cidb()("backups", "--container", db.name)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["repo", "type", "label"]
    rows = {line.split()[2]: line.split()[1] for line in lines[1:]}
    assert rows == {s.label: s.kind for s in sets}


def test_backup_taken_while_writing_restores_every_acknowledged_commit(
    archiving_db: Container,
) -> None:
    """An incr taken under a committing writer, restored to the end of the archive, holds every
    row the writer saw acknowledged (and exactly the source's tables)."""
    db = archiving_db
    start_id = int(db.psql("SELECT coalesce(max(id), 1000000) + 1 FROM drill.events"))
    with Writer(db, start_id=start_id) as writer:
        during = len(writer.acknowledged)
        backup.take_backup(db.name, "incr")
        # The writer committed all through the backup, and goes on after it.
        assert len(writer.acknowledged) > during
        after = len(writer.acknowledged)
        wait_until(
            lambda: len(writer.acknowledged) >= after + 5,
            timeout=60,
            failure=lambda: "the writer stalled after the backup",
        )
    switch_wal_and_wait(db)
    expected = table_digests(db)

    with restored_server(db) as (restored, result):
        missing = set(writer.acknowledged) - event_ids(restored)
        assert not missing, f"{len(missing)} acknowledged commits lost: {sorted(missing)[:10]}"
        assert table_digests(restored) == expected
        assert result.recovery_point["timeline"] == "2"


# --- point-in-time recovery -----------------------------------------------------------------------


def test_pitr_to_a_time_restores_exactly_the_rows_committed_before_it(
    archiving_db: Container,
) -> None:
    """Recovery to a time between two batches (the server's clock) holds the first only."""
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


@pytest.mark.parametrize("kind", ["lsn", "name"])
def test_pitr_to_an_lsn_or_restore_point_restores_exactly_the_rows_before_it(
    archiving_db: Container, kind: str
) -> None:
    """Recovery stops at pg_current_wal_lsn() / pg_create_restore_point() between two batches:
    the first batch is there, the second is not, amcheck and pgbackrest verify are clean."""
    db = archiving_db
    base = next_event_id(db)
    insert_events(db, base, 50)
    expected = table_digests(db)
    if kind == "lsn":
        value = db.psql("SELECT pg_current_wal_lsn()")
    else:
        value = f"before-{uuid.uuid4().hex[:8]}"
        db.psql(f"SELECT pg_create_restore_point('{value}')")
    insert_events(db, base + 50, 50)
    assert table_digests(db) != expected
    switch_wal_and_wait(db)

    with restored_server(db, target=backup.Target(kind, value)) as (restored, result):
        assert table_digests(restored) == expected
        assert restored.psql("SELECT max(id) FROM drill.events") == str(base + 49)
        if kind == "lsn":
            reached = restored.psql(f"SELECT '{result.recovery_point['lsn']}'::pg_lsn >= '{value}'")
            assert reached == "t"
        amcheck_clean(restored)
    assert "verify: every backup and WAL file in the repository is valid" in verify_repository(db)


def test_verify_fails_on_a_repository_with_a_corrupt_file(
    archiving_db: Container, module_volume: str, volume: str
) -> None:
    """`ci-db-backup verify` exits non-zero when one backup file's bytes changed (pgBackRest's
    own verify exits 0 and only reports it); run on a copy of the repository."""
    image = image_of(archiving_db)
    # A copy, in which 16 bytes inside the largest file of the full backup are overwritten.
    docker(
        "run", "--rm", "--network", "none", "--entrypoint", "sh",
        "-v", f"{module_volume}:/from:ro", "-v", f"{volume}:{REPO_PATH}", image, "-c",
        f"cp -a /from/. {REPO_PATH}/ && cd {REPO_PATH}/backup"
        " && f=$(ls -S $(find . -path '*F/pg_data/*' -type f) | head -1)"
        " && printf 0123456789abcdef | dd of=\"$f\" bs=1 seek=64 conv=notrunc 2>/dev/null",
    )  # fmt: skip
    code, out, err = run_image(
        image, "ci-db-backup", "verify", volumes=[f"{volume}:{REPO_PATH}"],
        env={"PGBACKREST_REPO1_TYPE": "posix", "PGBACKREST_REPO1_CIPHER_PASS": CIPHER_PASS},
    )  # fmt: skip
    assert code != 0, out
    assert "checksum invalid: 1" in out
    assert "holds invalid or missing files" in err


# --- faults ---------------------------------------------------------------------------------------


@pytest.fixture
def small_repo(images: dict[str, str]) -> Iterator[str]:
    """A 64 MiB repository disk in memory (a full backup of a fresh cluster takes about 10)."""
    name = tmpfs_volume("64m")
    yield name
    remove_volume(name)


def archiver(db: Container, column: str) -> str:
    return db.psql(f"SELECT coalesce({column}::text, '') FROM pg_stat_archiver")


def test_a_full_repository_keeps_wal_and_commits_then_archiving_catches_up(
    small_repo: str, fresh_db: FreshDb
) -> None:
    """With the repository's disk full, archiving fails and says so, the WAL waits in pg_wal and
    commits go on; with space again every held segment is archived and a restore has all rows."""
    db = fresh_db(
        db_env(**posix_repo_env(cipher=False), CI_DB_BACKUP_CHECK_TIMEOUT="5"),
        volumes=[f"{small_repo}:{REPO_PATH}"],
    )
    create_probe(db)
    backup.take_backup(db.name, "full")
    insert_events(db, 1, 100)
    switch_wal_and_wait(db)

    db.exec("sh", "-c", f"dd if=/dev/zero of={REPO_PATH}/filler bs=64k", retcode=None)
    assert db.exec("df", "--output=avail", "-B1", REPO_PATH).split()[-1] == "0"
    failed = int(archiver(db, "failed_count"))
    insert_events(db, 101, 100)
    held = db.psql("SELECT pg_walfile_name(pg_switch_wal())")
    wait_until(
        lambda: int(archiver(db, "failed_count")) > failed,
        timeout=60,
        failure=lambda: f"archiving did not fail on a full repository:\n{db.logs(tail=40)}",
    )
    assert archiver(db, "last_failed_wal") == held
    assert archiver(db, "last_archived_wal") < held
    assert "No space left on device" in db.logs()
    with pytest.raises(backup.BackupError, match="archiving is NOT working"):
        backup.check(db.name)
    # The segment waits in pg_wal, marked ready for the archiver.
    ready = f"SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name = '{held}.ready'"
    assert db.psql(ready) == "1"
    assert db.psql(f"SELECT count(*) FROM pg_ls_waldir() WHERE name = '{held}'") == "1"
    # And the database goes on committing.
    insert_events(db, 201, 100)
    assert db.psql("SELECT count(*) FROM drill.events") == "300"

    db.exec("rm", f"{REPO_PATH}/filler")
    caught_up = switch_wal_and_wait(db)
    assert caught_up > held
    waiting = "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"
    assert db.psql(waiting) == "0"
    expected = table_digests(db)
    with restored_server(db) as (restored, _):
        assert table_digests(restored) == expected
        assert event_ids(restored) == set(range(1, 301))


def test_a_wrong_cipher_pass_at_restore_is_named_and_the_volume_stays_empty(
    archiving_db: Container, module_volume: str, volume: str
) -> None:
    """A restore whose settings carry another cipher pass stops before writing, naming
    PGBACKREST_REPO1_CIPHER_PASS; the volume it was to restore into is still empty."""
    image = image_of(archiving_db)
    # The settings a restore borrows, from a container created (never started) with them.
    settings = unique_name("cidb-wrong-pass")
    docker(
        "create", "--name", settings, "--label", SESSION_LABEL,
        "-e", "PGBACKREST_REPO1_TYPE", "-e", "PGBACKREST_REPO1_CIPHER_PASS",
        "-v", f"{module_volume}:{REPO_PATH}", image,
        env={"PGBACKREST_REPO1_TYPE": "posix", "PGBACKREST_REPO1_CIPHER_PASS": "not-the-pass"},
    )  # fmt: skip
    try:
        with pytest.raises(backup.BackupError) as raised:
            backup.restore(settings, volume)
    finally:
        docker("rm", "-f", "-v", settings, retcode=None)
    assert "PGBACKREST_REPO1_CIPHER_PASS" in str(raised.value)
    assert "not the pass it was encrypted with" in str(raised.value)
    assert in_volume(image, volume, "ls -A /v") == ""


def test_a_restore_into_a_volume_holding_a_cluster_is_refused_unless_forced(
    archiving_db: Container, volume: str
) -> None:
    """A restore into a volume that holds a cluster is refused and leaves every file as it was;
    with force it replaces that cluster."""
    db = archiving_db
    image = image_of(db)
    base = next_event_id(db)
    insert_events(db, base, 20)
    lsn = db.psql("SELECT pg_current_wal_lsn()")
    insert_events(db, base + 20, 20)
    switch_wal_and_wait(db)
    backup.restore(db.name, volume, target=backup.Target("lsn", lsn), archive=False)
    before = volume_fingerprint(image, volume)
    assert "./PG_VERSION" in before

    with pytest.raises(backup.BackupError, match="already holds data; refusing to overwrite"):
        backup.restore(db.name, volume, archive=False)
    assert volume_fingerprint(image, volume) == before

    expected = table_digests(db)
    backup.restore(db.name, volume, archive=False, force=True)
    with served(image, volume) as restored:
        assert table_digests(restored) == expected
        assert base + 39 in event_ids(restored)


@pytest.fixture
def second_repo(images: dict[str, str]) -> Iterator[str]:
    """A repository of the timeline test's own: it gains a second timeline."""
    name = create_volume("cidb-repo")
    yield name
    remove_volume(name)


def server_clock(db: Container) -> str:
    return db.psql("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US+00')")


def test_a_restored_database_archives_its_timeline_and_recovers_to_a_point_on_it(
    second_repo: str, fresh_db: FreshDb
) -> None:
    """A restore that archives its new timeline, backed up and written to, recovers to a point
    on that timeline; a point on the first timeline after the fork is still recovered there."""
    mount = f"{second_repo}:{REPO_PATH}"
    db = fresh_db(db_env(**posix_repo_env()), volumes=[mount])
    create_probe(db)
    backup.take_backup(db.name, "full")
    insert_events(db, 1, 20)
    switch_wal_and_wait(db)

    with restored_server(db, archive=True, env=db_env(**posix_repo_env()), volumes=(mount,)) as (
        second,
        result,
    ):
        assert result.recovery_point["timeline"] == "2"
        # The source goes on, on timeline 1, past the point where timeline 2 forked.
        insert_events(db, 1001, 20)
        first_expected = table_digests(db)
        first_target = server_clock(db)
        insert_events(db, 2001, 20)
        switch_wal_and_wait(db)

        assert second.show("archive_mode") == "on"
        backup.take_backup(second.name, "incr")
        assert backup.list_backups(second.name)[-1].wal_start.startswith("00000002")
        insert_events(second, 101, 20)
        second_expected = table_digests(second)
        lsn = second.psql("SELECT pg_current_wal_lsn()")
        insert_events(second, 201, 20)
        assert switch_wal_and_wait(second).startswith("00000002")

        with restored_server(second, target=backup.Target("lsn", lsn)) as (third, again):
            assert table_digests(third) == second_expected
            assert event_ids(third) == {*range(1, 21), *range(101, 121)}
            assert again.recovery_point["timeline"] == "3"

    with restored_server(db, target=backup.Target("time", first_target)) as (fourth, _):
        assert table_digests(fourth) == first_expected
        assert event_ids(fourth) == {*range(1, 21), *range(1001, 1021)}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CI_DB_ARCHIVE_TIMEOUT": "abc"}, "CI_DB_ARCHIVE_TIMEOUT='abc' is not a duration"),
        (
            {
                "PGBACKREST_REPO1_CIPHER_PASS": "a-pass",
                "PGBACKREST_REPO1_CIPHER_PASS_FILE": "/etc/hostname",
            },
            "both PGBACKREST_REPO1_CIPHER_PASS and PGBACKREST_REPO1_CIPHER_PASS_FILE are set",
        ),
    ],
    ids=["bad-archive-timeout", "cipher-pass-and-file"],
)
def test_a_bad_backup_environment_stops_the_container_naming_the_variable(
    fresh_db: FreshDb, env: dict[str, str], message: str
) -> None:
    """A repository with a bad setting exits at once with one error line naming the variable."""
    db = fresh_db(db_env(PGBACKREST_REPO1_TYPE="posix", **env), wait=False)
    assert db.wait_exit(timeout=60) != 0
    errors = [line for line in db.logs().splitlines() if line.startswith("ci-db: error:")]
    assert len(errors) == 1
    assert message in errors[0]
    assert "a-pass" not in db.logs()


def test_without_a_repository_nothing_archives_and_no_config_is_written(
    fresh_db: FreshDb,
) -> None:
    """No PGBACKREST_REPO* variable: archive_mode off, no pgBackRest config, ci-db-backup says
    what to set."""
    db = fresh_db(db_env())
    assert db.show("archive_mode") == "off"
    host = testinfra.get_host(f"docker://{db.name}")
    assert not host.file("/etc/pgbackrest/pgbackrest.conf").exists
    code, _, err = db.exec_result("ci-db-backup", "info")
    assert code != 0
    assert "no backup repository is configured: set PGBACKREST_REPO1_TYPE" in err


def test_with_a_repository_secrets_live_only_in_a_private_config_file(
    archiving_db: Container,
) -> None:
    """The server archives through pgBackRest; its environment holds no PGBACKREST_ variable
    and not the cipher pass, which sits in a config file only postgres can read."""
    db = archiving_db
    assert db.show("archive_mode") == "on"
    assert db.show("archive_command").startswith("pgbackrest --stanza=ci-db archive-push")
    host = testinfra.get_host(f"docker://{db.name}")
    # PID 1 is tini (it reaps archive-push's orphans), the postmaster its child: neither may
    # have been started with a secret.
    postmaster = db.exec("head", "-n1", "/var/lib/postgresql/data/postmaster.pid").strip()
    assert host.file("/proc/1/comm").content_string.strip() == "tini"
    assert host.file(f"/proc/{postmaster}/stat").content_string.split()[3] == "1"
    for pid in ("1", postmaster):
        environ = host.file(f"/proc/{pid}/environ").content
        names = [entry.split(b"=", 1)[0] for entry in environ.split(b"\0") if entry]
        assert b"PGDATA" in names
        assert not [name for name in names if name.startswith(b"PGBACKREST_")]
        assert CIPHER_PASS.encode() not in environ

    config = host.file("/etc/pgbackrest/pgbackrest.conf")
    assert (config.mode, config.user, config.group) == (0o600, "postgres", "postgres")
    assert f"repo1-cipher-pass={CIPHER_PASS}" in config.content_string


def test_the_cli_checks_archiving_and_restores_to_a_named_point(
    archiving_db: Container, volume: str
) -> None:
    """`cidb backup-check` then `cidb restore --to-name` into a volume of our own; a second
    restore into that volume, now holding a cluster, is refused with exit 1 and the reason."""
    db = archiving_db
    base = next_event_id(db)
    insert_events(db, base, 10)
    expected = table_digests(db)
    point = f"cli-{base}"
    db.psql(f"SELECT pg_create_restore_point('{point}')")
    insert_events(db, base + 10, 10)
    assert "archiving works" in cidb()("backup-check", "--container", db.name, timeout=300)
    restore = ["restore", "--container", db.name, "--volume", volume, "--no-archive"]
    cidb()(*restore, "--to-name", point, timeout=600)
    with served(image_of(db), volume) as restored:
        assert table_digests(restored) == expected
    code, _, err = cidb()[restore].run(retcode=None, timeout=600)
    assert code == 1
    assert "already holds data; refusing to overwrite it" in err
