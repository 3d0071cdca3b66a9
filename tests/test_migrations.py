"""Sqitch migrations through `cidb`: idempotent deploys, clean reverts, upgrades, lock retries."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fixtures_db import FreshDb
from plumbum.commands.processes import ProcessExecutionError
from support.cli import cidb
from support.docker import Container

from cidb.plan import read_plan

ROOT = Path(__file__).resolve().parent.parent
MIGRATOR_PASSWORD = "migrations-test-password"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def target_db(module_fresh_db: FreshDb) -> Container:
    """A database of its own: these tests revert and redeploy the whole plan."""
    return module_fresh_db(
        {"POSTGRES_PASSWORD": "pw", "CI_MIGRATOR_PASSWORD": MIGRATOR_PASSWORD}, volume=True
    )


def sqitch_cli(db: Container, *args: str, sqitch_dir: Path | None = None, retcode: int | None = 0):
    """`cidb ARGS --target <db>` with the migrator password in the environment only."""
    uri = f"postgresql://ci_migrator@127.0.0.1:{db.port(5432)}/contextinject"
    extra = ["--sqitch-dir", str(sqitch_dir)] if sqitch_dir else []
    cmd = cidb()[(*args, "--target", uri, *extra)].with_env(CI_MIGRATOR_PASSWORD=MIGRATOR_PASSWORD)
    code, out, err = cmd.run(retcode=retcode, timeout=600)
    return code, out + err


def plan_changes() -> list[str]:
    return read_plan(ROOT / "sqitch" / "sqitch.plan").names


def schema_dump(db: Container) -> str:
    """pg_dump --schema-only without the random \\restrict lines of pg_dump 17.6+."""
    dump = db.exec("pg_dump", "-d", "contextinject", "--schema-only", "--no-comments")
    return "\n".join(line for line in dump.splitlines() if not re.match(r"\\(un)?restrict ", line))


def test_second_deploy_has_nothing_to_do(target_db: Container) -> None:
    """The image deployed every change at start; `cidb migrate` again says so and exits 0."""
    _, out = sqitch_cli(target_db, "migrate")
    assert "Nothing to deploy" in out
    deployed = target_db.psql(
        "SELECT string_agg(change, ' ' ORDER BY committed_at) FROM sqitch.changes"
    )
    assert deployed.split() == plan_changes()


def test_revert_all_restores_the_schema_exactly(target_db: Container) -> None:
    """deploy -> revert all -> dump equals the pre-deploy dump; deploy again and verify passes."""
    sqitch_cli(target_db, "revert")
    before = schema_dump(target_db)
    sqitch_cli(target_db, "migrate")
    assert schema_dump(target_db) != before
    sqitch_cli(target_db, "revert")
    assert schema_dump(target_db) == before
    _, out = sqitch_cli(target_db, "migrate")
    assert "ok" in out
    code, out = sqitch_cli(target_db, "verify")
    assert code == 0 and "Verify successful" in out


def test_start_brings_an_older_volume_to_the_latest_change(target_db: Container) -> None:
    """A volume at the previous plan (all changes but the last) is upgraded by a start."""
    changes = plan_changes()
    # A reworked change has a row per deployed version: count them all, not the name.
    deployed = "SELECT count(*) FROM sqitch.changes"
    sqitch_cli(target_db, "revert", "--to", changes[-2])
    assert target_db.psql(deployed) == str(len(changes) - 1)
    target_db.stop()
    target_db.start()
    target_db.wait_healthy()
    assert target_db.psql(deployed) == str(len(changes))


def test_verify_raises_when_a_change_is_missing(target_db: Container) -> None:
    """Dropping a table behind Sqitch's back makes `cidb verify` fail and name the change."""
    target_db.psql("BEGIN; ALTER TABLE public.audit_logs RENAME TO audit_logs_gone; COMMIT;")
    try:
        code, out = sqitch_cli(target_db, "verify", retcode=None)
        assert code != 0
        assert "schema/audit_logs" in out
    finally:
        target_db.psql("ALTER TABLE public.audit_logs_gone RENAME TO audit_logs")


@pytest.mark.parametrize(
    ("drift", "undo", "named"),
    [
        ("ALTER INDEX public.users_email_idx RENAME TO users_email_gone",
         "ALTER INDEX public.users_email_gone RENAME TO users_email_idx", "users_email_idx"),
        ("ALTER TABLE public.projects DISABLE ROW LEVEL SECURITY",
         "ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY", "projects: RLS not forced"),
        ("ALTER TYPE public.plan RENAME VALUE 'pro' TO 'professional'",
         "ALTER TYPE public.plan RENAME VALUE 'professional' TO 'pro'", "type plan lacks labels"),
        ("GRANT SELECT ON public.query_logs_default TO ci_app",
         "REVOKE SELECT ON public.query_logs_default FROM ci_app",
         "query_logs: partitions granted to a role or without the forced tenant policy:"
         " query_logs_default"),
    ],
    ids=["index", "rls", "enum-label", "open-partition"],
)  # fmt: skip
def test_verify_names_what_drifted(target_db: Container, drift: str, undo: str, named: str) -> None:
    """The shared checks (sqitch/lib) fail verify naming the object, not only the change."""
    target_db.psql(drift)
    try:
        code, out = sqitch_cli(target_db, "verify", retcode=None)
        assert code != 0
        assert named in out, out
    finally:
        target_db.psql(undo)


@contextmanager
def registry_creatable(db: Container) -> Iterator[None]:
    """A fixture project brings a Sqitch registry of its own, and creating a schema needs
    CREATE on the database, which ci_owner only gets while the image deploys its own plan."""
    db.psql("GRANT CREATE ON DATABASE contextinject TO ci_owner")
    try:
        yield
    finally:
        db.psql("REVOKE CREATE ON DATABASE contextinject FROM ci_owner")


@pytest.fixture
def lock_project(target_db: Container) -> Iterator[Path]:
    """A one-change Sqitch project that ALTERs a table the test keeps locked."""
    target_db.psql(
        "DROP TABLE IF EXISTS public.lock_probe; CREATE TABLE public.lock_probe (id int);"
        "ALTER TABLE public.lock_probe OWNER TO ci_owner;"
    )
    with registry_creatable(target_db):
        yield FIXTURES / "sqitch-lock-probe"
    target_db.psql(
        "DROP TABLE IF EXISTS public.lock_probe; DROP SCHEMA IF EXISTS lock_probe_sqitch CASCADE"
    )


WAITERS = (
    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'public.lock_probe'::regclass"
)


class LockHolder:
    """ACCESS EXCLUSIVE on lock_probe from another session (a long reader), released on an
    observed state: never on a timer that a slow machine could outrun."""

    def __init__(self, db: Container) -> None:
        self.db = db
        self.conn = psycopg.connect(
            host="127.0.0.1",
            port=db.port(5432),
            dbname="contextinject",
            user="ci_migrator",
            password=MIGRATOR_PASSWORD,
        )
        self.conn.execute("LOCK TABLE public.lock_probe IN ACCESS EXCLUSIVE MODE")
        self.thread: threading.Thread | None = None

    def waiters(self) -> int:
        return int(self.db.psql(WAITERS))

    def release_after_one_failed_attempt(self, timeout: float = 300) -> None:
        """In the background: wait until a migrator is seen queued behind the lock, then until
        it gave up (lock_timeout), and only then release."""

        def run() -> None:
            deadline = time.monotonic() + timeout
            while self.waiters() == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            while self.waiters() > 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.release()

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()
        self.release()


def test_lock_timeout_is_retried_then_succeeds(target_db: Container, lock_project: Path) -> None:
    """A change blocked by a lock fails fast, is retried with backoff, and lands once it is free."""
    holder = LockHolder(target_db)
    holder.release_after_one_failed_attempt()
    try:
        _, out = sqitch_cli(target_db, "migrate", "--tries", "4", sqitch_dir=lock_project)
    finally:
        holder.join()
    assert "lock timeout on attempt 1/4" in out
    assert (
        target_db.psql(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.lock_probe'::regclass "
            "AND attname = 'probe'"
        )
        == "1"
    )


def test_lock_timeout_gives_a_clear_error_after_the_last_try(
    target_db: Container, lock_project: Path
) -> None:
    """When the lock outlives every retry, cidb exits non-zero and says why."""
    holder = LockHolder(target_db)  # held until cidb has given up
    try:
        code, out = sqitch_cli(
            target_db, "migrate", "--tries", "2", sqitch_dir=lock_project, retcode=None
        )
    finally:
        holder.join()
    assert code != 0
    assert "gave up after 2 tries" in out
    assert (
        target_db.psql(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.lock_probe'::regclass "
            "AND attname = 'probe'"
        )
        == "0"
    )


def test_password_never_reaches_argv(target_db: Container) -> None:
    """The docker command line cidb builds carries no password (it travels in the env)."""
    from cidb.sqitch import Sqitch, Target

    sqitch = Sqitch(Target.explicit("postgresql://ci_migrator@127.0.0.1:1/x", "s3cret-pw"))
    assert "s3cret-pw" not in " ".join(sqitch.command("status").formulate())


def test_failed_change_reports_clearly(target_db: Container, tmp_path: Path) -> None:
    """A change whose SQL fails makes cidb migrate exit non-zero with Sqitch's error."""
    bad = tmp_path / "bad"
    (bad / "deploy").mkdir(parents=True)
    (bad / "revert").mkdir()
    (bad / "verify").mkdir()
    (bad / "sqitch.conf").write_text(
        '[core]\n\tengine = pg\n[engine "pg"]\n\tregistry = bad_sqitch\n'
    )
    (bad / "sqitch.plan").write_text(
        "%syntax-version=1.0.0\n%project=bad\n\nbroken 2026-11-27T00:00:00Z t <t@x> # broken\n"
    )
    (bad / "deploy" / "broken.sql").write_text(
        "BEGIN;\nSELECT no_such_column FROM pg_class;\nCOMMIT;\n"
    )
    (bad / "revert" / "broken.sql").write_text("SELECT 1;\n")
    (bad / "verify" / "broken.sql").write_text("SELECT 1;\n")
    for path in bad.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    bad.chmod(0o755)
    try:
        with registry_creatable(target_db):
            code, out = sqitch_cli(target_db, "migrate", sqitch_dir=bad, retcode=None)
        assert code != 0
        assert "deploy failed" in out and "no_such_column" in out
    finally:
        target_db.psql("DROP SCHEMA IF EXISTS bad_sqitch CASCADE")
    with pytest.raises(ProcessExecutionError):
        cidb()("migrate", "--target", "mysql://nope", retcode=0)


def test_concurrent_index_change_heals_an_invalid_leftover(target_db: Container) -> None:
    """An INVALID chunks_embedding_hnsw_idx (an interrupted CONCURRENTLY build) is dropped and
    rebuilt when the change is deployed again; verify then passes."""
    changes = plan_changes()
    before_index = changes[changes.index("indexes/chunks_embedding_hnsw") - 1]
    sqitch_cli(target_db, "revert", "--to", before_index)
    # What an interrupted build leaves behind: the index exists in the catalog, marked invalid.
    target_db.psql(
        "CREATE INDEX chunks_embedding_hnsw_idx ON public.chunks USING hnsw"
        " (embedding vector_cosine_ops) WITH (m = 4);"
        " UPDATE pg_index SET indisvalid = false"
        " WHERE indexrelid = 'public.chunks_embedding_hnsw_idx'::regclass"
    )
    _, out = sqitch_cli(target_db, "migrate")
    assert "+ indexes/chunks_embedding_hnsw" in out
    assert (
        target_db.psql(
            "SELECT indisvalid, array_to_string(c.reloptions, ',') FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE indexrelid = 'public.chunks_embedding_hnsw_idx'::regclass"
        )
        == "t|m=16,ef_construction=200"
    )
    code, _ = sqitch_cli(target_db, "verify")
    assert code == 0
