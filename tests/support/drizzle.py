"""The drizzle fixture projects (tests/fixtures/drizzle*): installed with `npm ci` in a temporary
directory, `drizzle-kit pull` run there as a role of the stack, the result type-checked with tsc.
tests/test_drizzle.py (stable 0.31) and tests/test_drizzle_v1.py (1.0 release candidate)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cidb.containers import Container

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NPM_CACHE = Path(os.environ.get("CIDB_NPM_CACHE") or Path.home() / ".cache" / "cidb-npm")
NPM_DEADLINE = 300  # seconds for `npm ci`; a cold cache takes well under a minute
TOOL_DEADLINE = 120  # seconds for `drizzle-kit pull` and for `tsc`


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int, what: str) -> str:
    """Run CMD; on a non-zero exit or the deadline, fail with its output and WHAT went wrong."""
    try:
        done = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{what}: `{' '.join(cmd)}` still running after {timeout}s\n{exc.stdout}")
    except FileNotFoundError:
        pytest.fail(f"{what}: {cmd[0]} is not on PATH (this test needs Node 20+ and npm)")
    if done.returncode != 0:
        pytest.fail(
            f"{what}: `{' '.join(cmd)}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def node_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without libpq overrides that would change what drizzle sees."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(NO_UPDATE_NOTIFIER="1", npm_config_update_notifier="false")
    return {**env, **(extra or {})}


def install(fixture: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/fixtures/FIXTURE copied to a temporary directory (symlinks copied as the files they
    point to) and installed with `npm ci` from its package-lock.json."""
    work = tmp_path_factory.mktemp(fixture) / "project"
    shutil.copytree(
        FIXTURES / fixture, work, ignore=shutil.ignore_patterns("node_modules", "drizzle")
    )
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    run(
        [
            "npm", "ci", "--cache", str(NPM_CACHE), "--prefer-offline", "--ignore-scripts",
            "--no-audit", "--no-fund", "--fetch-timeout=30000", "--fetch-retries=1",
        ],
        work,
        node_env(),
        NPM_DEADLINE,
        "npm ci failed; is the npm registry (npm config get registry) reachable?",
    )  # fmt: skip
    return work


def pull(project: Path, libpq_env: Mapping[str, str]) -> Path:
    """`drizzle-kit pull` in PROJECT, connected by LIBPQ_ENV alone (the password only in the
    environment); returns the directory it wrote (the config's `out`)."""
    run(
        ["npx", "--no-install", "drizzle-kit", "pull"],
        project,
        node_env(libpq_env),
        TOOL_DEADLINE,
        "drizzle-kit pull failed",
    )
    return project / "drizzle"


def typecheck(project: Path) -> subprocess.CompletedProcess[str]:
    """`tsc --noEmit` over PROJECT's tsconfig.json (the pulled schema and the fixture's client)."""
    return subprocess.run(
        ["npx", "--no-install", "tsc", "--noEmit", "-p", "tsconfig.json"],
        cwd=project,
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=TOOL_DEADLINE,
        check=False,
    )


def catalog_rows(db: Container, sql: str) -> list[list[str]]:
    """SQL's rows as the superuser, each split into its columns."""
    return [line.split("|") for line in db.psql(sql).splitlines()]


# Each foreign key as its sorted "column->referenced column" pairs, each unique key as its columns
# in order; constraints of public's tables, not the copies PostgreSQL makes on partitions.
FOREIGN_KEYS_SQL = """
    SELECT c.conname, string_agg(a.attname || '->' || f.attname, ','
                              ORDER BY (a.attname || '->' || f.attname) COLLATE "C")
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(l, r, n)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.l
    JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = k.r
    WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND c.conparentid = 0
    GROUP BY c.conname"""
UNIQUES_SQL = """
    SELECT c.conname, string_agg(a.attname, ',' ORDER BY k.n)
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(l, n)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.l
    WHERE c.contype = 'u' AND c.connamespace = 'public'::regnamespace AND c.conparentid = 0
    GROUP BY c.conname"""
