"""The `cidb` command: a thin plumbum front end over docker compose, psql and Sqitch."""

from __future__ import annotations

import sys

from plumbum import FG, cli, local

from cidb import __version__
from cidb.compose import compose, host_setup_script
from cidb.settings import Settings, resolve_role


def _tty_flags() -> list[str]:
    """`docker compose exec` wants a TTY only when we have one to give it."""
    return [] if sys.stdin.isatty() and sys.stdout.isatty() else ["-T"]


class Cidb(cli.Application):
    """Run and inspect the ci-db stack (PostgreSQL 17 + pgvector + PgBouncer)."""

    PROGNAME = "cidb"
    VERSION = __version__

    def main(self, *args: str) -> int:
        if args:
            print(f"cidb: unknown command {args[0]!r}", file=sys.stderr)
            return 2
        if not self.nested_command:
            self.help()
            return 1
        return 0


@Cidb.subcommand("up")
class Up(cli.Application):
    """Install an engine/base image if missing, then start the stack and wait until healthy."""

    build = cli.Flag("--build", help="rebuild the images first")

    def main(self) -> None:
        host_setup_script("ensure-engine.sh") & FG
        host_setup_script("ensure-base-image.sh") & FG
        args = ["up", "-d", "--wait", *(["--build"] if self.build else [])]
        compose(*args) & FG


@Cidb.subcommand("down")
class Down(cli.Application):
    """Stop the stack; the data volume stays unless --volumes is given."""

    volumes = cli.Flag(["-v", "--volumes"], help="also drop the data volume (all data!)")

    def main(self) -> None:
        compose("down", *(["-v"] if self.volumes else [])) & FG


@Cidb.subcommand("logs")
class Logs(cli.Application):
    """Show the services' logs."""

    follow = cli.Flag(["-f", "--follow"], help="keep following")

    def main(self, *services: str) -> None:
        compose("logs", *(["-f"] if self.follow else []), *services) & FG


@Cidb.subcommand("status")
class Status(cli.Application):
    """Show each service's state and health."""

    def main(self) -> None:
        compose("ps", "--all") & FG


@Cidb.subcommand("psql")
class Psql(cli.Application):
    """Open psql in the db container: as the superuser over its socket, or as a role over TCP."""

    role = cli.SwitchAttr(
        ["-r", "--role"], str, default="", help="app, readonly, admin or migrator"
    )

    def main(self, *psql_args: str) -> None:
        if not self.role:
            compose(
                "exec", *_tty_flags(), "db", "psql", "-d", Settings.from_env().database, *psql_args
            ) & FG
            return
        settings = Settings.from_env()
        role = resolve_role(self.role)
        # -e NAME with no value copies it from our env: the password never reaches argv.
        with local.env(PGPASSWORD=settings.passwords[role]):
            compose(
                "exec",
                *_tty_flags(),
                "-e",
                "PGPASSWORD",
                "db",
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                role,
                "-d",
                settings.database,
                *psql_args,
            ) & FG


@Cidb.subcommand("sizes")
class Sizes(cli.Application):
    """Print both images' sizes beside a naive trixie + postgresql-17 + pgvector build."""

    def main(self) -> None:
        from cidb.bench import sizes

        sizes.main()


def main() -> None:
    Cidb.run()
