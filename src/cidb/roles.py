"""The role manifest (roles.json): the one list of contract roles and their attributes.

The same file is copied into the image, where the entrypoint and initdb/10-create-roles.sql
read it, so a new role is one entry here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Role:
    """One role of the contract, as the manifest describes it."""

    name: str
    login: bool
    inherit: bool
    bypassrls: bool
    password_env: str | None
    pooled: bool
    settings: dict[str, str] = field(default_factory=dict)
    purpose: str = ""
    # Predefined roles it is granted (ci_monitor: pg_monitor); nothing else is.
    member_of: list[str] = field(default_factory=list)

    @property
    def alias(self) -> str | None:
        """The short name the CLI accepts (app for ci_app); None for roles without one."""
        return self.name.removeprefix("ci_") if self.name.startswith("ci_") else None


def manifest_text() -> str:
    """roles.json as shipped in the package."""
    return resources.files("cidb").joinpath("roles.json").read_text(encoding="utf-8")


@cache
def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(manifest_text())
    return data


def superuser_password_env() -> str:
    return str(_manifest()["superuser_password_env"])


def all_roles() -> tuple[Role, ...]:
    """Every contract role except the superuser, in manifest order."""
    return tuple(Role(**entry) for entry in _manifest()["roles"])


def login_roles() -> tuple[Role, ...]:
    """The roles that log in with a password (each has an env var)."""
    return tuple(role for role in all_roles() if role.login and role.password_env)


def password_env() -> dict[str, str]:
    """Role name -> the env var carrying its password."""
    return {role.name: role.password_env for role in login_roles() if role.password_env}
