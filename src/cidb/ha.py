"""The HA stack (compose.ha.yaml): Patroni members, their roles, switchover and failover.

Patroni is driven with its own `patronictl` inside a member's container, which reads that
member's configuration (and with it the REST API's credentials for switchover and failover), so
no credential leaves the container network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from plumbum import local
from plumbum.commands.base import BoundCommand
from plumbum.commands.processes import ProcessExecutionError

from cidb.containers import wait_until
from cidb.devstack import parse_dev_passwords
from cidb.names import DATABASE, POOLER_IMAGE_ENV, RO_DATABASE
from cidb.settings import Settings

COMPOSE_FILE = "compose.ha.yaml"
PROJECT = "ci-db-ha"
MEMBERS = ("db1", "db2", "db3")
PATRONI_CONFIG = "/var/lib/postgresql/ha/patroni.yml"
LEADER = "Leader"


def throwaway_env(images: Mapping[str, str], pooler: str) -> dict[str, str]:
    """The environment for a compose.ha.yaml project of tests or benchmarks: these images,
    ephemeral loopback ports, synchronous mode, no seed, small members."""
    return {
        **os.environ,
        "CI_DB_HA_IMAGE": images["ha"],
        "CI_DB_ETCD_IMAGE": images["etcd"],
        "CI_DB_HAPROXY_IMAGE": images["haproxy"],
        POOLER_IMAGE_ENV: pooler,
        "CI_DB_PORT": "0",
        "CI_DB_RO_PORT": "0",
        "CI_DB_POOL_PORT": "0",
        "CI_DB_HA_SYNC": "on",
        "CI_DB_DEV_SEED": "0",
        "CI_DB_MEMORY": "512MB",
    }


class HaError(RuntimeError):
    """No member answered, or Patroni refused the request."""


@dataclass(frozen=True)
class Member:
    """One row of `patronictl list`."""

    name: str
    role: str
    state: str
    timeline: int | None
    lag_mb: float | None

    @property
    def is_leader(self) -> bool:
        return self.role == LEADER

    @property
    def is_streaming_replica(self) -> bool:
        return not self.is_leader and self.state == "streaming"


def _member(row: Mapping[str, object]) -> Member:
    tl = row.get("TL")
    lag = row.get("Lag in MB")
    return Member(
        name=str(row["Member"]),
        role=str(row["Role"]),
        state=str(row["State"]),
        timeline=int(str(tl)) if tl not in (None, "") else None,
        lag_mb=float(str(lag)) if isinstance(lag, int | float) else None,
    )


@dataclass(frozen=True)
class HaStack:
    """compose.ha.yaml under one compose project name."""

    project_dir: Path
    project: str = PROJECT
    env: Mapping[str, str] | None = None

    def compose(self, *args: str) -> BoundCommand:
        cmd = local["docker"][
            "compose",
            "--project-directory",
            str(self.project_dir),
            "-f",
            str(self.project_dir / COMPOSE_FILE),
            "-p",
            self.project,
            *args,
        ]
        return cmd.with_env(**self.env) if self.env else cmd  # type: ignore[return-value]

    def container(self, service: str) -> str:
        """The container's name (compose's project-service-1)."""
        return f"{self.project}-{service}-1"

    def port(self, service: str, container_port: int) -> int:
        """The host port SERVICE's CONTAINER_PORT is published on."""
        out = str(local["docker"]("port", self.container(service), f"{container_port}/tcp"))
        return int(out.splitlines()[0].rsplit(":", 1)[1])

    def settings(self, *, read_only: bool = False) -> Settings:
        """Where clients connect: port = HAProxy's write (or read) port, pool_port = PgBouncer,
        database contextinject (or contextinject_ro); passwords from the environment, else
        compose.ha.yaml's development defaults."""
        text = (self.project_dir / COMPOSE_FILE).read_text(encoding="utf-8")
        env = {**os.environ, **(self.env or {})}
        base = Settings.from_env(env, defaults=parse_dev_passwords(text))
        return replace(
            base,
            host="127.0.0.1",
            port=self.port("haproxy", 5001 if read_only else 5000),
            pool_port=self.port("pgbouncer", 6432),
            database=RO_DATABASE if read_only else DATABASE,
        )

    def superuser_sql(self, member: str, sql: str) -> str:
        """SQL as the superuser over MEMBER's socket (the only way in for it)."""
        out = local["docker"](
            "exec",
            self.container(member),
            "psql",
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-d",
            DATABASE,
            "-c",
            sql,
        )
        return str(out).strip()

    def patronictl(self, *args: str, members: Sequence[str] = MEMBERS) -> str:
        """`patronictl ARGS` in the first member that answers."""
        errors = []
        for member in members:
            try:
                out = local["docker"](
                    "exec", self.container(member), "patronictl", "-c", PATRONI_CONFIG, *args
                )
                return str(out)
            except ProcessExecutionError as exc:
                errors.append(f"{member}: {str(exc.stderr).strip()[-300:]}")
        raise HaError("no member ran patronictl:\n" + "\n".join(errors))

    def members(self) -> list[Member]:
        rows = json.loads(self.patronictl("list", "-f", "json"))
        return sorted((_member(row) for row in rows), key=lambda m: m.name)

    def leader(self) -> str | None:
        return next((m.name for m in self.members() if m.is_leader), None)

    def switchover(self, candidate: str | None = None) -> str:
        """Planned: the leader hands over to CANDIDATE (or the healthiest replica) and rejoins."""
        leader = self.leader()
        if leader is None:
            raise HaError("no leader to switch over from (use failover)")
        args = ["switchover", "--force", "--leader", leader]
        if candidate:
            args += ["--candidate", candidate]
        return _succeeded(self.patronictl(*args))

    def failover(self, candidate: str | None = None) -> str:
        """Unplanned (a drill): promote CANDIDATE even if the leader is unreachable."""
        if candidate is None:
            replicas = [m for m in self.members() if m.is_streaming_replica]
            if not replicas:
                raise HaError("no streaming replica to fail over to")
            # In synchronous mode only the sync standby may be promoted without loss.
            sync = [m for m in replicas if m.role == "Sync Standby"]
            candidate = min(sync or replicas, key=lambda m: m.lag_mb or 0.0).name
        return _succeeded(self.patronictl("failover", "--force", "--candidate", candidate))

    def set_synchronous(self, on: bool) -> str:
        """Patroni's synchronous_mode for the whole cluster (stored in etcd)."""
        value = "true" if on else "false"
        return self.patronictl("edit-config", "--force", "-s", f"synchronous_mode={value}")

    def synchronous(self) -> bool:
        config = self.patronictl("show-config")
        return any(line.strip() == "synchronous_mode: true" for line in config.splitlines())

    def wait_members(
        self, ok: Callable[[list[Member]], bool], timeout: float, what: str
    ) -> list[Member]:
        """Poll Patroni's member list until OK holds (members may be down meanwhile)."""
        seen: list[list[Member]] = [[]]

        def check() -> bool:
            try:
                seen[0] = self.members()
            except (HaError, ValueError):
                return False
            return ok(seen[0])

        wait_until(check, timeout, lambda: f"{what} not reached:\n{format_members(seen[0])}")
        return seen[0]

    def wait_healthy_topology(self, timeout: float = 240) -> list[Member]:
        """One running leader and two replicas streaming on its timeline."""
        return self.wait_members(healthy_topology, timeout, "a leader and two streaming replicas")


def healthy_topology(members: Sequence[Member]) -> bool:
    leaders = [m for m in members if m.is_leader and m.state == "running"]
    if len(leaders) != 1:
        return False
    replicas = [m for m in members if m.is_streaming_replica and m.timeline == leaders[0].timeline]
    return len(replicas) == 2


def _succeeded(out: str) -> str:
    """Its "Successfully ..." line; patronictl exits 0 even when Patroni refuses, so read it."""
    lines = [line for line in out.splitlines() if "Successfully" in line]
    if not lines:
        raise HaError(out.strip().splitlines()[-1] if out.strip() else "no answer from patronictl")
    return lines[0]


def format_members(members: Sequence[Member]) -> str:
    """The status table: member, role, state, timeline, lag."""
    lines = [f"{'member':8} {'role':13} {'state':10} {'TL':>3} {'lag MB':>7}"]
    for m in members:
        tl = "" if m.timeline is None else str(m.timeline)
        lag = "" if m.lag_mb is None else f"{m.lag_mb:g}"
        lines.append(f"{m.name:8} {m.role:13} {m.state:10} {tl:>3} {lag:>7}")
    return "\n".join(lines)
