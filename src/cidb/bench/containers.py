"""Throwaway ci-db containers for scenarios that need a database of their own."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from plumbum import local

DOCKER = local["docker"]


@dataclass
class Database:
    name: str
    port: int

    @property
    def network(self) -> str:
        return f"container:{self.name}"

    def healthcheck_passes(self) -> bool:
        code, _, _ = DOCKER["exec", self.name, "/usr/local/bin/ci-db-healthcheck"].run(retcode=None)
        return code == 0

    def wait_ready(self, timeout: float = 300) -> float:
        """Poll the image's own healthcheck every 0.2 s; seconds until it first passes."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.healthcheck_passes():
                return time.monotonic() - start
            time.sleep(0.2)
        logs = DOCKER["logs", "--tail", "50", self.name].run(retcode=None)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{logs[1]}{logs[2]}")

    def show(self, *names: str) -> str:
        return " / ".join(
            DOCKER(
                "exec", self.name, "psql", "-XAt", "-d", "contextinject", "-c", f"SHOW {n}"
            ).strip()
            for n in names
        )

    def remove(self) -> None:
        DOCKER["rm", "-f", "-v", self.name].run(retcode=None)


def start_database(
    image: str,
    password: str,
    *,
    command: Sequence[str] = (),
    memory: str | None = None,
    wait: bool = True,
) -> Database:
    """`docker run` IMAGE with the migrator password, on an ephemeral 127.0.0.1 port."""
    name = f"cidb-bench-{uuid.uuid4().hex[:8]}"
    args = [
        "run",
        "-d",
        "--name",
        name,
        "--label",
        "cidb-bench=1",
        "-p",
        "127.0.0.1::5432",
        "--shm-size",
        "1g",
        "-e",
        "POSTGRES_PASSWORD",
        "-e",
        "CI_MIGRATOR_PASSWORD",
    ]
    if memory:
        args += ["--memory", memory]
    DOCKER[(*args, image, *command)].with_env(
        POSTGRES_PASSWORD=uuid.uuid4().hex, CI_MIGRATOR_PASSWORD=password
    )()
    ports = json.loads(DOCKER("inspect", name))[0]["NetworkSettings"]["Ports"]["5432/tcp"]
    db = Database(name, int(ports[0]["HostPort"]))
    if wait:
        db.wait_ready()
    return db
