"""cidb.backup without an engine: pgBackRest's info parsed, targets checked, mounts borrowed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cidb import backup

ROOT = Path(__file__).resolve().parent.parent

INFO = [
    {
        "name": "ci-db",
        "backup": [
            {
                "label": "20261129-101500F_20261129-120000I",
                "type": "incr",
                "timestamp": {"start": 1795953600, "stop": 1795953610},
                "info": {"size": 40_000_000, "repository": {"delta": 2048, "size": 9000}},
                "archive": {
                    "start": "000000010000000000000009",
                    "stop": "00000001000000000000000A",
                },
                "database": {"id": 1, "repo-key": 2},
            },
            {
                "label": "20261129-101500F",
                "type": "full",
                "timestamp": {"start": 1795946100, "stop": 1795946160},
                "info": {"size": 39_000_000, "repository": {"delta": 5_500_000, "size": 5_500_000}},
                "archive": {
                    "start": "000000010000000000000003",
                    "stop": "000000010000000000000004",
                },
                "database": {"id": 1, "repo-key": 1},
            },
        ],
    }
]


def test_backups_are_parsed_and_ordered_by_stop_time() -> None:
    sets = backup.parse_backups(INFO)
    assert [(s.kind, s.repo) for s in sets] == [("full", 1), ("incr", 2)]
    assert sets[0].size == 5_500_000 and sets[0].database_size == 39_000_000
    assert sets[1].wal_stop == "00000001000000000000000A"


def test_backup_table_has_every_column_and_readable_sizes() -> None:
    table = backup.format_backups(backup.parse_backups(INFO)).splitlines()
    assert table[0].split() == [
        "repo", "type", "label", "start", "(UTC)", "stop", "(UTC)", "size", "db", "size",
        "WAL", "range",
    ]  # fmt: skip
    assert "5.2 MiB" in table[1] and "37.2 MiB" in table[1]
    assert "2.0 KiB" in table[2] and table[2].startswith("2 ")
    assert "no backups yet" in backup.format_backups([])


def test_targets_become_ci_db_backup_arguments() -> None:
    assert backup.Target().args() == []
    assert backup.Target("lsn", "0/3000060").args() == ["--to-lsn", "0/3000060"]
    with pytest.raises(backup.BackupError, match="unknown recovery target"):
        backup.Target("xid", "42").args()
    with pytest.raises(backup.BackupError, match="needs a value"):
        backup.Target("name", "").args()


def test_a_restore_borrows_the_repository_never_the_data_or_socket() -> None:
    source = {
        "Config": {"Env": ["PGDATA=/data", "PGBACKREST_REPO1_TYPE=posix"]},
        "Mounts": [
            {"Type": "volume", "Name": "pgdata", "Destination": "/data", "RW": True},
            {"Type": "volume", "Name": "pgrun", "Destination": "/var/run/postgresql", "RW": True},
            {"Type": "volume", "Name": "repo", "Destination": "/var/lib/pgbackrest", "RW": True},
            {"Type": "bind", "Source": "/srv/ca.pem", "Destination": "/ca.pem", "RW": False},
        ],
    }
    assert backup.borrowed_mounts(source, read_only=False) == [
        "-v", "repo:/var/lib/pgbackrest", "-v", "/srv/ca.pem:/ca.pem:ro",
    ]  # fmt: skip
    assert backup.borrowed_mounts(source, read_only=True)[1] == "repo:/var/lib/pgbackrest:ro"


def test_the_last_ci_db_error_line_is_the_message() -> None:
    stderr = "INFO: noise\nci-db: error: first\nmore noise\nci-db: error: repo1 cannot be decrypted"
    assert backup._last_error(stderr) == "repo1 cannot be decrypted"
    assert backup._last_error("plain failure\n") == "plain failure"


def test_a_repository_counts_as_configured_beside_many_other_variables() -> None:
    """backup_configured under pipefail with more variables than a pipe holds after the match:
    grep -q made compgen die of SIGPIPE, and the repository read as missing."""
    script = (
        "set -Eeuo pipefail; . docker/file-env.sh; . docker/backup.sh;"
        " export PGBACKREST_REPO1_TYPE=posix;"
        " for i in $(seq 5000); do export ZZ_PADDING_VARIABLE_$i=x; done;"
        " backup_configured && echo configured"
    )
    out = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert out.stdout.strip() == "configured", out.stderr
