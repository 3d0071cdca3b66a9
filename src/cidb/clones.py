"""A database per test: clones of the CI image's migrated template (docs/ci.md).

Core only (psycopg + stdlib), so the pytest plugin works without the [dev] extra. The clone is
made by ci_test, the CI image's one role with CREATEDB: the superuser never listens on TCP,
ci_app never gets CREATEDB and ci_migrator never nears superuser.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from cidb import names, roles
from cidb.settings import MissingPasswordError, Settings, read_secret, resolve_role

# FILE_COPY copies the template's files and checkpoints; for a small schema it measures about
# twice as fast as WAL_LOG, which writes every block of the template to WAL (bench ci_clone).
STRATEGY = "FILE_COPY"
# Also in docker/docker-entrypoint.sh, which drops an earlier start's clones by this prefix.
PREFIX = "cidb_test_"
# The CI image's tablespace for clones, in CI_DB_CLONE_DIR (a tmpfs there: docs/ci.md).
TABLESPACE = "ci_clones"


def template_database(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """CI_DB_TEMPLATE, else "<database>_template" (contextinject_template)."""
    env = os.environ if env is None else env
    return env.get("CI_DB_TEMPLATE") or f"{settings.database}_template"


def cloner_conninfo(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """ci_test's conninfo to the main database (where CREATE DATABASE is issued)."""
    env = os.environ if env is None else env
    password = read_secret(env, names.TEST_PASSWORD_ENV)
    if not password:
        var = names.TEST_PASSWORD_ENV
        raise MissingPasswordError(
            f"no password for {names.TEST_ROLE}: set {var} or {var}_FILE (the CI image's role"
            " that clones databases; ci-db:17 has no such role, use ci-db:17-ci)"
        )
    return make_conninfo(
        "",
        host=settings.host,
        port=settings.port,
        dbname=settings.database,
        user=names.TEST_ROLE,
        password=password,
        connect_timeout=10,
    )


def cloner(settings: Settings, env: Mapping[str, str] | None = None) -> psycopg.Connection:
    """An autocommit connection as ci_test, to reuse across clones (saves a login per clone)."""
    return psycopg.connect(cloner_conninfo(settings, env), autocommit=True)


@contextmanager
def _session(
    settings: Settings, env: Mapping[str, str] | None, conn: psycopg.Connection | None
) -> Iterator[psycopg.Connection]:
    if conn is not None:
        yield conn
        return
    with cloner(settings, env) as own:
        yield own


def create_clone(
    settings: Settings,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    strategy: str = STRATEGY,
    conn: psycopg.Connection | None = None,
    in_tablespace: bool = True,
) -> Settings:
    """A new database cloned from the template; Settings that point at it (same passwords).

    Its connect grants are the main database's: the login roles CONNECT, ci_owner CONNECT and
    TEMPORARY, PUBLIC nothing (a clone starts with PostgreSQL's default ACL, not the template's).
    CONN: a cloner() connection to reuse; else one is opened and closed for this call.
    IN_TABLESPACE=False keeps it beside the template (the benchmark's comparison).
    """
    if strategy not in ("FILE_COPY", "WAL_LOG"):
        raise ValueError(f"strategy {strategy!r}: use FILE_COPY or WAL_LOG")
    name = name or f"{PREFIX}{uuid.uuid4().hex[:16]}"
    db = sql.Identifier(name)
    logins = sql.SQL(", ").join(sql.Identifier(r.name) for r in roles.login_roles())
    template = sql.Identifier(template_database(settings, env))
    with _session(settings, env, conn) as session:
        # A server without the tablespace (an older image) keeps clones beside the template.
        found = (
            in_tablespace
            and session.execute(
                "SELECT spcname FROM pg_catalog.pg_tablespace WHERE spcname = %s", (TABLESPACE,)
            ).fetchone()
        )
        where = (
            sql.SQL(" TABLESPACE {}").format(sql.Identifier(TABLESPACE)) if found else sql.SQL("")
        )
        session.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}{}").format(
                db, template, sql.SQL(strategy), where
            )
        )
        # One round trip for the grants (a simple-query string: no parameters).
        session.execute(
            sql.SQL(
                "REVOKE ALL ON DATABASE {db} FROM PUBLIC;"
                " GRANT CONNECT ON DATABASE {db} TO {logins};"
                " GRANT CONNECT, TEMPORARY ON DATABASE {db} TO ci_owner"
            ).format(db=db, logins=logins),
            prepare=False,
        )
    return replace(settings, database=name)


def drop_clone(
    settings: Settings,
    name: str,
    env: Mapping[str, str] | None = None,
    conn: psycopg.Connection | None = None,
) -> None:
    """Drop a clone (refused for any name without the clone prefix: never the main database)."""
    if not name.startswith(PREFIX):
        raise ValueError(f"{name!r} is not a clone (their names start with {PREFIX})")
    with _session(settings, env, conn) as session:
        session.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def url(settings: Settings, role: str = "ci_app") -> str:
    """A postgresql:// URL for ROLE on the database of SETTINGS (password included)."""
    from urllib.parse import quote

    role = resolve_role(role)
    user = quote(role, safe="")
    password = quote(settings.password(role), safe="")
    return (
        f"postgresql://{user}:{password}@{settings.host}:{settings.port}/"
        f"{quote(settings.database, safe='')}"
    )


class ClonePool:
    """Clones made ahead of need by a background thread (IntegreSQL's idea): a test takes one
    that is ready, and the thread makes the next and drops the used ones while tests run.

    A clone costs some 500 file creations (the template's catalogs), 0.1-0.3 s on a container
    disk; taken from the pool it costs a queue look-up whenever the tests take longer than that.
    The thread has its own ci_test connection (a psycopg connection serves one thread at a time).
    """

    def __init__(
        self, settings: Settings, env: Mapping[str, str] | None = None, ready: int = 2
    ) -> None:
        if ready < 1:
            raise ValueError(f"ready={ready}: keep at least one clone ready")
        self._settings = settings
        self._env = dict(os.environ if env is None else env)
        self._ready: queue.Queue[Settings] = queue.Queue(maxsize=ready)
        self._used: queue.Queue[str] = queue.Queue()
        # Set by take, give_back and close: the thread has something to do.
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ClonePool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Log in (so a bad password fails here, in the caller) and start the maker thread."""
        conn = cloner(self._settings, self._env)
        self._thread = threading.Thread(
            target=self._work, args=(conn,), name="cidb-clones", daemon=True
        )
        self._thread.start()

    def take(self, timeout: float = 120.0) -> Settings:
        """A ready clone (waits for the thread when none is); the caller's until give_back."""
        if self._thread is None:
            raise RuntimeError("ClonePool.take before start()")
        deadline = time.monotonic() + timeout
        while True:
            try:
                clone = self._ready.get(timeout=0.05)
            except queue.Empty:
                if self._error is not None:
                    raise RuntimeError(f"the clone maker failed: {self._error}") from self._error
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no clone ready within {timeout:.0f} s") from None
                continue
            self._wake.set()
            return clone

    def give_back(self, name: str) -> None:
        """Drop a taken clone, later, in the thread."""
        if not name.startswith(PREFIX):
            raise ValueError(f"{name!r} is not a clone (their names start with {PREFIX})")
        self._used.put(name)
        self._wake.set()

    def close(self) -> None:
        """Stop the thread; it drops the used clones and the ready ones before it ends."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=120)
            self._thread = None

    def _work(self, conn: psycopg.Connection) -> None:
        with conn:
            try:
                while not self._stop.is_set():
                    self._drop_used(conn)
                    if self._ready.full():
                        self._wake.wait()
                        self._wake.clear()
                        continue
                    self._ready.put(create_clone(self._settings, env=self._env, conn=conn))
            except Exception as error:
                self._error = error
            finally:
                self._drain(conn)

    def _drop_used(self, conn: psycopg.Connection) -> None:
        while True:
            try:
                name = self._used.get_nowait()
            except queue.Empty:
                return
            try:
                drop_clone(self._settings, name, self._env, conn)
            except psycopg.Error as error:
                # A session of the test still on it: left for the container's end.
                warnings.warn(f"cidb: could not drop {name}: {error}", stacklevel=1)

    def _drain(self, conn: psycopg.Connection) -> None:
        while True:
            try:
                self._used.put(self._ready.get_nowait().database)
            except queue.Empty:
                break
        with contextlib.suppress(psycopg.Error):
            self._drop_used(conn)
