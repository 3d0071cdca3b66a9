"""Connection settings for the ci-db stack, read from the same env vars the images use.

Library code never invents a password: a role whose password was not given fails, at the
moment it is needed, with an error naming the env var. Development defaults live in
compose.yaml alone and reach the dev tooling through `cidb.devstack`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cidb import names, roles


class SettingsError(ValueError):
    """The environment does not describe a usable connection (the message says which var)."""


class MissingPasswordError(SettingsError):
    """A role's password was needed but neither NAME nor NAME_FILE is set."""


def password_env() -> dict[str, str]:
    """Role name -> password env var, from the role manifest."""
    return roles.password_env()


def role_aliases() -> dict[str, str]:
    """Short names the CLI accepts (app, readonly, admin, migrator) -> role names."""
    return {role.alias: role.name for role in roles.login_roles() if role.alias is not None}


def read_secret(env: Mapping[str, str], name: str) -> str | None:
    """NAME, or the contents of the file named by NAME_FILE, as the images read them.

    Both set is an error, as in the entrypoint; so is a NAME_FILE that cannot be read.
    """
    value, path = env.get(name), env.get(f"{name}_FILE")
    if value and path:
        raise SettingsError(f"both {name} and {name}_FILE are set; set only one")
    if value:
        return value
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().rstrip("\n")
    except OSError as error:
        raise SettingsError(f"{name}_FILE={path} is not a readable file: {error}") from None


def resolve_role(role: str) -> str:
    """Accept the short names (app, readonly, admin, migrator) and the contract's role names."""
    known = password_env()
    name = role_aliases().get(role, role)
    if name not in known:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(sorted(known))}")
    return name


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a port number") from None


@dataclass(frozen=True)
class Settings:
    """Where the stack listens and the passwords that were given (by role name)."""

    host: str = "127.0.0.1"
    port: int = 5432
    pool_port: int = 6432
    database: str = names.DATABASE
    passwords: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, defaults: Mapping[str, str] | None = None
    ) -> Settings:
        """Settings from CI_DB_HOST, CI_DB_PORT, CI_DB_POOL_PORT, POSTGRES_DB and the passwords.

        DEFAULTS (env var -> value) fills passwords that are not set; only the dev tooling
        passes any (compose.yaml's development passwords).
        """
        env = os.environ if env is None else env
        defaults = defaults or {}
        passwords: dict[str, str] = {}
        for role, var in password_env().items():
            value = read_secret(env, var) or defaults.get(var)
            if value:
                passwords[role] = value
        return cls(
            host=env.get("CI_DB_HOST") or "127.0.0.1",
            port=_port(env, "CI_DB_PORT", 5432),
            pool_port=_port(env, "CI_DB_POOL_PORT", 6432),
            database=env.get("POSTGRES_DB") or names.DATABASE,
            passwords=passwords,
        )

    def password(self, role: str) -> str:
        """ROLE's password; MissingPasswordError naming the env var when none was given."""
        name = resolve_role(role)
        try:
            return self.passwords[name]
        except KeyError:
            var = password_env()[name]
            raise MissingPasswordError(f"no password for {name}: set {var} or {var}_FILE") from None

    def conninfo(self, role: str, *, pooled: bool = False, **extra: str | int) -> str:
        """A libpq conninfo string for ROLE, direct or through PgBouncer."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            "",
            host=self.host,
            port=self.pool_port if pooled else self.port,
            dbname=self.database,
            user=resolve_role(role),
            password=self.password(role),
            **extra,
        )

    def libpq_env(self, role: str, *, pooled: bool = False) -> dict[str, str]:
        """PG* variables for a child process: the password travels here, never in argv."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.pool_port if pooled else self.port),
            "PGDATABASE": self.database,
            "PGUSER": resolve_role(role),
            "PGPASSWORD": self.password(role),
        }
