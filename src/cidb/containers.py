"""Throwaway containers for tests and benchmarks: ephemeral loopback ports, deadlines, clean-up.

One implementation of "start a container and wait for it": the tests (tests/support/docker.py
re-exports it) and the benchmarks (cidb.bench) use the same waits, and a wait that runs out of
time raises with the container's logs.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plumbum import local
from plumbum.commands.base import BaseCommand
from plumbum.commands.processes import ProcessExecutionError

from cidb.names import db_image

DOCKER = local["docker"]
HEALTHCHECK = "/usr/local/bin/ci-db-healthcheck"


class DeadlinePassed(AssertionError):
    """A wait ran out of time; the message carries the container's logs."""


def wait_until(
    ready: Callable[[], bool],
    timeout: float,
    failure: Callable[[], str],
    interval: float = 0.5,
) -> float:
    """Poll READY every INTERVAL s; seconds until it holds, else DeadlinePassed(failure())."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if ready():
            return time.monotonic() - start
        time.sleep(interval)
    raise DeadlinePassed(failure())


def docker(*args: str, env: Mapping[str, str] | None = None, retcode: int | None = 0) -> str:
    """Run `docker ARGS` and return stdout; env values reach the docker CLI, not its argv."""
    cmd: BaseCommand = DOCKER[args]
    if env:
        cmd = cmd.with_env(**env)
    return str(cmd(retcode=retcode))


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Container:
    """A running (or exited) container we started."""

    name: str

    @property
    def network(self) -> str:
        """`container:<name>`: a container run there reaches this one at 127.0.0.1."""
        return f"container:{self.name}"

    def inspect(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(docker("inspect", self.name))[0]
        return found

    def port(self, container_port: int) -> int:
        mapping = docker("port", self.name, f"{container_port}/tcp").splitlines()[0]
        return int(mapping.rsplit(":", 1)[1])

    def logs(self, tail: int | None = None) -> str:
        args = ["logs", *(["--tail", str(tail)] if tail else []), self.name]
        _, out, err = DOCKER[args].run(retcode=None)
        return str(out) + str(err)

    def health(self) -> str:
        state = self.inspect()["State"]
        return str(state.get("Health", {}).get("Status", state["Status"]))

    def running(self) -> bool:
        return bool(self.inspect()["State"]["Running"])

    def _healthy(self) -> bool:
        state = self.inspect()["State"]
        if not state["Running"] and state["Status"] == "exited":
            raise DeadlinePassed(f"{self.name} exited ({state['ExitCode']}):\n{self.logs()}")
        return bool(state.get("Health", {}).get("Status") == "healthy")

    def wait_healthy(self, timeout: float = 240) -> None:
        """Until Docker reports the container healthy (its HEALTHCHECK's own interval)."""
        wait_until(
            self._healthy,
            timeout,
            lambda: f"{self.name} not healthy after {timeout}s:\n{self.logs()}",
        )

    def wait_ready(self, timeout: float = 300, command: str = HEALTHCHECK) -> float:
        """Run the image's healthcheck every 0.2 s; seconds until it first passes."""

        def passes() -> bool:
            return int(DOCKER["exec", self.name, command].run(retcode=None)[0]) == 0

        def failure() -> str:
            return f"{self.name} not ready after {timeout}s:\n{self.logs(tail=50)}"

        return wait_until(passes, timeout, failure, interval=0.2)

    def wait_exit(self, timeout: float = 120) -> int:
        def exited() -> bool:
            state = self.inspect()["State"]
            return not state["Running"] and state["Status"] in {"exited", "dead"}

        wait_until(
            exited, timeout, lambda: f"{self.name} still running after {timeout}s:\n{self.logs()}"
        )
        return int(self.inspect()["State"]["ExitCode"])

    def wait_for_log(self, needle: str, timeout: float = 120) -> None:
        wait_until(
            lambda: needle in self.logs(),
            timeout,
            lambda: f"{needle!r} not in {self.name}'s log after {timeout}s:\n{self.logs()}",
        )

    def exec(
        self,
        *cmd: str,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        retcode: int | None = 0,
    ) -> str:
        """`docker exec` CMD; env values travel in the docker CLI's environment."""
        args = ["exec"]
        if user:
            args += ["-u", user]
        for key in env or {}:
            args += ["-e", key]
        return docker(*args, self.name, *cmd, env=env, retcode=retcode)

    def exec_result(self, *cmd: str) -> tuple[int, str, str]:
        code, out, err = DOCKER["exec", self.name, *cmd].run(retcode=None)
        return int(code), str(out), str(err)

    def psql(self, sql: str, *, database: str = "contextinject") -> str:
        """SQL as the superuser over the container's socket; returns unaligned tuples."""
        return self.exec(
            "psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", database, "-c", sql
        ).strip()

    def show(self, *names: str) -> str:
        """`SHOW name` for each NAME, joined by ` / `."""
        return " / ".join(self.psql(f"SHOW {name}") for name in names)

    def stop(self, timeout: int | None = None) -> None:
        docker("stop", *(["-t", str(timeout)] if timeout is not None else []), self.name)

    def start(self) -> None:
        docker("start", self.name)

    def restart(self) -> None:
        docker("restart", self.name)

    def remove(self) -> None:
        docker("rm", "-f", "-v", self.name, retcode=None)


def run_container(
    image: str,
    *,
    env: Mapping[str, str] | None = None,
    prefix: str = "cidb-test",
    label: str = "cidb=1",
    ports: Sequence[int] = (5432,),
    volumes: Sequence[str] = (),
    extra: Sequence[str] = (),
    command: Sequence[str] = (),
) -> Container:
    """`docker run -d` IMAGE with ports published on ephemeral 127.0.0.1 ports."""
    name = unique_name(prefix)
    args = ["run", "-d", "--name", name, "--label", label]
    for port in ports:
        args += ["-p", f"127.0.0.1::{port}"]
    for key in env or {}:
        args += ["-e", key]
    for volume in volumes:
        args += ["-v", volume]
    try:
        docker(*args, *extra, image, *command, env=env)
    except ProcessExecutionError:
        docker("rm", "-f", name, retcode=None)
        raise
    return Container(name)


def create_volume(prefix: str = "cidb-test", label: str = "cidb=1") -> str:
    name = unique_name(prefix)
    docker("volume", "create", "--label", label, name)
    return name


def remove_volume(name: str) -> None:
    docker("volume", "rm", "-f", name, retcode=None)


def start_database(
    password: str,
    *,
    image: str | None = None,
    command: Sequence[str] = (),
    memory: str | None = None,
    wait: bool = True,
    env: Mapping[str, str] | None = None,
) -> Container:
    """A ci-db of its own whose ci_migrator has PASSWORD (the superuser's is random); ENV adds
    variables (e.g. CI_DB_MEMORY)."""
    extra = ["--shm-size", "1g", *(["--memory", memory] if memory else [])]
    env = {**(env or {}), "POSTGRES_PASSWORD": uuid.uuid4().hex, "CI_MIGRATOR_PASSWORD": password}
    db = run_container(
        image or db_image(), env=env, prefix="cidb-bench", label="cidb-bench=1", extra=extra,
        command=command,
    )  # fmt: skip
    if wait:
        db.wait_ready()
    return db
