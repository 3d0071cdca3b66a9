"""The local compose stack's development passwords, read from compose.yaml's x-dev-passwords.

compose.yaml is their one home: compose needs them there (as `${NAME:-default}`), and compose
cannot read anything of ours, so the dev tooling and the tests parse that block instead of
restating it. Never used by library code: `Settings.from_env()` alone has no defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from cidb.settings import Settings

BLOCK = "x-dev-passwords:"
# `  NAME: ${NAME:-default}` (an optional `&anchor` before the value).
ENTRY = re.compile(r"^\s+([A-Z][A-Z0-9_]*):\s+(?:&[\w-]+\s+)?\$\{\1:-([^}]*)\}\s*$")


def parse_dev_passwords(compose_text: str) -> dict[str, str]:
    """Env var -> development default, from the x-dev-passwords block of a compose file."""
    found: dict[str, str] = {}
    inside = False
    for line in compose_text.splitlines():
        if line.startswith(BLOCK):
            inside = True
            continue
        if inside and line and not line[0].isspace():
            break
        match = ENTRY.match(line) if inside else None
        if match:
            found[match.group(1)] = match.group(2)
    if not found:
        raise ValueError(f"compose file has no {BLOCK} block of NAME: ${{NAME:-default}} lines")
    return found


def dev_passwords(project: Path) -> dict[str, str]:
    """The development passwords of the checkout at PROJECT."""
    return parse_dev_passwords((project / "compose.yaml").read_text(encoding="utf-8"))


def dev_settings(project: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Settings for the local stack: the environment first, compose.yaml's defaults after."""
    return Settings.from_env(os.environ if env is None else env, defaults=dev_passwords(project))


def dev_test_password(project: Path) -> str:
    """CI_TEST_PASSWORD's development default, from compose.yaml's db service."""
    for line in (project / "compose.yaml").read_text(encoding="utf-8").splitlines():
        match = ENTRY.match(line)
        if match and match.group(1) == "CI_TEST_PASSWORD":
            return match.group(2)
    raise ValueError("compose.yaml sets no CI_TEST_PASSWORD: ${CI_TEST_PASSWORD:-default}")
