"""docker compose, driven through plumbum, for the project's compose.yaml."""

from __future__ import annotations

import os
from pathlib import Path

from plumbum import local
from plumbum.commands.base import BoundCommand


def project_dir() -> Path:
    """The checkout holding compose.yaml: CI_DB_PROJECT_DIR, or the nearest one above cwd."""
    configured = os.environ.get("CI_DB_PROJECT_DIR")
    if configured:
        return Path(configured)
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "compose.yaml").is_file() and (candidate / "Dockerfile").is_file():
            return candidate
    raise FileNotFoundError("no ci-db checkout (compose.yaml + Dockerfile) at or above the cwd")


def compose(*args: str) -> BoundCommand:
    """`docker compose -f <project>/compose.yaml ARGS`, ready to run."""
    top = project_dir()
    return local["docker"][
        "compose", "--project-directory", str(top), "-f", str(top / "compose.yaml"), *args
    ]


def host_setup_script(name: str) -> BoundCommand:
    """One of scripts/ensure-*.sh, which install an engine or base image only when missing."""
    return local["bash"][str(project_dir() / "scripts" / name)]
