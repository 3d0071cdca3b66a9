"""Containers for tests: cidb.containers, labelled with this pytest session's own label."""

from __future__ import annotations

import uuid
from functools import partial

from cidb import containers
from cidb.containers import (
    DOCKER,
    Container,
    DeadlinePassed,
    docker,
    remove_volume,
    unique_name,
    wait_until,
)
from cidb.names import db_image

# Everything this pytest session starts carries its own label value, so the end-of-session
# sweep removes its own leftovers and never another session's containers.
SESSION_LABEL = f"cidb-test={uuid.uuid4().hex[:12]}"
run_container = partial(containers.run_container, label=SESSION_LABEL)
create_volume = partial(containers.create_volume, label=SESSION_LABEL)

# The locked-down runtime the README documents: read-only root, no capabilities.
LOCKED_DOWN = (
    "--read-only",
    "--tmpfs",
    "/var/run/postgresql:rw,mode=1777,size=16m",
    "--tmpfs",
    "/tmp:rw,mode=1777,size=64m",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
)


def stops_with_one_error(db: Container, message: str, timeout: float = 60) -> None:
    """DB exits non-zero, and its log has exactly one error line, which holds MESSAGE."""
    assert db.wait_exit(timeout=timeout) != 0
    errors = [line for line in db.logs().splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and message in errors[0], db.logs()


def volume_is_empty(volume: str) -> bool:
    listing = docker(
        "run", "--rm", "-v", f"{volume}:/data", "--entrypoint", "ls", db_image(), "-A", "/data"
    )  # fmt: skip
    return listing.strip() == ""


__all__ = [
    "DOCKER",
    "LOCKED_DOWN",
    "SESSION_LABEL",
    "Container",
    "DeadlinePassed",
    "create_volume",
    "docker",
    "remove_volume",
    "run_container",
    "stops_with_one_error",
    "unique_name",
    "volume_is_empty",
    "wait_until",
]
