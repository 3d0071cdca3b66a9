"""`cidb backup`, `backups`, `backup-check`, `restore`, `restore-drill` (docs/backup.md)."""

from __future__ import annotations

import sys

from plumbum import cli

from cidb import backup
from cidb.compose import compose


def db_container(explicit: str) -> str:
    """--container, or the compose stack's db service."""
    if explicit:
        return explicit
    found = str(compose("ps", "-q", "db")()).strip()
    if not found:
        raise backup.BackupError(
            "the compose stack's db is not running: `cidb up`, or name one with --container"
        )
    return found


class BackupCommand(cli.Application):
    container = cli.SwitchAttr(
        "--container", str, default="", help="the database container (default: compose's db)"
    )

    def run_guarded(self) -> int:
        backup.STREAM = True
        try:
            self.act(db_container(self.container))
        except backup.BackupError as error:
            print(f"cidb: {error}", file=sys.stderr)
            return 1
        return 0

    def act(self, container: str) -> None:
        raise NotImplementedError


class Backup(BackupCommand):
    """Take a backup now (full, diff or incr; the first one is always full)."""

    kind = cli.SwitchAttr("--type", cli.Set(*backup.KINDS), default="incr")
    repo = cli.SwitchAttr("--repo", cli.Range(1, 4), default=None, help="one repository only")

    def main(self) -> int:
        return self.run_guarded()

    def act(self, container: str) -> None:
        backup.take_backup(container, str(self.kind), self.repo)


class Backups(BackupCommand):
    """The backups in every repository: type, start, stop, size, WAL range, repo."""

    def main(self) -> int:
        return self.run_guarded()

    def act(self, container: str) -> None:
        backup.STREAM = False
        print(backup.format_backups(backup.list_backups(container)))


class BackupCheck(BackupCommand):
    """Check that archiving works end to end (a WAL switch reaches every repository)."""

    def main(self) -> int:
        return self.run_guarded()

    def act(self, container: str) -> None:
        backup.check(container)


class Restore(BackupCommand):
    """Restore into a new volume, recovered to a point in time and promoted."""

    to_time = cli.SwitchAttr("--to-time", str, default="", help="e.g. '2026-11-29 10:00:00+00'")
    to_lsn = cli.SwitchAttr("--to-lsn", str, default="", excludes=["--to-time"])
    to_name = cli.SwitchAttr(
        "--to-name", str, default="", excludes=["--to-time", "--to-lsn"],
        help="a restore point made with pg_create_restore_point()",
    )  # fmt: skip
    repo = cli.SwitchAttr("--repo", cli.Range(1, 4), default=None)
    volume = cli.SwitchAttr(
        "--volume", str, default="", help="the volume to restore into (default: a new one)"
    )
    force = cli.Flag("--force", help="replace the data in --volume if it holds any")
    no_archive = cli.Flag(
        "--no-archive", help="do not archive the new timeline (an experiment, not a real restore)"
    )

    def main(self) -> int:
        return self.run_guarded()

    def act(self, container: str) -> None:
        target = backup.Target()
        for kind, value in (("time", self.to_time), ("lsn", self.to_lsn), ("name", self.to_name)):
            if value:
                target = backup.Target(kind, value)
        volume = self.volume or backup.new_volume("cidb-restore")
        result = backup.restore(
            container, volume, target=target, repo=self.repo, force=self.force,
            archive=not self.no_archive,
        )  # fmt: skip
        print(f"restored into volume {result.volume}: start it with")
        print(f"  docker run -v {result.volume}:/var/lib/postgresql/data ... ci-db:17")


class RestoreDrill(BackupCommand):
    """Restore the latest backup into a throwaway container and check it (amcheck, Sqitch
    verify, row counts); prints the recovery point reached and the time taken."""

    repo = cli.SwitchAttr("--repo", cli.Range(1, 4), default=None)

    def main(self) -> int:
        return self.run_guarded()

    def act(self, container: str) -> None:
        backup.restore_drill(container, repo=self.repo)
