"""One compose stack for the session, its settings and connections to it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
import pytest
from fixtures_images import ROOT

from cidb.devstack import dev_passwords
from cidb.settings import Settings

if TYPE_CHECKING:
    from support.docker import Container

# compose.yaml's development passwords (its x-dev-passwords block is their one home).
STACK_PASSWORDS = dev_passwords(ROOT)


class Stack:
    """A compose project of this checkout, on ephemeral 127.0.0.1 ports."""

    def __init__(self, project: str, env: Mapping[str, str] | None = None) -> None:
        self.project = project
        self.env = {**STACK_PASSWORDS, "CI_DB_PORT": "0", "CI_DB_POOL_PORT": "0", **(env or {})}

    def compose(self, *args: str, retcode: int | None = 0) -> str:
        from plumbum import local

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
        from support.docker import Container

        return Container(self.compose("ps", "-q", "--all", service).strip())

    def settings(self) -> Settings:
        return Settings.from_env(
            {
                **STACK_PASSWORDS,
                "CI_DB_PORT": str(self.container("db").port(5432)),
                "CI_DB_POOL_PORT": str(self.container("pgbouncer").port(6432)),
            }
        )


# Every profile's services and volumes too (metrics, backup): a test or `cidb bench metrics`
# may have started some, and a plain `down` leaves them, their volumes and the network behind.
DOWN_EVERY_PROFILE = ("--profile", "*", "down", "-v", "--remove-orphans")


@contextmanager
def running_stack(project: str, env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """A compose project up with `--wait` (logs printed if it fails), down with its volume after.
    ENV: more variables for compose (COMPOSE_PROFILES, settings compose.yaml reads)."""
    running = Stack(project, env)
    try:
        running.compose("up", "-d", "--wait", "--no-build")
    except Exception:
        print(running.compose("logs", "--no-color", retcode=None))
        running.compose(*DOWN_EVERY_PROFILE, retcode=None)
        raise
    try:
        yield running
    finally:
        if os.environ.get("CIDB_KEEP_STACK") != "1":
            running.compose(*DOWN_EVERY_PROFILE, "--timeout", "20", retcode=None)


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
