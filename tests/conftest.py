"""Session fixtures: the images built once, one compose stack, and connections to it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from plumbum import local
from plumbum.commands.processes import ProcessExecutionError
from support.docker import SESSION_LABEL, Container, docker

from cidb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# Overridable so that two checkouts can run their suites side by side without sharing tags.
DB_IMAGE = os.environ.get("CI_DB_IMAGE", "ci-db:17")
POOLER_IMAGE = os.environ.get("CI_DB_POOLER_IMAGE", "ci-db-pgbouncer:17")

# The same development passwords compose.yaml documents; the stack under test uses them.
STACK_PASSWORDS = {
    "POSTGRES_PASSWORD": "dev-postgres-password",
    "CI_MIGRATOR_PASSWORD": "dev-migrator-password",
    "CI_APP_PASSWORD": "dev-app-password",
    "CI_READONLY_PASSWORD": "dev-readonly-password",
    "CI_ADMIN_PASSWORD": "dev-admin-password",
    "PGBOUNCER_AUTH_PASSWORD": "dev-pgbouncer-auth-password",
}


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """Both images, built once per run from this checkout (BuildKit's cache makes reruns quick)."""
    build = local["docker"]["build", "--quiet"]
    build["-t", DB_IMAGE, "--target", "postgres", str(ROOT)](timeout=1800)
    build["-t", POOLER_IMAGE, "--target", "pgbouncer", str(ROOT)](timeout=1800)
    return {"db": DB_IMAGE, "pgbouncer": POOLER_IMAGE}


class Stack:
    """A compose project of this checkout, on ephemeral 127.0.0.1 ports."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.env = {**STACK_PASSWORDS, "CI_DB_PORT": "0", "CI_DB_POOL_PORT": "0"}

    def compose(self, *args: str, retcode: int | None = 0) -> str:
        cmd = local["docker"][
            "compose",
            "--project-directory",
            str(ROOT),
            "-f",
            str(ROOT / "compose.yaml"),
            "-p",
            self.project,
            *args,
        ]
        return cmd.with_env(**self.env)(retcode=retcode, timeout=900)

    def container(self, service: str) -> Container:
        return Container(self.compose("ps", "-q", "--all", service).strip())

    def settings(self) -> Settings:
        return Settings(
            port=self.container("db").port(5432),
            pool_port=self.container("pgbouncer").port(6432),
        )


@contextmanager
def running_stack(project: str) -> Iterator[Stack]:
    """A compose project up with `--wait` (logs printed if it fails), down with its volume after."""
    running = Stack(project)
    try:
        running.compose("up", "-d", "--wait", "--no-build")
    except Exception:
        print(running.compose("logs", "--no-color", retcode=None))
        running.compose("down", "-v", retcode=None)
        raise
    try:
        yield running
    finally:
        if os.environ.get("CIDB_KEEP_STACK") != "1":
            running.compose("down", "-v", "--timeout", "20", retcode=None)


@pytest.fixture(scope="session")
def stack(images: dict[str, str]) -> Iterator[Stack]:
    """`docker compose up -d --wait` of compose.yaml, torn down with its volume at the end."""
    with running_stack(f"cidbtest{uuid.uuid4().hex[:8]}") as running:
        yield running


@pytest.fixture(scope="session")
def settings(stack: Stack) -> Settings:
    return stack.settings()


@pytest.fixture(scope="session")
def db(stack: Stack) -> Container:
    return stack.container("db")


@pytest.fixture
def connect(settings: Settings) -> Iterator[Callable[..., psycopg.Connection]]:
    """Open psycopg connections as a contract role (direct or pooled); closed after the test."""
    opened: list[psycopg.Connection] = []

    def _connect(
        role: str, *, pooled: bool = False, autocommit: bool = True, **kwargs: object
    ) -> psycopg.Connection:
        conn = psycopg.connect(
            settings.conninfo(role, pooled=pooled, connect_timeout=10),
            autocommit=autocommit,
            **kwargs,
        )
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


@pytest.fixture(scope="session", autouse=True)
def _sweep_leftovers() -> Iterator[None]:
    """Remove containers and volumes an interrupted earlier run left behind."""
    yield
    try:
        ids = docker("ps", "-aq", "--filter", f"label={SESSION_LABEL}").split()
    except ProcessExecutionError:
        return  # no engine: nothing can be left behind

    if ids:
        docker("rm", "-f", "-v", *ids, retcode=None)
    vols = docker("volume", "ls", "-q", "--filter", f"label={SESSION_LABEL}").split()
    if vols:
        docker("volume", "rm", "-f", *vols, retcode=None)
