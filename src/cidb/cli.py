"""The `cidb` command: a thin plumbum front end over docker compose, psql and Sqitch."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from plumbum import FG, cli, local

from cidb import __version__
from cidb.compose import compose, host_setup_script, project_dir
from cidb.devstack import dev_settings
from cidb.settings import Settings, SettingsError, resolve_role
from cidb.sqitch import Sqitch, SqitchError, Target, checked, deploy

if TYPE_CHECKING:
    from cidb.ha import HaStack


def stack_settings(target: str = "") -> Settings:
    """Against an explicit --target only the environment counts (a missing password is an
    error naming its variable); against the local stack compose.yaml's dev passwords fill in."""
    return Settings.from_env() if target else dev_settings(project_dir())


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


class SqitchCommand(cli.Application):
    """Shared switches of the Sqitch wrappers."""

    target = cli.SwitchAttr(
        ["-t", "--target"],
        str,
        default="",
        help="db:pg:// or postgresql:// URI (no password: it comes from CI_MIGRATOR_PASSWORD); "
        "default: the compose stack's db",
    )
    sqitch_dir = cli.SwitchAttr(
        "--sqitch-dir",
        cli.ExistingDirectory,
        default=None,
        help="Sqitch project (default: ./sqitch)",
    )

    def sqitch(self) -> Sqitch:
        settings = stack_settings(self.target)
        target = (
            Target.explicit(self.target, settings.password("ci_migrator"))
            if self.target
            else Target.stack(settings)
        )
        if self.sqitch_dir is None:
            return Sqitch(target)
        return Sqitch(target, sqitch_dir=Path(str(self.sqitch_dir)))

    def guarded(self, action: Callable[[], str]) -> int:
        try:
            print(action(), end="")
        except (SqitchError, SettingsError) as error:
            print(f"cidb: {error}", file=sys.stderr)
            return 1
        return 0


@Cidb.subcommand("migrate")
class Migrate(SqitchCommand):
    """Deploy pending changes (verified), retrying lock timeouts with backoff."""

    tries = cli.SwitchAttr("--tries", cli.Range(1, 20), default=5, help="attempts on lock timeout")
    to = cli.SwitchAttr("--to", str, default="", help="deploy up to this change only")

    def main(self) -> int:
        # Sqitch's lines stream to stderr as they come; nothing is left to print at the end.
        return self.guarded(
            lambda: deploy(self.sqitch(), tries=self.tries, to=self.to or None, echo=True) and ""
        )


@Cidb.subcommand("revert")
class Revert(SqitchCommand):
    """Revert changes: all of them, or those after --to."""

    to = cli.SwitchAttr("--to", str, default="", help="revert to (keep) this change")

    def main(self) -> int:
        args = ["-y", *(["--to", self.to] if self.to else [])]
        return self.guarded(
            lambda: checked(self.sqitch().run_with_target("revert", *args), "revert")
        )


@Cidb.subcommand("verify")
class Verify(SqitchCommand):
    """Run every deployed change's verify script."""

    def main(self) -> int:
        return self.guarded(lambda: checked(self.sqitch().run_with_target("verify"), "verify"))


@Cidb.subcommand("status")
class Status(SqitchCommand):
    """Show the services' state and health, and the deployed Sqitch changes."""

    def main(self) -> int:
        if not self.target:
            compose("ps", "--all") & FG
        # Exit 1 from `sqitch status` only means nothing is deployed yet.
        return self.guarded(
            lambda: checked(self.sqitch().run_with_target("status"), "status", ok_codes=(0, 1))
        )


@Cidb.subcommand("add")
class Add(SqitchCommand):
    """Add a change to the plan with deploy/revert/verify files from our templates."""

    note = cli.SwitchAttr(["-n", "--note"], str, mandatory=True, help="what the change does")
    requires = cli.SwitchAttr(["-r", "--requires"], str, list=True, help="dependencies")

    def main(self, name: str) -> int:
        args = [name, "-n", self.note, "--template-directory", "templates"]
        for dependency in self.requires:
            args += ["--requires", dependency]
        # `add` touches files only; no database is involved.
        sqitch = Sqitch(Target("db:pg:", "none", ""), sqitch_dir=self._dir())
        return self.guarded(lambda: checked(sqitch.run("add", *args, writable=True), "add"))

    def _dir(self) -> Path:
        return Path(str(self.sqitch_dir)) if self.sqitch_dir else project_dir() / "sqitch"


@Cidb.subcommand("lint")
class Lint(cli.Application):
    """Check every deploy script: squawk plus our zero-downtime rules."""

    sqitch_dir = cli.SwitchAttr("--sqitch-dir", cli.ExistingDirectory, default=None)

    def main(self) -> int:
        from cidb import lint

        return lint.main(
            Path(str(self.sqitch_dir)) if self.sqitch_dir else project_dir() / "sqitch"
        )


@Cidb.subcommand("psql")
class Psql(cli.Application):
    """Open psql in the db container: as the superuser over its socket, or as a role over TCP."""

    role = cli.SwitchAttr(
        ["-r", "--role"], str, default="", help="app, readonly, admin or migrator"
    )
    tenant = cli.SwitchAttr(
        "--tenant", str, default="", help="scope the session to this tenant (UUID or slug)"
    )

    def main(self, *psql_args: str) -> int:
        settings = stack_settings()
        if not self.role:
            if self.tenant:
                print("cidb: --tenant needs --role (the superuser bypasses RLS)", file=sys.stderr)
                return 2
            compose("exec", *_tty_flags(), "db", "psql", "-d", settings.database, *psql_args) & FG
            return 0
        role = resolve_role(self.role)
        env = {"PGPASSWORD": settings.password(role)}
        if self.tenant:
            # A direct psql session is its own connection, so a session-level setting is safe
            # here; behind PgBouncer it would leak, which is why the app uses set_config(.., true).
            env["PGOPTIONS"] = f"-c app.tenant_id={resolve_tenant(settings, self.tenant)}"
        # -e NAME with no value copies it from our env: the password never reaches argv.
        with local.env(**env):
            compose(
                "exec",
                *_tty_flags(),
                *[a for name in env for a in ("-e", name)],
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
        return 0


def resolve_tenant(settings: Settings, tenant: str) -> str:
    """A tenant UUID from a UUID or a slug (slugs are resolved as ci_admin)."""
    import psycopg

    from cidb.pool import tenant_uuid

    try:
        return tenant_uuid(tenant)
    except ValueError:
        pass
    with psycopg.connect(settings.conninfo("admin", connect_timeout=10)) as conn:
        row = conn.execute("SELECT id FROM public.tenants WHERE slug = %s", (tenant,)).fetchone()
    if row is None:
        raise SystemExit(f"cidb: no tenant with slug {tenant!r}")
    return str(row[0])


@Cidb.subcommand("top")
class Top(cli.Application):
    """A live view as ci_monitor: pools, waiting clients, transactions, locks, statements."""

    interval = cli.SwitchAttr(
        ["-i", "--interval"], float, default=1.0, help="seconds between refreshes"
    )
    once = cli.Flag("--once", help="print one frame and exit (no terminal needed)")

    def main(self) -> int:
        from cidb import top

        try:
            return top.run(stack_settings(), interval=self.interval, once=self.once)
        except SettingsError as error:
            print(f"cidb: {error}", file=sys.stderr)
            return 1


@Cidb.subcommand("partitions")
class Partitions(cli.Application):
    """The partitioned log tables as ci_monitor: premade range, rows in default partitions."""

    def main(self) -> int:
        from cidb import partitions

        try:
            return partitions.run(stack_settings())
        except SettingsError as error:
            print(f"cidb: {error}", file=sys.stderr)
            return 1


@Cidb.subcommand("bench")
class Bench(cli.Application):
    """Run benchmarks against the stack; print ratios and write bench/report.md."""

    quick = cli.Flag("--quick", help="tiny sizes: shows every scenario works, times nothing")
    out = cli.SwitchAttr("--out", str, default="", help="report directory (default: ./bench)")

    def main(self, *scenarios: str) -> int:
        from cidb.bench import runner

        out_dir = Path(self.out) if self.out else project_dir() / "bench"
        return runner.run(scenarios, quick=self.quick, out_dir=out_dir, settings=stack_settings())


@Cidb.subcommand("ingest")
class Ingest(cli.Application):
    """Load embedded chunks for one tenant from a JSON-lines file, all or nothing, as ci_app
    under RLS; --rebuild-index drops the HNSW index for the load and builds it again after
    (ci_migrator; vector search scans the table meanwhile: a maintenance window's job)."""

    tenant = cli.SwitchAttr("--tenant", str, mandatory=True, help="the tenant's UUID")
    rebuild_index = cli.Flag(
        "--rebuild-index", help="drop chunks_embedding_hnsw_idx, load, build it concurrently"
    )

    def main(self, path: str) -> int:
        import psycopg

        from cidb import ingest
        from cidb.pool import build_pool

        try:
            settings = stack_settings()
            with open(path, encoding="utf-8") as lines:
                chunks = ingest.read_jsonl(lines)
            ingest.check_dimensions(chunks)
            pool = build_pool(settings, role="ci_app", pooled=False, min_size=1, max_size=1)
            pool.open(wait=True, timeout=30)
            try:
                if self.rebuild_index:
                    conninfo = settings.conninfo("migrator")
                    with (
                        psycopg.connect(conninfo, autocommit=True) as migrator,
                        ingest.without_embedding_index(migrator),
                    ):
                        loaded = ingest.load_chunks(pool, self.tenant, chunks)
                else:
                    loaded = ingest.load_chunks(pool, self.tenant, chunks)
            finally:
                pool.close()
        except (ingest.IngestError, SettingsError, psycopg.Error) as error:
            print(f"cidb: {error}", file=sys.stderr)
            return 1
        print(f"cidb ingest: {loaded} chunks loaded for tenant {self.tenant}")
        return 0


@Cidb.subcommand("seed")
class Seed(cli.Application):
    """Load the development seed (idempotent; a new API key is printed once), or generate
    deterministic synthetic tenants with --synthetic."""

    target = cli.SwitchAttr(
        ["-t", "--target"],
        str,
        default="",
        help="postgresql://HOST:PORT/DB without user or password (ci_admin's and, for "
        "--synthetic, ci_app's come from CI_ADMIN_PASSWORD / CI_APP_PASSWORD); default: the "
        "compose stack",
    )
    synthetic = cli.Flag("--synthetic", help="generate synthetic tenants (dev/bench data only)")
    tenants = cli.SwitchAttr(
        "--tenants", cli.Range(1, 100_000), default=10, requires=["--synthetic"]
    )
    documents = cli.SwitchAttr(
        "--documents",
        cli.Range(1, 10_000_000),
        default=1000,
        requires=["--synthetic"],
        help="documents per tenant",
    )
    chunks = cli.SwitchAttr(
        "--chunks-per-document",
        cli.Range(1, 1000),
        default=10,
        requires=["--synthetic"],
        help="chunks of each document that got past chunking",
    )
    seed = cli.SwitchAttr(
        "--seed",
        cli.Range(0, 2**63 - 1),
        default=0,
        requires=["--synthetic"],
        help="same seed, same rows",
    )
    copy = cli.Flag(
        "--copy",
        requires=["--synthetic"],
        help="binary COPY as ci_admin (PostgreSQL refuses COPY FROM under RLS), then a ci_app "
        "count check per tenant; default: INSERTs as ci_app under RLS",
    )

    def main(self) -> int:
        import psycopg

        from cidb import seed
        from cidb.synthetic import Spec

        try:
            settings = stack_settings(self.target)
            if not self.synthetic:
                print(seed.dev_seed(settings, target=self.target), end="")
                return 0
            if self.target:
                settings = seed.target_settings(self.target, settings)
            spec = Spec(self.tenants, self.documents, self.chunks, self.seed)
            print(seed.synthetic(settings, spec, copy=self.copy).line(spec))
        except (seed.SeedError, SqitchError, SettingsError, psycopg.Error) as error:
            print(f"cidb: {error}", file=sys.stderr)
            return 1
        return 0


@Cidb.subcommand("db")
class Db(cli.Application):
    """Databases per test on a ci-db:17-ci server (docs/ci.md): create a clone, drop one."""

    def main(self) -> int:
        if not self.nested_command:
            self.help()
            return 2
        return 0


def _clone_env(target: bool) -> dict[str, str]:
    """The environment, with the local stack's CI_TEST_PASSWORD from compose.yaml if unset."""
    from cidb import names
    from cidb.devstack import dev_test_password

    env = dict(local.env)
    if not target and not env.get(names.TEST_PASSWORD_ENV):
        env[names.TEST_PASSWORD_ENV] = dev_test_password(project_dir())
    return env


@Db.subcommand("create")
class DbCreate(cli.Application):
    """Clone the migrated template into a new database and print its URL (for ROLE)."""

    target = cli.Flag(
        ["--env"], help="Only the environment's settings (CI_DB_HOST, CI_DB_PORT, passwords)"
    )
    role = cli.SwitchAttr(["--role"], str, default="ci_app", help="Role in the printed URL")

    def main(self) -> int:
        from cidb import clones

        base = stack_settings("env" if self.target else "")
        made = clones.create_clone(base, env=_clone_env(self.target))
        print(clones.url(made, self.role))
        return 0


@Db.subcommand("drop")
class DbDrop(cli.Application):
    """Drop a clone made by `cidb db create` (only names starting with cidb_test_)."""

    target = cli.Flag(["--env"], help="Only the environment's settings")

    def main(self, name: str) -> int:
        from cidb import clones

        base = stack_settings("env" if self.target else "")
        clones.drop_clone(base, name, env=_clone_env(self.target))
        return 0


@Cidb.subcommand("sbom")
class Sbom(cli.Application):
    """Write a CycloneDX JSON SBOM of each image's packages (default: ./sbom/)."""

    out = cli.SwitchAttr("--out", str, default="sbom", help="output directory")

    def main(self) -> None:
        from cidb import sbom

        for path in sbom.write(Path(self.out)):
            print(path)


@Cidb.subcommand("sizes")
class Sizes(cli.Application):
    """Print both images' sizes beside a naive trixie + postgresql-17 + pgvector build."""

    def main(self) -> None:
        from cidb.bench import sizes

        sizes.main()


@Cidb.subcommand("ha")
class Ha(cli.Application):
    """The HA stack (compose.ha.yaml): status, switchover, failover, synchronous mode."""

    project = cli.SwitchAttr(
        ["-p", "--project"], str, default="ci-db-ha", help="compose project of compose.ha.yaml"
    )

    def stack(self) -> HaStack:
        from cidb.ha import HaStack

        return HaStack(project_dir(), self.project)

    def main(self) -> int:
        if not self.nested_command:
            self.help()
            return 2
        return 0


def _ha_stack(app: cli.Application) -> HaStack:
    parent = app.parent
    assert isinstance(parent, Ha)
    return parent.stack()


@Ha.subcommand("status")
class HaStatus(cli.Application):
    """Members, roles, state, timeline and replication lag."""

    def main(self) -> int:
        from cidb.ha import HaError, format_members

        try:
            print(format_members(_ha_stack(self).members()))
        except HaError as exc:
            print(f"cidb ha status: {exc}", file=sys.stderr)
            return 1
        return 0


class HaChange(cli.Application):
    """A change of leader: VERB is the HaStack method, which raises HaError when refused."""

    VERB = ""
    to = cli.SwitchAttr(
        "--to", str, default="", help="the member to lead (default: Patroni's pick)"
    )

    def main(self) -> int:
        from cidb.ha import HaError, format_members

        stack = _ha_stack(self)
        try:
            print(getattr(stack, self.VERB)(self.to or None))
        except HaError as exc:
            print(f"cidb ha {self.VERB}: {exc}", file=sys.stderr)
            return 1
        print(format_members(stack.members()))
        return 0


@Ha.subcommand("switchover")
class HaSwitchover(HaChange):
    """Planned change of leader (the old leader becomes a replica)."""

    VERB = "switchover"


@Ha.subcommand("failover")
class HaFailover(HaChange):
    """Promote a replica now, even with the leader unreachable (drills, emergencies)."""

    VERB = "failover"


@Ha.subcommand("sync")
class HaSync(cli.Application):
    """Show or set synchronous replication (Patroni synchronous_mode): on | off."""

    def main(self, mode: str = "") -> int:
        stack = _ha_stack(self)
        if mode:
            if mode not in ("on", "off"):
                print("cidb ha sync: on or off", file=sys.stderr)
                return 2
            stack.set_synchronous(mode == "on")
        print("on" if stack.synchronous() else "off")
        return 0


for _name, _class in (
    ("backup", "Backup"),
    ("backups", "Backups"),
    ("backup-check", "BackupCheck"),
    ("restore", "Restore"),
    ("restore-drill", "RestoreDrill"),
):
    Cidb.subcommand(_name, f"cidb.backup_cli.{_class}")


def main() -> None:
    """The console script (see cidb.console, which checks that the [dev] extra is there)."""
    Cidb.run()
