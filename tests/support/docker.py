"""Containers for tests: started on ephemeral loopback ports, waited on with deadlines."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plumbum import local
from plumbum.commands.processes import ProcessExecutionError

DOCKER = local["docker"]
# Everything this pytest session starts carries its own label value, so the end-of-session
# sweep removes its own leftovers and never another session's containers.
SESSION_LABEL = f"cidb-test={uuid.uuid4().hex[:12]}"


class DeadlinePassed(AssertionError):
    """A wait ran out of time; the message carries the container's logs."""


def docker(*args: str, env: Mapping[str, str] | None = None, retcode: int | None = 0) -> str:
    """Run `docker ARGS` and return stdout; env values reach the docker CLI, not its argv."""
    cmd = DOCKER[args]
    if env:
        cmd = cmd.with_env(**env)
    return cmd(retcode=retcode)


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Container:
    """A running (or exited) container started by the tests."""

    name: str

    def inspect(self) -> dict[str, Any]:
        return json.loads(docker("inspect", self.name))[0]

    def port(self, container_port: int) -> int:
        mapping = docker("port", self.name, f"{container_port}/tcp").splitlines()[0]
        return int(mapping.rsplit(":", 1)[1])

    def logs(self) -> str:
        result = DOCKER["logs", self.name].run(retcode=None)
        return result[1] + result[2]

    def health(self) -> str:
        state = self.inspect()["State"]
        return state.get("Health", {}).get("Status", state["Status"])

    def running(self) -> bool:
        return bool(self.inspect()["State"]["Running"])

    def wait_healthy(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.inspect()["State"]
            if state.get("Health", {}).get("Status") == "healthy":
                return
            if not state["Running"] and state["Status"] == "exited":
                raise DeadlinePassed(f"{self.name} exited ({state['ExitCode']}):\n{self.logs()}")
            time.sleep(0.5)
        raise DeadlinePassed(f"{self.name} not healthy after {timeout}s:\n{self.logs()}")

    def wait_exit(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.inspect()["State"]
            if not state["Running"] and state["Status"] in {"exited", "dead"}:
                return int(state["ExitCode"])
            time.sleep(0.5)
        raise DeadlinePassed(f"{self.name} still running after {timeout}s:\n{self.logs()}")

    def wait_for_log(self, needle: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.logs():
                return
            time.sleep(0.5)
        raise DeadlinePassed(
            f"{needle!r} not in {self.name}'s log after {timeout}s:\n{self.logs()}"
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
        return int(code), out, err

    def psql(self, sql: str, *, database: str = "contextinject") -> str:
        """SQL as the superuser over the container's socket; returns unaligned tuples."""
        return self.exec(
            "psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", database, "-c", sql
        ).strip()

    def stop(self, timeout: int | None = None) -> None:
        docker("stop", *(["-t", str(timeout)] if timeout is not None else []), self.name)

    def start(self) -> None:
        docker("start", self.name)

    def remove(self) -> None:
        docker("rm", "-f", "-v", self.name, retcode=None)


def run_container(
    image: str,
    *,
    env: Mapping[str, str] | None = None,
    prefix: str = "cidb-test",
    ports: Sequence[int] = (5432,),
    volumes: Sequence[str] = (),
    extra: Sequence[str] = (),
    command: Sequence[str] = (),
) -> Container:
    """`docker run -d` IMAGE with ports published on ephemeral 127.0.0.1 ports."""
    name = unique_name(prefix)
    args = ["run", "-d", "--name", name, "--label", SESSION_LABEL]
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


def create_volume(prefix: str = "cidb-test") -> str:
    name = unique_name(prefix)
    docker("volume", "create", "--label", SESSION_LABEL, name)
    return name


def remove_volume(name: str) -> None:
    docker("volume", "rm", "-f", name, retcode=None)
