"""The HA stack (compose.ha.yaml), built and brought up once per module that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from plumbum import local
from support.docker import unique_name

from cidb.ha import HaStack, throwaway_env
from cidb.names import ha_images

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ha_images_built(images: dict[str, str]) -> dict[str, str]:
    """ci-db:17-ha, etcd and HAProxy (the HA target builds on the cached server stage)."""
    built = ha_images()
    for target, tag in built.items():
        local["docker"]["build", "--quiet", "-t", tag, "--target", target, str(ROOT)](timeout=1800)
    return {**built, "pgbouncer": images["pgbouncer"]}


@pytest.fixture(scope="module")
def ha_cluster(ha_images_built: dict[str, str]) -> Iterator[HaStack]:
    """Three etcd, three Patroni members, HAProxy and PgBouncer; synchronous mode; ports on
    loopback, ephemeral; everything (volumes included) removed afterwards."""
    env = throwaway_env(ha_images_built, ha_images_built["pgbouncer"])
    stack = HaStack(ROOT, unique_name("cidb-ha-test"), env)
    try:
        code, _out, err = stack.compose("up", "-d", "--wait").run(retcode=None, timeout=900)
        if code != 0:
            logs = stack.compose("logs", "--no-color", "--tail", "60").run(retcode=None)[1]
            pytest.fail(f"compose.ha.yaml did not come up healthy:\n{err}\n{logs}")
        yield stack
    finally:
        stack.compose("down", "-v", "-t", "10", "--remove-orphans").run(retcode=None, timeout=300)
